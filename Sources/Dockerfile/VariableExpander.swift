/// Docker's shell-word expansion (BuildKit's `shell.Lex.ProcessWord`): `$VAR`, `${VAR}`,
/// `${VAR:-w}`, `${VAR-w}`, `${VAR:+w}`, `${VAR+w}`, `${VAR:?msg}`, `${VAR?msg}`,
/// `${VAR#pat}`, `${VAR##pat}`, `${VAR%pat}`, `${VAR%%pat}`; quotes are removed, single quotes
/// stop expansion, the escape character quotes the next character. Undefined variables are empty.
public struct VariableExpander: Sendable {
    public var escape: Character

    public init(escape: Character = "\\") { self.escape = escape }

    /// Expands one word. `lookup` returns nil for an unset variable.
    public func expand(_ word: Word, lookup: (String) -> String?) throws -> String {
        try withoutActuallyEscaping(lookup) { lookup in
            var state = State(chars: Array(word.text), escape: escape, lookup: lookup, checkOnly: false)
            do {
                return try state.processStopOn(Character?.none)
            } catch let failure as Failure {
                throw DockerfileError.expansion(word.location(atOffset: failure.offset), failure.message)
            }
        }
    }

    /// Expands variables in a heredoc body, keeping quotes and escape characters as written
    /// (BuildKit's raw-quotes, raw-escapes lexing of heredoc content). A quote left open is
    /// plain text here, so an apostrophe in prose does not fail the build.
    public func expandRaw(_ text: String, at location: SourceLocation, lookup: (String) -> String?) throws -> String {
        try withoutActuallyEscaping(lookup) { lookup in
            var state = State(chars: Array(text), escape: escape, lookup: lookup, checkOnly: false)
            state.raw = true
            do {
                return try state.processStopOn(Character?.none)
            } catch let failure as Failure {
                throw DockerfileError.expansion(location, "in the heredoc's content: \(failure.message)")
            }
        }
    }

    /// Reports syntax errors (quotes, `${`) without needing any variable values.
    func check(_ word: Word) throws {
        var state = State(chars: Array(word.text), escape: escape, lookup: { _ in nil }, checkOnly: true)
        do {
            _ = try state.processStopOn(Character?.none)
        } catch let failure as Failure {
            throw DockerfileError.expansion(word.location(atOffset: failure.offset), failure.message)
        }
    }

    struct Failure: Error {
        var offset: Int
        var message: String
    }

    private struct State {
        let chars: [Character]
        let escape: Character
        let lookup: (String) -> String?
        let checkOnly: Bool
        /// Heredoc content: quotes and escapes stay in the result.
        var raw = false
        var i = 0

        init(chars: [Character], escape: Character, lookup: @escaping (String) -> String?, checkOnly: Bool) {
            self.chars = chars
            self.escape = escape
            self.lookup = lookup
            self.checkOnly = checkOnly
        }

        func peek() -> Character? { i < chars.count ? chars[i] : nil }

        mutating func next() -> Character? {
            guard i < chars.count else { return nil }
            defer { i += 1 }
            return chars[i]
        }

        /// Reads until `stop` (consumed) or the end; `rawEscapes` keeps escape characters (for patterns).
        mutating func processStopOn(_ stop: Character?, rawEscapes: Bool = false, openedAt: Int = 0) throws -> String {
            var result = ""
            while let ch = peek() {
                if let stop, ch == stop {
                    i += 1
                    return result
                }
                switch ch {
                case "'" where raw:
                    // Single quotes keep their content unexpanded; an unclosed one is just a character.
                    if let close = chars[(i + 1)...].firstIndex(of: "'") {
                        result += String(chars[i...close])
                        i = close + 1
                    } else {
                        result.append(ch)
                        i += 1
                    }
                case "\"" where raw:
                    result.append(ch)
                    i += 1
                case "'": result += try singleQuote()
                case "\"": result += try doubleQuote()
                case "$": result += try dollar()
                default:
                    i += 1
                    if ch == escape {
                        if rawEscapes || raw { result.append(ch) }
                        guard let escaped = next() else { return result }
                        result.append(escaped)
                    } else {
                        result.append(ch)
                    }
                }
            }
            if let stop {
                throw Failure(offset: openedAt, message: "bad substitution: missing `\(stop)`; close `${` with `}`")
            }
            return result
        }

        mutating func singleQuote() throws -> String {
            let start = i
            i += 1
            var result = ""
            while let ch = next() {
                if ch == "'" { return result }
                result.append(ch)
            }
            throw Failure(offset: start, message: "unterminated single quote: add the closing `'`")
        }

        mutating func doubleQuote() throws -> String {
            let start = i
            i += 1
            var result = ""
            while let ch = peek() {
                switch ch {
                case "\"":
                    i += 1
                    return result
                case "$":
                    result += try dollar()
                default:
                    i += 1
                    if ch == escape, let n = peek() {
                        // Inside double quotes only ", $ and the escape character itself can be escaped.
                        if n == "\"" || n == "$" || n == escape {
                            i += 1
                            result.append(n)
                            continue
                        }
                    } else if ch == escape {
                        continue
                    }
                    result.append(ch)
                }
            }
            throw Failure(offset: start, message: "unterminated double quote: add the closing `\"`")
        }

        mutating func name() -> String {
            var name = ""
            while let ch = peek() {
                if name.isEmpty && ch.isNumber {
                    while let d = peek(), d.isNumber { name.append(d); i += 1 }
                    return name
                }
                if name.isEmpty && "*#@?-$!0".contains(ch) {
                    i += 1
                    return String(ch)
                }
                guard ch.isLetter || ch.isNumber || ch == "_" else { break }
                name.append(ch)
                i += 1
            }
            return name
        }

        mutating func dollar() throws -> String {
            let start = i
            i += 1
            guard peek() == "{" else {
                let n = name()
                if n.isEmpty { return "$" }
                return lookup(n) ?? ""
            }
            i += 1
            guard let first = peek() else {
                throw Failure(offset: start, message: "bad substitution: missing `}` after `${`")
            }
            if first == "{" || first == "}" || first == ":" {
                throw Failure(
                    offset: start, message: "bad substitution: `${` must be followed by a variable name, as in ${NAME}")
            }
            let n = name()
            guard let op = next() else {
                throw Failure(offset: start, message: "bad substitution: missing `}` in `${\(n)`; write ${\(n)}")
            }
            if n.isEmpty {
                throw Failure(
                    offset: start, message: "bad substitution: `${` must be followed by a variable name, as in ${NAME}")
            }
            let value = lookup(n)
            switch op {
            case "}":
                return value ?? ""
            case ":", "-", "+", "?", "#", "%":
                var modifier = op
                var nullIsUnset = false
                if op == ":" {
                    nullIsUnset = true
                    guard let m = next() else {
                        throw Failure(offset: start, message: "bad substitution: missing `}` in `${\(n):`")
                    }
                    modifier = m
                    guard "-+?".contains(m) else {
                        throw Failure(
                            offset: start, message: "unsupported modifier `:\(m)` in ${\(n)...}; use :-, :+ or :?")
                    }
                }
                let raw = modifier == "#" || modifier == "%"
                let word = try processStopOn("}", rawEscapes: raw, openedAt: start)
                let unset = value == nil || (nullIsUnset && value == "")
                switch modifier {
                case "-":
                    return unset ? word : value!
                case "+":
                    return unset ? "" : word
                case "?":
                    if unset && !checkOnly {
                        let why =
                            word.isEmpty
                            ? (value == nil ? "is not allowed to be unset" : "is not allowed to be empty") : word
                        throw Failure(
                            offset: start,
                            message: "\(n): \(why); pass it with --build-arg \(n)=VALUE or set it with ARG/ENV")
                    }
                    return value ?? ""
                default:
                    var pattern = word
                    var greedy = false
                    if pattern.first == modifier {
                        greedy = true
                        pattern.removeFirst()
                    }
                    guard let value else { return "" }
                    return modifier == "#"
                        ? Self.trimPrefix(value, pattern, greedy: greedy)
                        : Self.trimSuffix(value, pattern, greedy: greedy)
                }
            default:
                throw Failure(
                    offset: start,
                    message:
                        "unsupported modifier `\(op)` in ${\(n)...}; supported are ${\(n)}, ${\(n):-default}, ${\(n):+alt}, ${\(n)-default}, ${\(n)+alt}, ${\(n):?message}"
                )
            }
        }

        static func trimPrefix(_ value: String, _ pattern: String, greedy: Bool) -> String {
            guard let glob = try? GlobPattern(pattern, allowSlash: true) else { return value }
            let chars = Array(value)
            let lengths = greedy ? Array((0...chars.count).reversed()) : Array(0...chars.count)
            for n in lengths where glob.matches(String(chars[0..<n])) { return String(chars[n...]) }
            return value
        }

        static func trimSuffix(_ value: String, _ pattern: String, greedy: Bool) -> String {
            guard let glob = try? GlobPattern(pattern, allowSlash: true) else { return value }
            let chars = Array(value)
            let starts = greedy ? Array(0...chars.count) : Array((0...chars.count).reversed())
            for s in starts where glob.matches(String(chars[s...])) { return String(chars[..<s]) }
            return value
        }
    }
}
