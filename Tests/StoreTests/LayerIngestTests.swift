import Archive
import Foundation
import OCI
import TestSupport
import Testing

@testable import Store

/// `ImageStore.ingestLayer`: the one way a layer is written into the store.
@Suite struct LayerIngestTests {
    struct Refused: Error {}

    func names(_ store: ImageStore, _ directory: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: store.root.appendingPathComponent(directory).path)) ?? []
    }

    @Test func committedLayerIsInTheStoreWithVerifiedFacts() async throws {
        let dir = try TemporaryDirectory()
        let store = try ImageStore(root: dir.url.appendingPathComponent("store"))
        let written = try await store.ingestLayer(options: LayerOptions(compressionThreads: 1)) { writer in
            try writer.add(LayerEntry(path: "etc", kind: .directory, mode: 0o755, uid: 0, gid: 0, mtime: 0))
            try writer.add(
                LayerEntry(
                    path: "etc/motd", kind: .regular(source: nil, size: 0), mode: 0o644, uid: 0, gid: 0, mtime: 0),
                data: Data("hello\n".utf8))
        }
        #expect(store.hasBlob(written.digest))
        #expect(names(store, "ingest").isEmpty)
        let digests = try LayerReader.hash(layer: store.blobURL(written.digest))
        #expect(digests.digest == written.digest && digests.diffID == written.diffID)
        let info = try #require(await store.layerInfo(written.digest))
        #expect(info.diffID == written.diffID && info.uncompressedSize == written.uncompressedSize)
        #expect(info.verified == FileStamp(store.blobURL(written.digest)))
    }

    @Test func aThrowingBodyLeavesNothingBehind() async throws {
        let dir = try TemporaryDirectory()
        let store = try ImageStore(root: dir.url.appendingPathComponent("store"))
        let blobsBefore = names(store, "blobs/sha256")
        await #expect(throws: Refused.self) {
            _ = try await store.ingestLayer(options: LayerOptions(compressionThreads: 1)) { writer in
                try writer.add(LayerEntry(path: "a", kind: .directory, mode: 0o755, uid: 0, gid: 0, mtime: 0))
                throw Refused()
            }
        }
        #expect(names(store, "ingest").isEmpty)
        #expect(names(store, "blobs/sha256") == blobsBefore)
        #expect(names(store, "meta/layers").isEmpty)
    }

    @Test func aFailingWriterLeavesNothingBehind() async throws {
        let dir = try TemporaryDirectory()
        let store = try ImageStore(root: dir.url.appendingPathComponent("store"))
        await #expect(throws: ArchiveError.self) {
            _ = try await store.ingestLayer(options: LayerOptions(compressionThreads: 1)) { writer in
                try writer.add(LayerEntry(path: "../escape", kind: .directory, mode: 0o755, uid: 0, gid: 0, mtime: 0))
            }
        }
        #expect(names(store, "ingest").isEmpty)
        #expect(names(store, "blobs/sha256").isEmpty)
    }
}
