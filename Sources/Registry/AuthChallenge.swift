/// One `WWW-Authenticate` challenge: `Basic realm="x"` or `Bearer realm="..",service="..",scope=".."`.
public struct AuthChallenge: Sendable, Equatable {
    public var scheme: String
    public var parameters: [String: String]

    public var realm: String? { parameters["realm"] }
    public var service: String? { parameters["service"] }
    public var scope: String? { parameters["scope"] }
    public var isBearer: Bool { scheme.lowercased() == "bearer" }
    public var isBasic: Bool { scheme.lowercased() == "basic" }

    /// Parses a header that may hold several challenges; quoted values may contain commas and escapes.
    public static func parse(_ header: String) -> [AuthChallenge] {
        var result: [AuthChallenge] = []
        let chars = Array(header)
        var i = 0
        func skipSpaces() { while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 } }
        func token() -> String {
            let start = i
            while i < chars.count, !" \t,=\"".contains(chars[i]) { i += 1 }
            return String(chars[start..<i])
        }
        while i < chars.count {
            skipSpaces()
            while i < chars.count, chars[i] == "," { i += 1; skipSpaces() }
            let scheme = token()
            guard !scheme.isEmpty else { i += 1; continue }
            var challenge = AuthChallenge(scheme: scheme, parameters: [:])
            // Parameters: name=value or name="quoted", separated by commas, until the next scheme word.
            while i < chars.count {
                skipSpaces()
                let save = i
                let name = token()
                skipSpaces()
                guard !name.isEmpty, i < chars.count, chars[i] == "=" else { i = save; break }
                i += 1
                skipSpaces()
                var value = ""
                if i < chars.count, chars[i] == "\"" {
                    i += 1
                    while i < chars.count, chars[i] != "\"" {
                        if chars[i] == "\\", i + 1 < chars.count { i += 1 }
                        value.append(chars[i])
                        i += 1
                    }
                    i += 1
                } else {
                    value = token()
                }
                challenge.parameters[name.lowercased()] = value
                skipSpaces()
                if i < chars.count, chars[i] == "," { i += 1 }
            }
            result.append(challenge)
        }
        return result
    }
}
