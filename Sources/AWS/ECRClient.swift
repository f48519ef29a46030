import AsyncHTTPClient
import Foundation
import NIOCore

/// Credentials for `docker login`-style Basic auth against an ECR registry.
public struct ECRAuthorization: Sendable, Equatable {
    /// Always `AWS`.
    public var username: String
    public var password: String
    public var expiresAt: Date
    /// `https://ACCOUNT.dkr.ecr.REGION.amazonaws.com`
    public var proxyEndpoint: String

    /// The registry host of `proxyEndpoint`.
    public var registryHost: String {
        URL(string: proxyEndpoint)?.host(percentEncoded: false) ?? proxyEndpoint
    }
}

extension ECRAuthorization: CustomStringConvertible {
    public var description: String {
        "ECRAuthorization(username: \(username), password: <redacted>, expiresAt: \(expiresAt), proxyEndpoint: \(proxyEndpoint))"
    }
}

public enum ECRTagMutability: String, Sendable, Codable {
    case mutable = "MUTABLE"
    case immutable = "IMMUTABLE"
}

public struct ECRRepository: Sendable, Equatable, Decodable {
    public var repositoryName: String
    public var repositoryUri: String
    public var repositoryArn: String
    public var registryId: String
    public var imageTagMutability: ECRTagMutability?
    public var scanOnPush: Bool?
    public var createdAt: Date?

    enum CodingKeys: String, CodingKey {
        case repositoryName, repositoryUri, repositoryArn, registryId, imageTagMutability, createdAt,
            imageScanningConfiguration
    }

    struct ScanConfiguration: Decodable { var scanOnPush: Bool? }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        repositoryName = try container.decode(String.self, forKey: .repositoryName)
        repositoryUri = try container.decodeIfPresent(String.self, forKey: .repositoryUri) ?? ""
        repositoryArn = try container.decodeIfPresent(String.self, forKey: .repositoryArn) ?? ""
        registryId = try container.decodeIfPresent(String.self, forKey: .registryId) ?? ""
        imageTagMutability = try container.decodeIfPresent(ECRTagMutability.self, forKey: .imageTagMutability)
        scanOnPush = try container.decodeIfPresent(ScanConfiguration.self, forKey: .imageScanningConfiguration)?
            .scanOnPush
        createdAt = try container.decodeIfPresent(Double.self, forKey: .createdAt).map {
            Date(timeIntervalSince1970: $0)
        }
    }
}

/// Lifecycle policy documents for PutLifecyclePolicy.
public enum ECRLifecyclePolicy {
    /// Expires all but the `count` most recently pushed images, tagged or not.
    public static func keepLast(_ count: Int, description: String? = nil) -> String {
        let rule: [String: Any] = [
            "rulePriority": 1,
            "description": description ?? "Keep the last \(count) images",
            "selection": ["tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": count] as [String: Any],
            "action": ["type": "expire"],
        ]
        let data = try! JSONSerialization.data(withJSONObject: ["rules": [rule]], options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

/// Amazon ECR's control-plane API (AWS JSON 1.1 protocol, SigV4 service `ecr`).
public struct ECRClient: Sendable {
    let transport: AWSTransport
    let tokenCache = ECRTokenCache()

    static let targetPrefix = "AmazonEC2ContainerRegistry_V20150921."
    static let contentType = "application/x-amz-json-1.1"

    /// - Parameters:
    ///   - httpClient: shared with the rest of the program; the caller shuts it down.
    ///   - endpoint: from `AWSEndpoint.resolve(service: .ecr, ...)`.
    ///   - now: the clock, replaceable in tests.
    public init(
        httpClient: HTTPClient, credentials: AWSCredentials, region: String, endpoint: AWSEndpoint,
        timeout: TimeAmount = .seconds(30), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        transport = AWSTransport(
            httpClient: httpClient, credentials: credentials, region: region, signingName: "ecr",
            endpoint: endpoint, timeout: timeout, now: now)
    }

    public var endpoint: AWSEndpoint { transport.endpoint }
    public var region: String { transport.region }

    /// Tokens for the given registries (the caller's own registry when empty), served from the cache while
    /// more than five minutes of validity remain.
    public func getAuthorizationToken(registryIds: [String] = []) async throws -> [ECRAuthorization] {
        let key = registryIds.sorted().joined(separator: ",")
        return try await tokenCache.authorizations(key: key, now: transport.now()) { [self] in
            try await fetchAuthorizationToken(registryIds: registryIds)
        }
    }

    /// Forgets cached tokens, e.g. after a registry answered 401.
    public func invalidateTokenCache() async { await tokenCache.removeAll() }

    func fetchAuthorizationToken(registryIds: [String]) async throws -> [ECRAuthorization] {
        struct Request: Encodable { var registryIds: [String]? }
        struct Response: Decodable {
            struct Item: Decodable { var authorizationToken: String; var expiresAt: Double; var proxyEndpoint: String }
            var authorizationData: [Item]
        }
        let operation = "GetAuthorizationToken"
        let response: Response = try await call(
            operation, Request(registryIds: registryIds.isEmpty ? nil : registryIds))
        return try response.authorizationData.map { item in
            guard let decoded = Data(base64Encoded: item.authorizationToken),
                let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
            else {
                throw AWSError.malformedResponse(
                    operation: operation, detail: "authorizationToken is not base64 of \"user:password\"")
            }
            return ECRAuthorization(
                username: String(text[..<colon]), password: String(text[text.index(after: colon)...]),
                expiresAt: Date(timeIntervalSince1970: item.expiresAt), proxyEndpoint: item.proxyEndpoint)
        }
    }

    /// The named repositories (all of them when `names` is empty). A missing name throws `AWSError.repositoryNotFound`.
    public func describeRepositories(names: [String] = [], registryId: String? = nil) async throws -> [ECRRepository] {
        struct Request: Encodable {
            var repositoryNames: [String]?
            var registryId: String?
            var nextToken: String?
        }
        struct Response: Decodable { var repositories: [ECRRepository]; var nextToken: String? }
        var all: [ECRRepository] = []
        var token: String?
        repeat {
            let request = Request(
                repositoryNames: names.isEmpty ? nil : names, registryId: registryId, nextToken: token)
            let response: Response = try await call("DescribeRepositories", request) { failure in
                failure.code == "RepositoryNotFoundException"
                    ? .repositoryNotFound(
                        name: Self.missingName(in: failure.message, candidates: names), message: failure.message)
                    : nil
            }
            all += response.repositories
            token = response.nextToken
        } while token != nil
        return all
    }

    /// Creates a repository with scan on push and the given tag mutability.
    public func createRepository(
        name: String, scanOnPush: Bool = true,
        tagMutability: ECRTagMutability = .mutable
    ) async throws -> ECRRepository {
        struct Request: Encodable {
            struct Scan: Encodable { var scanOnPush: Bool }
            var repositoryName: String
            var imageTagMutability: String
            var imageScanningConfiguration: Scan
        }
        struct Response: Decodable { var repository: ECRRepository }
        let request = Request(
            repositoryName: name, imageTagMutability: tagMutability.rawValue,
            imageScanningConfiguration: .init(scanOnPush: scanOnPush))
        let response: Response = try await call("CreateRepository", request) { failure in
            failure.code == "RepositoryAlreadyExistsException" ? .repositoryAlreadyExists(name: name) : nil
        }
        return response.repository
    }

    /// Sets the repository's lifecycle policy (see `ECRLifecyclePolicy.keepLast`); returns the policy text ECR stored.
    @discardableResult
    public func putLifecyclePolicy(repository: String, policyText: String) async throws -> String {
        struct Request: Encodable { var repositoryName: String; var lifecyclePolicyText: String }
        struct Response: Decodable { var lifecyclePolicyText: String? }
        let response: Response = try await call(
            "PutLifecyclePolicy",
            Request(repositoryName: repository, lifecyclePolicyText: policyText)
        ) { failure in
            switch failure.code {
            case "RepositoryNotFoundException": return .repositoryNotFound(name: repository, message: failure.message)
            case "InvalidParameterException":
                return .lifecyclePolicyInvalid(repository: repository, message: failure.message)
            default: return nil
            }
        }
        return response.lifecyclePolicyText ?? policyText
    }

    // MARK: - Protocol

    /// The headers of an ECR call, before signing.
    static func headers(operation: String) -> [(name: String, value: String)] {
        [(name: "Content-Type", value: contentType), (name: "X-Amz-Target", value: targetPrefix + operation)]
    }

    /// The signed request for an operation, as it would be sent at `date`.
    func signedRequest(operation: String, body: Data, date: Date) -> AWSSignedRequest {
        transport.signedPOST(headers: Self.headers(operation: operation), body: body, date: date)
    }

    func call<Request: Encodable, Response: Decodable>(
        _ operation: String, _ request: Request, mapError: (AWSServiceFailure) -> AWSError? = { _ in nil }
    ) async throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = try encoder.encode(request)
        let data = try await transport.post(
            operation: operation, headers: Self.headers(operation: operation), body: body,
            parseError: AWSJSONError.parse, mapError: mapError)
        do {
            return try JSONDecoder().decode(Response.self, from: data)
        } catch {
            throw AWSError.malformedResponse(operation: operation, detail: "\(error)")
        }
    }

    /// ECR's message names the missing repository ("The repository with name 'x' does not exist ...").
    static func missingName(in message: String, candidates: [String]) -> String {
        if let start = message.range(of: "name '"), let end = message[start.upperBound...].firstIndex(of: "'") {
            return String(message[start.upperBound..<end])
        }
        return candidates.count == 1 ? candidates[0] : candidates.joined(separator: ", ")
    }
}
