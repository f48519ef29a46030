import Foundation
import OCI
import TestSupport
import Testing

@testable import Store

/// The store's typed metadata: file indexes and project records live where the store says,
/// and `prune` drops a blob's records with the blob.
@Suite struct StoreMetadataTests {
    @Test func recordsAndReadsTheLastBuildPerProject() throws {
        let dir = try TemporaryDirectory(prefix: "imagekit-project")
        let store = try ImageStore(root: dir.url)
        let project = URL(fileURLWithPath: "/srv/project")
        #expect(store.lastBuild(ofProject: project) == nil)
        let build = LastBuild(
            image: "vibejudge-dashboard:latest", digest: "sha256:" + String(repeating: "1", count: 64),
            builtAt: "2026-01-01T00:00:00Z")
        try store.recordLastBuild(build, ofProject: project)
        #expect(store.lastBuild(ofProject: project) == build)
        // The same directory spelled differently is the same project; another one has no record.
        #expect(store.lastBuild(ofProject: URL(fileURLWithPath: "/srv/./project")) == build)
        #expect(store.lastBuild(ofProject: URL(fileURLWithPath: "/elsewhere")) == nil)
    }

    @Test func pruneDropsTheFileIndexWithItsBlob() async throws {
        let dir = try TemporaryDirectory()
        let store = try ImageStore(root: dir.url)
        let keep = try await makeImage(store, layer: "keep", tags: ["keep:1"])
        let drop = try await makeImage(store, layer: "drop", tags: ["drop:1"])
        let kept = keep.manifest.layers[0].digest, dropped = drop.manifest.layers[0].digest
        try store.recordFileIndex(Data("kept index".utf8), layer: kept)
        try store.recordFileIndex(Data("dropped index".utf8), layer: dropped)
        #expect(store.fileIndex(layer: dropped) == Data("dropped index".utf8))

        _ = try await store.remove("drop:1")
        let report = try await store.prune()
        #expect(report.removedBlobs == 3)
        #expect(store.fileIndex(layer: dropped) == nil)
        #expect(await store.layerInfo(dropped) == nil)
        #expect(store.fileIndex(layer: kept) == Data("kept index".utf8))
        #expect(await store.layerInfo(kept) != nil)
    }
}
