import Foundation
import OCI
import TestSupport
import Testing

@testable import Archive

/// Crafted layers: impossible sizes, sparse files claiming far more than the layer holds, and
/// layers that do not match their digests. Each is refused with an error naming the layer, and
/// a sentinel directory next to the extraction root is left exactly as it was.
@Suite struct HostileLayerTests {
    /// An extraction root and, beside it, a directory with a sentinel file nothing may touch.
    struct Scene {
        let dir: TemporaryDirectory
        var root: URL { dir.appending("root") }
        var outside: URL { dir.appending("outside") }

        init() throws {
            dir = try TemporaryDirectory()
            try FileManager.default.createDirectory(at: dir.appending("root"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: dir.appending("outside"), withIntermediateDirectories: true)
            try Data("sentinel\n".utf8).write(to: dir.appending("outside/sentinel"))
        }
    }

    /// Extracts `layer` expecting an error; checks the sentinel and returns the error.
    static func refused(_ layer: URL, in scene: Scene, options: ExtractOptions = .init()) throws -> ArchiveError {
        let before = directorySnapshot(scene.outside)
        var caught: ArchiveError?
        do { _ = try LayerExtractor.unpackForOverlay(layer: layer, to: scene.root, options: options) } catch {
            caught = error
        }
        #expect(directorySnapshot(scene.outside) == before, "extraction touched files outside its root")
        let error = try #require(caught, "\(layer.lastPathComponent) was extracted")
        #expect(error.description.contains(layer.path), "the error does not name the layer: \(error)")
        #expect(!error.description.contains("\n"))
        return error
    }

    /// A tar with one regular file whose size field is the base-256 encoding of -1.
    static func negativeSizeTar(_ url: URL) throws {
        _ = try python(
            """
            import io, sys, tarfile
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
                info = tarfile.TarInfo("file"); info.size = 4
                t.addfile(info, io.BytesIO(b"data"))
            data = bytearray(buf.getvalue())
            data[124:136] = b"\\xff" * 12
            data[148:156] = b"        "
            data[148:156] = ("%06o\\0 " % sum(data[0:512])).encode()
            open(sys.argv[1], "wb").write(bytes(data))
            """, [url.path])
    }

    @Test func aNegativeBase256SizeIsRefused() throws {
        let scene = try Scene()
        defer { scene.dir.remove() }
        let layer = scene.dir.appending("negative.tar")
        try Self.negativeSizeTar(layer)
        let error = try Self.refused(layer, in: scene)
        #expect(error.description.contains("size"), "\(error)")
        // Reading without extracting refuses it too.
        let reader = try LayerReader(path: layer)
        #expect(throws: ArchiveError.self) { while try reader.next() != nil {} }
    }

    @Test func aSparseSizeNearInt64MaxIsRefusedWithoutOverflow() throws {
        let scene = try Scene()
        defer { scene.dir.remove() }
        let layer = scene.dir.appending("sparse-max.tar")
        _ = try python(
            """
            import io, sys, tarfile
            with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
                info = tarfile.TarInfo("big"); info.size = 1
                info.pax_headers = {"GNU.sparse.size": str(2**63 - 1), "GNU.sparse.numblocks": "1",
                                    "GNU.sparse.offset": "0", "GNU.sparse.numbytes": "1", "GNU.sparse.name": "big"}
                t.addfile(info, io.BytesIO(b"x"))
            """, [layer.path])
        let error = try Self.refused(layer, in: scene)
        #expect(error.description.contains("impossible size of \(Int64.max) bytes"), "\(error)")
        #expect(!FileManager.default.fileExists(atPath: scene.root.appendingPathComponent("big").path))
    }

    /// A 1 GiB file that is a hole but for 5 bytes, archived by GNU tar as sparse and gzipped:
    /// a layer of a few hundred bytes.
    static func sparseGiBLayer(_ scene: Scene) throws -> URL {
        let work = scene.dir.appending("sparse-src")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let file = work.appendingPathComponent("huge")
        let fd = open(file.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        #expect(fd >= 0)
        #expect(pwrite(fd, "hello", 5, 1_000_000) == 5)
        #expect(ftruncate(fd, 1 << 30) == 0)
        close(fd)
        let tar = scene.dir.appending("sparse.tar")
        try run("/usr/bin/tar", ["--format=gnu", "--sparse", "-cf", tar.path, "-C", work.path, "huge"])
        try run("/usr/bin/gzip", ["-n", tar.path])
        try FileManager.default.removeItem(at: file)
        return scene.dir.appending("sparse.tar.gz")
    }

    @Test func aSmallLayerClaimingAGibibyteStopsAtTheLimitBeforeWriting() throws {
        let scene = try Scene()
        defer { scene.dir.remove() }
        let layer = try Self.sparseGiBLayer(scene)
        let compressed = try #require(try FileManager.default.attributesOfItem(atPath: layer.path)[.size] as? Int)
        #expect(compressed < 10_000)
        let error = try Self.refused(layer, in: scene)
        guard case .extractLimit(_, let declared, let limit, _) = error else {
            Issue.record("expected the extraction limit, got \(error)")
            return
        }
        #expect(declared == 1 << 30)
        #expect(limit == ExtractOptions.minimumLimit)
        #expect(error.description.contains(ExtractOptions.ratioVariable))
        // Refused before the file was created.
        #expect(!FileManager.default.fileExists(atPath: scene.root.appendingPathComponent("huge").path))
    }

    @Test func sparseFilesUnderALimitAreWrittenAsHoles() throws {
        let scene = try Scene()
        defer { scene.dir.remove() }
        let layer = try Self.sparseGiBLayer(scene)
        let stats = try LayerExtractor.unpackForOverlay(
            layer: layer, to: scene.root, options: ExtractOptions(byteLimit: 2 << 30))
        #expect(stats.bytes < 1 << 20, "holes were written as data: \(stats.bytes) bytes")
        var st = stat()
        #expect(stat(scene.root.appendingPathComponent("huge").path, &st) == 0)
        #expect(st.st_size == 1 << 30)
        #expect(Int64(st.st_blocks) * 512 < 16 << 20, "the file occupies \(st.st_blocks) blocks")
        let handle = try FileHandle(forReadingFrom: scene.root.appendingPathComponent("huge"))
        try handle.seek(toOffset: 1_000_000)
        #expect(try handle.read(upToCount: 5) == Data("hello".utf8))
        try handle.close()
    }

    @Test func theLimitFollowsTheCompressedSizeAndTheEnvironment() throws {
        let options = ExtractOptions()
        #expect(try options.limit(compressedSize: 10_000, environment: [:]) == ExtractOptions.minimumLimit)
        #expect(try options.limit(compressedSize: 1 << 20, environment: [:]) == 1024 << 20)
        #expect(
            try options.limit(compressedSize: 1 << 20, environment: [ExtractOptions.ratioVariable: "4096"]) == 4096
                << 20)
        #expect(try options.limit(compressedSize: Int64.max / 2, environment: [:]) == Int64.max)
        #expect(throws: ArchiveError.invalidExtractRatio("-1")) {
            try options.limit(compressedSize: 1, environment: [ExtractOptions.ratioVariable: "-1"])
        }
        #expect(throws: ArchiveError.invalidExtractRatio("0")) {
            try options.limit(compressedSize: 1, environment: [ExtractOptions.ratioVariable: "0"])
        }
    }

    @Test func aLayerNotMatchingItsDiffIDOrDigestIsReported() throws {
        let scene = try Scene()
        defer { scene.dir.remove() }
        let layer = try Self.sparseGiBLayer(scene)
        let digests = try LayerReader.hash(layer: layer)
        let other = SHA256Hasher.hash(Data("another layer".utf8))
        let wrongDiffID = try Self.refused(
            layer, in: scene, options: ExtractOptions(byteLimit: 2 << 30, expected: (digests.digest, other)))
        #expect(
            wrongDiffID == .digestMismatch(layer: layer.path, what: "diffID", expected: other, actual: digests.diffID))
        let fresh = try Scene()
        defer { fresh.dir.remove() }
        let wrongDigest = try Self.refused(
            layer, in: fresh, options: ExtractOptions(byteLimit: 2 << 30, expected: (other, digests.diffID)))
        #expect(
            wrongDigest == .digestMismatch(layer: layer.path, what: "digest", expected: other, actual: digests.digest))
        // The hashes are those of the bytes: gzip's for the digest, the tar's for the diffID.
        #expect(digests.digest == SHA256Hasher.hash(try Data(contentsOf: layer)))
        let tar = try run("/bin/sh", ["-c", "gzip -dc '\(layer.path)' | sha256sum"]).stdout.prefix(64)
        #expect(digests.diffID.encoded == String(tar))
    }
}
