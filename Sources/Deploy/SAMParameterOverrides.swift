import Foundation

/// SAM's `Key=Value` tokens inside `parameter_overrides`, located by index into a string's decoded units.
/// Follows samcli's `CfnParameterOverridesType`: whitespace-separated `Key=Value`, a value either
/// double-quoted (backslash escapes) or a run without spaces and quotes (where `\ ` keeps a space);
/// values may contain `=`. The `ParameterKey=K,ParameterValue=V` form is understood too.
struct SAMParameterToken {
    var key: String
    /// Unit range of the value as written (quotes included).
    var valueRange: Range<Int>
    var value: String
    var quoted: Bool
}

enum SAMParameterOverrides {
    struct ParseFailure: Error {
        var unitIndex: Int
        var message: String
    }

    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r"
    }

    static func isKeyScalar(_ scalar: Unicode.Scalar) -> Bool {
        ("A"..."Z").contains(scalar) || ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "\""
    }

    static func tokenize(_ scalars: [Unicode.Scalar]) throws(ParseFailure) -> [SAMParameterToken] {
        var tokens: [SAMParameterToken] = []
        var index = 0
        while true {
            while index < scalars.count, isSpace(scalars[index]) { index += 1 }
            guard index < scalars.count else { break }
            let keyStart = index
            while index < scalars.count, isKeyScalar(scalars[index]) { index += 1 }
            guard index > keyStart, index < scalars.count, scalars[index] == "=" else {
                throw ParseFailure(
                    unitIndex: keyStart,
                    message: "expected Key=Value (a parameter name of letters and digits, then \"=\")")
            }
            let key = unquote(String(String.UnicodeScalarView(scalars[keyStart..<index])))
            index += 1
            let valueStart = index
            var quoted = false
            if index < scalars.count, scalars[index] == "\"" {
                quoted = true
                index += 1
                var closed = false
                while index < scalars.count {
                    if scalars[index] == "\\" { index += 2; continue }
                    if scalars[index] == "\"" { index += 1; closed = true; break }
                    index += 1
                }
                guard closed, index <= scalars.count else {
                    throw ParseFailure(
                        unitIndex: valueStart, message: "the quoted value of \(key) has no closing quote")
                }
                guard index == scalars.count || isSpace(scalars[index]) else {
                    throw ParseFailure(unitIndex: index, message: "expected a space after the quoted value of \(key)")
                }
            } else {
                while index < scalars.count, !isSpace(scalars[index]) {
                    if scalars[index] == "\"" {
                        throw ParseFailure(
                            unitIndex: index,
                            message:
                                "unexpected quote inside the value of \(key): quote the whole value, as \(key)=\"...\"")
                    }
                    index += scalars[index] == "\\" ? 2 : 1
                }
                index = min(index, scalars.count)
            }
            let raw = String(String.UnicodeScalarView(scalars[valueStart..<index]))
            var token = SAMParameterToken(key: key, valueRange: valueStart..<index, value: unquote(raw), quoted: quoted)
            // ParameterKey=Name,ParameterValue=Value names the parameter inside the value.
            if key == "ParameterKey", !quoted, let marker = raw.range(of: ",ParameterValue=") {
                let name = String(raw[..<marker.lowerBound])
                let offset = raw.unicodeScalars.distance(from: raw.unicodeScalars.startIndex, to: marker.upperBound)
                let valueRaw = String(raw[marker.upperBound...])
                token = SAMParameterToken(
                    key: name, valueRange: (valueStart + offset)..<index,
                    value: unquote(valueRaw), quoted: valueRaw.hasPrefix("\""))
            }
            tokens.append(token)
        }
        return tokens
    }

    /// One array element is one parameter; when SAM's tokenizer cannot read it (an unquoted space),
    /// the whole text after the first "=" is the value, which is what the author meant.
    static func tokenizeElement(_ scalars: [Unicode.Scalar]) throws(ParseFailure) -> [SAMParameterToken] {
        do {
            return try tokenize(scalars)
        } catch {
            var start = 0
            while start < scalars.count, isSpace(scalars[start]) { start += 1 }
            var index = start
            while index < scalars.count, isKeyScalar(scalars[index]) { index += 1 }
            guard index > start, index < scalars.count, scalars[index] == "=" else { throw error }
            var end = scalars.count
            while end > index + 1, isSpace(scalars[end - 1]) { end -= 1 }
            let raw = String(String.UnicodeScalarView(scalars[(index + 1)..<end]))
            return [
                SAMParameterToken(
                    key: unquote(String(String.UnicodeScalarView(scalars[start..<index]))),
                    valueRange: (index + 1)..<end, value: unquote(raw), quoted: raw.hasPrefix("\""))
            ]
        }
    }

    /// samcli's `_unquote`: strip wrapping double quotes, then `\ ` -> space and `\"` -> `"`.
    static func unquote(_ value: String) -> String {
        var text = value
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") {
            text = String(text.dropFirst().dropLast())
        }
        return text.replacingOccurrences(of: "\\ ", with: " ").replacingOccurrences(of: "\\\"", with: "\"")
    }

    /// A value as SAM reads it back: quoted when it holds whitespace, quotes or backslashes (or when asked to).
    static func render(_ value: String, quoted: Bool) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains { isSpace($0) || $0 == "\"" || $0 == "\\" }
        guard quoted || needsQuotes else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
