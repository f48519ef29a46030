import AWS
import AsyncHTTPClient
import Foundation
import OCI
import Registry

/// One AWS session per command: credentials and region resolved once (the AWS CLI's chain),
/// one HTTP client, one ECR client (so its token cache serves every request of the push).
struct AWSContext: Sendable {
    let credentials: AWSCredentials
    let region: String
    let ecr: ECRClient
    let sts: STSClient

    static func with<T: Sendable>(
        profile: String?, region: String?, endpointURL: String?,
        _ body: @Sendable (AWSContext) async throws -> T
    ) async throws -> T {
        let environment = ProcessInfo.processInfo.environment
        let resolver = AWSConfigResolver(environment: environment, profile: profile)
        let credentials = try await resolver.resolveCredentials()
        let region = try region ?? resolver.resolveRegion().region
        let ecrEndpoint = try AWSEndpoint.resolve(
            service: .ecr, region: region, explicit: endpointURL, environment: environment)
        let stsEndpoint = try AWSEndpoint.resolve(
            service: .sts, region: region, explicit: nil, environment: environment)
        return try await AWSHTTPClient.withClient { http in
            let context = AWSContext(
                credentials: credentials, region: region,
                ecr: ECRClient(httpClient: http, credentials: credentials, region: region, endpoint: ecrEndpoint),
                sts: STSClient(httpClient: http, credentials: credentials, region: region, endpoint: stsEndpoint))
            return try await body(context)
        }
    }
}

/// Registry credentials from ECR itself: `AWS` and a GetAuthorizationToken password, sent from the
/// first request (ECR uses Basic auth; a 401 in the middle of an upload is costly).
struct ECRCredentialSource: RegistryCredentialSource {
    let host: String
    let accountId: String?
    let ecr: ECRClient

    func credentials(for host: String) async throws -> RegistryCredentials? {
        guard host == self.host else { return nil }
        let tokens = try await ecr.getAuthorizationToken(registryIds: accountId.map { [$0] } ?? [])
        guard let token = tokens.first else { return nil }
        return RegistryCredentials(username: token.username, password: token.password)
    }
}

/// Where an ECR push goes: `ecr://NAME` resolved to `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`
/// (account from STS GetCallerIdentity), or an ECR host given directly.
struct ECRDestination: Sendable {
    let host: String
    let repository: String
    let accountId: String?

    static func isECR(_ text: String) -> Bool {
        if text.hasPrefix("ecr://") { return true }
        let host = text.split(separator: "/").first.map(String.init) ?? ""
        return ECRRegistry.isECRHost(host)
    }

    /// `registryHost` replaces the derived host (an ECR VPC endpoint, or a stand-in registry in tests).
    static func resolve(_ text: String, context: AWSContext, registryHost: String?) async throws -> ECRDestination {
        if text.hasPrefix("ecr://") {
            let name = String(text.dropFirst("ecr://".count))
            guard !name.isEmpty else {
                throw CommandFailure.usage("ecr:// needs a repository name, e.g. ecr://vibejudge-dashboard")
            }
            let identity = try await context.sts.getCallerIdentity()
            let host = registryHost ?? ECRRegistry(accountId: identity.account, region: context.region).host
            return ECRDestination(host: host, repository: name, accountId: identity.account)
        }
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        let registry = try ECRRegistry(host: parts[0])
        return ECRDestination(
            host: registryHost ?? parts[0], repository: parts.count > 1 ? parts[1] : "", accountId: registry.accountId)
    }

    var reference: String { "\(host)/\(repository)" }

    /// The repository without a tag.
    var repositoryName: String { repository.split(separator: ":").first.map(String.init) ?? repository }

    /// A missing repository is reported before any upload (ECR may drop the connection on the
    /// upload POST instead of answering 404); with `create`, it is made with scan on push and the
    /// project's lifecycle policy.
    func ensureRepository(
        context: AWSContext, create: Bool, lifecyclePolicy: URL?, progress: ProgressOptions
    ) async throws {
        let name = repositoryName
        do {
            _ = try await context.ecr.describeRepositories(names: [name], registryId: accountId)
        } catch AWSError.repositoryNotFound {
            guard create else {
                throw CommandFailure.usage(
                    "ECR repository '\(name)' does not exist in \(accountId.map { "account \($0), " } ?? "")\(context.region); create it with --create-repository (scan on push, lifecycle policy) or `aws ecr create-repository --repository-name \(name)`"
                )
            }
            progress.say("creating ECR repository \(name) (scan on push)")
            _ = try await context.ecr.createRepository(name: name, scanOnPush: true, tagMutability: .mutable)
            let policy =
                try lifecyclePolicy.flatMap {
                    FileManager.default.fileExists(atPath: $0.path) ? try String(contentsOf: $0, encoding: .utf8) : nil
                }
                ?? ECRLifecyclePolicy.keepLast(10)
            _ = try await context.ecr.putLifecyclePolicy(repository: name, policyText: policy)
        }
    }
}
