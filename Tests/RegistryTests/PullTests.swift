import Foundation
import OCI
import Registry
import Store
import TestSupport
import Testing

@Suite(.serialized) struct PullTests {
    /// Pushes an amd64 and an arm64 image by digest, then an OCI index over both under `tag`.
    static func pushIndex(
        _ client: RegistryClient, registry: String, repository: String, tag: String
    ) async throws -> (amd64: StoredImage, arm64: StoredImage) {
        let sourceDir = try TemporaryDirectory()
        let source = try ImageStore(root: sourceDir.url)
        let amd64 = try await TestImages.make(in: source, tag: "multi:amd64", layers: 3, architecture: "amd64")
        let arm64 = try await TestImages.make(in: source, tag: "multi:arm64", layers: 2, architecture: "arm64")
        let destination = ImageReference(registry: registry, repository: repository)
        for image in [amd64, arm64] {
            _ = try await client.push(image, from: source, to: destination, tags: [])
        }
        let index = ImageIndex(
            mediaType: MediaType.ociIndex,
            manifests: [
                Descriptor(
                    mediaType: arm64.descriptor.mediaType, digest: arm64.digest, size: arm64.descriptor.size,
                    platform: Platform(os: "linux", architecture: "arm64", variant: "v8")),
                Descriptor(
                    mediaType: amd64.descriptor.mediaType, digest: amd64.digest, size: amd64.descriptor.size,
                    platform: .linuxAMD64),
            ])
        try await client.pushManifest(
            try CanonicalJSON.encode(index), mediaType: MediaType.ociIndex,
            to: ImageReference(registry: registry, repository: repository, tag: tag))
        return (amd64, arm64)
    }

    @Test func pullsTheAMD64ImageFromAnIndex() async throws {
        try await LocalRegistry.with { registry in
            try await withClient(testClient()) { client in
                let (amd64, _) = try await Self.pushIndex(
                    client, registry: registry.host, repository: "lib/multi", tag: "1.0")
                let storeDir = try TemporaryDirectory()
                let store = try ImageStore(root: storeDir.url)
                let progress = RecordingProgress()
                let reference = try ImageReference(parsing: "\(registry.host)/lib/multi:1.0")
                let pulled = try await client.pull(reference, into: store, progress: progress)
                #expect(pulled.digest == amd64.digest)
                #expect(pulled.manifestData == amd64.manifestData)
                #expect(pulled.config.architecture == "amd64")
                #expect(try await store.resolve("\(registry.host)/lib/multi:1.0").digest == amd64.digest)
                for (layer, diffID) in zip(pulled.manifest.layers, pulled.config.rootfs.diffIDs) {
                    #expect(store.hasBlob(layer.digest))
                    let info = await store.layerInfo(layer.digest)
                    #expect(info?.diffID == diffID)
                    #expect((info?.uncompressedSize ?? 0) > layer.size)
                }
                #expect(progress.events.contains { if case .blobDone = $0 { return true } else { return false } })

                // Pulled again: every blob is already there.
                let again = RecordingProgress()
                _ = try await client.pull(reference, into: store, progress: again)
                let skipped = again.events.filter { if case .blobSkipped = $0 { return true } else { return false } }
                    .count
                #expect(skipped == 4)
            }
        }
    }

    @Test func pullsWithBasicAuthFromADockerConfig() async throws {
        try await LocalRegistry.with(htpasswd: ("puller", "s3cret-pass")) { registry in
            let configDir = try TemporaryDirectory(prefix: "imagekit-docker-config")
            let auth = Data("puller:s3cret-pass".utf8).base64EncodedString()
            try Data(#"{"auths":{"\#(registry.host)":{"auth":"\#(auth)"}}}"#.utf8).write(
                to: configDir.appending("config.json"))
            let credentials = DockerConfigCredentials(environment: [
                "DOCKER_CONFIG": configDir.path, "PATH": "/usr/bin:/bin",
            ])
            let storeDir = try TemporaryDirectory()
            let store = try ImageStore(root: storeDir.url)
            let image = try await TestImages.make(in: store, tag: "app:1", layers: 2)
            try await withClient(testClient(credentials: credentials)) { client in
                _ = try await client.push(
                    image, from: store, to: try ImageReference(parsing: "\(registry.host)/app"), tags: ["1"])
                let pullDir = try TemporaryDirectory()
                let pullStore = try ImageStore(root: pullDir.url)
                let pulled = try await client.pull(
                    try ImageReference(parsing: "\(registry.host)/app:1"), into: pullStore)
                #expect(pulled.digest == image.digest)
            }
            // Wrong password: a clear 401 that names the user, never the password.
            let wrong = StaticCredentials(host: registry.host, username: "puller", password: "not-the-password")
            try await withClient(testClient(credentials: wrong)) { client in
                let pullDir = try TemporaryDirectory()
                let error = await #expect(throws: RegistryError.self) {
                    _ = try await client.pull(
                        try ImageReference(parsing: "\(registry.host)/app:1"), into: try ImageStore(root: pullDir.url))
                }
                guard case .unauthorized(let host, _)? = error else {
                    Issue.record("expected unauthorized, got \(String(describing: error))"); return
                }
                #expect(host == registry.host)
                #expect(error!.description.contains("401"))
                #expect(error!.description.contains("puller"))
                #expect(!error!.description.contains("not-the-password"))
            }
            // No credentials at all.
            try await withClient(testClient()) { client in
                let pullDir = try TemporaryDirectory()
                let error = await #expect(throws: RegistryError.self) {
                    _ = try await client.pull(
                        try ImageReference(parsing: "\(registry.host)/app:1"), into: try ImageStore(root: pullDir.url))
                }
                #expect(error?.description.contains("no credentials are known") == true)
            }
        }
    }

    @Test func refusesATamperedBlobAndStoresNothing() async throws {
        try await LocalRegistry.with { registry in
            let storeDir = try TemporaryDirectory()
            let store = try ImageStore(root: storeDir.url)
            let image = try await TestImages.make(in: store, tag: "app:1", layers: 2)
            try await withClient(testClient()) { client in
                _ = try await client.push(
                    image, from: store, to: try ImageReference(parsing: "\(registry.host)/app"), tags: ["1"])
                // Flip bytes of one layer inside the registry's storage, keeping its size.
                let victim = image.manifest.layers[1].digest
                let data = registry.storageDirectory.appendingPathComponent(
                    "docker/registry/v2/blobs/sha256/\(victim.encoded.prefix(2))/\(victim.encoded)/data")
                var bytes = try Data(contentsOf: data)
                bytes[bytes.count / 2] ^= 0xff
                bytes[bytes.count / 2 + 1] ^= 0xff
                try bytes.write(to: data)

                let pullDir = try TemporaryDirectory()
                let pullStore = try ImageStore(root: pullDir.url)
                let error = await #expect(throws: RegistryError.self) {
                    _ = try await client.pull(try ImageReference(parsing: "\(registry.host)/app:1"), into: pullStore)
                }
                guard case .digestMismatch(_, let expected, _)? = error else {
                    Issue.record("expected a digest mismatch, got \(String(describing: error))"); return
                }
                #expect(expected == victim)
                #expect(!pullStore.hasBlob(victim))
                #expect(!pullStore.hasBlob(image.digest))
                await #expect(throws: StoreError.self) { _ = try await pullStore.resolve("\(registry.host)/app:1") }
                let leftovers = try FileManager.default.contentsOfDirectory(atPath: pullDir.appending("ingest").path)
                #expect(leftovers.isEmpty)
            }
        }
    }

    @Test func tellsNotFoundUnauthorizedAndUnreachableApart() async throws {
        try await LocalRegistry.with(htpasswd: ("user", "pw-1234")) { secured in
            try await LocalRegistry.with { open in
                let storeDir = try TemporaryDirectory()
                let store = try ImageStore(root: storeDir.url)
                try await withClient(
                    testClient(
                        credentials: StaticCredentials(host: secured.host, username: "user", password: "pw-1234"))
                ) { client in
                    let notFound = await #expect(throws: RegistryError.self) {
                        _ = try await client.pull(
                            try ImageReference(parsing: "\(open.host)/nothing/here:1"), into: store)
                    }
                    guard case .notFound? = notFound else {
                        Issue.record("expected notFound, got \(String(describing: notFound))"); return
                    }
                    let authedNotFound = await #expect(throws: RegistryError.self) {
                        _ = try await client.pull(
                            try ImageReference(parsing: "\(secured.host)/nothing/here:1"), into: store)
                    }
                    guard case .notFound? = authedNotFound else {
                        Issue.record("expected notFound, got \(String(describing: authedNotFound))"); return
                    }
                }
                try await withClient(testClient()) { client in
                    let unauthorized = await #expect(throws: RegistryError.self) {
                        _ = try await client.pull(
                            try ImageReference(parsing: "\(secured.host)/nothing/here:1"), into: store)
                    }
                    guard case .unauthorized? = unauthorized else {
                        Issue.record("expected unauthorized, got \(String(describing: unauthorized))"); return
                    }
                    let closedPort = try freeTCPPort()
                    let unreachable = await #expect(throws: RegistryError.self) {
                        _ = try await client.pull(
                            try ImageReference(parsing: "127.0.0.1:\(closedPort)/app:1"), into: store)
                    }
                    guard case .unreachable(_, let reason)? = unreachable else {
                        Issue.record("expected unreachable, got \(String(describing: unreachable))"); return
                    }
                    #expect(reason.contains("refused"))
                    let noDNS = await #expect(throws: RegistryError.self) {
                        _ = try await client.pull(
                            try ImageReference(parsing: "no-such-host.invalid/app:1"), into: store)
                    }
                    guard case .unreachable? = noDNS else {
                        Issue.record("expected unreachable, got \(String(describing: noDNS))"); return
                    }
                }
            }
        }
    }
}
