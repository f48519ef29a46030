/// Characters with their source points: the unit the parser slices into words.
struct Span {
    var chars: [Character]
    var points: [SourcePoint]
    /// Where an empty span is (e.g. the end of the line), for errors about missing text.
    var end: SourcePoint

    init(chars: [Character], points: [SourcePoint], end: SourcePoint) {
        self.chars = chars
        self.points = points
        self.end = end
    }

    var isEmpty: Bool { chars.isEmpty }
    var string: String { String(chars) }
    var start: SourcePoint { points.first ?? end }

    func slice(_ range: Range<Int>) -> Span {
        let endPoint = range.upperBound < points.count ? points[range.upperBound] : end
        return Span(chars: Array(chars[range]), points: Array(points[range]), end: endPoint)
    }

    func trimmed() -> Span {
        var lo = 0, hi = chars.count
        while lo < hi, chars[lo].isWhitespace { lo += 1 }
        while hi > lo, chars[hi - 1].isWhitespace { hi -= 1 }
        return slice(lo..<hi)
    }

    func word(file: String) -> Word {
        Word(text: string, file: file, points: points, fallback: end)
    }

    /// Splits on runs of whitespace with no regard to quotes (BuildKit's `parseStringsWhitespaceDelimited`).
    func whitespaceFields() -> [Span] {
        var fields: [Span] = []
        var i = 0
        while i < chars.count {
            while i < chars.count, chars[i].isWhitespace { i += 1 }
            let start = i
            while i < chars.count, !chars[i].isWhitespace { i += 1 }
            if i > start { fields.append(slice(start..<i)) }
        }
        return fields
    }

    /// Splits into at most two fields at the first run of whitespace (`reWhitespace.Split(s, 2)`).
    func splitFirstWhitespace() -> (Span, Span?) {
        var i = 0
        while i < chars.count, !chars[i].isWhitespace { i += 1 }
        guard i < chars.count else { return (self, nil) }
        let head = slice(0..<i)
        var j = i
        while j < chars.count, chars[j].isWhitespace { j += 1 }
        return (head, slice(j..<chars.count))
    }

    /// Words separated by whitespace where quotes and escapes group characters; the quotes and
    /// escapes stay in the words for the expander to interpret (BuildKit's `parseWords`).
    func quotedWords(escape: Character) -> [Span] {
        var words: [Span] = []
        var wordChars: [Character] = []
        var wordPoints: [SourcePoint] = []
        var inWord = false
        var quote: Character? = nil
        var blankOK = false
        var i = 0
        func flush(_ endPoint: SourcePoint) {
            if blankOK || !wordChars.isEmpty {
                words.append(Span(chars: wordChars, points: wordPoints, end: endPoint))
            }
            wordChars = []
            wordPoints = []
            blankOK = false
        }
        while i < chars.count {
            let ch = chars[i]
            if !inWord {
                if ch.isWhitespace { i += 1; continue }
                inWord = true
            }
            if let q = quote {
                if ch == q { quote = nil }
                if ch == escape && q != "'" {
                    if i + 1 == chars.count { quote = nil; i += 1; continue }
                    wordChars.append(ch); wordPoints.append(points[i])
                    i += 1
                }
                wordChars.append(chars[i]); wordPoints.append(points[i])
                i += 1
                continue
            }
            if ch.isWhitespace {
                flush(points[i])
                inWord = false
                i += 1
                continue
            }
            if ch == "'" || ch == "\"" {
                quote = ch
                blankOK = true
            }
            if ch == escape {
                if i + 1 == chars.count { i += 1; continue }
                wordChars.append(ch); wordPoints.append(points[i])
                i += 1
            }
            wordChars.append(chars[i]); wordPoints.append(points[i])
            i += 1
        }
        if inWord { flush(end) }
        return words
    }
}

extension Span {
    /// Leading `--flag` words (BuildKit's `extractBuilderFlags`): quotes group, `\` escapes, `--` ends the flags.
    func extractFlags(file: String) -> (flags: [RawFlag], rest: Span) {
        var flags: [RawFlag] = []
        var i = 0
        while true {
            while i < chars.count, chars[i].isWhitespace { i += 1 }
            guard i + 1 < chars.count, chars[i] == "-", chars[i + 1] == "-" else {
                return (flags, slice(i..<chars.count))
            }
            let start = i
            var text: [Character] = []
            var textPoints: [SourcePoint] = []
            var quote: Character? = nil
            while i < chars.count {
                let ch = chars[i]
                if let q = quote {
                    if ch == q { quote = nil; i += 1; continue }
                    if ch == "\\" {
                        if i + 1 == chars.count { quote = nil; i += 1; continue }
                        i += 1
                    }
                    text.append(chars[i]); textPoints.append(points[i]); i += 1
                    continue
                }
                if ch.isWhitespace { break }
                if ch == "'" || ch == "\"" { quote = ch; i += 1; continue }
                if ch == "\\" {
                    if i + 1 == chars.count { i += 1; continue }
                    i += 1
                }
                text.append(chars[i]); textPoints.append(points[i]); i += 1
            }
            if text == ["-", "-"] {
                return (flags, slice(i..<chars.count).trimmed())
            }
            let body = Array(text.dropFirst(2))
            let bodyPoints = Array(textPoints.dropFirst(2))
            let location = SourceLocation(file: file, line: points[start].line, column: points[start].column)
            if let eq = body.firstIndex(of: "=") {
                let valuePoints = Array(bodyPoints[(eq + 1)...])
                let value = String(body[(eq + 1)...])
                let endPoint = i < points.count ? points[i] : end
                flags.append(
                    RawFlag(
                        name: String(body[..<eq]), value: value, location: location,
                        valueWord: Word(text: value, file: file, points: valuePoints, fallback: endPoint)))
            } else {
                flags.append(
                    RawFlag(
                        name: String(body), value: nil, location: location,
                        valueWord: Word("", location: location)))
            }
        }
    }
}
