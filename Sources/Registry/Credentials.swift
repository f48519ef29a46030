import Foundation

/// A user name and secret for one registry. The secret never appears in descriptions or dumps.
public struct RegistryCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public var username: String
    public var password: String
    /// An OAuth2 refresh token (`identitytoken` in Docker's config); exchanged at the token endpoint.
    public var identityToken: String?

    public init(username: String, password: String, identityToken: String? = nil) {
        self.username = username
        self.password = password
        self.identityToken = identityToken
    }

    public var description: String { "credentials for user '\(username)'" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["username": username], displayStyle: .struct) }

    var basicHeader: String { "Basic " + Data("\(username):\(password)".utf8).base64EncodedString() }
}

/// Where credentials come from: Docker's config, `--username`/`--password-stdin`, or (plugged in by
/// the CLI) a cloud provider. `nil` means "none known for this host": the client then tries anonymously.
public protocol RegistryCredentialSource: Sendable {
    func credentials(for host: String) async throws -> RegistryCredentials?
}

/// Fixed credentials for one host (or every host when `host` is nil).
public struct StaticCredentials: RegistryCredentialSource {
    public let host: String?
    private let value: RegistryCredentials

    public init(host: String? = nil, username: String, password: String) {
        self.host = host
        self.value = RegistryCredentials(username: username, password: password)
    }

    public func credentials(for host: String) async throws -> RegistryCredentials? {
        guard let mine = self.host else { return value }
        return RegistryHost.same(mine, host) ? value : nil
    }
}

/// Asks each source in turn; the first that knows the host wins.
public struct CredentialChain: RegistryCredentialSource {
    public let sources: [any RegistryCredentialSource]

    public init(_ sources: [any RegistryCredentialSource]) { self.sources = sources }

    public func credentials(for host: String) async throws -> RegistryCredentials? {
        for source in sources {
            if let found = try await source.credentials(for: host) { return found }
        }
        return nil
    }
}

/// No credentials anywhere: anonymous access only.
public struct NoCredentials: RegistryCredentialSource {
    public init() {}
    public func credentials(for host: String) async throws -> RegistryCredentials? { nil }
}
