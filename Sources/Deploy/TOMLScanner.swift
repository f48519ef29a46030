import Foundation

/// A TOML reader that keeps byte positions, so an editor can change one value and leave every
/// other byte of the file alone. It checks enough syntax to find keys and values reliably
/// (strings, arrays, inline tables, scalars, headers), not every rule of TOML.
struct TOMLScanner {
    enum StringStyle: Sendable { case basic, literal, multilineBasic, multilineLiteral }

    /// One decoded character of a string and the raw bytes it came from (an escape is one unit).
    struct Unit {
        var scalar: Unicode.Scalar
        var rawStart: Int
        var rawEnd: Int
    }

    struct StringValue {
        var style: StringStyle
        /// Offsets of the whole literal, delimiters included.
        var start: Int
        var end: Int
        /// Offsets of the text between the delimiters.
        var contentStart: Int
        var contentEnd: Int
        var units: [Unit]

        var text: String {
            var out = String.UnicodeScalarView()
            out.append(contentsOf: units.map(\.scalar))
            return String(out)
        }
    }

    indirect enum Kind {
        case string(StringValue)
        case array([Value])
        case inlineTable
        case scalar
    }

    struct Value {
        var kind: Kind
        var start: Int
        var end: Int
    }

    struct Header {
        var path: [String]
        var isArrayTable: Bool
        var start: Int
        /// Offset of the line terminator after the header (or end of file).
        var lineEnd: Int
    }

    struct KeyValue {
        /// The table the pair is written under.
        var tablePath: [String]
        /// The (possibly dotted) key as written.
        var key: [String]
        var start: Int
        var value: Value
        /// Offset of the line terminator after the value and any comment (or end of file).
        var lineEnd: Int
        /// Under a `[[array.of.tables]]` header: not addressable by a plain path.
        var inArrayTable: Bool

        var fullPath: [String] { tablePath + key }
    }

    let bytes: [UInt8]
    let fileName: String
    private(set) var headers: [Header] = []
    private(set) var pairs: [KeyValue] = []
    private var pos = 0
    private let lineStarts: [Int]

    init(text: String, fileName: String) throws {
        bytes = Array(text.utf8)
        self.fileName = fileName
        var starts = [0]
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") { starts.append(index + 1) }
        lineStarts = starts
        try parseDocument()
    }

    // MARK: - Positions

    func line(of offset: Int) -> Int {
        var low = 0, high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
        }
        return low + 1
    }

    func column(of offset: Int) -> Int {
        let start = lineStarts[line(of: offset) - 1]
        // Count characters, not bytes: continuation bytes are 10xxxxxx.
        return bytes[start..<min(offset, bytes.count)].reduce(1) { $0 + (($1 & 0xC0) == 0x80 ? 0 : 1) }
    }

    func error(_ message: String, at offset: Int? = nil) -> DeployError {
        let where_ = min(offset ?? pos, bytes.count)
        return DeployError.syntax(file: fileName, line: line(of: where_), column: column(of: where_), message: message)
    }

    /// The newline the file uses ("\r\n" when its first line ends so).
    var newline: String {
        if let index = bytes.firstIndex(of: UInt8(ascii: "\n")), index > 0, bytes[index - 1] == UInt8(ascii: "\r") {
            return "\r\n"
        }
        return "\n"
    }

    // MARK: - Document

    private var current: UInt8? { pos < bytes.count ? bytes[pos] : nil }

    private func peek(_ offset: Int) -> UInt8? { pos + offset < bytes.count ? bytes[pos + offset] : nil }

    private mutating func skipSpaces() {
        while let byte = current, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { pos += 1 }
    }

    private mutating func skipComment() throws {
        guard current == UInt8(ascii: "#") else { return }
        while let byte = current, byte != UInt8(ascii: "\n") {
            if byte == UInt8(ascii: "\r"), peek(1) == UInt8(ascii: "\n") { break }
            if byte < 0x20 && byte != UInt8(ascii: "\t") || byte == 0x7F {
                throw error("control character in a comment")
            }
            pos += 1
        }
    }

    /// Consumes a newline; false when there is none here.
    private mutating func consumeNewline() -> Bool {
        if current == UInt8(ascii: "\n") { pos += 1; return true }
        if current == UInt8(ascii: "\r"), peek(1) == UInt8(ascii: "\n") { pos += 2; return true }
        return false
    }

    /// After a header or a pair: spaces, an optional comment, then a newline or the end.
    private mutating func expectLineEnd(after what: String) throws -> Int {
        skipSpaces()
        try skipComment()
        let end = pos
        if current == nil || consumeNewline() { return end }
        throw error("unexpected text after \(what): put each key = value on its own line")
    }

    private mutating func parseDocument() throws {
        var table: [String] = []
        var inArrayTable = false
        while true {
            skipSpaces()
            try skipComment()
            if consumeNewline() { continue }
            guard let byte = current else { break }
            if byte == UInt8(ascii: "[") {
                let start = pos
                pos += 1
                let isArray = current == UInt8(ascii: "[")
                if isArray { pos += 1 }
                skipSpaces()
                let path = try parseKey()
                skipSpaces()
                guard current == UInt8(ascii: "]") else { throw error("expected \"]\" to close the table header") }
                pos += 1
                if isArray {
                    guard current == UInt8(ascii: "]") else {
                        throw error("expected \"]]\" to close the array-of-tables header")
                    }
                    pos += 1
                }
                let lineEnd = try expectLineEnd(after: "the table header")
                headers.append(Header(path: path, isArrayTable: isArray, start: start, lineEnd: lineEnd))
                table = path
                inArrayTable = isArray
                continue
            }
            let start = pos
            let key = try parseKey()
            skipSpaces()
            guard current == UInt8(ascii: "=") else {
                throw error("expected \"=\" after the key \"\(key.joined(separator: "."))\"")
            }
            pos += 1
            skipSpaces()
            let value = try parseValue()
            let lineEnd = try expectLineEnd(after: "the value of \"\(key.joined(separator: "."))\"")
            pairs.append(
                KeyValue(
                    tablePath: table, key: key, start: start, value: value, lineEnd: lineEnd,
                    inArrayTable: inArrayTable))
        }
    }

    // MARK: - Keys

    static func isBareKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    private mutating func parseKey() throws -> [String] {
        var parts: [String] = []
        while true {
            skipSpaces()
            guard let byte = current else { throw error("expected a key") }
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                if peek(1) == byte && peek(2) == byte { throw error("a key cannot be a multi-line string") }
                let string = try parseString()
                parts.append(string.text)
            } else {
                let start = pos
                while let next = current, Self.isBareKeyByte(next) { pos += 1 }
                guard pos > start else {
                    throw error("expected a key (letters, digits, \"_\", \"-\", or a quoted string)")
                }
                parts.append(String(decoding: bytes[start..<pos], as: UTF8.self))
            }
            skipSpaces()
            guard current == UInt8(ascii: ".") else { return parts }
            pos += 1
        }
    }

    // MARK: - Values

    private mutating func skipBlankAndComments() throws {
        while true {
            skipSpaces()
            try skipComment()
            if !consumeNewline() { return }
        }
    }

    private mutating func parseValue() throws -> Value {
        guard let byte = current else { throw error("expected a value") }
        let start = pos
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            let string = try parseString()
            return Value(kind: .string(string), start: start, end: pos)
        case UInt8(ascii: "["):
            pos += 1
            var elements: [Value] = []
            while true {
                try skipBlankAndComments()
                if current == UInt8(ascii: "]") { pos += 1; break }
                guard current != nil else { throw error("unterminated array: expected \"]\"", at: start) }
                elements.append(try parseValue())
                try skipBlankAndComments()
                if current == UInt8(ascii: ",") { pos += 1; continue }
                if current == UInt8(ascii: "]") { pos += 1; break }
                throw error("expected \",\" or \"]\" in the array")
            }
            return Value(kind: .array(elements), start: start, end: pos)
        case UInt8(ascii: "{"):
            pos += 1
            try skipBlankAndComments()
            if current == UInt8(ascii: "}") { pos += 1; return Value(kind: .inlineTable, start: start, end: pos) }
            while true {
                try skipBlankAndComments()
                _ = try parseKey()
                skipSpaces()
                guard current == UInt8(ascii: "=") else { throw error("expected \"=\" in the inline table") }
                pos += 1
                skipSpaces()
                _ = try parseValue()
                try skipBlankAndComments()
                if current == UInt8(ascii: ",") { pos += 1; continue }
                if current == UInt8(ascii: "}") { pos += 1; break }
                throw error("expected \",\" or \"}\" in the inline table")
            }
            return Value(kind: .inlineTable, start: start, end: pos)
        default:
            // Numbers, booleans, dates: a run up to a delimiter; "1979-05-27 07:32:00" has one inner space.
            while let next = current, !Self.endsScalar(next) { pos += 1 }
            if pos - start == 10, current == UInt8(ascii: " "), let digit = peek(1),
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit)
            {
                pos += 1
                while let next = current, !Self.endsScalar(next) { pos += 1 }
            }
            guard pos > start else { throw error("expected a value") }
            let token = String(decoding: bytes[start..<pos], as: UTF8.self)
            guard Self.looksLikeScalar(token) else {
                throw error("invalid value \(token): strings must be quoted, e.g. \"\(token)\"", at: start)
            }
            return Value(kind: .scalar, start: start, end: pos)
        }
    }

    private static func endsScalar(_ byte: UInt8) -> Bool {
        [
            UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: ","),
            UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: "#"),
        ].contains(byte)
    }

    /// Booleans, numbers (with _ , hex/oct/bin, inf, nan) and date-times; a bare word is a common mistake worth naming.
    private static func looksLikeScalar(_ token: String) -> Bool {
        if token == "true" || token == "false" { return true }
        let body = token.hasPrefix("+") || token.hasPrefix("-") ? String(token.dropFirst()) : token
        if body == "inf" || body == "nan" { return true }
        guard let first = body.unicodeScalars.first, ("0"..."9").contains(first) else { return false }
        return token.unicodeScalars.allSatisfy { scalar in
            ("0"..."9").contains(scalar) || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
                || "+-_.:".unicodeScalars.contains(scalar) || scalar == " "
        }
    }

    // MARK: - Strings

    private mutating func parseString() throws -> StringValue {
        let start = pos
        let quote = bytes[pos]
        let isBasic = quote == UInt8(ascii: "\"")
        let multiline = peek(1) == quote && peek(2) == quote
        var units: [Unit] = []
        if multiline {
            pos += 3
            // A newline right after the opening delimiter is not part of the string.
            _ = consumeNewline()
            let contentStart = pos
            while true {
                guard let byte = current else { throw error("unterminated multi-line string", at: start) }
                if byte == quote && peek(1) == quote && peek(2) == quote {
                    // Up to two quotes may sit right before the closing delimiter.
                    var run = 3
                    while peek(run) == quote && run < 5 { run += 1 }
                    for extra in 0..<(run - 3) {
                        units.append(
                            Unit(scalar: Unicode.Scalar(quote), rawStart: pos + extra, rawEnd: pos + extra + 1))
                    }
                    let contentEnd = pos + run - 3
                    pos += run
                    return StringValue(
                        style: isBasic ? .multilineBasic : .multilineLiteral, start: start, end: pos,
                        contentStart: contentStart, contentEnd: contentEnd, units: units)
                }
                if isBasic && byte == UInt8(ascii: "\\") {
                    // A backslash at the end of a line swallows the newline and the following whitespace.
                    var look = pos + 1
                    while look < bytes.count, bytes[look] == UInt8(ascii: " ") || bytes[look] == UInt8(ascii: "\t") {
                        look += 1
                    }
                    if look < bytes.count, bytes[look] == UInt8(ascii: "\n") || bytes[look] == UInt8(ascii: "\r") {
                        pos = look
                        while let next = current,
                            [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(
                                next)
                        {
                            pos += 1
                        }
                        continue
                    }
                    units.append(try parseEscape())
                    continue
                }
                if byte == UInt8(ascii: "\r") && peek(1) == UInt8(ascii: "\n") {
                    units.append(Unit(scalar: "\r", rawStart: pos, rawEnd: pos + 1))
                    units.append(Unit(scalar: "\n", rawStart: pos + 1, rawEnd: pos + 2))
                    pos += 2
                    continue
                }
                if byte != UInt8(ascii: "\n") && byte != UInt8(ascii: "\t") && (byte < 0x20 || byte == 0x7F) {
                    throw error("control character in a string: write it as an escape such as \\u000D")
                }
                units.append(try decodeScalar())
            }
        }
        pos += 1
        let contentStart = pos
        while true {
            guard let byte = current, byte != UInt8(ascii: "\n"), byte != UInt8(ascii: "\r") else {
                throw error(
                    "unterminated string: a \(isBasic ? "\"" : "'") string must close on the same line (use \(isBasic ? "\"\"\"" : "'''") for multi-line text)",
                    at: start)
            }
            if byte == quote {
                let contentEnd = pos
                pos += 1
                return StringValue(
                    style: isBasic ? .basic : .literal, start: start, end: pos,
                    contentStart: contentStart, contentEnd: contentEnd, units: units)
            }
            if isBasic && byte == UInt8(ascii: "\\") {
                units.append(try parseEscape())
                continue
            }
            if byte != UInt8(ascii: "\t") && (byte < 0x20 || byte == 0x7F) {
                throw error("control character in a string: write it as an escape such as \\u0001")
            }
            units.append(try decodeScalar())
        }
    }

    private mutating func parseEscape() throws -> Unit {
        let start = pos
        guard let letter = peek(1) else { throw error("unterminated escape sequence") }
        var scalar: Unicode.Scalar
        var length = 2
        switch letter {
        case UInt8(ascii: "b"): scalar = "\u{08}"
        case UInt8(ascii: "t"): scalar = "\t"
        case UInt8(ascii: "n"): scalar = "\n"
        case UInt8(ascii: "f"): scalar = "\u{0C}"
        case UInt8(ascii: "r"): scalar = "\r"
        case UInt8(ascii: "e"): scalar = "\u{1B}"
        case UInt8(ascii: "\""): scalar = "\""
        case UInt8(ascii: "\\"): scalar = "\\"
        case UInt8(ascii: "u"), UInt8(ascii: "U"), UInt8(ascii: "x"):
            let digits = letter == UInt8(ascii: "u") ? 4 : letter == UInt8(ascii: "U") ? 8 : 2
            guard pos + 2 + digits <= bytes.count,
                let value = UInt32(String(decoding: bytes[(pos + 2)..<(pos + 2 + digits)], as: UTF8.self), radix: 16),
                let decoded = Unicode.Scalar(value)
            else {
                throw error(
                    "invalid escape: \\\(Character(Unicode.Scalar(letter))) needs \(digits) hex digits of a valid Unicode scalar"
                )
            }
            scalar = decoded
            length = 2 + digits
        default:
            throw error("invalid escape \\\(Character(Unicode.Scalar(letter))): use \\\\ for a backslash")
        }
        pos += length
        return Unit(scalar: scalar, rawStart: start, rawEnd: pos)
    }

    private mutating func decodeScalar() throws -> Unit {
        let start = pos
        let lead = bytes[pos]
        let length = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 0
        guard length > 0, pos + length <= bytes.count,
            let scalar = String(decoding: bytes[pos..<(pos + length)], as: UTF8.self).unicodeScalars.first
        else {
            throw error("invalid UTF-8")
        }
        pos += length
        return Unit(scalar: scalar, rawStart: start, rawEnd: pos)
    }

    // MARK: - Writing

    /// `s` as the body of a string of `style`, or nil when that style cannot hold it.
    static func encode(_ text: String, as style: StringStyle) -> String? {
        switch style {
        case .basic, .multilineBasic:
            var out = ""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                default:
                    if scalar.value < 0x20 || scalar.value == 0x7F {
                        out += String(format: "\\u%04X", scalar.value)
                    } else {
                        out.unicodeScalars.append(scalar)
                    }
                }
            }
            return out
        case .literal:
            let ok = text.unicodeScalars.allSatisfy {
                $0 != "'" && ($0 == "\t" || ($0.value >= 0x20 && $0.value != 0x7F))
            }
            return ok ? text : nil
        case .multilineLiteral:
            let ok =
                !text.contains("'''") && !text.hasSuffix("'")
                && text.unicodeScalars.allSatisfy { $0 == "\t" || $0 == "\n" || ($0.value >= 0x20 && $0.value != 0x7F) }
            return ok ? text : nil
        }
    }

    /// A key as TOML writes it: bare when it can be, else a basic string.
    static func renderKey(_ key: String) -> String {
        if !key.isEmpty && key.utf8.allSatisfy(isBareKeyByte) { return key }
        return "\"" + (encode(key, as: .basic) ?? key) + "\""
    }
}
