import Archive
import Foundation
import OCI
import TestSupport
import Testing

@testable import Store

/// A store that must not be poisoned: unpacked layers named only by what was hashed, blobs
/// re-checked before they are trusted again, exports that cannot write back into the store,
/// and permissions that keep other users out.
@Suite struct HostileStoreTests {
    /// A real gzip layer with one file, committed to the store; returns its descriptor and diffID.
    static func layer(_ store: ImageStore, file: String, content: String) async throws -> (Descriptor, Digest) {
        let scratch = try TemporaryDirectory()
        try FileManager.default.createDirectory(at: scratch.appending("tree"), withIntermediateDirectories: true)
        try Data(content.utf8).write(to: scratch.appending("tree/\(file)"))
        _ = try run(
            "/usr/bin/tar",
            [
                "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner",
                "-cf", scratch.appending("l.tar").path, "-C", scratch.appending("tree").path, ".",
            ]
        ).checked()
        let diffID = try ImageStore.hashFile(scratch.appending("l.tar")).digest
        try run("/usr/bin/gzip", ["-n", scratch.appending("l.tar").path]).checked()
        let ingest = store.newIngestURL()
        try FileManager.default.copyItem(at: scratch.appending("l.tar.gz"), to: ingest)
        let committed = try await store.commitVerifying(
            ingest, expected: try ImageStore.hashFile(ingest).digest, source: "test")
        return (
            Descriptor(mediaType: MediaType.dockerLayerGzip, digest: committed.digest, size: committed.size), diffID
        )
    }

    @Test func unpackedLayersAreNamedOnlyByTheDiffIDTheirBytesHashTo() async throws {
        let dir = try TemporaryDirectory()
        let store = try ImageStore(root: dir.url)
        let (attacker, attackerDiffID) = try await Self.layer(store, file: "evil", content: "planted")
        let (_, victimDiffID) = try await Self.layer(store, file: "good", content: "genuine")
        let cache = try LayerCache(store: store)
        let before = directorySnapshot(dir.url)
        // A config claiming the attacker's blob is the victim's layer.
        #expect(
            throws: ArchiveError.digestMismatch(
                layer: store.blobURL(attacker.digest).path, what: "diffID",
                expected: victimDiffID, actual: attackerDiffID)
        ) {
            _ = try cache.unpacked(blob: attacker.digest, diffID: victimDiffID)
        }
        #expect(directorySnapshot(dir.url) == before, "a refused extraction left something in the store")
        // The honest claim unpacks.
        let unpacked = try cache.unpacked(blob: attacker.digest, diffID: attackerDiffID)
        #expect(unpacked.path == cache.path(for: attackerDiffID).path)
        #expect(try String(contentsOf: unpacked.appendingPathComponent("evil"), encoding: .utf8) == "planted")
    }

    @Test func aBlobChangedInPlaceIsCheckedAgainAndRefused() async throws {
        let dir = try TemporaryDirectory()
        let store = try ImageStore(root: dir.url)
        let (layer, diffID) = try await Self.layer(store, file: "f", content: "original")
        let info = try await store.verifiedLayerInfo(layer)
        #expect(info.diffID == diffID)
        #expect(info.verified == FileStamp(store.blobURL(layer.digest)))
        // Same size, other bytes: the stamp no longer matches, so the blob is hashed again.
        let url = store.blobURL(layer.digest)
        chmod(url.path, 0o644)
        var bytes = try Data(contentsOf: url)
        bytes[bytes.count / 2] ^= 0xff
        try bytes.write(to: url)
        await #expect(throws: StoreError.self) { try await store.verifiedLayerInfo(layer) }
        #expect(throws: ArchiveError.self) {
            _ = try LayerCache(store: store).unpacked(blob: layer.digest, diffID: diffID)
        }
        var wrongSize = layer
        wrongSize.size += 1
        let error = await #expect(throws: StoreError.self) { try await store.verifiedLayerInfo(wrongSize) }
        #expect(
            error?.description
                == "blob \(layer.digest) has \(layer.size) bytes, expected \(wrongSize.size); nothing was stored")
    }

    @Test func theRootIsPrivateAndBlobsAreReadOnly() async throws {
        let dir = try TemporaryDirectory()
        let root = dir.appending("store")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        chmod(root.path, 0o755)
        let store = try ImageStore(root: root)
        var st = stat()
        #expect(stat(root.path, &st) == 0 && st.st_mode & 0o777 == 0o700, "an existing store is tightened on open")
        let (layer, _) = try await Self.layer(store, file: "f", content: "x")
        #expect(stat(store.blobURL(layer.digest).path, &st) == 0 && st.st_mode & 0o777 == 0o444)
        let config = try await store.putBlob(Data("{}".utf8))
        #expect(stat(store.blobURL(config).path, &st) == 0 && st.st_mode & 0o777 == 0o444)
    }

    @Test func anExportIsACopyThatCannotChangeTheStore() async throws {
        let dir = try TemporaryDirectory()
        let store = try ImageStore(root: dir.appending("store"))
        let (layer, diffID) = try await Self.layer(store, file: "f", content: "exported")
        var config = ImageConfig(created: Timestamp.rfc3339(epochSeconds: 0))
        config.rootfs.diffIDs = [diffID]
        let image = try await store.commitImage(
            config: config, layers: [layer], format: .oci, tags: [try ImageReference(parsing: "app:1")])
        let before = directorySnapshot(store.root)
        let out = dir.appending("layout")
        try await ImageExporter(store: store).export(image, as: .ociDirectory, to: out, reference: nil)
        let exported = out.appendingPathComponent("blobs/sha256/\(layer.digest.encoded)")
        var st = stat(), original = stat()
        #expect(stat(exported.path, &st) == 0 && stat(store.blobURL(layer.digest).path, &original) == 0)
        #expect(st.st_ino != original.st_ino, "the export shares the store's inode")
        try Data("overwritten".utf8).write(to: exported)
        #expect(directorySnapshot(store.root) == before, "editing the export changed the store")
        #expect(try ImageStore.hashFile(store.blobURL(layer.digest)).digest == layer.digest)
    }
}
