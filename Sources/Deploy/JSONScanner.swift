import Foundation

/// A JSON reader that keeps byte positions, so the editors can replace one value or insert one member
/// and leave the rest of the file (key order, spacing, number formats) exactly as it was.
/// JSONSerialization would re-order keys and re-format the whole document.
struct JSONScanner {
    struct Member {
        var key: String
        var keyStart: Int
        var keyEnd: Int
        var value: Value
    }

    indirect enum Kind {
        case object([Member])
        case array([Value])
        case string(String)
        case number
        case bool
        case null
    }

    struct Value {
        var kind: Kind
        var start: Int
        var end: Int

        var members: [Member]? { if case .object(let members) = kind { return members } else { return nil } }
        var elements: [Value]? { if case .array(let elements) = kind { return elements } else { return nil } }
        var string: String? { if case .string(let string) = kind { return string } else { return nil } }

        func member(_ key: String) -> Member? { members?.first { $0.key == key } }
    }

    let bytes: [UInt8]
    let fileName: String
    private(set) var root: Value
    private var pos = 0

    init(text: String, fileName: String) throws {
        bytes = Array(text.utf8)
        self.fileName = fileName
        root = Value(kind: .null, start: 0, end: 0)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { pos = 3 }
        skipWhitespace()
        guard pos < bytes.count else { throw error("the file is empty; expected a JSON document") }
        root = try parseValue()
        skipWhitespace()
        guard pos == bytes.count else { throw error("unexpected text after the JSON document") }
    }

    // MARK: - Positions

    func line(of offset: Int) -> Int {
        bytes[0..<min(offset, bytes.count)].reduce(1) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
    }

    func column(of offset: Int) -> Int {
        var start = min(offset, bytes.count)
        while start > 0, bytes[start - 1] != UInt8(ascii: "\n") { start -= 1 }
        return bytes[start..<min(offset, bytes.count)].reduce(1) { $0 + (($1 & 0xC0) == 0x80 ? 0 : 1) }
    }

    func error(_ message: String, at offset: Int? = nil) -> DeployError {
        let at = offset ?? pos
        return DeployError.syntax(file: fileName, line: line(of: at), column: column(of: at), message: message)
    }

    var newline: String {
        if let index = bytes.firstIndex(of: UInt8(ascii: "\n")), index > 0, bytes[index - 1] == UInt8(ascii: "\r") {
            return "\r\n"
        }
        return "\n"
    }

    /// The whitespace before `offset` on its line when nothing else precedes it there; nil when the value shares its line.
    func indentation(of offset: Int) -> String? {
        var start = offset
        while start > 0, bytes[start - 1] != UInt8(ascii: "\n") {
            guard bytes[start - 1] == UInt8(ascii: " ") || bytes[start - 1] == UInt8(ascii: "\t") else { return nil }
            start -= 1
        }
        return String(decoding: bytes[start..<offset], as: UTF8.self)
    }

    // MARK: - Parsing

    private mutating func skipWhitespace() {
        while pos < bytes.count,
            [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(bytes[pos])
        {
            pos += 1
        }
    }

    private mutating func parseValue() throws -> Value {
        guard pos < bytes.count else { throw error("unexpected end of file: expected a value") }
        let start = pos
        switch bytes[pos] {
        case UInt8(ascii: "{"):
            pos += 1
            var members: [Member] = []
            skipWhitespace()
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") {
                pos += 1
                return Value(kind: .object(members), start: start, end: pos)
            }
            while true {
                skipWhitespace()
                guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else {
                    throw error("expected a quoted member name")
                }
                let keyStart = pos
                let key = try parseString()
                let keyEnd = pos
                skipWhitespace()
                guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else {
                    throw error("expected \":\" after \"\(key)\"")
                }
                pos += 1
                skipWhitespace()
                let value = try parseValue()
                members.append(Member(key: key, keyStart: keyStart, keyEnd: keyEnd, value: value))
                skipWhitespace()
                guard pos < bytes.count else { throw error("unexpected end of file: expected \",\" or \"}\"") }
                if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if bytes[pos] == UInt8(ascii: "}") { pos += 1; break }
                throw error("expected \",\" or \"}\" after the value of \"\(key)\"")
            }
            return Value(kind: .object(members), start: start, end: pos)
        case UInt8(ascii: "["):
            pos += 1
            var elements: [Value] = []
            skipWhitespace()
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") {
                pos += 1
                return Value(kind: .array(elements), start: start, end: pos)
            }
            while true {
                skipWhitespace()
                elements.append(try parseValue())
                skipWhitespace()
                guard pos < bytes.count else { throw error("unexpected end of file: expected \",\" or \"]\"") }
                if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if bytes[pos] == UInt8(ascii: "]") { pos += 1; break }
                throw error("expected \",\" or \"]\" in the array")
            }
            return Value(kind: .array(elements), start: start, end: pos)
        case UInt8(ascii: "\""):
            let string = try parseString()
            return Value(kind: .string(string), start: start, end: pos)
        case UInt8(ascii: "t"):
            try expectWord("true")
            return Value(kind: .bool, start: start, end: pos)
        case UInt8(ascii: "f"):
            try expectWord("false")
            return Value(kind: .bool, start: start, end: pos)
        case UInt8(ascii: "n"):
            try expectWord("null")
            return Value(kind: .null, start: start, end: pos)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try parseNumber()
            return Value(kind: .number, start: start, end: pos)
        default:
            throw error(
                "unexpected character: expected a JSON value (object, array, string, number, true, false or null)")
        }
    }

    private mutating func expectWord(_ word: String) throws {
        let expected = Array(word.utf8)
        guard pos + expected.count <= bytes.count, Array(bytes[pos..<(pos + expected.count)]) == expected else {
            throw error("invalid literal: expected \(word)")
        }
        pos += expected.count
    }

    private mutating func parseNumber() throws {
        let start = pos
        func digits() -> Int {
            let begin = pos
            while pos < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[pos]) { pos += 1 }
            return pos - begin
        }
        if bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        let intStart = pos
        guard digits() > 0 else { throw error("invalid number", at: start) }
        if bytes[intStart] == UInt8(ascii: "0") && pos - intStart > 1 {
            throw error("invalid number: leading zero", at: start)
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            pos += 1
            guard digits() > 0 else { throw error("invalid number: digits expected after \".\"", at: start) }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard digits() > 0 else { throw error("invalid number: digits expected in the exponent", at: start) }
        }
    }

    private mutating func parseString() throws -> String {
        let start = pos
        pos += 1
        var scalars = String.UnicodeScalarView()
        var runStart = pos
        func flush(_ end: Int) {
            scalars.append(contentsOf: String(decoding: bytes[runStart..<end], as: UTF8.self).unicodeScalars)
        }
        while true {
            guard pos < bytes.count else { throw error("unterminated string", at: start) }
            let byte = bytes[pos]
            if byte == UInt8(ascii: "\"") {
                flush(pos)
                pos += 1
                return String(scalars)
            }
            if byte < 0x20 { throw error("control character in a string: escape it (\\n, \\t, \\u0000)") }
            if byte == UInt8(ascii: "\\") {
                flush(pos)
                guard pos + 1 < bytes.count else { throw error("unterminated escape") }
                let letter = bytes[pos + 1]
                pos += 2
                switch letter {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code), pos + 1 < bytes.count,
                        bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u")
                    {
                        pos += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("invalid surrogate pair") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                default:
                    throw error("invalid escape \\\(Character(Unicode.Scalar(letter)))", at: pos - 2)
                }
                runStart = pos
                continue
            }
            pos += 1
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard pos + 4 <= bytes.count,
            let value = UInt32(String(decoding: bytes[pos..<(pos + 4)], as: UTF8.self), radix: 16)
        else {
            throw error("invalid \\u escape: four hex digits expected")
        }
        pos += 4
        return value
    }

    // MARK: - Writing

    /// A JSON string literal, quotes included; `/` and non-ASCII are written as they are.
    static func quote(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// Byte patches over a scanned JSON document, and the insertions that keep its formatting.
struct JSONPatcher {
    let scanner: JSONScanner
    private(set) var patches: [(offset: Int, length: Int, text: String)] = []

    init(_ scanner: JSONScanner) { self.scanner = scanner }

    mutating func replace(_ value: JSONScanner.Value, with text: String) {
        patches.append((value.start, value.end - value.start, text))
    }

    mutating func replace(from start: Int, to end: Int, with text: String) {
        patches.append((start, end - start, text))
    }

    /// The separator between a member's key and value as the document writes it (`": "` or `":"`).
    func separator(of member: JSONScanner.Member) -> String {
        String(decoding: scanner.bytes[member.keyEnd..<member.value.start], as: UTF8.self)
            .replacingOccurrences(of: "\n", with: "").replacingOccurrences(of: "\r", with: "")
    }

    /// Adds `"key": value` at the end of an object, on its own line when the object spreads over lines.
    mutating func appendMember(to object: JSONScanner.Value, key: String, valueText: String) {
        let members = object.members ?? []
        guard let last = members.last else {
            patches.append((object.start + 1, 0, JSONScanner.quote(key) + ": " + valueText))
            return
        }
        let memberText = JSONScanner.quote(key) + separator(of: last) + valueText
        if let indent = scanner.indentation(of: last.keyStart) {
            patches.append((last.value.end, 0, "," + scanner.newline + indent + memberText))
        } else {
            patches.append((last.value.end, 0, ", " + memberText))
        }
    }

    /// Adds an element at the end of an array, on its own line when the array spreads over lines.
    mutating func appendElement(to array: JSONScanner.Value, text: String) {
        guard let last = array.elements?.last else {
            patches.append((array.start + 1, 0, text))
            return
        }
        if let indent = scanner.indentation(of: last.start) {
            patches.append((last.end, 0, "," + scanner.newline + indent + text))
        } else {
            patches.append((last.end, 0, ", " + text))
        }
    }

    func apply() -> String {
        var bytes = scanner.bytes
        let ordered = patches.enumerated().sorted { lhs, rhs in
            lhs.element.offset != rhs.element.offset ? lhs.element.offset > rhs.element.offset : lhs.offset > rhs.offset
        }
        for (_, patch) in ordered {
            bytes.replaceSubrange(patch.offset..<(patch.offset + patch.length), with: Array(patch.text.utf8))
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
