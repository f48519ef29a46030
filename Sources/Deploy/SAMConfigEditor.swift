import Foundation

/// Sets one parameter inside `parameter_overrides` of a SAM `samconfig.toml`, changing only that
/// value's bytes (or inserting the entry) and keeping every other line, comment and parameter as it was.
///
/// Which `parameter_overrides` is edited follows SAM: `sam deploy --config-env ENV` reads
/// `[ENV.deploy.parameters]`, and falls back to `[ENV.global.parameters]` only when the deploy table
/// has no such key. So the deploy table's entry is edited when present, else the global one, else a new
/// entry is added to the deploy table (created, with `version = 0.1`, when missing).
public struct SAMConfigEditor: Sendable {
    public var path: String
    public var environment: String

    public init(path: String, environment: String = "default") {
        self.path = path
        self.environment = environment
    }

    /// Sets `key` (default `ImageUri`) to `value` and writes the file atomically when something changed.
    @discardableResult
    public func setParameter(_ key: String = "ImageUri", to value: String) throws -> DeployChange {
        let original = try AtomicFile.load(path)
        let (text, change) = try Self.edit(
            original ?? "", fileName: path, environment: environment, key: key, value: value)
        if change.modified || original == nil {
            try AtomicFile.save(text, to: path)
        }
        return change
    }

    /// The edit without touching the disk.
    public static func edit(
        _ text: String, fileName: String = "samconfig.toml", environment: String = "default",
        key: String = "ImageUri", value: String
    ) throws -> (text: String, change: DeployChange) {
        guard !key.isEmpty,
            key.unicodeScalars.allSatisfy({
                ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0)
            })
        else {
            throw DeployError.invalidArgument(
                "invalid parameter name \"\(key)\": CloudFormation parameter names are letters and digits")
        }
        guard !environment.isEmpty else {
            throw DeployError.invalidArgument("the SAM config environment name is empty (SAM's default is \"default\")")
        }
        var editor = try Edit(text: text, fileName: fileName, environment: environment, key: key, value: value)
        return try editor.run()
    }

    /// One edit in progress over the scanned file.
    struct Edit {
        let scanner: TOMLScanner
        let text: String
        let fileName: String
        let environment: String
        let key: String
        let value: String
        /// (offset, length to replace, replacement); applied from the end of the file backwards.
        var patches: [(offset: Int, length: Int, text: String)] = []
        var previousValue: String?
        var location = ""

        init(text: String, fileName: String, environment: String, key: String, value: String) throws {
            self.text = text
            self.fileName = fileName
            self.environment = environment
            self.key = key
            self.value = value
            scanner = try TOMLScanner(text: text, fileName: fileName)
        }

        var deployPath: [String] { [environment, "deploy", "parameters"] }
        var globalPath: [String] { [environment, "global", "parameters"] }

        func tableName(_ path: [String]) -> String {
            "[" + path.map(TOMLScanner.renderKey).joined(separator: ".") + "]"
        }

        mutating func run() throws -> (text: String, change: DeployChange) {
            try rejectInlineTables()
            let usable = scanner.pairs.filter { !$0.inArrayTable }
            if let pair = usable.first(where: { $0.fullPath == deployPath + ["parameter_overrides"] }) {
                location = "\(tableName(deployPath)) parameter_overrides"
                try editExisting(pair)
            } else if let pair = usable.first(where: { $0.fullPath == globalPath + ["parameter_overrides"] }) {
                location = "\(tableName(globalPath)) parameter_overrides"
                try editExisting(pair)
            } else {
                location = "\(tableName(deployPath)) parameter_overrides"
                createEntry(usable)
            }
            let output = apply()
            // Re-read what is about to be written: never write a file this editor cannot read back.
            let check = try TOMLScanner(text: output, fileName: fileName)
            let target = location.hasPrefix(tableName(globalPath)) ? globalPath : deployPath
            let line =
                check.pairs.first { $0.fullPath == target + ["parameter_overrides"] }.map {
                    check.line(of: $0.value.start)
                } ?? 1
            return (
                output,
                DeployChange(
                    file: fileName, line: line, location: location,
                    previousValue: previousValue, modified: output != text)
            )
        }

        /// Tables written as inline tables cannot take a new key without rewriting them.
        func rejectInlineTables() throws {
            for pair in scanner.pairs where !pair.inArrayTable {
                guard case .inlineTable = pair.value.kind else { continue }
                let path = pair.fullPath
                for target in [deployPath, globalPath]
                where path.count <= target.count && Array(target.prefix(path.count)) == path {
                    throw DeployError.unsupported(
                        file: fileName, line: scanner.line(of: pair.start),
                        message:
                            "\(path.joined(separator: ".")) is an inline table; write it as a \(tableName(target)) table so parameter_overrides can be edited"
                    )
                }
            }
        }

        // MARK: Existing entry

        mutating func editExisting(_ pair: TOMLScanner.KeyValue) throws {
            switch pair.value.kind {
            case .string(let string):
                let tokens = try tokens(of: string, element: false)
                if tokens.contains(where: { $0.key == key }) {
                    replaceValues(in: string, tokens: tokens)
                } else {
                    appendToken(to: string)
                }
            case .array(let elements):
                var strings: [TOMLScanner.StringValue] = []
                for element in elements {
                    guard case .string(let string) = element.kind else {
                        throw DeployError.unsupported(
                            file: fileName, line: scanner.line(of: element.start),
                            message: "parameter_overrides array elements must be strings such as \"\(key)=value\"")
                    }
                    strings.append(string)
                }
                var found = false
                for string in strings {
                    let tokens = try tokens(of: string, element: true)
                    if tokens.contains(where: { $0.key == key }) {
                        found = true
                        replaceValues(in: string, tokens: tokens)
                    }
                }
                if !found { appendElement(to: pair.value, elements: strings) }
            case .inlineTable, .scalar:
                throw DeployError.unsupported(
                    file: fileName, line: scanner.line(of: pair.value.start),
                    message: "parameter_overrides must be a string (\"\(key)=value Other=x\") or an array of strings")
            }
        }

        func tokens(of string: TOMLScanner.StringValue, element: Bool) throws -> [SAMParameterToken] {
            let scalars = string.units.map(\.scalar)
            do {
                return element
                    ? try SAMParameterOverrides.tokenizeElement(scalars) : try SAMParameterOverrides.tokenize(scalars)
            } catch {
                let offset =
                    error.unitIndex < string.units.count ? string.units[error.unitIndex].rawStart : string.contentEnd
                throw DeployError.syntax(
                    file: fileName, line: scanner.line(of: offset), column: scanner.column(of: offset),
                    message: "parameter_overrides: \(error.message)")
            }
        }

        mutating func replaceValues(in string: TOMLScanner.StringValue, tokens: [SAMParameterToken]) {
            let matches = tokens.filter { $0.key == key }
            previousValue = matches.last?.value
            // Work in decoded text first, then write back raw bytes span by span in the string's own style.
            var replacements: [(range: Range<Int>, text: String)] = []
            for token in matches {
                replacements.append((token.valueRange, SAMParameterOverrides.render(value, quoted: token.quoted)))
            }
            guard replacements.allSatisfy({ TOMLScanner.encode($0.text, as: string.style) != nil }) else {
                rewriteWhole(string, replacing: replacements)
                return
            }
            for replacement in replacements {
                let encoded = TOMLScanner.encode(replacement.text, as: string.style)!
                let start: Int
                let end: Int
                if replacement.range.isEmpty {
                    start =
                        replacement.range.lowerBound < string.units.count
                        ? string.units[replacement.range.lowerBound].rawStart : string.contentEnd
                    end = start
                } else {
                    start = string.units[replacement.range.lowerBound].rawStart
                    end = string.units[replacement.range.upperBound - 1].rawEnd
                }
                patches.append((start, end - start, encoded))
            }
        }

        mutating func appendToken(to string: TOMLScanner.StringValue) {
            let token = "\(key)=\(SAMParameterOverrides.render(value, quoted: false))"
            let lastContent = string.units.lastIndex { !SAMParameterOverrides.isSpace($0.scalar) }
            let addition = (lastContent == nil ? "" : " ") + token
            guard let encoded = TOMLScanner.encode(addition, as: string.style) else {
                let at = lastContent.map { $0 + 1 } ?? 0
                rewriteWhole(string, replacing: [(at..<at, addition)])
                return
            }
            let offset = lastContent.map { string.units[$0].rawEnd } ?? string.contentStart
            patches.append((offset, 0, encoded))
        }

        /// When the string's style cannot hold the new text (a `'` in a literal string), rewrite it as a basic string.
        mutating func rewriteWhole(
            _ string: TOMLScanner.StringValue, replacing replacements: [(range: Range<Int>, text: String)]
        ) {
            var scalars = string.units.map(\.scalar)
            for replacement in replacements.sorted(by: { $0.range.lowerBound > $1.range.lowerBound }) {
                scalars.replaceSubrange(replacement.range, with: Array(replacement.text.unicodeScalars))
            }
            let decoded = String(String.UnicodeScalarView(scalars))
            patches.append(
                (string.start, string.end - string.start, "\"" + TOMLScanner.encode(decoded, as: .basic)! + "\""))
        }

        mutating func appendElement(to array: TOMLScanner.Value, elements: [TOMLScanner.StringValue]) {
            let token = "\(key)=\(SAMParameterOverrides.render(value, quoted: false))"
            let style: TOMLScanner.StringStyle =
                elements.last?.style == .literal && TOMLScanner.encode(token, as: .literal) != nil
                ? .literal : .basic
            let quote = style == .literal ? "'" : "\""
            let element = quote + TOMLScanner.encode(token, as: style)! + quote
            let bytes = scanner.bytes
            guard let last = elements.last else {
                // "[]" or "[ ]": the new element goes right after "[".
                patches.append((array.start + 1, 0, element))
                return
            }
            let multiline = bytes[array.start..<last.start].contains(UInt8(ascii: "\n"))
            // A trailing comma after the last element, if any (skipping spaces and comments).
            var cursor = last.end
            var trailingComma: Int?
            scan: while cursor < array.end - 1 {
                switch bytes[cursor] {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): cursor += 1
                case UInt8(ascii: ","): trailingComma = cursor; break scan
                default: break scan
                }
            }
            if multiline {
                var lineStart = last.start
                while lineStart > 0, bytes[lineStart - 1] != UInt8(ascii: "\n") { lineStart -= 1 }
                let indent = String(
                    decoding: bytes[lineStart..<last.start].prefix {
                        $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t")
                    },
                    as: UTF8.self)
                if let comma = trailingComma {
                    patches.append((comma + 1, 0, scanner.newline + indent + element + ","))
                } else {
                    patches.append((last.end, 0, "," + scanner.newline + indent + element))
                }
            } else {
                patches.append((last.end, 0, ", " + element))
            }
        }

        // MARK: New entry

        mutating func createEntry(_ usable: [TOMLScanner.KeyValue]) {
            let newline = scanner.newline
            let token = "\(key)=\(SAMParameterOverrides.render(value, quoted: false))"
            let valueText = "\"" + TOMLScanner.encode(token, as: .basic)! + "\""
            let hasVersion = usable.contains { $0.fullPath == ["version"] }
            let lastInTable = usable.last {
                $0.fullPath.count > deployPath.count && Array($0.fullPath.prefix(deployPath.count)) == deployPath
            }
            let header = scanner.headers.first { !$0.isArrayTable && $0.path == deployPath }

            if let pair = lastInTable {
                let relative = Array((deployPath + ["parameter_overrides"]).dropFirst(pair.tablePath.count))
                var lineStart = pair.start
                while lineStart > 0, scanner.bytes[lineStart - 1] != UInt8(ascii: "\n") { lineStart -= 1 }
                let indent = String(decoding: scanner.bytes[lineStart..<pair.start], as: UTF8.self)
                let keyText = relative.map(TOMLScanner.renderKey).joined(separator: ".")
                patches.append((pair.lineEnd, 0, newline + indent + keyText + " = " + valueText))
            } else if let header {
                patches.append((header.lineEnd, 0, newline + "parameter_overrides = " + valueText))
            }
            let needsTable = lastInTable == nil && header == nil
            let end = scanner.bytes.count

            if !hasVersion {
                if let first = scanner.headers.first {
                    patches.append((first.start, 0, "version = 0.1" + newline + newline))
                } else {
                    let lead = end > 0 && scanner.bytes.last != UInt8(ascii: "\n") ? newline : ""
                    patches.append((end, 0, lead + "version = 0.1" + newline))
                }
            }
            if needsTable {
                // A blank line before the new table; the version line, when appended just before, already ends its line.
                let versionAtEnd = !hasVersion && scanner.headers.isEmpty
                var lead = ""
                if end > 0 && scanner.bytes.last != UInt8(ascii: "\n") && !versionAtEnd { lead += newline }
                if end > 0 || versionAtEnd { lead += newline }
                patches.append(
                    (end, 0, lead + tableName(deployPath) + newline + "parameter_overrides = " + valueText + newline))
            }
        }

        func apply() -> String {
            var bytes = scanner.bytes
            // Later offsets first; at one offset, later patches first so earlier ones end up in front.
            let ordered = patches.enumerated().sorted { lhs, rhs in
                lhs.element.offset != rhs.element.offset
                    ? lhs.element.offset > rhs.element.offset : lhs.offset > rhs.offset
            }
            for (_, patch) in ordered {
                bytes.replaceSubrange(patch.offset..<(patch.offset + patch.length), with: Array(patch.text.utf8))
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
