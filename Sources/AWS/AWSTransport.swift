import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

/// Creates the one `HTTPClient` the AWS clients (and the registry client) share, with timeouts set.
public enum AWSHTTPClient {
    public static func make(
        connectTimeout: TimeAmount = .seconds(10), readTimeout: TimeAmount = .seconds(60)
    ) -> HTTPClient {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: connectTimeout, read: readTimeout))
        configuration.httpVersion = .automatic
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Runs `body` with a fresh client and shuts the client down afterwards, also when `body` throws.
    public static func withClient<T: Sendable>(_ body: (HTTPClient) async throws -> T) async throws -> T {
        let client = make()
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

/// A request ready to send: what the signer saw is exactly what goes on the wire.
struct AWSSignedRequest: Sendable {
    var method: String
    var url: URL
    var headers: [(name: String, value: String)]
    var body: Data
}

/// The error an AWS service answered with, before a client maps it to an `AWSError`.
struct AWSServiceFailure: Sendable {
    var status: Int
    var code: String
    var message: String
}

/// Signs and sends requests to one service endpoint; shared by the ECR and STS clients.
struct AWSTransport: Sendable {
    let httpClient: HTTPClient
    let credentials: AWSCredentials
    let region: String
    let signingName: String
    let endpoint: AWSEndpoint
    let timeout: TimeAmount
    let now: @Sendable () -> Date

    static let maxResponseBytes = 8 << 20
    static let maxAttempts = 3

    var signer: SigV4Signer { SigV4Signer(credentials: credentials, region: region, service: signingName) }

    /// Builds and signs a POST to the endpoint. Pure given `date`, so tests can compare it with botocore.
    func signedPOST(headers: [(name: String, value: String)], body: Data, date: Date) -> AWSSignedRequest {
        var url = endpoint.url
        if url.path(percentEncoded: true).isEmpty { url = url.appending(path: "/") }
        var all = headers
        if let host = SigV4Signer.hostHeader(for: url) { all.insert((name: "Host", value: host), at: 0) }
        let signed = signer.sign(method: "POST", url: url, headers: all, body: body, date: date)
        return AWSSignedRequest(method: "POST", url: url, headers: signed.headers, body: body)
    }

    /// Sends the request, re-signing each attempt; retries throttling, 5xx and connection failures.
    /// Returns the body of a 2xx answer. A service error is parsed by `parseError`, then mapped by `mapError`
    /// (operation-specific errors), else by `commonError`, else reported as it came.
    func post(
        operation: String, headers: [(name: String, value: String)], body: Data,
        parseError: (Int, Data) -> AWSServiceFailure,
        mapError: (AWSServiceFailure) -> AWSError? = { _ in nil }
    ) async throws -> Data {
        var attempt = 0
        while true {
            attempt += 1
            let request = signedPOST(headers: headers, body: body, date: now())
            var outgoing = HTTPClientRequest(url: request.url.absoluteString)
            outgoing.method = .POST
            for header in request.headers { outgoing.headers.add(name: header.name, value: header.value) }
            outgoing.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
            outgoing.body = .bytes(ByteBuffer(data: body))

            let status: Int
            let responseBody: Data
            let began = DispatchTime.now().uptimeNanoseconds
            do {
                let response = try await httpClient.execute(outgoing, timeout: timeout)
                status = Int(response.status.code)
                var buffer = try await response.body.collect(upTo: Self.maxResponseBytes)
                responseBody = buffer.readData(length: buffer.readableBytes) ?? Data()
            } catch {
                // An attempt that used up its whole deadline (AHC keeps retrying refused connections until then)
                // is not retried: a wrong endpoint should fail after one timeout, not three.
                let elapsed = Int64(DispatchTime.now().uptimeNanoseconds - began)
                let exhausted =
                    elapsed >= timeout.nanoseconds * 9 / 10
                    || ((error as? HTTPClientError).map { [.deadlineExceeded, .connectTimeout].contains($0) } ?? false)
                if attempt < Self.maxAttempts, !exhausted, !(error is CancellationError) {
                    try await backoff(attempt)
                    continue
                }
                throw AWSError.transport(
                    operation: operation, endpoint: endpoint.url.absoluteString,
                    detail: "\(error) (endpoint from \(endpoint.source))")
            }

            if (200..<300).contains(status) { return responseBody }
            let failure = parseError(status, responseBody)
            let retryable =
                status >= 500 || status == 429
                || ["ThrottlingException", "Throttling", "RequestLimitExceeded", "TooManyRequestsException"].contains(
                    failure.code)
            if retryable && attempt < Self.maxAttempts {
                try await backoff(attempt)
                continue
            }
            throw mapError(failure) ?? commonError(operation: operation, failure: failure)
                ?? AWSError.service(
                    operation: operation, status: failure.status, code: failure.code, message: failure.message)
        }
    }

    private func backoff(_ attempt: Int) async throws {
        try await Task.sleep(nanoseconds: UInt64(200_000_000) << UInt64(attempt - 1))
    }

    /// Errors every AWS service shares: rejected credentials and denied access.
    func commonError(operation: String, failure: AWSServiceFailure) -> AWSError? {
        switch failure.code {
        case "UnrecognizedClientException", "InvalidSignatureException", "InvalidClientTokenId",
            "SignatureDoesNotMatch",
            "ExpiredTokenException", "ExpiredToken", "IncompleteSignature", "MissingAuthenticationToken",
            "InvalidAccessKeyId", "AuthFailure", "RequestExpired", "InvalidToken":
            return .credentialsRejected(code: failure.code, message: failure.message, source: credentials.source)
        case "AccessDeniedException", "AccessDenied":
            return .accessDenied(operation: operation, message: failure.message, source: credentials.source)
        default:
            return nil
        }
    }
}

/// Error answers of the JSON protocols: `{"__type": "...#Code", "message": "..."}`, or the `x-amzn-ErrorType` header.
enum AWSJSONError {
    static func parse(status: Int, body: Data) -> AWSServiceFailure {
        let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        var code = (object["__type"] as? String) ?? (object["code"] as? String) ?? ""
        // "aws.protocoltests#Code" and "Code:http://internal.amazon.com/..." both name "Code".
        if let hash = code.lastIndex(of: "#") { code = String(code[code.index(after: hash)...]) }
        if let colon = code.firstIndex(of: ":") { code = String(code[..<colon]) }
        if code.isEmpty { code = "HTTP\(status)" }
        let message =
            (object["message"] as? String) ?? (object["Message"] as? String)
            ?? String(decoding: body.prefix(300), as: UTF8.self)
        return AWSServiceFailure(status: status, code: code, message: message)
    }
}

/// Minimal reader for the small, flat XML documents of the Query protocol (STS answers and errors).
enum AWSXML {
    /// The text of the first element named `name`, entities decoded.
    static func text(of name: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(name)>") else { return nil }
        guard let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex) else { return nil }
        return decodeEntities(String(xml[open.upperBound..<close.lowerBound]))
    }

    static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var index = text.startIndex
        while index < text.endIndex {
            if text[index] == "&", let semicolon = text[index...].firstIndex(of: ";"),
                text.distance(from: index, to: semicolon) <= 10
            {
                let entity = text[text.index(after: index)..<semicolon]
                var replacement: String?
                switch entity {
                case "amp": replacement = "&"
                case "lt": replacement = "<"
                case "gt": replacement = ">"
                case "quot": replacement = "\""
                case "apos": replacement = "'"
                default:
                    if entity.hasPrefix("#x"), let value = UInt32(entity.dropFirst(2), radix: 16),
                        let scalar = Unicode.Scalar(value)
                    {
                        replacement = String(Character(scalar))
                    } else if entity.hasPrefix("#"), let value = UInt32(entity.dropFirst()),
                        let scalar = Unicode.Scalar(value)
                    {
                        replacement = String(Character(scalar))
                    }
                }
                if let replacement {
                    out += replacement
                    index = text.index(after: semicolon)
                    continue
                }
            }
            out.append(text[index])
            index = text.index(after: index)
        }
        return out
    }

    static func parseError(status: Int, body: Data) -> AWSServiceFailure {
        let xml = String(decoding: body, as: UTF8.self)
        let code = text(of: "Code", in: xml) ?? "HTTP\(status)"
        let message = text(of: "Message", in: xml) ?? String(xml.prefix(300))
        return AWSServiceFailure(status: status, code: code, message: message)
    }
}
