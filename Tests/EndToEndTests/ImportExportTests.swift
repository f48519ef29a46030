import Foundation
import TestSupport
import Testing

/// `imagekit import` / `export` checked with tools no one here wrote: skopeo and umoci.
@Suite(.serialized) struct ImportExportTests {
    /// A tree with every kind of entry a root filesystem has.
    static func makeTree(at root: URL) throws {
        let fm = FileManager.default
        func dir(_ p: String, _ mode: Int16, _ uid: UInt32 = 0, _ gid: UInt32 = 0) throws {
            let url = root.appendingPathComponent(p)
            try fm.createDirectory(at: url, withIntermediateDirectories: true)
            chown(url.path, uid, gid); chmod(url.path, mode_t(mode))
        }
        func file(_ p: String, _ text: String, _ mode: Int16 = 0o644, _ uid: UInt32 = 0, _ gid: UInt32 = 0) throws {
            let url = root.appendingPathComponent(p)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
            chown(url.path, uid, gid); chmod(url.path, mode_t(mode))
        }
        try dir("etc", 0o755)
        try dir("usr/bin", 0o755)
        try dir("tmp", 0o1777)
        try dir("home/app", 0o750, 1000, 1000)
        try dir("var/empty", 0o700)
        try file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n")
        try file("usr/bin/tool", "#!/bin/sh\necho tool\n", 0o755)
        try file("usr/bin/su-like", "setuid", 0o4755)
        try file("home/app/notes.txt", "mine", 0o600, 1000, 1000)
        try file("etc/shadow-group", "g", 0o640, 0, 42)
        try file("empty", "")
        try Data((0..<3_500_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(
            to: root.appendingPathComponent("usr/big.bin"))
        try file(String(repeating: "d", count: 60) + "/" + String(repeating: "n", count: 80), "long")
        try file("usr/ünïcødé name", "unicode")
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("usr/bin/rel").path, withDestinationPath: "tool")
        try fm.createSymbolicLink(
            atPath: root.appendingPathComponent("etc/abs").path, withDestinationPath: "/usr/bin/tool")
        try fm.createSymbolicLink(
            atPath: root.appendingPathComponent("etc/dangling").path, withDestinationPath: "/nowhere/at/all")
        link(
            root.appendingPathComponent("usr/bin/tool").path, root.appendingPathComponent("usr/bin/tool-hardlink").path)
        mkfifo(root.appendingPathComponent("var/fifo").path, 0o644)
    }

    /// Everything `docker export | tar -t` would tell apart, except mtimes (clamped on purpose).
    static func describe(_ root: URL) throws -> [String: String] {
        var result: [String: String] = [:]
        var inodes: [UInt64: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root.path)!
        var paths: [String] = []
        while let p = enumerator.nextObject() as? String { paths.append(p) }
        for p in paths.sorted() {
            let full = root.appendingPathComponent(p).path
            var st = stat()
            lstat(full, &st)
            var line =
                "type=\(st.st_mode & S_IFMT) mode=\(String(st.st_mode & 0o7777, radix: 8)) owner=\(st.st_uid):\(st.st_gid)"
            switch st.st_mode & S_IFMT {
            case S_IFLNK:
                line += " -> " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: full)) ?? "?")
            case S_IFREG:
                let data = FileManager.default.contents(atPath: full) ?? Data()
                line += " size=\(data.count) hash=\(data.hashValue)"
                if st.st_nlink > 1 {
                    if let first = inodes[UInt64(st.st_ino)] {
                        line += " hardlink-of=\(first)"
                    } else {
                        inodes[UInt64(st.st_ino)] = p
                    }
                }
            default: break
            }
            result[p] = line
        }
        return result
    }

    @Test func importedTreeSurvivesUmociAndSkopeo() throws {
        let scratch = try TemporaryDirectory.scratch("interop")
        let tree = scratch.url.appendingPathComponent("tree")
        try Self.makeTree(at: tree)
        let store = scratch.path("store")
        let imported = try Imagekit.run(
            ["import", tree.path, "-t", "interop:1.0", "--change", "USER 1000", "--change", "EXPOSE 8501"], store: store
        )
        #expect(imported.status == 0, "\(imported.stderr)")
        let digest = imported.trimmed
        #expect(digest.hasPrefix("sha256:"))

        // OCI layout directory: skopeo reads it, umoci unpacks the same tree.
        let layout = scratch.path("layout")
        #expect(try Imagekit.run(["export", "interop:1.0", "--format", "oci", "-o", layout], store: store).status == 0)
        let inspect = try run(tool("skopeo"), ["inspect", "oci:\(layout):1.0"])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        let info = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any]
        #expect(info?["Architecture"] as? String == "amd64")
        #expect(info?["Os"] as? String == "linux")
        #expect((info?["Layers"] as? [String])?.count == 1)
        let config = try run(tool("skopeo"), ["inspect", "--config", "oci:\(layout):1.0"])
        #expect(config.stdout.contains("\"User\": \"1000\""))
        #expect(config.stdout.contains("8501/tcp"))

        let bundle = scratch.path("bundle")
        let unpack = try run(tool("umoci"), ["unpack", "--image", "\(layout):1.0", bundle])
        #expect(unpack.status == 0, "\(unpack.stderr)")
        let original = try Self.describe(tree)
        let unpacked = try Self.describe(URL(fileURLWithPath: bundle).appendingPathComponent("rootfs"))
        #expect(original.count > 15)
        for (path, line) in original { #expect(unpacked[path] == line, "\(path)") }
        #expect(Set(unpacked.keys) == Set(original.keys))

        // OCI layout as a tar, and a docker-archive that skopeo copies into a layout.
        #expect(
            try Imagekit.run(["export", "interop:1.0", "-o", scratch.path("layout.tar")], store: store).status == 0)
        let tarList = try run("/usr/bin/tar", ["-tf", scratch.path("layout.tar")])
        #expect(tarList.lines.contains("index.json") && tarList.lines.contains("oci-layout"))
        #expect(
            try Imagekit.run(
                ["export", "interop:1.0", "--format", "docker", "-o", scratch.path("docker.tar")], store: store
            ).status == 0)
        let copied = try run(
            tool("skopeo"), ["copy", "docker-archive:\(scratch.path("docker.tar"))", "oci:\(scratch.path("copied")):x"])
        #expect(copied.status == 0, "\(copied.stderr)")
        let fromArchive = try run(
            tool("skopeo"), ["inspect", "--config", "docker-archive:\(scratch.path("docker.tar"))"])
        #expect(fromArchive.stdout.contains("\"User\": \"1000\""))
        let unpack2 = try run(
            tool("umoci"), ["unpack", "--image", "\(scratch.path("copied")):x", scratch.path("bundle2")])
        #expect(unpack2.status == 0, "\(unpack2.stderr)")
        #expect(try Self.describe(URL(fileURLWithPath: scratch.path("bundle2/rootfs"))) == original)
    }

    @Test func sameTreeTwoStoresSameDigest() throws {
        let scratch = try TemporaryDirectory.scratch("repro")
        let tree = scratch.url.appendingPathComponent("tree")
        try Self.makeTree(at: tree)
        let first = try Imagekit.run(["import", tree.path, "-t", "a:1"], store: scratch.path("s1"))
        // Touch every file: mtimes after the epoch are clamped, so the digest must not move.
        _ = try run("/usr/bin/find", [tree.path, "-exec", "touch", "-h", "{}", "+"])
        let second = try Imagekit.run(["import", tree.path, "-t", "b:2"], store: scratch.path("s2"))
        #expect(first.status == 0 && second.status == 0)
        #expect(first.stdout == second.stdout)
        // And as a tar on stdin: the tar is re-packed deterministically too.
        _ = try run("/usr/bin/tar", ["-C", tree.path, "-cf", scratch.path("tree.tar"), "."])
        let a = try Imagekit.run(
            ["import", "-", "-t", "t:1"], store: scratch.path("s3"),
            stdin: URL(fileURLWithPath: scratch.path("tree.tar")))
        let b = try Imagekit.run(["import", scratch.path("tree.tar"), "-t", "t:1"], store: scratch.path("s4"))
        #expect(a.status == 0, "\(a.stderr)")
        #expect(a.stdout == b.stdout)
    }

    @Test func imagesInspectRmiPrune() throws {
        let scratch = try TemporaryDirectory.scratch("manage")
        let tree = scratch.url.appendingPathComponent("tree")
        try Self.makeTree(at: tree)
        let store = scratch.path("store")
        let digest = try Imagekit.run(["import", tree.path, "-t", "keep:1", "-t", "drop:1"], store: store).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let images = try Imagekit.run(["images"], store: store)
        #expect(images.lines.count == 3)
        #expect(images.lines[1].hasPrefix("drop") && images.lines[2].hasPrefix("keep"))
        let inspect = try Imagekit.run(["inspect", "keep:1"], store: store)
        let doc = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any]
        #expect(doc?["digest"] as? String == digest)
        #expect((doc?["uncompressedSize"] as? Int ?? 0) > 3_500_000)
        #expect(try Imagekit.run(["rmi", "drop:1"], store: store).stdout.contains("Untagged: drop:1"))
        #expect(try Imagekit.run(["prune"], store: store).stdout.contains("Deleted 0 blobs"))
        let removed = try Imagekit.run(["rmi", "keep:1"], store: store)
        #expect(removed.stdout.contains("Deleted: \(digest)"))
        let pruned = try Imagekit.run(["prune", "--json"], store: store)
        let report = try JSONSerialization.jsonObject(with: Data(pruned.stdout.utf8)) as? [String: Any]
        #expect(report?["removedBlobs"] as? Int == 3)
        #expect(try Imagekit.run(["images", "-q"], store: store).stdout.isEmpty)
    }
}
