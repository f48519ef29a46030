import Foundation
import OCI
import TestSupport
import Testing

@testable import Store

/// Puts a small fake "layer" blob in the store the way a layer writer does: ingest file, then commit.
func addLayer(_ store: ImageStore, bytes: String) async throws -> Descriptor {
    let data = Data(bytes.utf8)
    let temp = store.newIngestURL()
    try data.write(to: temp)
    let digest = SHA256Hasher.hash(data)
    try await store.commitIngested(temp, digest: digest, size: Int64(data.count))
    try await store.recordLayerInfo(LayerInfo(diffID: digest, uncompressedSize: Int64(data.count) * 3), for: digest)
    return Descriptor(mediaType: MediaType.dockerLayerGzip, digest: digest, size: Int64(data.count))
}

func makeImage(
    _ store: ImageStore, layer: String, tags: [String], format: ImageFormat = .docker
) async throws -> StoredImage {
    let layerDescriptor = try await addLayer(store, bytes: layer)
    var config = ImageConfig(created: Timestamp.rfc3339(epochSeconds: 946_684_800))
    config.rootfs.diffIDs = [layerDescriptor.digest]
    config.config.user = "1000"
    return try await store.commitImage(
        config: config, layers: [layerDescriptor], format: format,
        tags: try tags.map { try ImageReference(parsing: $0) })
}

@Suite struct ImageStoreTests {
    @Test func createsAnOCILayout() throws {
        let dir = try TemporaryDirectory()
        _ = try ImageStore(root: dir.url)
        let layout = try String(contentsOf: dir.url.appendingPathComponent("oci-layout"), encoding: .utf8)
        #expect(layout == #"{"imageLayoutVersion":"1.0.0"}"#)
        let index = try ImageIndex.decode(Data(contentsOf: dir.url.appendingPathComponent("index.json")))
        #expect(index.manifests.isEmpty)
        #expect(index.mediaType == MediaType.ociIndex)
    }

    @Test func refusesSomethingElse() throws {
        let dir = try TemporaryDirectory()
        try Data(#"{"imageLayoutVersion":"9"}"#.utf8).write(to: dir.url.appendingPathComponent("oci-layout"))
        #expect(throws: StoreError.self) { try ImageStore(root: dir.url) }
    }

    @Test func commitsTagsAndResolves() async throws {
        let dir = try TemporaryDirectory()
        let store = try ImageStore(root: dir.url)
        let image = try await makeImage(store, layer: "layer-a", tags: ["app:1", "app:latest"])
        #expect(image.manifest.mediaType == MediaType.dockerManifest)
        #expect(try await store.resolve("app:1").digest == image.digest)
        #expect(try await store.resolve("app").digest == image.digest)
        #expect(try await store.resolve("docker.io/library/app:latest").digest == image.digest)
        #expect(try await store.resolve(image.digest.description).digest == image.digest)
        #expect(try await store.resolve(String(image.digest.encoded.prefix(8))).digest == image.digest)
        #expect(try await store.resolve(String(image.id.encoded.prefix(12))).digest == image.digest)
        #expect(try await store.resolve("app@\(image.digest)").names.count == 2)
        await #expect(throws: StoreError.self) { try await store.resolve("app:2") }
        await #expect(throws: StoreError.self) { try await store.resolve("Bad Name") }

        let rows = try await store.summaries()
        #expect(rows.map { "\($0.name ?? "-"):\($0.tag ?? "-")" } == ["app:1", "app:latest"])
        #expect(rows[0].uncompressedSize == Int64("layer-a".utf8.count) * 3)
        #expect(rows[0].created == "2000-01-01T00:00:00Z")
    }

    @Test func retaggingMovesTheTag() async throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }  // holds it to the end: ARC may release it after its last use
        let store = try ImageStore(root: root.url)
        let first = try await makeImage(store, layer: "one", tags: ["app:latest"])
        let second = try await makeImage(store, layer: "two", tags: ["app:latest"])
        #expect(first.digest != second.digest)
        #expect(try await store.resolve("app").digest == second.digest)
        #expect(try await store.summaries().count == 1)
    }

    @Test func sameInputsSameDigestInTwoStores() async throws {
        let rootA = try TemporaryDirectory(), rootB = try TemporaryDirectory()
        defer { rootA.remove(); rootB.remove() }
        let a = try await makeImage(try ImageStore(root: rootA.url), layer: "x", tags: ["a:1"])
        let b = try await makeImage(try ImageStore(root: rootB.url), layer: "x", tags: ["b:2"])
        #expect(a.digest == b.digest)
        #expect(a.manifestData == b.manifestData)
    }

    @Test func ociFormatUsesOCIMediaTypes() async throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }  // holds it to the end: ARC may release it after its last use
        let store = try ImageStore(root: root.url)
        let image = try await makeImage(store, layer: "x", tags: ["a:1"], format: .oci)
        #expect(image.manifest.mediaType == MediaType.ociManifest)
        #expect(image.manifest.config.mediaType == MediaType.ociConfig)
        #expect(image.manifest.layers[0].mediaType == MediaType.ociLayerGzip)
        #expect(image.format == .oci)
    }

    @Test func refusesContentThatDoesNotMatchItsDigest() async throws {
        let dir = try TemporaryDirectory()
        let store = try ImageStore(root: dir.url)
        let temp = store.newIngestURL()
        try Data("actual".utf8).write(to: temp)
        let claimed = SHA256Hasher.hash(Data("claimed".utf8))
        await #expect(throws: StoreError.self) {
            try await store.commitVerifying(temp, expected: claimed, source: "test")
        }
        #expect(!store.hasBlob(claimed))
        #expect(!FileManager.default.fileExists(atPath: temp.path))
        let wrongSize = store.newIngestURL()
        try Data("abc".utf8).write(to: wrongSize)
        await #expect(throws: StoreError.self) {
            try await store.commitIngested(wrongSize, digest: SHA256Hasher.hash(Data("abc".utf8)), size: 4)
        }
    }

    @Test func detectsADamagedBlob() async throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }  // holds it to the end: ARC may release it after its last use
        let store = try ImageStore(root: root.url)
        let image = try await makeImage(store, layer: "x", tags: ["a:1"])
        let url = store.blobURL(image.manifest.config.digest)
        chmod(url.path, 0o644)
        try Data("{}".utf8).write(to: url)
        await #expect(throws: StoreError.self) { try await store.resolve("a:1") }
    }

    @Test func commitRefusesMissingLayers() async throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }  // holds it to the end: ARC may release it after its last use
        let store = try ImageStore(root: root.url)
        let ghost = Descriptor(
            mediaType: MediaType.dockerLayerGzip, digest: SHA256Hasher.hash(Data("ghost".utf8)), size: 5)
        await #expect(throws: StoreError.self) {
            try await store.commitImage(
                config: ImageConfig(), layers: [ghost], format: .docker, tags: [try ImageReference(parsing: "g:1")])
        }
        #expect(try await store.summaries().isEmpty)
    }

    @Test func removeAndPrune() async throws {
        let dir = try TemporaryDirectory()
        let store = try ImageStore(root: dir.url)
        let keep = try await makeImage(store, layer: "keep", tags: ["keep:1"])
        let drop = try await makeImage(store, layer: "drop", tags: ["drop:1", "drop:2"])
        // A partial write left by a crashed process.
        try Data("partial".utf8).write(to: store.newIngestURL())

        await #expect(throws: StoreError.self) { try await store.remove(drop.digest.description) }
        let first = try await store.remove("drop:1")
        #expect(first.untagged == ["drop:1"])
        #expect(first.deleted == nil)
        let second = try await store.remove("drop:2")
        #expect(second.deleted == drop.digest)

        let report = try await store.prune()
        #expect(report.removedBlobs == 3)  // manifest, config, layer of `drop`
        #expect(report.removedPartialUploads == 1)
        #expect(!store.hasBlob(drop.manifest.layers[0].digest))
        #expect(store.hasBlob(keep.manifest.layers[0].digest))
        #expect(try await store.resolve("keep:1").digest == keep.digest)
        #expect(try await store.prune().removedBlobs == 0)
    }

    @Test func concurrentTaggingLosesNothing() async throws {
        let dir = try TemporaryDirectory()
        // Two store instances stand for two processes; each tags 10 images at once.
        let a = try ImageStore(root: dir.url)
        let b = try ImageStore(root: dir.url)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<10 {
                group.addTask { _ = try await makeImage(a, layer: "a\(i)", tags: ["a:\(i)"]) }
                group.addTask { _ = try await makeImage(b, layer: "b\(i)", tags: ["b:\(i)"]) }
            }
            try await group.waitForAll()
        }
        #expect(try await ImageStore(root: dir.url).summaries().count == 20)
    }

    @Test func defaultRootFollowsEnvironment() {
        #expect(ImageStore.defaultRoot(environment: ["IMAGEKIT_STORE": "/s", "HOME": "/h"]).path == "/s")
        #expect(ImageStore.defaultRoot(environment: ["XDG_DATA_HOME": "/x", "HOME": "/h"]).path == "/x/imagekit")
        #expect(ImageStore.defaultRoot(environment: ["HOME": "/h"]).path == "/h/.local/share/imagekit")
    }
}
