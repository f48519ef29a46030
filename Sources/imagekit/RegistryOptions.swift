import ArgumentParser
import Foundation
import OCI
import Registry
import Store

/// Registry flags shared by pull and push.
struct RegistryOptions: ParsableArguments {
    @Option(
        name: .customLong("insecure-registry"),
        help: ArgumentHelp(
            "Speak plain http to this registry (host[:port]); loopback hosts always are.", valueName: "host"))
    var insecureRegistries: [String] = []

    @Option(
        name: .customLong("registry-mirror"),
        help: ArgumentHelp(
            "Pull Docker Hub images through this mirror, e.g. public.ecr.aws/docker/library.", valueName: "url"))
    var registryMirror: String?

    func clientOptions(preemptiveBasic: Bool = false) throws -> RegistryClientOptions {
        RegistryClientOptions(
            insecureRegistries: Set(insecureRegistries),
            dockerHubMirror: try registryMirror.map { try RegistryMirror(parsing: $0) },
            preemptiveBasic: preemptiveBasic)
    }

    /// Runs `body` with a client and shuts the client down whatever happens.
    static func withClient<T>(
        credentials: any RegistryCredentialSource, options: RegistryClientOptions,
        _ body: (RegistryClient) async throws -> T
    ) async throws -> T {
        let client = RegistryClient(credentials: credentials, options: options)
        do {
            let result = try await body(client)
            try? await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}
