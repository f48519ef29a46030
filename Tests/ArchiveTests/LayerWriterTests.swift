import Foundation
import OCI
import TestSupport
import Testing

@testable import Archive

/// A tree with every kind of entry a layer carries.
func makeFixtureTree(_ root: URL) throws {
    let fm = FileManager.default
    try fm.createDirectory(at: root.appendingPathComponent("bin"), withIntermediateDirectories: true)
    try fm.createDirectory(at: root.appendingPathComponent("etc"), withIntermediateDirectories: true)
    try fm.createDirectory(at: root.appendingPathComponent("empty-dir"), withIntermediateDirectories: true)
    try fm.createDirectory(at: root.appendingPathComponent("deep"), withIntermediateDirectories: true)
    chmod(root.appendingPathComponent("empty-dir").path, 0o700)
    try write(Array("#!/bin/sh\necho tool\n".utf8), to: root.appendingPathComponent("bin/tool"))
    chmod(root.appendingPathComponent("bin/tool").path, 0o755)
    link(root.appendingPathComponent("bin/tool").path, root.appendingPathComponent("bin/tool-link").path)
    try write(Array("setuid\n".utf8), to: root.appendingPathComponent("bin/su"))
    chmod(root.appendingPathComponent("bin/su").path, 0o4755)
    try write(Array("key=value\n".utf8), to: root.appendingPathComponent("etc/config"))
    chmod(root.appendingPathComponent("etc/config").path, 0o640)
    chown(root.appendingPathComponent("etc/config").path, 1000, 1000)
    try setXattrWithPython(root.appendingPathComponent("etc/config"), name: "user.comment", value: "hello")
    try setXattrWithPython(root.appendingPathComponent("etc/config"), name: "trusted.secret", value: "host-only")
    try write(pseudoRandomBytes(count: 3 * 1024 * 1024 + 12345, seed: 42), to: root.appendingPathComponent("big.bin"))
    try write([], to: root.appendingPathComponent("empty.txt"))
    symlink("/etc/passwd", root.appendingPathComponent("abs-link").path)
    symlink("bin/tool", root.appendingPathComponent("rel-link").path)
    mkfifo(root.appendingPathComponent("fifo").path, 0o644)
    mknod(root.appendingPathComponent("null").path, FileType.character | 0o666, makeDevice(1, 3))
    try write(
        Array("long\n".utf8), to: root.appendingPathComponent("deep/" + String(repeating: "n", count: 120) + ".txt"))
    try write(Array("unicode\n".utf8), to: root.appendingPathComponent("ünïcode-名前.txt"))
}

@Suite("LayerWriter")
struct LayerWriterTests {
    @Test func sameTreeGivesSameDigestsAcrossWritesAndThreadCounts() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let tree = tmp.appending("tree")
        try makeFixtureTree(tree)
        let one = try writeLayer(tree, to: tmp.appending("one.tar.gz"), options: LayerOptions(compressionThreads: 1))
        let two = try writeLayer(tree, to: tmp.appending("two.tar.gz"), options: LayerOptions(compressionThreads: 2))
        let again = try writeLayer(
            tree, to: tmp.appending("again.tar.gz"), options: LayerOptions(compressionThreads: 2))
        #expect(one == two)
        #expect(two == again)
        #expect(try Data(contentsOf: tmp.appending("one.tar.gz")) == Data(contentsOf: tmp.appending("two.tar.gz")))
        #expect(one.entryCount == 16)
        #expect(one.uncompressedSize > 3 * 1024 * 1024)
        #expect(one.size < one.uncompressedSize)
        #expect(one.diffID != one.digest)

        // Touch everything with times later than the epoch: the digest must not move.
        let now = Int(Date().timeIntervalSince1970)
        let all = try FileManager.default.subpathsOfDirectory(atPath: tree.path)
        for path in all { setTimes(tree.appendingPathComponent(path), seconds: now + 100) }
        setTimes(tree, seconds: now + 100)
        let touched = try writeLayer(
            tree, to: tmp.appending("touched.tar.gz"), options: LayerOptions(compressionThreads: 2))
        #expect(touched == one)

        // The digests are what any sha256 tool computes over the blob and the tar.
        let sum = try run("/usr/bin/sha256sum", [tmp.appending("one.tar.gz").path])
        #expect(sum.stdout.hasPrefix(one.digest.encoded))
        let tarSum = try run("/bin/sh", ["-c", "gzip -dc '\(tmp.appending("one.tar.gz").path)' | sha256sum"])
        #expect(tarSum.stdout.hasPrefix(one.diffID.encoded))
        #expect(one.size == Int64(try Data(contentsOf: tmp.appending("one.tar.gz")).count))
    }

    @Test func mtimesBeforeTheEpochAreKeptAndLaterOnesClamped() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let tree = tmp.appending("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        try write(Array("old".utf8), to: tree.appendingPathComponent("old"))
        try write(Array("new".utf8), to: tree.appendingPathComponent("new"))
        setTimes(tree.appendingPathComponent("old"), seconds: 500_000_000)
        setTimes(tree.appendingPathComponent("new"), seconds: 1_700_000_000)
        _ = try writeLayer(tree, to: tmp.appending("l.tar.gz"), options: LayerOptions(sourceDateEpoch: 1_000_000_000))
        let out = try python(
            """
            import tarfile, sys
            with tarfile.open(sys.argv[1]) as t:
                for m in t.getmembers(): print(m.name, int(m.mtime))
            """, [tmp.appending("l.tar.gz").path])
        #expect(out == "new 1000000000\nold 500000000\n")
    }

    @Test func toolsReadTheLayerWithNamesModesOwnersAndTimes() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let tree = tmp.appending("tree")
        try makeFixtureTree(tree)
        let layer = tmp.appending("layer.tar.gz")
        _ = try writeLayer(tree, to: layer)

        #expect(try run("/bin/gzip", ["-t", layer.path]).status == 0)
        let listing = try run("/bin/tar", ["--numeric-owner", "-tvzf", layer.path])
        #expect(listing.status == 0, "\(listing.stderr)")
        #expect(listing.stdout.contains("-rw-r----- 1000/1000"))
        #expect(listing.stdout.contains("bin/tool-link link to bin/tool"))
        #expect(listing.stdout.contains("abs-link -> /etc/passwd"))
        #expect(listing.stdout.contains("2000-01-01 00:00"))

        let report = try python(
            """
            import tarfile, sys
            with tarfile.open(sys.argv[1]) as t:
                for m in t.getmembers():
                    kind = {tarfile.REGTYPE: 'f', tarfile.DIRTYPE: 'd', tarfile.SYMTYPE: 'l', tarfile.LNKTYPE: 'h',
                            tarfile.FIFOTYPE: 'p', tarfile.CHRTYPE: 'c'}[m.type]
                    x = ','.join(k + '=' + v for k, v in sorted(m.pax_headers.items()) if k.startswith('SCHILY.xattr'))
                    extra = m.linkname if m.type in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ''
                    if m.type == tarfile.CHRTYPE: extra = '%d,%d' % (m.devmajor, m.devminor)
                    print(kind, m.name, oct(m.mode), m.uid, m.gid, repr(m.uname), repr(m.gname), int(m.mtime), m.size, extra, x)
            """, [layer.path])
        let lines = report.split(separator: "\n").map(String.init)
        let longName = "deep/" + String(repeating: "n", count: 120) + ".txt"
        #expect(
            lines == [
                "l abs-link 0o777 0 0 '' '' 946684800 0 /etc/passwd ",
                "f big.bin 0o644 0 0 '' '' 946684800 3158073  ",
                "d bin 0o755 0 0 '' '' 946684800 0  ",
                "f bin/su 0o4755 0 0 '' '' 946684800 7  ",
                "f bin/tool 0o755 0 0 '' '' 946684800 20  ",
                "h bin/tool-link 0o755 0 0 '' '' 946684800 0 bin/tool ",
                "d deep 0o755 0 0 '' '' 946684800 0  ",
                "f \(longName) 0o644 0 0 '' '' 946684800 5  ",
                "d empty-dir 0o700 0 0 '' '' 946684800 0  ",
                "f empty.txt 0o644 0 0 '' '' 946684800 0  ",
                "d etc 0o755 0 0 '' '' 946684800 0  ",
                "f etc/config 0o640 1000 1000 '' '' 946684800 10  SCHILY.xattr.user.comment=hello",
                "p fifo 0o644 0 0 '' '' 946684800 0  ",
                "c null 0o644 0 0 '' '' 946684800 0 1,3 ",
                "l rel-link 0o777 0 0 '' '' 946684800 0 bin/tool ",
                "f ünïcode-名前.txt 0o644 0 0 '' '' 946684800 8  ",
            ])
    }

    @Test func paxHeadersOnlyWhereNeededWithStableNamesAndNoExtraTimes() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let tree = tmp.appending("tree")
        try makeFixtureTree(tree)
        let layer = tmp.appending("layer.tar.gz")
        _ = try writeLayer(tree, to: layer)
        // Walk the raw 512-byte headers: list the pax ('x') headers, their names and records.
        let raw = try python(
            """
            import gzip, sys
            data = gzip.open(sys.argv[1]).read()
            off = 0
            while off + 512 <= len(data):
                h = data[off:off+512]
                if h == bytes(512): break
                name = h[0:100].rstrip(b'\\0').decode()
                size = int(h[124:136].rstrip(b'\\0 ') or b'0', 8)
                mtime = int(h[136:148].rstrip(b'\\0 ') or b'0', 8)
                flag = chr(h[156])
                body = data[off+512:off+512+size]
                if flag == 'x':
                    keys = sorted(l.split(b' ', 1)[1].split(b'=')[0].decode() for l in body.split(b'\\n') if l)
                    print('x', name, mtime, ','.join(keys))
                off += 512 + (size + 511) // 512 * 512
            """, [layer.path])
        let lines = raw.split(separator: "\n").map(String.init)
        // Exactly three entries need one: the long name, the non-ASCII name, the xattr.
        #expect(lines.count == 3, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("x PaxHeader/nnnn") && $0.hasSuffix(" 946684800 path") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("x etc/PaxHeader/config 946684800 SCHILY.xattr.user.comment") })
        #expect(lines.contains { $0.hasPrefix("x PaxHeader/") && $0.hasSuffix(" 946684800 path") })
        for line in lines {
            #expect(!line.contains("atime") && !line.contains("ctime") && !line.contains("LIBARCHIVE"))
            #expect(!line.contains("PaxHeader."), "a PID in the pax header name: \(line)")
        }
    }

    @Test func gzipHeaderIsFixedAndStreamsAreStandard() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let tree = tmp.appending("tree")
        try makeFixtureTree(tree)
        let layer = tmp.appending("layer.tar.gz")
        _ = try writeLayer(tree, to: layer, options: LayerOptions(compressionLevel: 9, compressionThreads: 2))
        let bytes = try Data(contentsOf: layer)
        #expect(Array(bytes.prefix(10)) == [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255])
        #expect(try run("/bin/gzip", ["-t", layer.path]).status == 0)
    }

    @Test func inMemoryContentsAndTheOneCallForm() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let tree = tmp.appending("tree")
        try FileManager.default.createDirectory(
            at: tree.appendingPathComponent("etc"), withIntermediateDirectories: true)
        try write(Array("127.0.0.1 localhost\n".utf8), to: tree.appendingPathComponent("etc/hosts"))
        let scanned = try LayerWriter.write(directory: tree, to: tmp.appending("a.tar.gz"), options: LayerOptions())

        let writer = try LayerWriter(output: tmp.appending("b.tar.gz"), options: LayerOptions(compressionThreads: 1))
        try writer.add(LayerEntry(path: "etc", kind: .directory, mode: 0o755, mtime: 2_000_000_000))
        try writer.add(
            LayerEntry(path: "etc/hosts", kind: .regular(source: nil, size: 0), mode: 0o644, mtime: 2_000_000_000),
            data: Data("127.0.0.1 localhost\n".utf8))
        #expect(try writer.finish() == scanned)
    }

    @Test func emptyLayerIsAValidArchive() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let writer = try LayerWriter(output: tmp.appending("empty.tar.gz"), options: LayerOptions())
        let written = try writer.finish()
        #expect(written.entryCount == 0)
        #expect(written.uncompressedSize == 1024)
        #expect(try run("/bin/gzip", ["-t", tmp.appending("empty.tar.gz").path]).status == 0)
        #expect(try run("/bin/tar", ["-tzf", tmp.appending("empty.tar.gz").path]).status == 0)
    }

    @Test func missingAndUnreadableSourcesAreNamed() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let missing = tmp.appending("gone.txt")
        let writer = try LayerWriter(output: tmp.appending("a.tar.gz"), options: LayerOptions())
        #expect(throws: ArchiveError.missingPath(missing.path, what: "source file")) {
            try writer.add(LayerEntry(path: "gone.txt", kind: .regular(source: missing, size: 3), mode: 0o644))
        }
        // A failed writer removes its partial output.
        #expect(!FileManager.default.fileExists(atPath: tmp.appending("a.tar.gz").path))

        let writer2 = try LayerWriter(output: tmp.appending("b.tar.gz"), options: LayerOptions())
        do {
            try writer2.add(LayerEntry(path: "dir", kind: .regular(source: tmp.url, size: 3), mode: 0o644))
            Issue.record("a directory was accepted as file contents")
        } catch {
            #expect(error.description.contains(tmp.url.path))
            #expect(error.description.contains("not a regular file"))
        }

        let source = tmp.appending("shrunk.txt")
        try write(Array("abc".utf8), to: source)
        let writer3 = try LayerWriter(output: tmp.appending("c.tar.gz"), options: LayerOptions())
        #expect(throws: ArchiveError.sourceChanged(source.path, expected: 10, actual: 3)) {
            try writer3.add(LayerEntry(path: "shrunk.txt", kind: .regular(source: source, size: 10), mode: 0o644))
        }
    }

    @Test func outputIsCreatedExclusivelyAndBadPathsAreRefused() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        try write([1], to: tmp.appending("exists.tar.gz"))
        #expect(throws: ArchiveError.outputExists(tmp.appending("exists.tar.gz").path)) {
            _ = try LayerWriter(output: tmp.appending("exists.tar.gz"), options: LayerOptions())
        }
        let writer = try LayerWriter(output: tmp.appending("x.tar.gz"), options: LayerOptions())
        for bad in ["/abs", "a/../../b", ""] {
            #expect(throws: ArchiveError.self) {
                try writer.add(LayerEntry(path: bad, kind: .directory, mode: 0o755))
            }
        }
        #expect(throws: ArchiveError.self) {
            _ = try LayerWriter(output: tmp.appending("level.tar.gz"), options: LayerOptions(compressionLevel: 12))
        }
    }

    @Test func sourceDateEpochFromEnvironment() throws {
        #expect(try LayerOptions.fromEnvironment([:]).sourceDateEpoch == LayerOptions.defaultEpoch)
        #expect(
            try LayerOptions.fromEnvironment(["SOURCE_DATE_EPOCH": ""]).sourceDateEpoch == LayerOptions.defaultEpoch)
        #expect(try LayerOptions.fromEnvironment(["SOURCE_DATE_EPOCH": "1700000000"]).sourceDateEpoch == 1_700_000_000)
        for bad in ["-1", "17e8", "soon", "1700000000.5", "99999999999999999999999"] {
            #expect(throws: ArchiveError.invalidSourceDateEpoch(bad)) {
                _ = try LayerOptions.fromEnvironment(["SOURCE_DATE_EPOCH": bad])
            }
        }
        #expect(ArchiveError.invalidSourceDateEpoch("x").description.contains("SOURCE_DATE_EPOCH"))
    }
}

@Suite("GzipCompressor")
struct GzipCompressorTests {
    func compress(_ input: [UInt8], threads: Int, level: Int32 = 6, chunk: Int = 100_000) throws -> [UInt8] {
        var out = [UInt8]()
        let collector = Collector()
        let gzip = try GzipCompressor(level: level, threads: threads) { buffer in collector.append(buffer) }
        var offset = 0
        while offset < input.count {
            let n = min(chunk, input.count - offset)
            try input[offset..<(offset + n)].withUnsafeBytes { try gzip.write($0) }
            offset += n
        }
        try gzip.finish()
        out = collector.bytes
        return out
    }

    final class Collector: @unchecked Sendable {
        var bytes: [UInt8] = []
        func append(_ buffer: UnsafeRawBufferPointer) { bytes.append(contentsOf: buffer) }
    }

    @Test func multiBlockOutputIsIdenticalForAnyThreadCountAndStandard() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        // Crosses several 1 MiB block boundaries, with a partial last block.
        let input = pseudoRandomBytes(count: 4 * 1024 * 1024 + 777, seed: 7)
        let one = try compress(input, threads: 1)
        let two = try compress(input, threads: 2, chunk: 4096)
        let three = try compress(input, threads: 3, chunk: 1 << 20)
        #expect(one == two)
        #expect(one == three)
        try write(one, to: tmp.appending("x.gz"))
        #expect(try run("/bin/gzip", ["-t", tmp.appending("x.gz").path]).status == 0)
        try write(input, to: tmp.appending("x"))
        let same = try python(
            """
            import gzip, sys
            print(gzip.open(sys.argv[1]).read() == open(sys.argv[2], 'rb').read())
            """, [tmp.appending("x.gz").path, tmp.appending("x").path])
        #expect(same == "True\n")
    }

    @Test func blocksInFlightAreBoundedWhateverTheInputSize() throws {
        let block = pseudoRandomBytes(count: 1 << 20, seed: 11)
        for threads in [1, 2] {
            let collector = Collector()
            let gzip = try GzipCompressor(level: 1, threads: threads) { buffer in collector.append(buffer) }
            for _ in 0..<24 { try block.withUnsafeBytes { try gzip.write($0) } }
            try gzip.finish()
            #expect(gzip.peakInFlight <= 2 * threads + 1)
            #expect(gzip.peakInFlight >= 1)
        }
    }

    @Test func exactBlockMultipleAndEmptyInput() throws {
        for size in [0, 1 << 20, 2 << 20] {
            let input = pseudoRandomBytes(count: size, seed: 3)
            let one = try compress(input, threads: 1)
            let two = try compress(input, threads: 2)
            #expect(one == two)
            let count = try run("/bin/sh", ["-c", "gzip -dc | wc -c"], stdin: Data(one))
            #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(size)")
        }
    }
}
