import Foundation

/// One parsed AWS shared file (`~/.aws/config` or `~/.aws/credentials`): INI as botocore reads it.
/// Keys are lowercased; `=` or `:` separates key and value; `#` and `;` start comment lines;
/// indented lines continue the previous value (nested settings such as `s3 =`).
struct SharedConfigFile: Sendable {
    struct Entry: Sendable {
        var value: String
        var line: Int
    }

    struct Section: Sendable {
        var name: String
        var line: Int
        var entries: [String: Entry] = [:]

        func value(_ key: String) -> String? {
            guard let value = entries[key]?.value.trimmingCharacters(in: .whitespaces), !value.isEmpty else {
                return nil
            }
            return value
        }
    }

    var path: String
    var sections: [String: Section] = [:]

    /// Parses `text`; malformed lines fail with `path:LINE: message`. Messages never quote a key's
    /// value or a whole malformed line, since these files hold secrets.
    init(path: String, text: String) throws {
        self.path = path
        var current: String?
        var lastKey: String?
        // "\r\n" is one Character in Swift: split on both forms.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (offset, rawLine) in lines.enumerated() {
            let number = offset + 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }

            if let first = line.first, first == " " || first == "\t" {
                // A continuation of the previous value (botocore's nested sections use this).
                guard let section = current, let key = lastKey else {
                    throw AWSError.configFile(
                        path: path, line: number,
                        message:
                            "indented line outside a setting: remove the leading whitespace, or put it under a \"key =\" line"
                    )
                }
                sections[section]?.entries[key]?.value += "\n" + trimmed
                continue
            }

            if trimmed.hasPrefix("[") {
                guard let close = trimmed.lastIndex(of: "]") else {
                    throw AWSError.configFile(
                        path: path, line: number, message: "section header is missing its closing \"]\"")
                }
                let rest = trimmed[trimmed.index(after: close)...].trimmingCharacters(in: .whitespaces)
                guard rest.isEmpty || rest.hasPrefix("#") || rest.hasPrefix(";") else {
                    throw AWSError.configFile(
                        path: path, line: number, message: "unexpected text after the section header")
                }
                let name = trimmed[trimmed.index(after: trimmed.startIndex)..<close].trimmingCharacters(
                    in: .whitespaces)
                guard !name.isEmpty else {
                    throw AWSError.configFile(path: path, line: number, message: "empty section name \"[]\"")
                }
                if let existing = sections[name] {
                    throw AWSError.configFile(
                        path: path, line: number,
                        message: "section [\(name)] is defined twice (first on line \(existing.line)): merge the two")
                }
                sections[name] = Section(name: name, line: number)
                current = name
                lastKey = nil
                continue
            }

            guard let separator = trimmed.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw AWSError.configFile(
                    path: path, line: number,
                    message: "expected \"[section]\" or \"key = value\" (the line is not shown as it may hold a secret)"
                )
            }
            let key = trimmed[..<separator].trimmingCharacters(in: .whitespaces).lowercased()
            let value = trimmed[trimmed.index(after: separator)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else {
                throw AWSError.configFile(path: path, line: number, message: "missing key name before \"=\"")
            }
            guard let section = current else {
                throw AWSError.configFile(
                    path: path, line: number,
                    message: "setting \"\(key)\" comes before any [section] header: add e.g. [default] above it")
            }
            if let existing = sections[section]?.entries[key] {
                throw AWSError.configFile(
                    path: path, line: number,
                    message: "\"\(key)\" is set twice in [\(section)] (first on line \(existing.line)): keep one")
            }
            sections[section]?.entries[key] = Entry(value: value, line: number)
            lastKey = key
        }
    }

    /// Reads and parses the file; nil when it does not exist.
    static func load(path: String) throws -> SharedConfigFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AWSError.configFile(path: path, line: 0, message: "cannot read the file: check its permissions")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw AWSError.configFile(path: path, line: 0, message: "the file is not valid UTF-8")
        }
        return try SharedConfigFile(path: path, text: text)
    }

    /// The section of a profile in the config file: `[default]` or `[profile NAME]`.
    func configProfile(_ name: String) -> Section? {
        for section in sections.values {
            let parts = section.name.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if parts.count == 2, parts[0] == "profile", parts[1] == name { return section }
        }
        return name == "default" ? sections["default"] : nil
    }

    /// The section of a profile in the credentials file: `[NAME]`.
    func credentialsProfile(_ name: String) -> Section? { sections[name] }
}
