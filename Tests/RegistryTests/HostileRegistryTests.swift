import Foundation
import OCI
import Store
import TestSupport
import Testing

@testable import Registry

/// A registry that lies: crafted manifests about blobs the store already holds, redirects and
/// upload locations that try to take the credentials elsewhere or to plain http. Each test
/// proves the store is byte-for-byte unchanged after a refusal.
@Suite(.serialized) struct HostileRegistryTests {
    /// A store holding an attacker's harmless image (pulled from the registry) and the
    /// diffID of a victim's layer the attacker wants to plant its files under.
    struct Scene {
        let proxy: FaultProxy
        let store: ImageStore
        let attacker: StoredImage
        let victimDiffID: Digest
    }

    static func withScene(_ body: (Scene) async throws -> Void) async throws {
        try await LocalRegistry.with { registry in
            let proxy = try FaultProxy.start(upstream: registry.host)
            defer { proxy.stop() }
            let sourceDir = try TemporaryDirectory()
            let source = try ImageStore(root: sourceDir.url)
            let attacker = try await TestImages.make(in: source, tag: "attacker:1", layers: 1)
            let victim = try await TestImages.make(in: source, tag: "victim:1", layers: 1)
            let storeDir = try TemporaryDirectory()
            let store = try ImageStore(root: storeDir.url)
            try await withClient(testClient()) { client in
                _ = try await client.push(
                    attacker, from: source, to: ImageReference(registry: registry.host, repository: "evil/app"),
                    tags: ["1"])
                _ = try await client.pull(ImageReference(parsing: "\(proxy.host)/evil/app:1"), into: store)
            }
            try await body(
                Scene(proxy: proxy, store: store, attacker: attacker, victimDiffID: victim.config.rootfs.diffIDs[0]))
            _ = storeDir
        }
    }

    /// Serves `manifest` (with a config claiming `diffID` for its one layer) as evil/app:forged.
    static func serveForged(_ scene: Scene, layer: Descriptor, diffID: Digest) throws -> Data {
        var config = scene.attacker.config
        config.rootfs.diffIDs = [diffID]
        let configData = try CanonicalJSON.encode(config)
        let configDigest = SHA256Hasher.hash(configData)
        let manifest = Manifest(
            mediaType: MediaType.dockerManifest,
            config: Descriptor(mediaType: MediaType.dockerConfig, digest: configDigest, size: Int64(configData.count)),
            layers: [layer])
        let manifestData = try CanonicalJSON.encode(manifest)
        try scene.proxy.setFaults([
            [
                "method": "GET", "path": "/manifests/forged", "action": "serve", "times": 100,
                "body": String(decoding: manifestData, as: UTF8.self), "content_type": MediaType.dockerManifest,
            ],
            [
                "method": "GET", "path": "/blobs/\(configDigest)", "action": "serve", "times": 100,
                "body": String(decoding: configData, as: UTF8.self),
            ],
        ])
        return manifestData
    }

    static func pullForged(_ scene: Scene) async throws -> any Error {
        let before = directorySnapshot(scene.store.root)
        let error = await #expect(throws: (any Error).self) {
            try await withClient(testClient()) { client in
                try await client.pull(ImageReference(parsing: "\(scene.proxy.host)/evil/app:forged"), into: scene.store)
            }
        }
        #expect(directorySnapshot(scene.store.root) == before, "a refused pull changed the store")
        return try #require(error)
    }

    @Test func aStoredBlobRelistedWithAFalseDiffIDIsRefused() async throws {
        try await Self.withScene { scene in
            let layer = scene.attacker.manifest.layers[0]
            _ = try Self.serveForged(scene, layer: layer, diffID: scene.victimDiffID)
            let error = try await Self.pullForged(scene)
            guard case RegistryError.diffIDMismatch(let digest, let expected, let actual) = error else {
                Issue.record("expected a diffID mismatch, got \(error)")
                return
            }
            #expect(
                digest == layer.digest && expected == scene.victimDiffID
                    && actual == scene.attacker.config.rootfs.diffIDs[0])
            // Nothing was unpacked under the victim's name.
            let cache = try LayerCache(store: scene.store)
            #expect(!FileManager.default.fileExists(atPath: cache.path(for: scene.victimDiffID).path))
        }
    }

    @Test func aStoredBlobRelistedWithAFalseSizeIsRefused() async throws {
        try await Self.withScene { scene in
            var layer = scene.attacker.manifest.layers[0]
            layer.size -= 1
            _ = try Self.serveForged(scene, layer: layer, diffID: scene.attacker.config.rootfs.diffIDs[0])
            let error = try await Self.pullForged(scene)
            #expect("\(error)".contains("is listed with \(layer.size) bytes but has \(layer.size + 1)"), "\(error)")
        }
    }

    @Test func aDeclaredSizeOfInt64MaxIsRefusedBeforeAnyArithmetic() async throws {
        try await Self.withScene { scene in
            var layer = scene.attacker.manifest.layers[0]
            layer.size = Int64.max
            _ = try Self.serveForged(scene, layer: layer, diffID: scene.attacker.config.rootfs.diffIDs[0])
            let error = try await Self.pullForged(scene)
            #expect("\(error)".contains("declares a size of \(Int64.max) bytes"), "\(error)")
            // Listing the store still works.
            #expect(try await scene.store.summaries().count == 1)
        }
    }

    // MARK: Credentials

    /// Two proxies on one registry: `home` is the registry the user named, `elsewhere` another origin.
    static func withTwoOrigins(
        _ body: (FaultProxy, FaultProxy, StoredImage, ImageStore) async throws -> Void
    ) async throws {
        try await LocalRegistry.with { registry in
            let home = try FaultProxy.start(upstream: registry.host)
            let elsewhere = try FaultProxy.start(upstream: registry.host)
            defer { home.stop(); elsewhere.stop() }
            let sourceDir = try TemporaryDirectory()
            let source = try ImageStore(root: sourceDir.url)
            let image = try await TestImages.make(in: source, tag: "app:1", layers: 2)
            try await body(home, elsewhere, image, source)
        }
    }

    static let credentials = StaticCredentials(username: "user", password: "s3cret")

    @Test func aRedirectToAnotherPortDropsTheCredentials() async throws {
        try await Self.withTwoOrigins { home, elsewhere, image, source in
            try await withClient(testClient(credentials: Self.credentials, preemptiveBasic: true)) { client in
                _ = try await client.push(
                    image, from: source, to: ImageReference(parsing: "\(home.host)/team/app"), tags: ["1"])
                try home.clear()
                try home.setFaults([
                    [
                        "method": "GET", "path": "/blobs/", "action": "redirect", "times": 100,
                        "location": "http://\(elsewhere.host){path}",
                    ]
                ])
                let storeDir = try TemporaryDirectory()
                let store = try ImageStore(root: storeDir.url)
                let pulled = try await client.pull(ImageReference(parsing: "\(home.host)/team/app:1"), into: store)
                #expect(pulled.digest == image.digest)
            }
            let homeLog = try home.log()
            #expect(homeLog.contains { $0.fault == "redirect" })
            #expect(homeLog.allSatisfy { $0.auth == "Basic" }, "the registry itself gets the credentials")
            let away = try elsewhere.log()
            #expect(away.count == 3, "config and two layers were fetched from the other origin: \(away)")
            #expect(away.allSatisfy { $0.auth == nil }, "credentials leaked to another origin: \(away)")
        }
    }

    @Test func anUploadLocationOnAnotherOriginGetsNoCredentials() async throws {
        try await Self.withTwoOrigins { home, elsewhere, image, source in
            try home.setFaults([
                [
                    "method": "POST", "path": "/blobs/uploads/", "action": "relocate", "times": 100,
                    "origin": "http://\(elsewhere.host)",
                ]
            ])
            let result = try await withClient(testClient(credentials: Self.credentials, preemptiveBasic: true)) {
                client in
                try await client.push(
                    image, from: source, to: ImageReference(parsing: "\(home.host)/team/app"), tags: ["1"])
            }
            #expect(result.digest == image.digest)
            let away = try elsewhere.log()
            #expect(away.filter { $0.method == "PUT" }.count == 3, "config and two layers were uploaded there: \(away)")
            #expect(away.allSatisfy { $0.auth == nil }, "credentials leaked with the upload: \(away)")
            #expect(try home.log().allSatisfy { $0.auth == "Basic" })
        }
    }

    @Test func aRedirectToPlainHTTPOnAHostNotNamedInsecureIsRefused() async throws {
        try await Self.withScene { scene in
            try scene.proxy.setFaults([
                [
                    "method": "GET", "path": "/manifests/", "action": "redirect", "times": 100,
                    "location": "http://registry.example.invalid{path}",
                ]
            ])
            let error = await #expect(throws: RegistryError.self) {
                try await withClient(testClient(credentials: Self.credentials, preemptiveBasic: true)) { client in
                    try await client.pull(ImageReference(parsing: "\(scene.proxy.host)/evil/app:1"), into: scene.store)
                }
            }
            #expect(
                "\(error.map { "\($0)" } ?? "")".contains("plain http (http://registry.example.invalid:80); refused"))
        }
    }

    @Test func credentialsGoOnlyToTheRegistrysOwnOrigin() throws {
        let registry = try #require(Origin("https://registry.example.com/v2/"))
        #expect(
            RegistryClient.carriesCredentials(
                registry: registry, to: try #require(Origin("https://registry.example.com:443/v2/x"))))
        #expect(
            RegistryClient.carriesCredentials(
                registry: registry, to: try #require(Origin("HTTPS://Registry.Example.com/v2/x"))))
        // Same host and port, https dropped: no credentials.
        #expect(
            !RegistryClient.carriesCredentials(
                registry: registry, to: try #require(Origin("http://registry.example.com:443/v2/x"))))
        #expect(
            !RegistryClient.carriesCredentials(
                registry: registry, to: try #require(Origin("http://registry.example.com/v2/x"))))
        #expect(
            !RegistryClient.carriesCredentials(
                registry: registry, to: try #require(Origin("https://registry.example.com:5000/v2/x"))))
        #expect(
            !RegistryClient.carriesCredentials(
                registry: registry, to: try #require(Origin("https://s3.amazonaws.com/bucket/x"))))
        let endpoint = RegistryClientOptions().endpoint(
            for: try ImageReference(parsing: "registry.example.com:5000/team/app"))
        #expect(endpoint.origin == Origin("https://registry.example.com:5000"))

        // Plain http only where the user (or loopback) allows it.
        let options = RegistryClientOptions(insecureRegistries: ["lab.internal:5000"])
        #expect(options.allowsPlainHTTP(try #require(Origin("http://lab.internal:5000/v2/"))))
        #expect(!options.allowsPlainHTTP(try #require(Origin("http://lab.internal:6000/v2/"))))
        #expect(!options.allowsPlainHTTP(try #require(Origin("http://registry.example.com/v2/"))))
        #expect(options.allowsPlainHTTP(try #require(Origin("http://127.0.0.1:5000/v2/"))))
    }
}
