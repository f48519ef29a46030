/// A here-document of RUN, COPY or ADD (`<<EOF`, `<<-EOF`, `<<"EOF"`), as BuildKit reads it: the
/// lines after the instruction up to a line holding only the delimiter.
public struct Heredoc: Sendable, Equatable {
    /// The delimiter with quotes removed; COPY and ADD name the file after it.
    public var name: String
    /// The body as written, every line ending with a newline.
    public var content: String
    /// False when the delimiter was quoted: the body is then taken literally.
    public var expand: Bool
    /// `<<-`: leading tabs are removed from the body and the delimiter line.
    public var chomp: Bool
    /// The `3` of `3<<EOF`.
    public var fileDescriptor: Int
    /// Where the `<<` word is.
    public var location: SourceLocation

    /// The body with leading tabs removed from each line when the heredoc is `<<-`.
    public var chompedContent: String {
        guard chomp else { return content }
        return content.split(separator: "\n", omittingEmptySubsequences: false)
            .map { String($0.drop(while: { $0 == "\t" })) }
            .joined(separator: "\n")
    }

    /// Parses one word against BuildKit's `^(\d*)<<(-?)([^<]*)$`; nil when it is not a heredoc
    /// marker. The delimiter may be quoted (`<<"EOF"`, `<<'EOF'`) or escaped; quotes stop expansion.
    public static func marker(
        _ word: [Character], escape: Character
    ) -> (name: String, expand: Bool, chomp: Bool, fd: Int)? {
        var chars = word[...]
        var digits = ""
        while let c = chars.first, c.isASCII, c.isNumber { digits.append(c); chars = chars.dropFirst() }
        guard chars.starts(with: ["<", "<"]) else { return nil }
        var rest = chars.dropFirst(2)
        let chomp = rest.first == "-"
        if chomp { rest = rest.dropFirst() }
        guard !rest.isEmpty, !rest.contains("<") else { return nil }
        var name = ""
        var quoted = false
        var quote: Character? = nil
        var i = rest.startIndex
        while i < rest.endIndex {
            let c = rest[i]
            if let q = quote {
                if c == q {
                    quote = nil
                } else if c == escape, q == "\"", rest.index(after: i) < rest.endIndex {
                    i = rest.index(after: i)
                    name.append(rest[i])
                } else {
                    name.append(c)
                }
            } else if c == "'" || c == "\"" {
                quote = c
                quoted = true
            } else if c == escape, rest.index(after: i) < rest.endIndex {
                i = rest.index(after: i)
                name.append(rest[i])
            } else if c.isWhitespace {
                return nil
            } else {
                name.append(c)
            }
            i = rest.index(after: i)
        }
        guard quote == nil, !name.isEmpty else { return nil }
        return (name, !quoted, chomp, Int(digits) ?? 0)
    }
}

extension Lexer {
    /// The instructions whose lines may open heredocs (BuildKit's `heredocDirectives`).
    static let heredocKeywords: Set<String> = ["RUN", "COPY", "ADD"]

    /// The heredoc markers of a logical line, in order; empty unless it is RUN, COPY or ADD.
    func heredocMarkers(_ line: LogicalLine) -> [(word: Span, name: String, expand: Bool, chomp: Bool, fd: Int)] {
        let span = Span(chars: line.chars, points: line.points, end: SourcePoint(line: line.endLine, column: 1))
        let (keyword, rest) = span.trimmed().splitFirstWhitespace()
        guard Self.heredocKeywords.contains(keyword.string.uppercased()), let rest else { return [] }
        return rest.quotedWords(escape: directives.escape).compactMap { word in
            Heredoc.marker(word.chars, escape: directives.escape).map { (word, $0.name, $0.expand, $0.chomp, $0.fd) }
        }
    }

    /// Reads each heredoc's body from the physical lines at `index`, advancing it past the delimiters.
    func readHeredocs(_ line: LogicalLine, physical: [[Character]], index: inout Int) throws -> [Heredoc] {
        var result: [Heredoc] = []
        for marker in heredocMarkers(line) {
            let location = SourceLocation(file: file, line: marker.word.start.line, column: marker.word.start.column)
            var content = ""
            var terminated = false
            while index < physical.count {
                let raw = physical[index]
                index += 1
                let candidate = marker.chomp ? Array(raw.drop(while: { $0 == "\t" })) : raw
                if String(candidate) == marker.name {
                    terminated = true
                    break
                }
                content += String(raw) + "\n"
            }
            guard terminated else {
                throw DockerfileError.syntax(
                    location,
                    "unterminated heredoc `\(marker.word.string)`: the file ends before a line holding only `\(marker.name)`; add that line after the heredoc's content"
                )
            }
            result.append(
                Heredoc(
                    name: marker.name, content: content, expand: marker.expand, chomp: marker.chomp,
                    fileDescriptor: marker.fd, location: location))
        }
        return result
    }
}
