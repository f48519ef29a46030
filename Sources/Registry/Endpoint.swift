import Foundation
import OCI

/// Where a repository actually lives: scheme, host[:port] and the repository path on that host.
/// Docker Hub names go to `registry-1.docker.io`, or to a mirror when one is configured.
public struct RepositoryEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var scheme: String
    public var host: String
    public var repository: String

    public var baseURL: String { "\(scheme)://\(host)" }
    public var description: String { "\(host)/\(repository)" }
    /// The host credentials are looked up for (Docker's config calls Docker Hub "docker.io").
    public var credentialHost: String { host == "registry-1.docker.io" ? "docker.io" : host }
    /// The only origin the registry's credentials are sent to (besides its token realm).
    public var origin: Origin { Origin(scheme: scheme, hostAndPort: host) }
}

/// scheme + host + port, as browsers compare origins: credentials for one never go to another.
public struct Origin: Sendable, Hashable, CustomStringConvertible {
    public var scheme: String
    public var host: String
    public var port: Int

    public init(scheme: String, host: String, port: Int?) {
        self.scheme = scheme.lowercased()
        self.host = host.lowercased()
        self.port = port ?? (self.scheme == "http" ? 80 : 443)
    }

    /// From `host` or `host:port` (`[v6]:port` too).
    init(scheme: String, hostAndPort: String) {
        let bare = RegistryClientOptions.hostWithoutPort(hostAndPort)
        let port = bare.count < hostAndPort.count ? Int(hostAndPort.dropFirst(bare.count + 1)) : nil
        self.init(scheme: scheme, host: bare.hasPrefix("[") ? String(bare.dropFirst().dropLast()) : bare, port: port)
    }

    public init?(_ url: URL) {
        guard let scheme = url.scheme, let host = url.host, !host.isEmpty else { return nil }
        self.init(scheme: scheme, host: host, port: url.port)
    }

    public init?(_ text: String) {
        guard let url = URL(string: text) else { return nil }
        self.init(url)
    }

    public var description: String { "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}

/// A Docker Hub mirror such as `public.ecr.aws/docker/library` or `https://mirror.gcr.io`.
public struct RegistryMirror: Sendable, Hashable {
    public var scheme: String?
    public var host: String
    public var pathPrefix: String

    /// Parses `[scheme://]host[:port][/path/prefix]`.
    public init(parsing text: String) throws(RegistryError) {
        var rest = Substring(text)
        var scheme: String?
        for candidate in ["https://", "http://"] where rest.hasPrefix(candidate) {
            scheme = String(candidate.dropLast(3))
            rest = rest.dropFirst(candidate.count)
        }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        let parts = rest.split(separator: "/", maxSplits: 1)
        guard let host = parts.first, !host.isEmpty else {
            throw .local("invalid registry mirror '\(text)': expected HOST[/PATH], e.g. public.ecr.aws/docker/library")
        }
        self.scheme = scheme
        self.host = String(host)
        self.pathPrefix = parts.count > 1 ? String(parts[1]) : ""
    }

    /// The repository on the mirror for a Docker Hub repository, or nil when the mirror does not carry it
    /// (a `.../library` mirror carries only official images).
    func repository(for dockerHubRepository: String) -> String? {
        if pathPrefix.isEmpty { return dockerHubRepository }
        let isLibraryMirror = pathPrefix == "library" || pathPrefix.hasSuffix("/library")
        if isLibraryMirror {
            guard dockerHubRepository.hasPrefix("library/") else { return nil }
            return pathPrefix + "/" + dockerHubRepository.dropFirst("library/".count)
        }
        return pathPrefix + "/" + dockerHubRepository
    }
}

extension RegistryClientOptions {
    func isInsecure(_ host: String) -> Bool {
        let bare = Self.hostWithoutPort(host)
        return ["127.0.0.1", "localhost", "::1", "[::1]"].contains(bare) || insecureRegistries.contains(host)
            || insecureRegistries.contains(bare)
    }

    /// Plain http only to hosts the user named insecure (and loopback): never a downgrade
    /// because a registry or a redirect asked for one.
    func allowsPlainHTTP(_ origin: Origin) -> Bool {
        let host = origin.host.contains(":") ? "[\(origin.host)]" : origin.host
        return isInsecure(host) || isInsecure("\(host):\(origin.port)")
    }

    static func hostWithoutPort(_ host: String) -> String {
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") { return String(host[...close]) }
        if let colon = host.lastIndex(of: ":"), host[host.index(after: colon)...].allSatisfy(\.isNumber) {
            return String(host[..<colon])
        }
        return host
    }

    func endpoint(for reference: ImageReference, forPush: Bool = false) -> RepositoryEndpoint {
        if reference.registry == ImageReference.dockerHub {
            if !forPush, let mirror = dockerHubMirror, let repository = mirror.repository(for: reference.repository) {
                return RepositoryEndpoint(
                    scheme: mirror.scheme ?? (isInsecure(mirror.host) ? "http" : "https"), host: mirror.host,
                    repository: repository)
            }
            return RepositoryEndpoint(scheme: "https", host: "registry-1.docker.io", repository: reference.repository)
        }
        return RepositoryEndpoint(
            scheme: isInsecure(reference.registry) ? "http" : "https", host: reference.registry,
            repository: reference.repository)
    }
}
