import Foundation

/// Docker's `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`): `auths`
/// entries (base64 `auth`, or `username`/`password`, `identitytoken`), `credHelpers` per host and
/// the `credsStore` default, which run `docker-credential-NAME get` with the host on stdin.
public struct DockerConfigCredentials: RegistryCredentialSource {
    public let configFile: URL
    private let searchPath: [String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let dir = environment["DOCKER_CONFIG"], !dir.isEmpty {
            configFile = URL(fileURLWithPath: dir).appendingPathComponent("config.json")
        } else {
            let home = environment["HOME"] ?? NSHomeDirectory()
            configFile = URL(fileURLWithPath: home).appendingPathComponent(".docker/config.json")
        }
        searchPath = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
    }

    private struct ConfigFile: Decodable {
        struct Auth: Decodable {
            var auth: String?
            var username: String?
            var password: String?
            var identitytoken: String?
        }
        var auths: [String: Auth]?
        var credHelpers: [String: String]?
        var credsStore: String?
    }

    public func credentials(for host: String) async throws -> RegistryCredentials? {
        guard FileManager.default.fileExists(atPath: configFile.path) else { return nil }
        let data: Data
        do { data = try Data(contentsOf: configFile) } catch {
            throw RegistryError.credentials("cannot read \(configFile.path): \(error.localizedDescription)")
        }
        let config: ConfigFile
        do { config = try JSONDecoder().decode(ConfigFile.self, from: data) } catch {
            throw RegistryError.credentials(
                "\(configFile.path) is not valid Docker config JSON (\(Self.describe(error))); fix or remove it")
        }
        let keys = RegistryHost.configKeys(for: host)
        if let helpers = config.credHelpers, let helper = keys.lazy.compactMap({ helpers[$0] }).first {
            return try runHelper(helper, serverURL: keys[0])
        }
        if let auths = config.auths,
            case let (key, entry)? = keys.lazy.compactMap({ k in auths[k].map { (k, $0) } }).first
        {
            if let token = entry.identitytoken, !token.isEmpty {
                return RegistryCredentials(username: entry.username ?? "<token>", password: "", identityToken: token)
            }
            if let user = entry.username, let password = entry.password {
                return RegistryCredentials(username: user, password: password)
            }
            if let encoded = entry.auth, !encoded.isEmpty {
                guard let decoded = Data(base64Encoded: encoded).flatMap({ String(data: $0, encoding: .utf8) }),
                    let colon = decoded.firstIndex(of: ":")
                else {
                    throw RegistryError.credentials(
                        "the 'auth' entry for \(key) in \(configFile.path) is not base64 of user:password; log in again"
                    )
                }
                return RegistryCredentials(
                    username: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...]))
            }
        }
        if let store = config.credsStore, !store.isEmpty {
            return try runHelper(store, serverURL: keys[0])
        }
        return nil
    }

    /// Runs `docker-credential-NAME get`; "not found" answers mean no credentials, other failures are errors.
    private func runHelper(_ name: String, serverURL: String) throws -> RegistryCredentials? {
        let executable = "docker-credential-\(name)"
        guard
            let path = searchPath.map({ "\($0)/\(executable)" }).first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else {
            throw RegistryError.credentials(
                "\(configFile.path) names the credential helper '\(name)', but \(executable) is not on PATH; install it or remove it from the config"
            )
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["get"]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch {
            throw RegistryError.credentials("cannot run \(path): \(error.localizedDescription)")
        }
        input.fileHandleForWriting.write(Data(serverURL.utf8))
        try? input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        _ = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            // The helper protocol reports a missing entry on stdout; its text is not a secret.
            let message = String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if message.lowercased().contains("not found") { return nil }
            throw RegistryError.credentials(
                "\(executable) get failed with status \(process.terminationStatus) for \(serverURL); run it by hand to see why"
            )
        }
        struct Answer: Decodable { var Username: String?; var Secret: String? }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: out), let secret = answer.Secret else {
            throw RegistryError.credentials("\(executable) get did not answer with JSON holding Username and Secret")
        }
        let user = answer.Username ?? ""
        if user == "<token>" { return RegistryCredentials(username: user, password: "", identityToken: secret) }
        return RegistryCredentials(username: user, password: secret)
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context): return context.debugDescription
        case DecodingError.typeMismatch(_, let context):
            return "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        default: return "\(error)"
        }
    }
}

/// Host names as registries and Docker's config spell them.
enum RegistryHost {
    static let dockerHubKeys = [
        "https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io",
        "https://index.docker.io/v1", "https://registry-1.docker.io",
    ]

    /// The keys Docker's config may use for a host, the preferred (helper server URL) first.
    static func configKeys(for host: String) -> [String] {
        if isDockerHub(host) { return dockerHubKeys }
        return [
            host, "https://\(host)", "http://\(host)", "https://\(host)/v1/", "https://\(host)/v2/",
            "http://\(host)/v2/",
        ]
    }

    static func isDockerHub(_ host: String) -> Bool {
        ["docker.io", "index.docker.io", "registry-1.docker.io"].contains(host.lowercased())
    }

    static func same(_ a: String, _ b: String) -> Bool {
        strip(a) == strip(b) || (isDockerHub(strip(a)) && isDockerHub(strip(b)))
    }

    private static func strip(_ s: String) -> String {
        var t = s.lowercased()
        for prefix in ["https://", "http://"] where t.hasPrefix(prefix) { t.removeFirst(prefix.count) }
        while t.hasSuffix("/") { t.removeLast() }
        if t.hasSuffix("/v1") || t.hasSuffix("/v2") { t.removeLast(3) }
        return t
    }
}
