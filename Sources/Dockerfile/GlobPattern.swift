/// A pattern with Go's `filepath.Match` syntax: `*` (any run of characters except `/`), `?` (one
/// character except `/`), `[abc]`, `[a-z]`, `[^a-z]`, and `\` to quote the next character.
/// No `**`: COPY/ADD sources are matched one path component at a time, as `filepath.Glob` does.
public struct GlobPattern: Sendable, Equatable {
    enum Token: Sendable, Equatable {
        case literal(Character)
        case any
        case star
        case set(negated: Bool, ranges: [ClosedRange<Character>])
    }

    public struct SyntaxError: Error, Sendable, Equatable {
        public var offset: Int
        public var message: String
    }

    public let pattern: String
    let tokens: [Token]
    /// When true `*` and `?` also match `/` (shell patterns in `${VAR#pattern}`).
    let allowSlash: Bool

    public init(_ pattern: String, allowSlash: Bool = false) throws {
        self.pattern = pattern
        self.allowSlash = allowSlash
        var tokens: [Token] = []
        let chars = Array(pattern)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            switch c {
            case "*":
                if tokens.last != .star { tokens.append(.star) }
                i += 1
            case "?":
                tokens.append(.any)
                i += 1
            case "\\":
                guard i + 1 < chars.count else {
                    throw SyntaxError(offset: i, message: "the pattern ends with `\\`, which escapes nothing")
                }
                tokens.append(.literal(chars[i + 1]))
                i += 2
            case "[":
                let open = i
                i += 1
                var negated = false
                if i < chars.count, chars[i] == "^" { negated = true; i += 1 }
                var ranges: [ClosedRange<Character>] = []
                func readChar() throws -> Character {
                    guard i < chars.count else {
                        throw SyntaxError(offset: open, message: "unclosed `[` in the pattern; add `]`")
                    }
                    var ch = chars[i]
                    if ch == "-" || ch == "]" {
                        throw SyntaxError(offset: i, message: "`\(ch)` in a character class must be escaped with `\\`")
                    }
                    if ch == "\\" {
                        i += 1
                        guard i < chars.count else {
                            throw SyntaxError(offset: open, message: "unclosed `[` in the pattern; add `]`")
                        }
                        ch = chars[i]
                    }
                    i += 1
                    return ch
                }
                while true {
                    guard i < chars.count else {
                        throw SyntaxError(offset: open, message: "unclosed `[` in the pattern; add `]`")
                    }
                    if chars[i] == "]" && !ranges.isEmpty { i += 1; break }
                    let lo = try readChar()
                    var hi = lo
                    if i < chars.count, chars[i] == "-" {
                        i += 1
                        hi = try readChar()
                        guard lo <= hi else {
                            throw SyntaxError(offset: open, message: "the range `\(lo)-\(hi)` is reversed")
                        }
                    }
                    ranges.append(lo...hi)
                }
                tokens.append(.set(negated: negated, ranges: ranges))
            default:
                tokens.append(.literal(c))
                i += 1
            }
        }
        self.tokens = tokens
    }

    /// True when the pattern has a wildcard (`*`, `?` or `[`).
    public var hasWildcard: Bool {
        tokens.contains { if case .literal = $0 { return false } else { return true } }
    }

    public func matches(_ name: String) -> Bool {
        let chars = Array(name)
        var memo: [Int: Bool] = [:]
        func match(_ t: Int, _ n: Int) -> Bool {
            let key = t * (chars.count + 1) + n
            if let known = memo[key] { return known }
            let result: Bool
            if t == tokens.count {
                result = n == chars.count
            } else {
                switch tokens[t] {
                case .star:
                    var k = n
                    var found = match(t + 1, k)
                    while !found, k < chars.count, allowSlash || chars[k] != "/" {
                        k += 1
                        found = match(t + 1, k)
                    }
                    result = found
                case .any:
                    result = n < chars.count && (allowSlash || chars[n] != "/") && match(t + 1, n + 1)
                case .literal(let c):
                    result = n < chars.count && chars[n] == c && match(t + 1, n + 1)
                case .set(let negated, let ranges):
                    if n < chars.count, allowSlash || chars[n] != "/" {
                        let inside = ranges.contains { $0.contains(chars[n]) }
                        result = inside != negated && match(t + 1, n + 1)
                    } else {
                        result = false
                    }
                }
            }
            memo[key] = result
            return result
        }
        return match(0, 0)
    }
}
