/// Outcome of reading an instruction's arguments as a JSON array (exec form).
enum JSONArrayResult {
    case strings([Word])
    /// Valid JSON array, but an element is not a string: Docker rejects this outright.
    case notStrings(SourcePoint)
    /// Not JSON. `unterminated` is true when the text starts like an exec-form array (`["`) and the
    /// input ended before the array was closed.
    case invalid(SourcePoint, unterminated: Bool)
}

/// A strict JSON reader for one top-level array, recording where each string starts.
struct JSONArrayReader {
    let span: Span
    let file: String
    var i = 0

    init(_ span: Span, file: String) {
        self.span = span.trimmed()
        self.file = file
    }

    private struct Failure: Error { var at: Int; var eof: Bool }
    private struct NotString: Error { var at: Int }

    private func point(_ index: Int) -> SourcePoint {
        index < span.points.count ? span.points[index] : span.end
    }

    mutating func read() -> JSONArrayResult {
        let chars = span.chars
        guard chars.first == "[" else { return .invalid(point(0), unterminated: false) }
        var lookahead = 1
        while lookahead < chars.count, chars[lookahead].isWhitespace { lookahead += 1 }
        let looksLikeExec = lookahead < chars.count && chars[lookahead] == "\""
        do {
            var words: [Word] = []
            var firstNonString: Int? = nil
            i = 1
            skipSpace()
            if peek() == "]" {
                i += 1
            } else {
                while true {
                    skipSpace()
                    if peek() == "\"" {
                        let start = i
                        let text = try readString()
                        let pts = Array(span.points[start..<min(i, span.points.count)])
                        var w = Word(text: text, file: file, points: [], fallback: point(start))
                        w.points = Array(repeating: pts.first ?? point(start), count: text.count)
                        words.append(w)
                    } else {
                        if firstNonString == nil { firstNonString = i }
                        try skipValue()
                    }
                    skipSpace()
                    guard let c = peek() else { throw Failure(at: i, eof: true) }
                    i += 1
                    if c == "]" { break }
                    if c != "," { throw Failure(at: i - 1, eof: false) }
                }
            }
            skipSpace()
            if i < chars.count { throw Failure(at: i, eof: false) }
            if let bad = firstNonString { return .notStrings(point(bad)) }
            return .strings(words)
        } catch let f as Failure {
            return .invalid(point(min(f.at, max(chars.count - 1, 0))), unterminated: f.eof && looksLikeExec)
        } catch {
            return .invalid(point(0), unterminated: false)
        }
    }

    private func peek() -> Character? { i < span.chars.count ? span.chars[i] : nil }

    private mutating func skipSpace() {
        while let c = peek(), c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1 }
    }

    private mutating func readString() throws -> String {
        let start = i
        i += 1
        var out = ""
        while true {
            guard let c = peek() else { throw Failure(at: start, eof: true) }
            i += 1
            switch c {
            case "\"":
                return out
            case "\\":
                guard let e = peek() else { throw Failure(at: start, eof: true) }
                i += 1
                switch e {
                case "\"": out.append("\"")
                case "\\": out.append("\\")
                case "/": out.append("/")
                case "b": out.append("\u{08}")
                case "f": out.append("\u{0C}")
                case "n": out.append("\n")
                case "r": out.append("\r")
                case "t": out.append("\t")
                case "u":
                    var code = try readHex4()
                    if (0xD800...0xDBFF).contains(code), peek() == "\\" {
                        let save = i
                        i += 1
                        if peek() == "u" {
                            i += 1
                            let low = try readHex4()
                            if (0xDC00...0xDFFF).contains(low) {
                                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                i = save
                            }
                        } else {
                            i = save
                        }
                    }
                    out.unicodeScalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                default:
                    throw Failure(at: i - 1, eof: false)
                }
            default:
                if let scalar = c.unicodeScalars.first, scalar.value < 0x20 { throw Failure(at: i - 1, eof: false) }
                out.append(c)
            }
        }
    }

    private mutating func readHex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let c = peek() else { throw Failure(at: i, eof: true) }
            guard let d = c.hexDigitValue else { throw Failure(at: i, eof: false) }
            value = value * 16 + UInt32(d)
            i += 1
        }
        return value
    }

    /// Skips any JSON value (numbers, literals, objects, nested arrays).
    private mutating func skipValue() throws {
        skipSpace()
        guard let c = peek() else { throw Failure(at: i, eof: true) }
        switch c {
        case "\"":
            _ = try readString()
        case "[", "{":
            let close: Character = c == "[" ? "]" : "}"
            i += 1
            skipSpace()
            if peek() == close { i += 1; return }
            while true {
                if close == "}" {
                    skipSpace()
                    guard peek() == "\"" else { throw Failure(at: i, eof: peek() == nil) }
                    _ = try readString()
                    skipSpace()
                    guard let colon = peek() else { throw Failure(at: i, eof: true) }
                    guard colon == ":" else { throw Failure(at: i, eof: false) }
                    i += 1
                }
                try skipValue()
                skipSpace()
                guard let d = peek() else { throw Failure(at: i, eof: true) }
                i += 1
                if d == close { return }
                if d != "," { throw Failure(at: i - 1, eof: false) }
            }
        case "t", "f", "n":
            for literal in ["true", "false", "null"] where literal.first == c {
                for expected in literal {
                    guard let got = peek() else { throw Failure(at: i, eof: true) }
                    guard got == expected else { throw Failure(at: i, eof: false) }
                    i += 1
                }
                return
            }
        case "-", "0"..."9":
            let start = i
            if peek() == "-" { i += 1 }
            guard let first = peek(), first.isASCII, first.isNumber else { throw Failure(at: i, eof: peek() == nil) }
            if first == "0" { i += 1 } else { while let d = peek(), d.isASCII, d.isNumber { i += 1 } }
            if peek() == "." {
                i += 1
                guard let d = peek(), d.isASCII, d.isNumber else { throw Failure(at: i, eof: peek() == nil) }
                while let d = peek(), d.isASCII, d.isNumber { i += 1 }
            }
            if let e = peek(), e == "e" || e == "E" {
                i += 1
                if let s = peek(), s == "+" || s == "-" { i += 1 }
                guard let d = peek(), d.isASCII, d.isNumber else { throw Failure(at: i, eof: peek() == nil) }
                while let d = peek(), d.isASCII, d.isNumber { i += 1 }
            }
            if i == start { throw Failure(at: i, eof: false) }
        default:
            throw Failure(at: i, eof: false)
        }
    }
}
