import ArgumentParser
import Foundation
import OCI
import Registry
import Store

struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull", abstract: "Pull an image from a registry into the store.",
        discussion:
            "Credentials come from Docker's config ($DOCKER_CONFIG/config.json or ~/.docker/config.json). Prints the pulled manifest's digest."
    )

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var registryOptions: RegistryOptions
    @OptionGroup var progressOptions: ProgressOptions
    @Option(help: "The platform to pick from a multi-platform image.") var platform = "linux/amd64"
    @Argument(help: "Image reference, e.g. python:3.12-slim or registry.example.com/team/app:1.") var image: String

    func run() async throws {
        let reference = try ImageReference(parsing: image)
        let platform = try Platform(parsing: platform)
        let store = try storeOptions.open()
        let progress = ProgressRenderer(options: progressOptions, verb: "pulling")
        let stored = try await RegistryOptions.withClient(
            credentials: DockerConfigCredentials(), options: try registryOptions.clientOptions()
        ) { client in
            try await client.pull(reference, platform: platform, into: store, progress: progress)
        }
        progress.finish()
        Output.line(stored.digest.description)
    }
}
