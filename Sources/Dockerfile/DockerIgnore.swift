import Foundation

/// A parsed `.dockerignore` with Docker's semantics (moby/patternmatcher): `*`, `?`, `[...]`,
/// `**`, `!` exceptions, the last matching line wins, a pattern matching a directory excludes
/// everything under it, leading and trailing `/` dropped, paths cleaned.
public struct DockerIgnore: Sendable {
    public struct Pattern: Sendable, Equatable, CustomStringConvertible {
        /// The cleaned pattern, without `!`.
        public var pattern: String
        public var isException: Bool
        /// 1-based line in the file.
        public var line: Int
        /// The line as written, trimmed.
        public var original: String
        let regex: String

        public var description: String { original }
    }

    public let file: String
    public let patterns: [Pattern]
    private let compiled: [NSRegularExpression]

    /// No patterns: nothing is excluded.
    public static func empty(file: String = ".dockerignore") -> DockerIgnore {
        try! DockerIgnore(parsing: "", file: file)
    }

    public init(parsing text: String, file: String = ".dockerignore") throws {
        self.file = file
        var patterns: [Pattern] = []
        var compiled: [NSRegularExpression] = []
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(
            String.init)
        if let first = lines.first, first.hasPrefix("\u{FEFF}") { lines[0] = String(first.dropFirst()) }
        for (n, rawLine) in lines.enumerated() {
            let lineNumber = n + 1
            var line = rawLine
            if line.hasSuffix("\r") { line.removeLast() }
            // Comments only at the very start of a line, before trimming (as Docker reads them).
            if line.hasPrefix("#") { continue }
            var pattern = line.trimmingCharacters(in: .whitespaces)
            if pattern.isEmpty { continue }
            let original = pattern
            let exception = pattern.hasPrefix("!")
            if exception { pattern = String(pattern.dropFirst()).trimmingCharacters(in: .whitespaces) }
            let location = SourceLocation(file: file, line: lineNumber, column: 1)
            if pattern.isEmpty {
                throw DockerfileError.ignoreFile(
                    location, "illegal exclusion pattern \"!\": write the path to re-include after the `!`")
            }
            pattern = PathClean.clean(pattern)
            if pattern.count > 1, pattern.hasPrefix("/") { pattern.removeFirst() }
            do {
                _ = try GlobPattern(pattern)
            } catch let e as GlobPattern.SyntaxError {
                throw DockerfileError.ignoreFile(location, "bad pattern `\(original)`: \(e.message)")
            }
            let regex = Self.regex(for: pattern)
            guard let expression = try? NSRegularExpression(pattern: regex) else {
                throw DockerfileError.ignoreFile(
                    location, "bad pattern `\(original)`: it cannot be compiled; check its brackets")
            }
            patterns.append(
                Pattern(pattern: pattern, isException: exception, line: lineNumber, original: original, regex: regex))
            compiled.append(expression)
        }
        self.patterns = patterns
        self.compiled = compiled
    }

    /// Reads `<Dockerfile name>.dockerignore` next to the Dockerfile if present, else
    /// `.dockerignore` in the context root, else no patterns.
    public static func load(contextDirectory: URL, dockerfilePath: URL?) throws -> DockerIgnore {
        var candidates: [URL] = []
        if let dockerfilePath {
            candidates.append(
                dockerfilePath.deletingLastPathComponent()
                    .appendingPathComponent(dockerfilePath.lastPathComponent + ".dockerignore"))
        }
        candidates.append(contextDirectory.appendingPathComponent(".dockerignore"))
        for url in candidates where FileManager.default.fileExists(atPath: url.path) {
            let name =
                url.path.hasPrefix(contextDirectory.path + "/")
                ? String(url.path.dropFirst(contextDirectory.path.count + 1)) : url.path
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw DockerfileError.ignoreFile(
                    SourceLocation(file: name, line: 0, column: 0), "cannot read \(url.path); check its permissions")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw DockerfileError.ignoreFile(
                    SourceLocation(file: name, line: 0, column: 0), "\(url.path) is not UTF-8 text; save it as UTF-8")
            }
            return try DockerIgnore(parsing: text, file: name)
        }
        return .empty()
    }

    static func regex(for pattern: String) -> String {
        var out = "^"
        let chars = Array(pattern)
        var i = 0
        var inClass = false
        while i < chars.count {
            let c = chars[i]
            i += 1
            if inClass {
                if c == "]" { inClass = false; out.append("]"); continue }
                if c == "\\", i < chars.count {
                    out += NSRegularExpression.escapedPattern(for: String(chars[i])); i += 1; continue
                }
                if c == "[" || c == "&" || c == "~" || c == "|" { out += "\\" + String(c); continue }
                out.append(c)
                continue
            }
            switch c {
            case "*":
                if i < chars.count, chars[i] == "*" {
                    i += 1
                    if i < chars.count, chars[i] == "/" { i += 1 }
                    out += i == chars.count ? ".*" : "(.*/)?"
                } else {
                    out += "[^/]*"
                }
            case "?":
                out += "[^/]"
            case "[":
                inClass = true
                out.append("[")
                if i < chars.count, chars[i] == "^" { out.append("^"); i += 1 }
            case "\\":
                if i < chars.count {
                    out += NSRegularExpression.escapedPattern(for: String(chars[i]))
                    i += 1
                } else {
                    out += "\\\\"
                }
            default:
                out += NSRegularExpression.escapedPattern(for: String(c))
            }
        }
        return out + "$"
    }

    private func matches(_ index: Int, _ path: String) -> Bool {
        let range = NSRange(path.startIndex..., in: path)
        return compiled[index].firstMatch(in: path, options: [], range: range) != nil
    }

    static func normalize(_ path: String) -> String {
        var p = PathClean.clean(path)
        while p.hasPrefix("/") { p.removeFirst() }
        return p.isEmpty ? "." : p
    }

    /// The pattern that decides `path` is excluded, or nil when it is included
    /// (`MatchesOrParentMatches`: a pattern matching a parent directory matches the path too).
    public func excludingPattern(_ path: String) -> Pattern? {
        let file = Self.normalize(path)
        let parents = file.split(separator: "/").dropLast().map(String.init)
        var excludedBy: Pattern? = nil
        for (index, pattern) in patterns.enumerated() {
            // An exception only matters once excluded; an exclusion only while included.
            if pattern.isException != (excludedBy != nil) { continue }
            var hit = matches(index, file)
            if !hit, !parents.isEmpty {
                for depth in 1...parents.count where matches(index, parents[0..<depth].joined(separator: "/")) {
                    hit = true
                    break
                }
            }
            if hit { excludedBy = pattern.isException ? nil : pattern }
        }
        return excludedBy
    }

    public func isExcluded(_ path: String) -> Bool { excludingPattern(path) != nil }

    /// Whether the context walk must enter `directory`: it is included, or an exception
    /// (`!pattern`) could re-include something inside it.
    public func mayContainIncluded(_ directory: String) -> Bool {
        guard isExcluded(directory) else { return true }
        let dir = Self.normalize(directory).split(separator: "/").map(String.init)
        for pattern in patterns where pattern.isException {
            let segments = pattern.pattern.split(separator: "/").map(String.init)
            var possible = true
            for (i, name) in dir.enumerated() {
                if i >= segments.count { break }
                if segments[i].contains("**") { break }
                guard let glob = try? GlobPattern(segments[i]), glob.matches(name) else { possible = false; break }
            }
            if possible { return true }
        }
        return false
    }

    /// "excluded by .dockerignore line 3: `*.md`", or nil when the path is included.
    public func explainExclusion(_ path: String) -> String? {
        guard let p = excludingPattern(path) else { return nil }
        return "excluded by \(file) line \(p.line): `\(p.original)`"
    }
}
