import Foundation
import TestSupport
import Testing

/// A registry that is only static files (python3 -m http.server): whatever manifests and
/// blobs a test writes, however forged.
final class StaticRegistry: @unchecked Sendable {
    let root: URL
    let process = Process()
    let port: Int
    var host: String { "127.0.0.1:\(port)" }

    /// http.server without its reverse DNS lookup of the bind address, which stalls for
    /// minutes on a machine without DNS; prints the port it got.
    static let script = """
        import functools, http.server, signal, socketserver, sys
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
        class Server(http.server.ThreadingHTTPServer):
            def server_bind(self):
                socketserver.TCPServer.server_bind(self)
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
        server = Server(("127.0.0.1", 0), handler)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """

    init(root: URL) throws {
        self.root = root
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", Self.script, root.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        var byte: UInt8 = 0
        while read(out.fileHandleForReading.fileDescriptor, &byte, 1) == 1, byte != UInt8(ascii: "\n") {
            line.append(byte)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else {
            stopProcess(process)
            throw TestSupportError("the static registry did not start")
        }
        self.port = port
    }

    func stop() { stopProcess(process) }
    deinit { stop() }

    static func digest(_ data: Data) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ik-digest-\(UUID().uuidString)")
        try data.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        return "sha256:" + (try run("/usr/bin/sha256sum", [file.path]).stdout.prefix(64))
    }

    /// Puts a blob under `repository` and returns its digest.
    @discardableResult
    func blob(_ data: Data, repository: String) throws -> String {
        let digest = try Self.digest(data)
        let dir = root.appendingPathComponent("v2/\(repository)/blobs")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try data.write(to: dir.appendingPathComponent(digest))
        return digest
    }

    /// Serves an image: a config with `diffIDs` and a manifest listing `layers` (digest, size) as `repository:tag`.
    func image(repository: String, tag: String, layers: [(String, Int64)], diffIDs: [String]) throws {
        let config = try JSONSerialization.data(
            withJSONObject: [
                "architecture": "amd64", "os": "linux", "config": [String: String](),
                "rootfs": ["type": "layers", "diff_ids": diffIDs],
            ], options: [.sortedKeys])
        let configDigest = try blob(config, repository: repository)
        let manifest = """
            {"config":{"digest":"\(configDigest)","mediaType":"application/vnd.docker.container.image.v1+json","size":\(config.count)},\
            "layers":[\(layers.map { #"{"digest":"\#($0.0)","mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":\#($0.1)}"# }.joined(separator: ","))],\
            "mediaType":"application/vnd.docker.distribution.manifest.v2+json","schemaVersion":2}
            """
        let dir = root.appendingPathComponent("v2/\(repository)/manifests")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(manifest.utf8).write(to: dir.appendingPathComponent(tag))
    }
}

/// Hostile input through the binary: forged registry images, crafted archives, a store with
/// impossible sizes, a layer claiming far more than it holds. Each ends with the documented
/// exit code, one line on stderr, and the store byte-for-byte as it was.
@Suite(.serialized) struct HostileInputTests {
    static func expectRefusal(
        _ arguments: [String], store: String, code: Int32, mentions: String, environment: [String: String] = [:]
    ) throws {
        let before = directorySnapshot(URL(fileURLWithPath: store))
        let result = try Imagekit.run(arguments, store: store, environment: environment)
        #expect(result.status == code, "\(arguments): exit \(result.status), stderr: \(result.stderr)")
        #expect(
            result.stderr.split(separator: "\n").count == 1 && result.stderr.hasPrefix("error: "),
            "\(arguments): \(result.stderr)")
        #expect(result.stderr.contains(mentions), "\(arguments): \(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(directorySnapshot(URL(fileURLWithPath: store)) == before, "\(arguments) changed the store")
    }

    /// The first layer of a stored image: (digest, size, blob path).
    static func firstLayer(store: String, image: String) throws -> (String, Int64, String) {
        let inspect = try Imagekit.run(["inspect", image], store: store)
        let json = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any]
        let manifest = json?["manifest"] as? [String: Any]
        let layer = try #require((manifest?["layers"] as? [[String: Any]])?.first)
        let digest = try #require(layer["digest"] as? String)
        let size = try #require((layer["size"] as? NSNumber)?.int64Value)
        return (digest, size, "\(store)/blobs/sha256/\(digest.dropFirst(7))")
    }

    @Test func aForgedRegistryImageIsRefusedAndTheStoreUnchanged() throws {
        let scratch = try TemporaryDirectory.scratch("hostile-pull")
        let store = scratch.path("store")
        let tree = scratch.url.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        try Data("the attacker's file\n".utf8).write(to: tree.appendingPathComponent("planted"))
        #expect(try Imagekit.run(["import", tree.path, "-t", "attacker:1"], store: store).status == 0)
        let (digest, size, path) = try Self.firstLayer(store: store, image: "attacker:1")

        let registry = try StaticRegistry(root: scratch.url.appendingPathComponent("registry"))
        defer { registry.stop() }
        try registry.blob(try Data(contentsOf: URL(fileURLWithPath: path)), repository: "evil/app")
        let victimDiffID = try StaticRegistry.digest(Data("a layer of another image".utf8))
        // The stored blob relisted with another layer's diffID, then with sizes that lie.
        try registry.image(repository: "evil/app", tag: "diffid", layers: [(digest, size)], diffIDs: [victimDiffID])
        try registry.image(repository: "evil/app", tag: "size", layers: [(digest, size + 1)], diffIDs: [victimDiffID])
        try registry.image(repository: "evil/app", tag: "max", layers: [(digest, Int64.max)], diffIDs: [victimDiffID])
        try Self.expectRefusal(
            ["pull", "--progress", "quiet", "\(registry.host)/evil/app:diffid"], store: store, code: 3,
            mentions: "the image config lists \(victimDiffID)")
        try Self.expectRefusal(
            ["pull", "--progress", "quiet", "\(registry.host)/evil/app:size"], store: store, code: 3,
            mentions: "is listed with \(size + 1) bytes but has \(size)")
        try Self.expectRefusal(
            ["pull", "--progress", "quiet", "\(registry.host)/evil/app:max"], store: store, code: 3,
            mentions: "declares a size of \(Int64.max) bytes")
    }

    @Test func aStoreImageDeclaringInt64MaxListsAndFailsInspectCleanly() throws {
        let scratch = try TemporaryDirectory.scratch("hostile-size")
        let store = scratch.path("store")
        let tree = scratch.url.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: tree.appendingPathComponent("f"))
        #expect(try Imagekit.run(["import", tree.path, "-t", "ok:1"], store: store).status == 0)
        // A manifest as an older imagekit (or a hand edit) could have left it: its layer claims Int64.max bytes.
        let (digest, _, _) = try Self.firstLayer(store: store, image: "ok:1")
        let config = Data(#"{"architecture":"amd64","os":"linux","rootfs":{"diff_ids":[],"type":"layers"}}"#.utf8)
        let configDigest = try StaticRegistry.digest(config)
        try config.write(to: URL(fileURLWithPath: "\(store)/blobs/sha256/\(configDigest.dropFirst(7))"))
        let manifest = Data(
            """
            {"config":{"digest":"\(configDigest)","mediaType":"application/vnd.oci.image.config.v1+json","size":\(config.count)},\
            "layers":[{"digest":"\(digest)","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":\(Int64.max)}],\
            "mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2}
            """.utf8)
        let manifestDigest = try StaticRegistry.digest(manifest)
        try manifest.write(to: URL(fileURLWithPath: "\(store)/blobs/sha256/\(manifestDigest.dropFirst(7))"))
        let indexURL = URL(fileURLWithPath: "\(store)/index.json")
        var index = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: indexURL)) as? [String: Any])
        var entries = index["manifests"] as? [[String: Any]] ?? []
        entries.append([
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifestDigest, "size": manifest.count,
            "annotations": ["org.opencontainers.image.ref.name": "docker.io/library/forged:1"],
        ])
        index["manifests"] = entries
        try JSONSerialization.data(withJSONObject: index).write(to: indexURL)

        let before = directorySnapshot(URL(fileURLWithPath: store))
        let images = try Imagekit.run(["images"], store: store)
        #expect(images.status == 0, "\(images.stderr)")
        #expect(images.stdout.contains("ok"))
        #expect(directorySnapshot(URL(fileURLWithPath: store)) == before)
        try Self.expectRefusal(
            ["inspect", "forged:1"], store: store, code: 2, mentions: "declares a size of \(Int64.max) bytes")
    }

    @Test func verifyRefusesADockerArchiveWithANegativeSize() throws {
        let scratch = try TemporaryDirectory.scratch("hostile-verify")
        let store = scratch.path("store")
        _ = try Imagekit.run(["images"], store: store)
        let archive = scratch.path("negative.tar")
        let script = """
            import io, sys, tarfile
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
                for name in ("manifest.json", "layer.tar"):
                    info = tarfile.TarInfo(name); info.size = 2
                    t.addfile(info, io.BytesIO(b"[]"))
            data = bytearray(buf.getvalue())
            data[1024 + 124:1024 + 136] = b"\\xff" * 12
            data[1024 + 148:1024 + 156] = b"        "
            data[1024 + 148:1024 + 156] = ("%06o\\0 " % sum(data[1024:1536])).encode()
            open(sys.argv[1], "wb").write(bytes(data))
            """
        #expect(try run("/usr/bin/python3", ["-c", script, archive]).status == 0)
        try Self.expectRefusal(
            ["verify", "docker-archive:\(archive)"], store: store, code: 2, mentions: "impossible size")
    }

    @Test func aLayerClaimingAGibibyteStopsTheBuildAtTheExtractionLimit() throws {
        let scratch = try TemporaryDirectory.scratch("hostile-sparse")
        let store = scratch.path("store")
        // 5 bytes of data in a 1 GiB sparse file: GNU tar and gzip make it a layer of a few hundred bytes.
        let work = scratch.url.appendingPathComponent("sparse")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        #expect(
            try run(
                "/bin/sh",
                [
                    "-c",
                    "printf hello | dd of=huge bs=1 seek=1000000 2>/dev/null && truncate -s 1G huge && tar --format=gnu --sparse -cf layer.tar huge && rm huge",
                ], directory: work
            ).status == 0)
        let tar = try Data(contentsOf: work.appendingPathComponent("layer.tar"))
        #expect(try run("/usr/bin/gzip", ["-n", work.appendingPathComponent("layer.tar").path]).status == 0)
        let layer = try Data(contentsOf: work.appendingPathComponent("layer.tar.gz"))
        let registry = try StaticRegistry(root: scratch.url.appendingPathComponent("registry"))
        defer { registry.stop() }
        let digest = try registry.blob(layer, repository: "sparse/app")
        try registry.image(
            repository: "sparse/app", tag: "1", layers: [(digest, Int64(layer.count))],
            diffIDs: [try StaticRegistry.digest(tar)])
        #expect(try Imagekit.run(["pull", "\(registry.host)/sparse/app:1"], store: store).status == 0)

        let context = scratch.url.appendingPathComponent("context")
        try FileManager.default.createDirectory(at: context, withIntermediateDirectories: true)
        try Data("FROM \(registry.host)/sparse/app:1\nRUN [\"/huge\"]\n".utf8).write(
            to: context.appendingPathComponent("Dockerfile"))
        try Self.expectRefusal(
            ["build", "--progress", "quiet", "-t", "sparse:built", context.path], store: store, code: 2,
            mentions: "more than the extraction limit of \(256 << 20) bytes")
    }
}
