import Foundation
import TestSupport
import Testing

@testable import Archive

/// The docker-archive member index over libarchive: offsets that point at each member's bytes,
/// and crafted headers refused before anything is read.
@Suite struct TarIndexTests {
    /// Writes a tar with Python's tarfile (argv[1] is the output) and returns its path.
    func craft(_ dir: TemporaryDirectory, _ name: String, _ script: String) throws -> URL {
        let url = dir.appending(name)
        let result = try python(script, [url.path])
        #expect(FileManager.default.fileExists(atPath: url.path), "crafting \(name) failed: \(result)")
        return url
    }

    @Test(arguments: ["USTAR_FORMAT", "GNU_FORMAT", "PAX_FORMAT"])
    func membersPointAtTheirBytes(format: String) throws {
        let dir = try TemporaryDirectory(prefix: "imagekit-tarindex")
        let long = String(repeating: "d", count: 90) + "/" + String(repeating: "f", count: 60) + ".json"
        let archive = try craft(
            dir, "a.tar",
            """
            import io, sys, tarfile
            with tarfile.open(sys.argv[1], "w", format=tarfile.\(format)) as t:
                for name, body in (("manifest.json", b"[1]"), ("./blobs/sha256/ab", b"x" * 1000),
                                   ("\(long)", b"long name"), ("empty", b"")):
                    info = tarfile.TarInfo(name); info.size = len(body)
                    t.addfile(info, io.BytesIO(body))
                d = tarfile.TarInfo("dir"); d.type = tarfile.DIRTYPE
                t.addfile(d)
            """)
        let members = try TarIndex.members(of: archive)
        // Directories are not members; a leading ./ is dropped.
        #expect(Set(members.keys) == ["manifest.json", "blobs/sha256/ab", long, "empty"])
        #expect(try TarIndex.read(archive, #require(members["manifest.json"])) == Data("[1]".utf8))
        #expect(try TarIndex.read(archive, #require(members["blobs/sha256/ab"])) == Data(repeating: 0x78, count: 1000))
        #expect(try TarIndex.read(archive, #require(members[long])) == Data("long name".utf8))
        #expect(try TarIndex.read(archive, #require(members["empty"])) == Data())
    }

    @Test func aNegativeBase256SizeIsRefused() throws {
        let dir = try TemporaryDirectory(prefix: "imagekit-tarindex")
        let archive = try craft(
            dir, "negative.tar",
            """
            import io, sys, tarfile
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
                for name in ("manifest.json", "config.json"):
                    info = tarfile.TarInfo(name); info.size = 2
                    t.addfile(info, io.BytesIO(b"[]"))
            data = bytearray(buf.getvalue())
            header = 512 + 512  # the second member's header
            data[header + 124:header + 136] = b"\\xff" * 12
            data[header + 148:header + 156] = b"        "
            data[header + 148:header + 156] = ("%06o\\0 " % sum(data[header:header + 512])).encode()
            open(sys.argv[1], "wb").write(bytes(data))
            """)
        do {
            _ = try TarIndex.members(of: archive)
            Issue.record("a negative size was accepted")
        } catch {
            #expect(error.description.contains("the tar header at byte 1024 declares an impossible size"), "\(error)")
            #expect(error.description.contains(archive.path))
        }
    }

    @Test func aSizePastTheEndOfTheFileIsRefused() throws {
        let dir = try TemporaryDirectory(prefix: "imagekit-tarindex")
        let archive = try craft(
            dir, "huge.tar",
            """
            import io, sys, tarfile
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
                info = tarfile.TarInfo("layer.tar"); info.size = 2
                t.addfile(info, io.BytesIO(b"ab"))
            data = bytearray(buf.getvalue())
            data[124:136] = b"%011o\\0" % (1 << 30)  # 1 GiB declared in a file of a few KiB
            data[148:156] = b"        "
            data[148:156] = ("%06o\\0 " % sum(data[0:512])).encode()
            open(sys.argv[1], "wb").write(bytes(data))
            """)
        #expect(throws: ArchiveError.self) { _ = try TarIndex.members(of: archive) }
        do {
            _ = try TarIndex.members(of: archive)
        } catch {
            #expect(error.description.contains("impossible size"), "\(error)")
        }
    }

    @Test func anExtendedHeaderOverOneMiBIsRefused() throws {
        let dir = try TemporaryDirectory(prefix: "imagekit-tarindex")
        let archive = try craft(
            dir, "pax.tar",
            """
            import io, sys, tarfile
            with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
                info = tarfile.TarInfo("config.json"); info.size = 2
                info.pax_headers = {"comment": "c" * (1 << 20)}
                t.addfile(info, io.BytesIO(b"{}"))
            """)
        #expect(throws: ArchiveError.self) { _ = try TarIndex.members(of: archive) }
    }

    @Test func somethingElseIsNotATar() throws {
        let dir = try TemporaryDirectory(prefix: "imagekit-tarindex")
        let file = dir.appending("notes.tar")
        try Data(repeating: 0x41, count: 4096).write(to: file)
        #expect(throws: ArchiveError.self) { _ = try TarIndex.members(of: file) }
        #expect(throws: ArchiveError.missingPath(dir.appending("none.tar").path, what: "archive")) {
            _ = try TarIndex.members(of: dir.appending("none.tar"))
        }
    }
}
