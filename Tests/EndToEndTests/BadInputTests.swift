import Foundation
import TestSupport
import Testing

/// Bad input: one clear line on stderr, exit code 2, and the store exactly as it was.
@Suite struct BadInputTests {
    /// Every file in the store with its size, to prove nothing changed.
    static func snapshot(_ store: String) -> [String: Int] {
        var result: [String: Int] = [:]
        guard let e = FileManager.default.enumerator(atPath: store) else { return result }
        while let p = e.nextObject() as? String {
            if p.hasSuffix(".lock") { continue }
            result[p] = (try? FileManager.default.attributesOfItem(atPath: store + "/" + p)[.size] as? Int) ?? -1
        }
        return result
    }

    static func expectCleanFailure(
        _ arguments: [String], store: String, stdin: URL? = nil, mentions: String,
        environment: [String: String] = [:], runAs user: String? = nil
    ) throws {
        let before = snapshot(store)
        let result: ProcessResult
        if let user {
            result = try run(
                "/usr/bin/setpriv",
                ["--reuid=\(user)", "--regid=\(user)", "--clear-groups", Imagekit.binary, "--store", store] + arguments,
                stdinFile: stdin, environment: environment)
        } else {
            result = try Imagekit.run(arguments, store: store, stdin: stdin, environment: environment)
        }
        #expect(result.status == 2, "\(arguments): exit \(result.status), stderr: \(result.stderr)")
        let errorLines = result.stderr.split(separator: "\n")
        #expect(errorLines.count == 1, "\(arguments): expected one line, got: \(result.stderr)")
        #expect(result.stderr.hasPrefix("error: "))
        #expect(result.stderr.contains(mentions), "\(arguments): \(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(snapshot(store) == before, "\(arguments) changed the store")
    }

    @Test func importRefusesBadSources() throws {
        let scratch = try TemporaryDirectory.scratch("badinput")
        let store = scratch.path("store")
        _ = try Imagekit.run(["images"], store: store)  // an existing, empty store
        try Self.expectCleanFailure(
            ["import", scratch.path("missing"), "-t", "x:1"], store: store, mentions: "no such file")

        // Corrupt gzip: a valid header, then garbage.
        var corrupt = Data([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0xff])
        corrupt.append(Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }))
        try corrupt.write(to: URL(fileURLWithPath: scratch.path("corrupt.tar.gz")))
        try Self.expectCleanFailure(
            ["import", scratch.path("corrupt.tar.gz"), "-t", "x:1"], store: store, mentions: "corrupt.tar.gz")

        // A tar cut off in the middle of a file.
        let tree = scratch.url.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        try Data(count: 200_000).write(to: tree.appendingPathComponent("big"))
        _ = try run("/usr/bin/tar", ["-C", tree.path, "-cf", scratch.path("full.tar"), "."])
        let full = try Data(contentsOf: URL(fileURLWithPath: scratch.path("full.tar")))
        try full.prefix(100_000).write(to: URL(fileURLWithPath: scratch.path("truncated.tar")))
        try Self.expectCleanFailure(
            ["import", scratch.path("truncated.tar"), "-t", "x:1"], store: store, mentions: "truncated.tar")
        try Self.expectCleanFailure(
            ["import", "-", "-t", "x:1"], store: store, stdin: URL(fileURLWithPath: scratch.path("truncated.tar")),
            mentions: "truncated")

        // Invalid names and tags are refused before anything is read.
        try Self.expectCleanFailure(["import", tree.path, "-t", "Bad/Name"], store: store, mentions: "lowercase")
        try Self.expectCleanFailure(["import", tree.path, "-t", "ok:-bad"], store: store, mentions: "invalid tag")
        try Self.expectCleanFailure(
            ["import", tree.path, "-t", "ok", "--change", "RUN echo"], store: store, mentions: "metadata instructions")
        try Self.expectCleanFailure(["inspect", "nothere:1"], store: store, mentions: "not in the store")
    }

    @Test func importRefusesUnreadableFileAsAnotherUser() throws {
        let scratch = try TemporaryDirectory.scratch("unreadable")
        chmod(scratch.url.path, 0o777)
        let store = scratch.path("store")
        _ = try run(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", Imagekit.binary, "--store", store, "images"])
        let secret = scratch.path("secret.tar")
        _ = try run("/usr/bin/tar", ["-cf", secret, "-C", "/etc", "hostname"])
        chmod(secret, 0o600)
        try Self.expectCleanFailure(
            ["import", secret, "-t", "x:1"], store: store, mentions: "permission denied", runAs: "65534")
        // A tree with a file the user cannot read.
        let tree = scratch.url.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        chmod(tree.path, 0o755)
        try Data("x".utf8).write(to: tree.appendingPathComponent("locked"))
        chmod(tree.appendingPathComponent("locked").path, 0o600)
        try Self.expectCleanFailure(
            ["import", tree.path, "-t", "x:1"], store: store, mentions: "locked", runAs: "65534")
    }
}
