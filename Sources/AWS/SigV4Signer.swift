import Foundation
import OCI

/// AWS Signature Version 4 for one request, following the published algorithm
/// (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
/// Pure: the same inputs and date give the same signature.
public struct SigV4Signer: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    public var service: String
    /// Every service but S3 removes dot segments and empty segments from the path and encodes it once more;
    /// S3 signs the path exactly as sent.
    public var normalizesPath: Bool
    /// Adds `x-amz-content-sha256` (S3 and ECR's registry API want it; JSON and Query APIs do not need it).
    public var addsContentSHA256Header: Bool
    /// Whether `X-Amz-Security-Token` is part of the signature. A few services (and the
    /// `post-sts-header-after` case of the test suite) add it after signing.
    public var signsSecurityToken: Bool

    public static let algorithm = "AWS4-HMAC-SHA256"

    /// Headers that proxies and HTTP stacks may change or drop; signing them breaks signatures. Same list as botocore.
    static let unsignedHeaders: Set<String> = [
        "authorization", "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    ]

    public init(
        credentials: AWSCredentials, region: String, service: String,
        normalizesPath: Bool? = nil, addsContentSHA256Header: Bool = false, signsSecurityToken: Bool = true
    ) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.normalizesPath = normalizesPath ?? (service != "s3")
        self.addsContentSHA256Header = addsContentSHA256Header
        self.signsSecurityToken = signsSecurityToken
    }

    /// The outcome of signing: the headers to send and the intermediate strings (useful when AWS says the signature does not match).
    public struct SignedRequest: Sendable {
        /// The request's headers with `Host`, `X-Amz-Date`, `X-Amz-Security-Token`, `x-amz-content-sha256` and `Authorization` set.
        public var headers: [(name: String, value: String)]
        public var authorization: String
        public var amzDate: String
        public var canonicalRequest: String
        public var stringToSign: String
        public var signedHeaders: String
        public var signature: String

        /// The value of the first header with this name, compared case-insensitively.
        public func header(_ name: String) -> String? {
            let lower = name.lowercased()
            return headers.first { $0.name.lowercased() == lower }?.value
        }
    }

    /// Signs a request to `url`. `payloadHash` is the lowercase hex SHA-256 of the body
    /// (or `UNSIGNED-PAYLOAD` where the service allows it).
    public func sign(
        method: String, url: URL, headers: [(name: String, value: String)],
        payloadHash: String, date: Date
    ) -> SignedRequest {
        var headers = headers
        if !headers.contains(where: { $0.name.lowercased() == "host" }), let host = Self.hostHeader(for: url) {
            headers.insert((name: "Host", value: host), at: 0)
        }
        let path = url.path(percentEncoded: true)
        return sign(
            method: method, path: path, query: url.query(percentEncoded: true),
            headers: headers, payloadHash: payloadHash, date: date)
    }

    /// Signs a request given a body in memory.
    public func sign(
        method: String, url: URL, headers: [(name: String, value: String)],
        body: Data, date: Date
    ) -> SignedRequest {
        sign(method: method, url: url, headers: headers, payloadHash: SHA256Hasher.hash(body).encoded, date: date)
    }

    /// Signs a request given its path and query exactly as they go on the wire; `headers` must hold `Host`.
    public func sign(
        method: String, path: String, query: String?, headers: [(name: String, value: String)],
        payloadHash: String, date: Date
    ) -> SignedRequest {
        let amzDate = Self.amzDate(date)
        let day = String(amzDate.prefix(8))

        // Headers this signer owns are replaced, as a retry must not carry the previous attempt's values.
        var headers = headers.filter { header in
            let lower = header.name.lowercased()
            if lower == "authorization" || lower == "x-amz-date" { return false }
            if lower == "x-amz-security-token" && credentials.sessionToken != nil { return false }
            if lower == "x-amz-content-sha256" && addsContentSHA256Header { return false }
            return true
        }
        headers.append((name: "X-Amz-Date", value: amzDate))
        if addsContentSHA256Header {
            headers.append((name: "x-amz-content-sha256", value: payloadHash))
        }
        var unsignedToken: (name: String, value: String)?
        if let token = credentials.sessionToken {
            if signsSecurityToken {
                headers.append((name: "X-Amz-Security-Token", value: token))
            } else {
                unsignedToken = (name: "X-Amz-Security-Token", value: token)
            }
        }

        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(headers)
        let canonicalRequest = [
            method.uppercased(),
            canonicalPath(path),
            Self.canonicalQuery(query),
            canonicalHeaders,
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")

        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [Self.algorithm, amzDate, scope, SHA256Hasher.hex(of: canonicalRequest)].joined(
            separator: "\n")
        let key = Self.signingKey(
            secretAccessKey: credentials.secretAccessKey, day: day, region: region, service: service)
        let signature = SHA256Hasher.hex(SHA256Hasher.hmac(key: key, message: stringToSign))
        let authorization =
            "\(Self.algorithm) Credential=\(credentials.accessKeyId)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"

        if let unsignedToken { headers.append(unsignedToken) }
        headers.append((name: "Authorization", value: authorization))
        return SignedRequest(
            headers: headers, authorization: authorization, amzDate: amzDate,
            canonicalRequest: canonicalRequest, stringToSign: stringToSign,
            signedHeaders: signedHeaders, signature: signature)
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request").
    public static func signingKey(secretAccessKey: String, day: String, region: String, service: String) -> [UInt8] {
        let kDate = SHA256Hasher.hmac(key: Array("AWS4\(secretAccessKey)".utf8), message: day)
        let kRegion = SHA256Hasher.hmac(key: kDate, message: region)
        let kService = SHA256Hasher.hmac(key: kRegion, message: service)
        return SHA256Hasher.hmac(key: kService, message: "aws4_request")
    }

    /// `YYYYMMDDTHHMMSSZ` in UTC.
    public static func amzDate(_ date: Date) -> String {
        var seconds = time_t(floor(date.timeIntervalSince1970))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(width - digits.count, 0)) + digits
        }
        return pad(parts.tm_year + 1900, 4) + pad(parts.tm_mon + 1, 2) + pad(parts.tm_mday, 2)
            + "T" + pad(parts.tm_hour, 2) + pad(parts.tm_min, 2) + pad(parts.tm_sec, 2) + "Z"
    }

    // MARK: - Canonical parts

    func canonicalPath(_ path: String) -> String {
        guard normalizesPath else { return path.isEmpty ? "/" : path }
        return Self.uriEncode(Self.removeDotSegments(path.isEmpty ? "/" : path), keepSlash: true)
    }

    /// RFC 3986 dot-segment removal as botocore does it: empty segments vanish too, a trailing slash stays.
    static func removeDotSegments(_ path: String) -> String {
        var output: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." {
                if !output.isEmpty { output.removeLast() }
                continue
            }
            output.append(segment)
        }
        let leading = path.hasPrefix("/") ? "/" : ""
        let trailing = path.hasSuffix("/") && !output.isEmpty ? "/" : ""
        return leading + output.joined(separator: "/") + trailing
    }

    /// Keys and values are decoded, then encoded with the RFC 3986 unreserved set, then sorted by key and value.
    static func canonicalQuery(_ query: String?) -> String {
        guard let query, !query.isEmpty else { return "" }
        var pairs: [(key: String, value: String)] = []
        for piece in query.split(separator: "&", omittingEmptySubsequences: true) {
            let (rawKey, rawValue): (Substring, Substring)
            if let equals = piece.firstIndex(of: "=") {
                rawKey = piece[..<equals]
                rawValue = piece[piece.index(after: equals)...]
            } else {
                rawKey = piece
                rawValue = ""
            }
            pairs.append((uriEncode(bytes: percentDecode(rawKey)), uriEncode(bytes: percentDecode(rawValue))))
        }
        pairs.sort { lhs, rhs in
            if lhs.key != rhs.key { return lhs.key.utf8.lexicographicallyPrecedes(rhs.key.utf8) }
            return lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8)
        }
        return pairs.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
    }

    /// Lowercased names, sorted; values trimmed with inner whitespace runs collapsed; repeated headers joined by commas in order.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (canonical: String, signed: String) {
        var values: [String: [String]] = [:]
        var names: [String] = []
        for header in headers {
            let name = header.name.lowercased().trimmingCharacters(in: .whitespaces)
            if unsignedHeaders.contains(name) { continue }
            let value = header.value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
                .joined(separator: " ")
            if values[name] == nil { names.append(name) }
            values[name, default: []].append(value)
        }
        names.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var canonical = ""
        for name in names {
            canonical += name + ":" + values[name, default: []].joined(separator: ",") + "\n"
        }
        return (canonical, names.joined(separator: ";"))
    }

    static func hostHeader(for url: URL) -> String? {
        guard let host = url.host(percentEncoded: false) else { return nil }
        let bracketed = host.contains(":") ? "[\(host)]" : host
        guard let port = url.port else { return bracketed }
        let scheme = url.scheme?.lowercased()
        if (scheme == "https" && port == 443) || (scheme == "http" && port == 80) { return bracketed }
        return "\(bracketed):\(port)"
    }

    // MARK: - Percent encoding

    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Percent-encodes every byte outside the RFC 3986 unreserved set, with uppercase hex digits.
    public static func uriEncode(_ string: some StringProtocol, keepSlash: Bool = false) -> String {
        uriEncode(bytes: Array(string.utf8), keepSlash: keepSlash)
    }

    static func uriEncode(bytes: [UInt8], keepSlash: Bool = false) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for byte in bytes {
            if isUnreserved(byte) || (keepSlash && byte == UInt8(ascii: "/")) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0f)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes `%XX`; a `%` not followed by two hex digits stays as it is.
    static func percentDecode(_ string: some StringProtocol) -> [UInt8] {
        let bytes = Array(string.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
                let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
            {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return out
    }
}
