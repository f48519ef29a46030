import ArgumentParser
import Foundation
import OCI
import Registry
import Store

struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push", abstract: "Push an image from the store to a registry.",
        discussion: """
        Blobs the registry has are skipped, so a push after a small change uploads only the new layers. \
        Prints REGISTRY/REPO@sha256:... (or JSON with --json). Credentials: --username with --password-stdin, \
        else Docker's config.
        """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var registryOptions: RegistryOptions
    @OptionGroup var progressOptions: ProgressOptions
    @Argument(help: "The image in the store: name[:tag], digest or digest prefix.") var image: String?
    @Option(help: ArgumentHelp("Where to push: REGISTRY/REPO (default: the image's own name).", valueName: "registry/repo")) var repository: String?
    @Option(name: .customLong("tag"), help: "A tag to push (repeatable); default: the destination's tag.") var tags: [String] = []
    @Option(help: "Blobs uploaded at once.") var jobs = 4
    @Option(name: .customLong("mount-from"), help: ArgumentHelp("A repository of the same registry to mount blobs from.", valueName: "repo")) var mountFrom: String?
    @Option(name: .customLong("digest-file"), help: ArgumentHelp("Also write the pushed reference to this file.", valueName: "path")) var digestFile: String?
    @Flag(help: "Print the result as JSON.") var json = false
    @Option(help: "User name for the registry (with --password-stdin).") var username: String?
    @Flag(name: .customLong("password-stdin"), help: "Read the registry password from stdin.") var passwordStdin = false

    /// Everything a push needs, resolved from the flags.
    struct PushRequest {
        var image: StoredImage
        var store: ImageStore
        var destination: ImageReference
        var tags: [String]
        var options: PushOptions
        var credentials: any RegistryCredentialSource
        var clientOptions: RegistryClientOptions
    }

    func run() async throws {
        let request = try await makeRequest()
        let progress = ProgressRenderer(options: progressOptions, verb: "pushing")
        let result = try await RegistryOptions.withClient(credentials: request.credentials, options: request.clientOptions) { client in
            try await client.push(request.image, from: request.store, to: request.destination, tags: request.tags,
                                  options: request.options, progress: progress)
        }
        progress.finish()
        if let digestFile {
            try FileOps.atomicWrite(Data((result.reference + "\n").utf8), to: URL(fileURLWithPath: digestFile))
        }
        if json { try Output.json(result) } else { Output.line(result.reference) }
    }

    func makeRequest() async throws -> PushRequest {
        guard let image else { throw CommandFailure.usage("name the image to push: imagekit push IMAGE [--repository REGISTRY/REPO] [--tag TAG]") }
        guard jobs >= 1 else { throw CommandFailure.usage("--jobs must be at least 1") }
        if passwordStdin && username == nil { throw CommandFailure.usage("--password-stdin needs --username") }
        if username != nil && !passwordStdin { throw CommandFailure.usage("--username needs --password-stdin (passwords are never taken as arguments)") }
        let store = try storeOptions.open()
        let stored = try await store.resolve(image)
        let destination: ImageReference
        if let repository {
            destination = try ImageReference(parsing: repository, defaultTag: nil)
        } else if let named = try? ImageReference(parsing: image), named.digest == nil,
                  stored.names.contains(where: { $0.description == named.description }) {
            destination = named
        } else if let own = stored.names.first {
            destination = own
        } else {
            throw CommandFailure.usage("image \(image) has no name to push to; pass --repository REGISTRY/REPO")
        }
        var allTags = tags
        if allTags.isEmpty, let tag = destination.tag { allTags = [tag] }
        for tag in allTags where !ImageReference.isValidTag(tag) { throw RegistryError.invalidTag(tag) }
        var credentials: any RegistryCredentialSource = DockerConfigCredentials()
        if let username, passwordStdin {
            let input = FileHandle.standardInput.readDataToEndOfFile()
            let password = String(decoding: input, as: UTF8.self).trimmingCharacters(in: .newlines)
            guard !password.isEmpty else { throw CommandFailure.usage("--password-stdin read an empty password") }
            credentials = CredentialChain([StaticCredentials(host: destination.registry, username: username, password: password), credentials])
        }
        return PushRequest(image: stored, store: store, destination: destination, tags: allTags,
                           options: PushOptions(jobs: jobs, mountFrom: mountFrom), credentials: credentials,
                           clientOptions: try registryOptions.clientOptions())
    }
}
