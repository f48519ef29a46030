/// Parser directives found at the top of a Dockerfile (`# syntax=`, `# escape=`, `# check=`).
public struct ParserDirectives: Sendable, Equatable {
    /// The escape character: `\` (default) or `` ` ``.
    public var escape: Character = "\\"
    /// The `# syntax=` frontend image, recorded only: this builder is its own frontend.
    public var syntax: String?
    /// The `# check=` value, recorded and otherwise ignored.
    public var check: String?

    public init(escape: Character = "\\", syntax: String? = nil, check: String? = nil) {
        self.escape = escape
        self.syntax = syntax
        self.check = check
    }
}

/// One instruction's text after joining continuation lines, with the source point of every character.
struct LogicalLine {
    var chars: [Character]
    var points: [SourcePoint]
    var startLine: Int
    var endLine: Int
    /// Lines that were empty inside the continuation (Docker warns about them).
    var hadEmptyContinuationLine: Bool
    /// Here-documents read after the instruction (RUN, COPY, ADD).
    var heredocs: [Heredoc] = []
}

/// Splits a Dockerfile into logical lines the way BuildKit does: directives only at the top,
/// comment lines dropped (also inside continuations), empty continuation lines skipped.
struct Lexer {
    let file: String
    private(set) var directives = ParserDirectives()
    private var directivesDone = false
    private var seenDirectives: Set<String> = []

    init(file: String) { self.file = file }

    mutating func logicalLines(_ text: String) throws -> [LogicalLine] {
        var physical: [[Character]] = text.split(
            omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }
        ).map { line in
            var chars = Array(line)
            if chars.last == "\r" { chars.removeLast() }
            return chars
        }
        if let first = physical.first, first.first == "\u{FEFF}" { physical[0].removeFirst() }
        // A final newline does not start another line.
        if physical.count > 1, physical.last?.isEmpty == true { physical.removeLast() }

        var result: [LogicalLine] = []
        var index = 0
        while index < physical.count {
            let lineNumber = index + 1
            let raw = physical[index]
            index += 1
            try checkDirective(raw, line: lineNumber)

            // The first line of an instruction has leading whitespace removed.
            var start = 0
            while start < raw.count, raw[start] == " " || raw[start] == "\t" { start += 1 }
            if start < raw.count, raw[start] == "#" { continue }
            var chars = Array(raw[start...])
            var points = (start..<raw.count).map { SourcePoint(line: lineNumber, column: $0 + 1) }

            var continued = trimContinuation(&chars, &points)
            if !continued && chars.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            var endLine = lineNumber
            var hadEmpty = false
            var lastEscape = SourcePoint(line: lineNumber, column: lastEscapeColumn(raw))
            while continued {
                guard index < physical.count else {
                    throw DockerfileError.syntax(
                        SourceLocation(file: file, line: lastEscape.line, column: lastEscape.column),
                        "the line ends with the escape character `\(directives.escape)`, which continues the instruction, but the file ends here; remove the trailing `\(directives.escape)` or add the rest of the instruction"
                    )
                }
                let next = physical[index]
                let nextNumber = index + 1
                index += 1
                endLine = nextNumber
                try checkDirective(next, line: nextNumber)
                let trimmed = next.drop(while: { $0 == " " || $0 == "\t" })
                if trimmed.first == "#" { continue }
                if trimmed.isEmpty {
                    hadEmpty = true
                    continue
                }
                var more = next
                var morePoints = (0..<next.count).map { SourcePoint(line: nextNumber, column: $0 + 1) }
                continued = trimContinuation(&more, &morePoints)
                if continued { lastEscape = SourcePoint(line: nextNumber, column: lastEscapeColumn(next)) }
                chars += more
                points += morePoints
            }
            var logical = LogicalLine(
                chars: chars, points: points, startLine: lineNumber, endLine: endLine,
                hadEmptyContinuationLine: hadEmpty)
            logical.heredocs = try readHeredocs(logical, physical: physical, index: &index)
            if !logical.heredocs.isEmpty { logical.endLine = index }
            result.append(logical)
        }
        return result
    }

    /// Removes a trailing escape character (optionally followed by blanks); true when the line continues.
    private func trimContinuation(_ chars: inout [Character], _ points: inout [SourcePoint]) -> Bool {
        var end = chars.count
        while end > 0, chars[end - 1] == " " || chars[end - 1] == "\t" { end -= 1 }
        guard end > 0, chars[end - 1] == directives.escape else { return false }
        chars.removeSubrange((end - 1)...)
        points.removeSubrange((end - 1)...)
        return true
    }

    private func lastEscapeColumn(_ raw: [Character]) -> Int {
        var end = raw.count
        while end > 0, raw[end - 1] == " " || raw[end - 1] == "\t" { end -= 1 }
        return max(end, 1)
    }

    /// `^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$` on the left-trimmed line, until the first non-directive.
    private mutating func checkDirective(_ raw: [Character], line: Int) throws {
        guard !directivesDone else { return }
        var i = 0
        while i < raw.count, raw[i] == " " || raw[i] == "\t" { i += 1 }
        guard i < raw.count, raw[i] == "#" else { directivesDone = true; return }
        i += 1
        while i < raw.count, raw[i] == " " || raw[i] == "\t" { i += 1 }
        let nameStart = i
        guard i < raw.count, raw[i].isASCII, raw[i].isLetter else { directivesDone = true; return }
        while i < raw.count, raw[i].isASCII, raw[i].isLetter || raw[i].isNumber { i += 1 }
        let name = String(raw[nameStart..<i]).lowercased()
        while i < raw.count, raw[i] == " " || raw[i] == "\t" { i += 1 }
        guard i < raw.count, raw[i] == "=" else { directivesDone = true; return }
        i += 1
        while i < raw.count, raw[i] == " " || raw[i] == "\t" { i += 1 }
        let valueStart = i
        var end = raw.count
        while end > valueStart, raw[end - 1] == " " || raw[end - 1] == "\t" { end -= 1 }
        guard end > valueStart else { directivesDone = true; return }
        let value = String(raw[valueStart..<end])
        guard ["escape", "syntax", "check"].contains(name) else { directivesDone = true; return }
        let location = SourceLocation(file: file, line: line, column: valueStart + 1)
        if seenDirectives.contains(name) {
            throw DockerfileError.syntax(location, "only one `\(name)` parser directive can be used; remove this one")
        }
        seenDirectives.insert(name)
        switch name {
        case "escape":
            guard value == "\\" || value == "`" else {
                throw DockerfileError.syntax(
                    location, "invalid escape character `\(value)` in the escape directive: use `\\` or `` ` ``")
            }
            directives.escape = Character(value)
        case "syntax":
            directives.syntax = value
        default:
            directives.check = value
        }
    }
}
