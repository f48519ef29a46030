import Foundation
import OCI
import TestSupport
import Testing

@testable import Archive

/// Builds a tar(.gz) with Python's tarfile from helper calls:
/// f(name, data, mode), d(name, mode), l(name, target), h(name, target), c(name, major, minor).
func craftTar(_ output: URL, gzip: Bool = true, _ body: String) throws {
    let script = """
        import tarfile, sys, io
        t = tarfile.open(sys.argv[1], 'w:gz' if sys.argv[2] == '1' else 'w', format=tarfile.PAX_FORMAT)
        def f(name, data=b'x', mode=0o644):
            ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = mode; ti.mtime = 1000; t.addfile(ti, io.BytesIO(data))
        def d(name, mode=0o755):
            ti = tarfile.TarInfo(name); ti.type = tarfile.DIRTYPE; ti.mode = mode; ti.mtime = 1000; t.addfile(ti)
        def l(name, target):
            ti = tarfile.TarInfo(name); ti.type = tarfile.SYMTYPE; ti.linkname = target; t.addfile(ti)
        def h(name, target):
            ti = tarfile.TarInfo(name); ti.type = tarfile.LNKTYPE; ti.linkname = target; t.addfile(ti)
        def c(name, major, minor):
            ti = tarfile.TarInfo(name); ti.type = tarfile.CHRTYPE; ti.devmajor = major; ti.devminor = minor; t.addfile(ti)
        """ + body.split(separator: "\n").map { "\n" + $0.trimmingCharacters(in: .whitespaces) }.joined()
        + "\nt.close()\n"
    _ = try python(script, [output.path, gzip ? "1" : "0"])
}

/// A target directory next to a sentinel directory that nothing may touch.
struct Sandbox {
    let tmp: TemporaryDirectory
    var target: URL { tmp.appending("target") }
    var sentinel: URL { tmp.appending("sentinel") }

    init() throws {
        tmp = try TemporaryDirectory()
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: sentinel, withIntermediateDirectories: true)
        try write(Array("original".utf8), to: sentinel.appendingPathComponent("keep"))
    }

    /// The sentinel still holds exactly its one untouched file.
    func expectSentinelUntouched(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: sentinel.path)
        #expect(names == ["keep"], sourceLocation: sourceLocation)
        let keep = sentinel.appendingPathComponent("keep")
        #expect(try Data(contentsOf: keep) == Data("original".utf8), sourceLocation: sourceLocation)
        var st = stat()
        lstat(keep.path, &st)
        #expect(st.st_nlink == 1, "the sentinel file was hardlinked", sourceLocation: sourceLocation)
        #expect(st.st_mode & 0o7777 == 0o644, sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: tmp.appending("escape").path), sourceLocation: sourceLocation)
    }
}

func lstatOf(_ url: URL) -> stat? {
    var st = stat()
    return lstat(url.path, &st) == 0 ? st : nil
}

@Suite("LayerExtractor")
struct LayerExtractorTests {
    @Test func roundTripRestoresEveryKindOfEntry() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let tree = tmp.appending("tree")
        try makeFixtureTree(tree)
        // A read-only directory with contents: its mode must be set after it was filled.
        try FileManager.default.createDirectory(
            at: tree.appendingPathComponent("ro"), withIntermediateDirectories: true)
        try write(Array("inside".utf8), to: tree.appendingPathComponent("ro/file"))
        chmod(tree.appendingPathComponent("ro").path, 0o555)
        let layer = tmp.appending("layer.tar.gz")
        let written = try writeLayer(tree, to: layer)

        let out = tmp.appending("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let stats = try LayerExtractor.apply(layer: layer, to: out)
        #expect(stats.entries == written.entryCount)
        #expect(stats.bytes == 3_158_073 + 20 + 7 + 10 + 5 + 8 + 6)

        #expect(
            try Data(contentsOf: out.appendingPathComponent("big.bin"))
                == Data(contentsOf: tree.appendingPathComponent("big.bin")))
        let tool = lstatOf(out.appendingPathComponent("bin/tool"))!,
            toolLink = lstatOf(out.appendingPathComponent("bin/tool-link"))!
        #expect(tool.st_ino == toolLink.st_ino)
        #expect(tool.st_mode & 0o7777 == 0o755)
        #expect(lstatOf(out.appendingPathComponent("bin/su"))!.st_mode & 0o7777 == 0o4755)
        let config = lstatOf(out.appendingPathComponent("etc/config"))!
        #expect(config.st_uid == 1000 && config.st_gid == 1000 && config.st_mode & 0o7777 == 0o640)
        #expect(config.st_mtim.tv_sec == Int(LayerOptions.defaultEpoch))
        #expect(
            readXattr(path: out.appendingPathComponent("etc/config").path, name: "user.comment") == Array("hello".utf8))
        #expect(readXattr(path: out.appendingPathComponent("etc/config").path, name: "trusted.secret") == nil)
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: out.appendingPathComponent("abs-link").path)
                == "/etc/passwd")
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: out.appendingPathComponent("rel-link").path)
                == "bin/tool")
        #expect(lstatOf(out.appendingPathComponent("fifo"))!.st_mode & FileType.mask == FileType.fifo)
        let null = lstatOf(out.appendingPathComponent("null"))!
        #expect(null.st_mode & FileType.mask == FileType.character && null.st_rdev == makeDevice(1, 3))
        let emptyDir = lstatOf(out.appendingPathComponent("empty-dir"))!
        #expect(emptyDir.st_mode & 0o7777 == 0o700 && emptyDir.st_mtim.tv_sec == Int(LayerOptions.defaultEpoch))
        #expect(lstatOf(out.appendingPathComponent("ro"))!.st_mode & 0o7777 == 0o555)
        #expect(try String(contentsOf: out.appendingPathComponent("ro/file"), encoding: .utf8) == "inside")
        #expect(
            FileManager.default.fileExists(
                atPath: out.appendingPathComponent("deep/" + String(repeating: "n", count: 120) + ".txt").path))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("ünïcode-名前.txt").path))

        // Scanning the extracted tree gives the same layer, byte for byte.
        let again = try writeLayer(out, to: tmp.appending("again.tar.gz"))
        #expect(again == written)
    }

    @Test func applyHandlesWhiteoutsAndOpaqueDirectories() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let root = tmp.appending("root")
        for dir in ["etc", "opaque/sub", "keep"] {
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent(dir), withIntermediateDirectories: true)
        }
        for file in ["etc/a", "etc/b", "opaque/x", "opaque/sub/y", "keep/z"] {
            try write(Array(file.utf8), to: root.appendingPathComponent(file))
        }
        let layer = tmp.appending("l.tar.gz")
        try craftTar(
            layer,
            """
            f('etc/.wh.a', b'')
            d('gone')
            f('gone/.wh.nothing', b'')
            f('missing-parent/.wh.x', b'')
            d('opaque')
            f('opaque/-early', b'kept')
            f('opaque/.wh..wh..opq', b'')
            f('opaque/new', b'new')
            f('.wh.keep', b'')
            """)
        let stats = try LayerExtractor.apply(layer: layer, to: root)
        #expect(stats.entries == 9)
        let fm = FileManager.default
        #expect(!fm.fileExists(atPath: root.appendingPathComponent("etc/a").path))
        #expect(fm.fileExists(atPath: root.appendingPathComponent("etc/b").path))
        #expect(!fm.fileExists(atPath: root.appendingPathComponent("keep").path))
        #expect(
            try fm.contentsOfDirectory(atPath: root.appendingPathComponent("opaque").path).sorted() == [
                "-early", "new",
            ])
        #expect(!fm.fileExists(atPath: root.appendingPathComponent("missing-parent").path))
        // Whiteout files themselves never appear in a merged root.
        #expect(try fm.contentsOfDirectory(atPath: root.appendingPathComponent("gone").path) == [])
    }

    @Test func overlayWhiteoutsRoundTrip() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let upper = tmp.appending("upper")
        try FileManager.default.createDirectory(
            at: upper.appendingPathComponent("etc/opaque"), withIntermediateDirectories: true)
        try write(Array("new".utf8), to: upper.appendingPathComponent("etc/opaque/fresh"))
        try setXattrWithPython(upper.appendingPathComponent("etc/opaque"), name: "trusted.overlay.opaque", value: "y")
        #expect(mknod(upper.appendingPathComponent("etc/deleted").path, FileType.character, makeDevice(0, 0)) == 0)
        let layer = tmp.appending("upper.tar.gz")
        _ = try writeLayer(upper, to: layer, scan: .init(overlayWhiteouts: true))
        let names = try python(
            """
            import tarfile, sys
            print('\\n'.join(m.name + ':' + str(m.type, 'ascii') for m in tarfile.open(sys.argv[1])))
            """, [layer.path])
        #expect(names == "etc:5\netc/.wh.deleted:0\netc/opaque:5\netc/opaque/.wh..wh..opq:0\netc/opaque/fresh:0\n")

        let lower = tmp.appending("lower")
        try FileManager.default.createDirectory(at: lower, withIntermediateDirectories: true)
        let stats = try LayerExtractor.unpackForOverlay(layer: layer, to: lower)
        #expect(stats.entries == 5)
        let device = lstatOf(lower.appendingPathComponent("etc/deleted"))!
        #expect(device.st_mode & FileType.mask == FileType.character && device.st_rdev == 0)
        #expect(
            readXattr(path: lower.appendingPathComponent("etc/opaque").path, name: "trusted.overlay.opaque")
                == Array("y".utf8))
        #expect(!FileManager.default.fileExists(atPath: lower.appendingPathComponent("etc/opaque/.wh..wh..opq").path))
        #expect(try String(contentsOf: lower.appendingPathComponent("etc/opaque/fresh"), encoding: .utf8) == "new")
        // And the unpacked form scans back to the same layer.
        let again = try writeLayer(lower, to: tmp.appending("again.tar.gz"), scan: .init(overlayWhiteouts: true))
        #expect(try Data(contentsOf: tmp.appending("again.tar.gz")) == Data(contentsOf: layer))
        #expect(again.entryCount == 5)
    }

    // MARK: - Safety

    @Test(arguments: [
        ("f('../escape', b'pwned')", "'..'"),
        ("f('a/../../escape', b'pwned')", "'..'"),
        ("f('/abs/path', b'pwned')", "absolute"),
        ("h('passwd', '/etc/passwd')", "absolute"),
        ("f('x', b'1')\nh('y', '../x')", "'..'"),
    ])
    func unsafeNamesAreRefused(spec: String, why: String) throws {
        let box = try Sandbox()
        defer { box.tmp.remove() }
        let layer = box.tmp.appending("evil.tar.gz")
        try craftTar(layer, spec)
        do {
            _ = try LayerExtractor.apply(layer: layer, to: box.target)
            Issue.record("the layer was applied")
        } catch {
            #expect(error.description.contains("refusing"))
            #expect(error.description.contains(layer.path))
            #expect(error.description.contains(why))
        }
        try box.expectSentinelUntouched()
    }

    @Test func writesThroughSymlinksStayInsideTheRoot() throws {
        let box = try Sandbox()
        defer { box.tmp.remove() }
        let layer = box.tmp.appending("evil.tar.gz")
        let sentinel = box.sentinel.path
        try craftTar(
            layer,
            """
            l('abs', '\(sentinel)')
            f('abs/pwned', b'pwned')
            l('rel', '../sentinel')
            f('rel/pwned2', b'pwned')
            l('a', 'b')
            l('b', '../../../sentinel/')
            f('a/pwned3', b'pwned')
            l('keep-link', '\(sentinel)/keep')
            f('keep-link', b'replaced')
            l('dotdot', '..')
            f('dotdot/dotdot-file', b'stays')
            """)
        _ = try LayerExtractor.apply(layer: layer, to: box.target)
        try box.expectSentinelUntouched()
        let t = box.target
        // Absolute and climbing targets were resolved against the root.
        #expect(FileManager.default.fileExists(atPath: t.path + sentinel + "/pwned"))
        #expect(FileManager.default.fileExists(atPath: t.appendingPathComponent("sentinel/pwned2").path))
        #expect(FileManager.default.fileExists(atPath: t.appendingPathComponent("sentinel/pwned3").path))
        #expect(FileManager.default.fileExists(atPath: t.appendingPathComponent("dotdot-file").path))
        // The symlinks themselves are kept as recorded (a rootfs has absolute links).
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: t.appendingPathComponent("abs").path) == sentinel)
        // A file entry replaces a symlink of the same name instead of writing through it.
        #expect(lstatOf(t.appendingPathComponent("keep-link"))!.st_mode & FileType.mask == FileType.regular)
        #expect(try String(contentsOf: t.appendingPathComponent("keep-link"), encoding: .utf8) == "replaced")
    }

    @Test func symlinkLoopsAndHardlinksThroughSymlinksAreRefused() throws {
        let box = try Sandbox()
        defer { box.tmp.remove() }
        let loop = box.tmp.appending("loop.tar.gz")
        try craftTar(
            loop,
            """
            l('etc', '/etc')
            f('etc/passwd', b'root::0:0::/:/bin/sh')
            """)
        do {
            _ = try LayerExtractor.apply(layer: loop, to: box.target)
            Issue.record("a symlink loop was followed")
        } catch {
            #expect(error.description.contains("symbolic links"))
            #expect(error.description.contains("etc/passwd"))
        }
        let hardlink = box.tmp.appending("hardlink.tar.gz")
        try craftTar(
            hardlink,
            """
            l('s', '\(box.sentinel.path)')
            h('stolen', 's/keep')
            """)
        do {
            _ = try LayerExtractor.apply(layer: hardlink, to: box.tmp.appending("target"))
            Issue.record("a hardlink through a symlink reached outside")
        } catch {
            #expect(error.description.contains("stolen"))
        }
        try box.expectSentinelUntouched()
    }

    // MARK: - Errors

    @Test func corruptGzipAndTruncatedTarNameTheFile() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let tree = tmp.appending("tree")
        try makeFixtureTree(tree)
        let good = tmp.appending("good.tar.gz")
        _ = try writeLayer(tree, to: good)
        var bytes = try Data(contentsOf: good)
        for i in stride(from: 2000, to: 6000, by: 7) { bytes[i] ^= 0x5a }
        let corrupt = tmp.appending("corrupt.tar.gz")
        try bytes.write(to: corrupt)
        let out = tmp.appending("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        do {
            _ = try LayerExtractor.apply(layer: corrupt, to: out)
            Issue.record("a corrupt layer was applied")
        } catch {
            guard case .corruptLayer(let file, _) = error else { Issue.record("wrong error: \(error)"); return }
            #expect(file == corrupt.path)
            #expect(error.description.contains("corrupt"))
        }

        let tar = tmp.appending("plain.tar")
        _ = try run("/bin/sh", ["-c", "gzip -dc '\(good.path)' > '\(tar.path)'"])
        let full = try Data(contentsOf: tar)
        let truncated = tmp.appending("truncated.tar")
        try full.prefix(1_500_000).write(to: truncated)
        do {
            _ = try LayerExtractor.apply(layer: truncated, to: out)
            Issue.record("a truncated layer was applied")
        } catch {
            guard case .truncatedLayer(let file, _) = error else { Issue.record("wrong error: \(error)"); return }
            #expect(file == truncated.path)
            #expect(error.description.contains("truncated"))
        }
        let truncatedGzip = tmp.appending("truncated.tar.gz")
        try Data(contentsOf: good).prefix(100_000).write(to: truncatedGzip)
        #expect(throws: ArchiveError.self) { _ = try LayerExtractor.apply(layer: truncatedGzip, to: out) }

        #expect(throws: ArchiveError.missingPath(tmp.appending("nope.tar").path, what: "layer")) {
            _ = try LayerExtractor.apply(layer: tmp.appending("nope.tar"), to: out)
        }
        #expect(throws: ArchiveError.missingPath(tmp.appending("no-root").path, what: "extraction root")) {
            _ = try LayerExtractor.apply(layer: good, to: tmp.appending("no-root"))
        }
    }
}

@Suite("LayerReader")
struct LayerReaderTests {
    @Test func repackingThroughTheReaderGivesTheSameLayer() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let tree = tmp.appending("tree")
        try makeFixtureTree(tree)
        let original = try writeLayer(tree, to: tmp.appending("a.tar.gz"))
        let reader = try LayerReader(path: tmp.appending("a.tar.gz"))
        let writer = try LayerWriter(output: tmp.appending("b.tar.gz"), options: LayerOptions(compressionThreads: 1))
        while let entry = try reader.next() { try writer.add(entry, reader: reader) }
        #expect(try writer.finish() == original)
    }

    @Test func readsPlainTarFromADescriptorAndNormalizesNames() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let tar = tmp.appending("x.tar")
        try craftTar(
            tar, gzip: false,
            """
            d('./a/')
            f('./a/b.txt', b'hello')
            f('c//d', b'')
            """)
        // Through a pipe, as from stdin: no seeking.
        let cat = Process()
        cat.executableURL = URL(fileURLWithPath: "/bin/cat")
        cat.arguments = [tar.path]
        let pipe = Pipe()
        cat.standardOutput = pipe
        try cat.run()
        defer { cat.waitUntilExit() }
        let reader = try LayerReader(fileDescriptor: pipe.fileHandleForReading.fileDescriptor)
        var seen: [String] = []
        var contents = [UInt8]()
        while let entry = try reader.next() {
            seen.append(entry.path)
            if entry.path == "a/b.txt" {
                #expect(entry.kind == .regular(source: nil, size: 5))
                try reader.readData { contents.append(contentsOf: $0) }
            }
        }
        #expect(seen == ["a", "a/b.txt", "c/d"])
        #expect(contents == Array("hello".utf8))
    }

    @Test func gzipFromAPipeIsDetected() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let layer = tmp.appending("x.tar.gz")
        try craftTar(layer, "f('only', b'data')")
        let cat = Process()
        cat.executableURL = URL(fileURLWithPath: "/bin/cat")
        cat.arguments = [layer.path]
        let pipe = Pipe()
        cat.standardOutput = pipe
        try cat.run()
        defer { cat.waitUntilExit() }
        let reader = try LayerReader(fileDescriptor: pipe.fileHandleForReading.fileDescriptor)
        let entry = try reader.next()
        #expect(entry?.path == "only")
        #expect(entry?.mtime == 1000)
        #expect(try reader.next() == nil)
    }

    @Test func readDataWithoutAnEntryIsAnError() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let layer = tmp.appending("x.tar.gz")
        try craftTar(layer, "f('only', b'data')")
        let reader = try LayerReader(path: layer)
        #expect(throws: ArchiveError.self) { try reader.readData { _ in } }
    }
}
