import Archive
import Foundation
import OCI
import Store
import TestSupport
import Testing

@testable import Policy

/// `verify` on crafted images: it must end, with a clear error or a report, never hang,
/// trap on overflow or take time quadratic in the number of entries.
@Suite struct HostileImageTests {
    /// Runs a Python snippet (argv[1] is `path`) that writes a crafted file.
    static func craft(_ path: URL, _ script: String) throws {
        let result = try python(script, [path.path])
        #expect(result.status == 0, "crafting \(path.lastPathComponent) failed: \(result.stderr)")
    }

    @Test func aSparseSizeNearInt64MaxIsAnErrorNotACrash() async throws {
        let factory = try ImageFactory()
        let tar = factory.dir.url.appendingPathComponent("layer.tar")
        try Self.craft(
            tar,
            """
            import io, sys, tarfile
            with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
                for name in ("a", "b"):
                    info = tarfile.TarInfo(name); info.size = 1
                    info.pax_headers = {"GNU.sparse.size": str(2**63 - 1), "GNU.sparse.numblocks": "1",
                                        "GNU.sparse.offset": "0", "GNU.sparse.numbytes": "1", "GNU.sparse.name": name}
                    t.addfile(info, io.BytesIO(b"x"))
            """)
        let ingest = factory.store.newIngestURL()
        try FileManager.default.copyItem(at: tar, to: ingest)
        let digest = try ImageStore.hashFile(ingest).digest
        let committed = try await factory.store.commitVerifying(ingest, expected: digest, source: "test")
        var config = ImageConfig(created: Timestamp.rfc3339(epochSeconds: 0))
        config.rootfs.diffIDs = [digest]
        try await factory.store.commitImage(
            config: config,
            layers: [Descriptor(mediaType: MediaType.ociLayerTar, digest: digest, size: committed.size)],
            format: .oci, tags: [try ImageReference(parsing: "sparse:1")])
        let subject = try await ImageLocator.load("sparse:1", storeRoot: factory.storeRoot)
        #expect(throws: PolicyError.self) { _ = try LayerScanner.scan(subject) }
    }

    @Test func twentyThousandOpaqueWhiteoutsAreLinear() async throws {
        let factory = try ImageFactory()
        let count = 20_000
        let lower: [Item] = (0..<count).flatMap { n -> [Item] in [.dir("d\(n)"), .file("d\(n)/f", "x")] }
        // Each directory made opaque, twice: a repeated marker must not be applied again.
        let upper: [Item] = (0..<count).flatMap { n -> [Item] in [.opaque("d\(n)"), .opaque("d\(n)")] }
        try await factory.image("opaque:1", layers: [lower, upper], configure: { _ in })
        let subject = try await ImageLocator.load("opaque:1", storeRoot: factory.storeRoot)
        let index = try LayerScanner.scan(subject)
        #expect(
            index.whiteoutVisits <= 2 * count,
            "whiteouts visited \(index.whiteoutVisits) nodes for \(count) directories")
        #expect(index.node(at: "d0") != nil)
        #expect(index.node(at: "d0/f") == nil)
        #expect(index.node(at: "d\(count - 1)/f") == nil)
        // A root opaque marker still reaches paths whose parents were never listed.
        var root = FileIndex()
        root.beginLayer()
        root.apply(EntryRecord(path: "a/b/c", kind: .regular, mode: 0o644, uid: 0, gid: 0, size: 1, linkTarget: nil))
        root.beginLayer()
        root.apply(
            EntryRecord(path: ".wh..wh..opq", kind: .regular, mode: 0o644, uid: 0, gid: 0, size: 0, linkTarget: nil))
        #expect(root.node(at: "a/b/c") == nil)
    }

    @Test func sizesThatWouldOverflowSaturate() {
        var index = FileIndex()
        index.beginLayer()
        index.apply(EntryRecord(path: "d", kind: .directory, mode: 0o755, uid: 0, gid: 0, size: 0, linkTarget: nil))
        for name in ["a", "b", "c"] {
            index.apply(
                EntryRecord(
                    path: "d/\(name)", kind: .regular, mode: 0o644, uid: 0, gid: 0, size: Int64.max / 2, linkTarget: nil
                ))
        }
        index.beginLayer()
        index.apply(EntryRecord(path: ".wh.d", kind: .regular, mode: 0o644, uid: 0, gid: 0, size: 0, linkTarget: nil))
        #expect(index.wastedBytes == Int64.max)
        #expect(Int64.max.addingSaturating(1) == Int64.max)
        #expect(Int64.min.addingSaturating(-1) == Int64.min)
    }
}
