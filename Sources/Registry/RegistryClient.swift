import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix
import OCI

/// How the client reaches registries.
public struct RegistryClientOptions: Sendable {
    /// Hosts (`host` or `host:port`) spoken to over plain http; loopback hosts always are.
    public var insecureRegistries: Set<String>
    /// Where `docker.io` images are pulled from instead of Docker Hub.
    public var dockerHubMirror: RegistryMirror?
    /// Send Basic credentials from the first request (registries known to use Basic, such as ECR),
    /// instead of waiting for a 401 challenge.
    public var preemptiveBasic: Bool
    public var retry: RetryPolicy
    /// Blobs fetched at once by a pull.
    public var pullConcurrency: Int
    public var userAgent: String
    /// Longest wait for a response with no data flowing, in seconds.
    public var idleTimeout: Int64
    /// What "now" is for token lifetimes; tests pass a clock they move by hand.
    public var clock: @Sendable () -> Date

    public init(
        insecureRegistries: Set<String> = [], dockerHubMirror: RegistryMirror? = nil, preemptiveBasic: Bool = false,
        retry: RetryPolicy = .default, pullConcurrency: Int = 3, userAgent: String = ToolVersion.userAgent,
        idleTimeout: Int64 = 120,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.insecureRegistries = insecureRegistries
        self.dockerHubMirror = dockerHubMirror
        self.preemptiveBasic = preemptiveBasic
        self.retry = retry
        self.pullConcurrency = max(1, pullConcurrency)
        self.userAgent = userAgent
        self.idleTimeout = idleTimeout
        self.clock = clock
    }
}

/// A client of the OCI distribution API: challenge-driven auth, redirects handled by hand,
/// retries with backoff. One per process; call `shutdown()` when done.
public final class RegistryClient: Sendable {
    public let options: RegistryClientOptions
    let credentialSource: any RegistryCredentialSource
    let http: HTTPClient
    let auth: AuthState

    public init(
        credentials: any RegistryCredentialSource = DockerConfigCredentials(), options: RegistryClientOptions = .init()
    ) {
        self.options = options
        self.credentialSource = credentials
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,  // followed by hand: Authorization must not leak to other hosts
            timeout: .init(connect: .seconds(15), read: .seconds(options.idleTimeout)),
            decompression: .disabled)
        // Our own retry loop decides; the pool must report a refused connection at once.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 16
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        auth = AuthState(clock: options.clock)
    }

    public func shutdown() async throws { try await http.shutdown() }

    /// How many token requests each (host, scope) caused; lets callers see the token cache work.
    public func tokenRequestCount() async -> Int { await auth.tokenRequests }

    // MARK: Requests

    enum Body: Sendable {
        case none
        case data(Data)
        case file(path: String, size: Int64, onBytes: (@Sendable (Int64) -> Void)?)
    }

    struct Request: Sendable {
        var method: HTTPMethod
        var url: String
        var headers: HTTPHeaders = HTTPHeaders()
        var body: Body = .none
        /// Actions the request needs on the endpoint's repository, e.g. "pull" or "pull,push",
        /// plus extra scopes (a mount source).
        var scopes: [String]
    }

    /// Sends a request with auth and redirects; returns any final status except an unanswerable 401.
    /// Throws `TransientFailure` for dropped connections, `RegistryError` otherwise.
    func send(_ request: Request, to endpoint: RepositoryEndpoint) async throws -> HTTPClientResponse {
        // A URL the registry handed out (an upload Location) may name another origin: it gets
        // the request, never the credentials.
        guard Origin(request.url) == endpoint.origin else {
            let response = try await executeFollowingRedirects(request, endpoint: endpoint)
            if response.status == .unauthorized {
                await drain(response)
                throw RegistryError.unauthorized(
                    host: Origin(request.url)?.description ?? request.url,
                    hint:
                        "\(endpoint.host) sent this request to another origin, and imagekit sends credentials only to the registry's own scheme, host and port"
                )
            }
            return response
        }
        let credentials = try await auth.credentials(for: endpoint.credentialHost, source: credentialSource)
        var answeredChallenge = false
        while true {
            var attempt = request
            let sent = try await authorization(endpoint: endpoint, scopes: request.scopes, credentials: credentials)
            if let sent { attempt.headers.replaceOrAdd(name: "Authorization", value: sent) }
            let response = try await executeFollowingRedirects(attempt, endpoint: endpoint)
            guard response.status == .unauthorized else { return response }
            let challenges = AuthChallenge.parse(response.headers["WWW-Authenticate"].joined(separator: ", "))
            await drain(response)
            if answeredChallenge {
                throw RegistryError.unauthorized(
                    host: endpoint.host, hint: Self.loginHint(endpoint.credentialHost, credentials))
            }
            answeredChallenge = true
            if let bearer = challenges.first(where: \.isBearer), let realm = bearer.realm {
                await auth.learn(host: endpoint.host, scheme: .bearer(realm: realm, service: bearer.service))
                if let sent, sent.hasPrefix("Bearer ") {
                    // Only the token this request used is stale; a concurrent request may have cached a newer one.
                    await auth.forgetToken(
                        host: endpoint.host, scopes: request.scopes.map { scopeString($0, endpoint) },
                        matching: String(sent.dropFirst("Bearer ".count)))
                }
            } else if challenges.contains(where: \.isBasic) {
                guard credentials != nil else {
                    throw RegistryError.unauthorized(
                        host: endpoint.host, hint: Self.loginHint(endpoint.credentialHost, nil))
                }
                await auth.learn(host: endpoint.host, scheme: .basic)
            } else {
                throw RegistryError.unauthorized(
                    host: endpoint.host,
                    hint: "it asked for no supported authentication scheme (Basic or Bearer); "
                        + Self.loginHint(endpoint.credentialHost, credentials))
            }
        }
    }

    static func loginHint(_ host: String, _ credentials: RegistryCredentials?) -> String {
        if let credentials {
            return
                "the registry rejected \(credentials.description); check the user name and password (or log in again: tokens expire)"
        }
        return
            "no credentials are known for \(host): log in (docker login \(host)), add them to $DOCKER_CONFIG/config.json, or pass --username and --password-stdin"
    }

    /// `repository:NAME:ACTIONS` for a plain action list, or the scope as given when it is already full.
    func scopeString(_ scope: String, _ endpoint: RepositoryEndpoint) -> String {
        scope.hasPrefix("repository:") ? scope : "repository:\(endpoint.repository):\(scope)"
    }

    private func authorization(
        endpoint: RepositoryEndpoint, scopes: [String], credentials: RegistryCredentials?
    ) async throws -> String? {
        switch await auth.scheme(for: endpoint.host) {
        case .basic:
            return credentials?.basicHeader
        case .bearer(let realm, let service):
            let full = scopes.map { scopeString($0, endpoint) }
            let token = try await auth.token(host: endpoint.host, scopes: full) {
                try await self.fetchToken(
                    realm: realm, service: service, scopes: full, endpoint: endpoint, credentials: credentials)
            }
            return "Bearer \(token)"
        case nil:
            if options.preemptiveBasic, let credentials, credentials.identityToken == nil {
                return credentials.basicHeader
            }
            return nil
        }
    }

    private struct TokenAnswer: Decodable {
        var token: String?
        var access_token: String?
        var expires_in: Double?
    }

    private func fetchToken(
        realm: String, service: String?, scopes: [String], endpoint: RepositoryEndpoint,
        credentials: RegistryCredentials?
    ) async throws -> (String, Double) {
        guard var components = URLComponents(string: realm), let realmHost = components.host,
            let realmOrigin = Origin(realm),
            ["http", "https"].contains(realmOrigin.scheme)
        else {
            throw RegistryError.invalidResponse(
                host: endpoint.host, reason: "the Bearer challenge names an invalid realm '\(realm)'")
        }
        // The realm gets the credentials: never over plain http unless the user said so.
        guard realmOrigin.scheme == "https" || options.allowsPlainHTTP(realmOrigin) else {
            throw RegistryError.invalidResponse(
                host: endpoint.host,
                reason:
                    "its token realm \(realmOrigin) is plain http, which would expose the credentials; if that host really serves only http, pass --insecure-registry \(realmHost)"
            )
        }
        var request: HTTPClientRequest
        if let refresh = credentials?.identityToken {
            // OAuth2 refresh-token grant, as Docker does with an identity token.
            request = HTTPClientRequest(url: realm)
            request.method = .POST
            var form = URLComponents()
            form.queryItems =
                [
                    URLQueryItem(name: "grant_type", value: "refresh_token"),
                    URLQueryItem(name: "client_id", value: "imagekit"),
                    URLQueryItem(name: "refresh_token", value: refresh),
                ]
                + (service.map { [URLQueryItem(name: "service", value: $0)] } ?? [])
                + scopes.map { URLQueryItem(name: "scope", value: $0) }
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form.percentEncodedQuery ?? ""))
        } else {
            var items = components.queryItems ?? []
            if let service { items.append(URLQueryItem(name: "service", value: service)) }
            items += scopes.map { URLQueryItem(name: "scope", value: $0) }
            components.queryItems = items
            request = HTTPClientRequest(url: components.string ?? realm)
            request.method = .GET
            if let credentials { request.headers.add(name: "Authorization", value: credentials.basicHeader) }
        }
        request.headers.add(name: "User-Agent", value: options.userAgent)
        await auth.countTokenRequest()
        let response: HTTPClientResponse
        do { response = try await http.execute(request, timeout: .seconds(60)) } catch {
            throw classify(error, host: realmHost)
        }
        let body = try await collect(response, limit: 1 << 20, host: realmHost)
        switch response.status.code {
        case 200:
            guard let answer = try? JSONDecoder().decode(TokenAnswer.self, from: body),
                let token = answer.token ?? answer.access_token, !token.isEmpty
            else {
                throw RegistryError.invalidResponse(
                    host: realmHost, reason: "the token endpoint answered without a token")
            }
            return (token, answer.expires_in ?? 60)
        case 401, 403:
            throw RegistryError.unauthorized(
                host: endpoint.host, hint: Self.loginHint(endpoint.credentialHost, credentials))
        case 429, 500...599:
            throw TransientFailure(
                description: "the token endpoint \(realmHost) answered HTTP \(response.status.code)",
                retryAfter: RetryPolicy.parseRetryAfter(response.headers.first(name: "Retry-After")))
        default:
            throw RegistryError.httpError(
                host: realmHost, operation: "token request", status: Int(response.status.code),
                detail: Self.errorDetail(body))
        }
    }

    /// Follows redirects by hand. Every hop must be https unless its host was named insecure;
    /// `Authorization` goes only to the registry's own origin and is dropped for good at the
    /// first hop that leaves it (blob stores such as S3 also reject a second auth mechanism).
    private func executeFollowingRedirects(
        _ request: Request, endpoint: RepositoryEndpoint
    ) async throws -> HTTPClientResponse {
        var current = request
        for _ in 0..<10 {
            guard let origin = Origin(current.url), ["http", "https"].contains(origin.scheme) else {
                throw RegistryError.invalidResponse(
                    host: endpoint.host, reason: "a request to the invalid URL '\(current.url)'")
            }
            guard origin.scheme == "https" || options.allowsPlainHTTP(origin) else {
                throw RegistryError.invalidResponse(
                    host: endpoint.host,
                    reason:
                        "it sent imagekit to plain http (\(origin)); refused, as it would expose the request; if that host really serves only http, pass --insecure-registry \(origin.host)"
                )
            }
            if !Self.carriesCredentials(registry: endpoint.origin, to: origin) {
                current.headers.remove(name: "Authorization")
            }
            let response = try await execute(current)
            guard [301, 302, 303, 307, 308].contains(response.status.code),
                let location = response.headers.first(name: "Location")
            else { return response }
            await drain(response)
            guard let next = URL(string: location, relativeTo: URL(string: current.url))?.absoluteURL else {
                throw RegistryError.invalidResponse(host: endpoint.host, reason: "redirect to an invalid location")
            }
            if response.status.code == 303 || ([301, 302].contains(response.status.code) && current.method == .POST) {
                current.method = .GET
                current.body = .none
            }
            current.url = next.absoluteString
        }
        throw RegistryError.invalidResponse(host: endpoint.host, reason: "more than 10 redirects")
    }

    /// Whether a request to `destination` may carry the registry's credentials: only to the
    /// registry's exact scheme, host and port (a redirect to http on the same host does not).
    static func carriesCredentials(registry: Origin, to destination: Origin) -> Bool {
        registry == destination
    }

    static func hostAndPort(of url: URL) -> String {
        let host = url.host ?? ""
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return url.port.map { "\(bracketed):\($0)" } ?? bracketed
    }

    private func execute(_ request: Request) async throws -> HTTPClientResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = request.method
        outgoing.headers = request.headers
        outgoing.headers.replaceOrAdd(name: "User-Agent", value: options.userAgent)
        var timeout = TimeAmount.seconds(300)
        switch request.body {
        case .none:
            if request.method == .PUT || request.method == .POST {
                outgoing.headers.replaceOrAdd(name: "Content-Length", value: "0")
            }
        case .data(let data):
            outgoing.body = .bytes(ByteBuffer(data: data))
        case .file(let path, let size, let onBytes):
            outgoing.body = .stream(FileChunks(path: path, onBytes: onBytes), length: .known(size))
            timeout = .hours(24)  // stalls are caught by the idle read timeout instead
        }
        let host = URL(string: request.url).map(Self.hostAndPort) ?? request.url
        do { return try await http.execute(outgoing, timeout: timeout) } catch {
            throw classify(error, host: host)
        }
    }

    /// Refused connections and DNS failures are final; dropped connections are worth a retry.
    func classify(_ error: Error, host: String) -> Error {
        if error is RegistryError || error is TransientFailure || error is CancellationError { return error }
        if let connection = error as? NIOConnectionError {
            if let dns = connection.dnsAError ?? connection.dnsAAAAError {
                return RegistryError.unreachable(host: host, reason: "the host name does not resolve (\(dns))")
            }
            let reasons = connection.connectionErrors.map { "\($0.error)" }
            return RegistryError.unreachable(
                host: host,
                reason: reasons.contains(where: { $0.contains("refused") })
                    ? "connection refused" : reasons.joined(separator: "; "))
        }
        if let io = error as? IOError {
            if io.errnoCode == ECONNREFUSED {
                return RegistryError.unreachable(host: host, reason: "connection refused")
            }
            return TransientFailure(description: "the connection to \(host) failed (\(io.description))")
        }
        if let client = error as? HTTPClientError {
            switch client {
            case .connectTimeout, .getConnectionFromPoolTimeout:
                return RegistryError.unreachable(host: host, reason: "the connection timed out")
            case .invalidURL, .emptyHost, .emptyScheme:
                return RegistryError.invalidResponse(host: host, reason: "invalid URL (\(client))")
            case .cancelled:
                return CancellationError()
            default:
                return TransientFailure(description: "the connection to \(host) was dropped (\(client))")
            }
        }
        let text = String(describing: error)
        if text.contains("NIOSSL") || text.contains("handshake") || text.contains("certificate") {
            return RegistryError.unreachable(
                host: host,
                reason: "TLS failed (\(text)); if the registry speaks plain http, pass --insecure-registry \(host)")
        }
        return TransientFailure(description: "the connection to \(host) failed (\(text))")
    }

    func drain(_ response: HTTPClientResponse) async {
        _ = try? await response.body.collect(upTo: 4 << 20)
    }

    func collect(_ response: HTTPClientResponse, limit: Int, host: String) async throws -> Data {
        do {
            var buffer = try await response.body.collect(upTo: limit)
            return buffer.readData(length: buffer.readableBytes) ?? Data()
        } catch let error as NIOTooManyBytesError {
            _ = error
            throw RegistryError.invalidResponse(host: host, reason: "the response is larger than \(limit) bytes")
        } catch {
            throw classify(error, host: host)
        }
    }

    /// The first message of a registry's JSON error body (`{"errors":[{"code":..,"message":..}]}`).
    static func errorDetail(_ body: Data) -> String {
        struct Errors: Decodable {
            struct Item: Decodable { var code: String?; var message: String? }; var errors: [Item]?
        }
        if let parsed = try? JSONDecoder().decode(Errors.self, from: body), let first = parsed.errors?.first {
            return [first.code, first.message].compactMap { $0 }.joined(separator: ": ")
        }
        let text = String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.allSatisfy { $0.isASCII && !$0.isNewline } ? text : ""
    }

    // MARK: Retries

    /// Runs `body` until it succeeds, fails for good, or the retry budget is spent.
    func retrying<T: Sendable>(
        _ operation: String, progress: (any ProgressSink)?, _ body: (Int) async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await body(attempt)
            } catch let failure as TransientFailure {
                guard attempt < options.retry.maxAttempts else {
                    throw RegistryError.retriesExhausted(
                        operation: operation, attempts: attempt, lastError: failure.description)
                }
                let delay = options.retry.delay(afterAttempt: attempt, retryAfter: failure.retryAfter)
                progress?.report(
                    .retrying(operation: operation, attempt: attempt, delay: delay, reason: failure.description))
                try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
                attempt += 1
            }
        }
    }

    /// Maps statuses every operation treats alike; returns normally for the rest.
    func checkCommon(_ response: HTTPClientResponse, endpoint: RepositoryEndpoint, operation: String) async throws {
        let code = Int(response.status.code)
        switch code {
        case 429, 500...599:
            let retryAfter = RetryPolicy.parseRetryAfter(response.headers.first(name: "Retry-After"))
            let detail = Self.errorDetail(try await collect(response, limit: 1 << 16, host: endpoint.host))
            throw TransientFailure(
                description: "\(operation) answered HTTP \(code)\(detail.isEmpty ? "" : " (\(detail))")",
                retryAfter: retryAfter)
        case 403:
            let detail = Self.errorDetail(try await collect(response, limit: 1 << 16, host: endpoint.host))
            throw RegistryError.denied(host: endpoint.host, repository: endpoint.repository, detail: detail)
        default:
            return
        }
    }

    func url(_ endpoint: RepositoryEndpoint, _ path: String) -> String {
        "\(endpoint.baseURL)/v2/\(endpoint.repository)/\(path)"
    }
}

/// Per-host auth knowledge and the token cache, shared by all requests of a client.
actor AuthState {
    enum Scheme: Sendable { case basic, bearer(realm: String, service: String?) }

    private var schemes: [String: Scheme] = [:]
    private var tokens: [String: (token: String, expires: Date)] = [:]
    private var inFlight: [String: Task<(String, Double), Error>] = [:]
    private var credentialCache: [String: RegistryCredentials?] = [:]
    private(set) var tokenRequests = 0
    private let clock: @Sendable () -> Date

    init(clock: @escaping @Sendable () -> Date) { self.clock = clock }

    func countTokenRequest() { tokenRequests += 1 }

    func credentials(for host: String, source: any RegistryCredentialSource) async throws -> RegistryCredentials? {
        if let cached = credentialCache[host] { return cached }
        let found = try await source.credentials(for: host)
        credentialCache[host] = .some(found)
        return found
    }

    func scheme(for host: String) -> Scheme? { schemes[host] }
    func learn(host: String, scheme: Scheme) { schemes[host] = scheme }

    private func key(_ host: String, _ scopes: [String]) -> String {
        host + " " + scopes.sorted().joined(separator: " ")
    }

    func forgetToken(host: String, scopes: [String], matching token: String) {
        let k = key(host, scopes)
        if tokens[k]?.token == token { tokens[k] = nil }
    }

    /// A cached token while it is valid; otherwise one fetch shared by every concurrent caller.
    func token(
        host: String, scopes: [String], fetch: @escaping @Sendable () async throws -> (String, Double)
    ) async throws -> String {
        let k = key(host, scopes)
        if let cached = tokens[k], cached.expires > clock() { return cached.token }
        let task: Task<(String, Double), Error>
        if let running = inFlight[k] {
            task = running
        } else {
            task = Task { try await fetch() }
            inFlight[k] = task
        }
        defer { inFlight[k] = nil }
        let (token, lifetime) = try await task.value
        // Renew a little early so a token does not expire between check and use.
        tokens[k] = (token, clock().addingTimeInterval(max(1, lifetime - min(10, lifetime / 4))))
        return token
    }
}

/// A file read in chunks as a request body: never held in memory whole.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let onBytes: (@Sendable (Int64) -> Void)?
    static let chunkSize = 128 * 1024

    final class Reader {
        let fd: Int32
        var sent: Int64 = 0
        init(path: String) throws {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw RegistryError.local("cannot open \(path): \(String(cString: strerror(errno)))") }
        }
        deinit { close(fd) }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let path: String
        let onBytes: (@Sendable (Int64) -> Void)?
        var reader: Reader?
        var finished = false

        mutating func next() async throws -> ByteBuffer? {
            if finished { return nil }
            if reader == nil { reader = try Reader(path: path) }
            let fd = reader!.fd
            var buffer = ByteBufferAllocator().buffer(capacity: FileChunks.chunkSize)
            var readError: Int32 = 0
            let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: FileChunks.chunkSize) { pointer in
                while true {
                    let r = read(fd, pointer.baseAddress, FileChunks.chunkSize)
                    if r < 0 && errno == EINTR { continue }
                    if r < 0 { readError = errno; return 0 }
                    return r
                }
            }
            if readError != 0 {
                throw RegistryError.local("reading \(path) failed: \(String(cString: strerror(readError)))")
            }
            if n == 0 { finished = true; reader = nil; return nil }
            reader!.sent += Int64(n)
            onBytes?(reader!.sent)
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(path: path, onBytes: onBytes) }
}
