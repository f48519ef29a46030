import Foundation
import TestSupport
import Testing

@testable import Archive

@Suite("TreeScanner")
struct TreeScannerTests {
    @Test func sortsByteWiseParentsFirstAndDetectsHardlinks() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let tree = tmp.appending("tree")
        try makeFixtureTree(tree)
        try FileManager.default.createDirectory(
            at: tree.appendingPathComponent("a/b"), withIntermediateDirectories: true)
        try write([], to: tree.appendingPathComponent("a-b"))
        try write([], to: tree.appendingPathComponent("a/b/c"))
        // A hardlink whose name sorts before the original: it becomes the file.
        link(tree.appendingPathComponent("bin/tool").path, tree.appendingPathComponent("a/tool").path)
        let entries = try TreeScanner.scan(tree)
        let paths = entries.map(\.path)
        #expect(paths == paths.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(Array(paths.prefix(5)) == ["a", "a-b", "a/b", "a/b/c", "a/tool"])
        let byPath = Dictionary(uniqueKeysWithValues: entries.map { ($0.path, $0) })
        guard case .regular(let source, 20)? = byPath["a/tool"]?.kind else {
            Issue.record("a/tool should be the regular file: \(String(describing: byPath["a/tool"]))")
            return
        }
        #expect(source?.path == tree.appendingPathComponent("a/tool").path)
        #expect(byPath["bin/tool"]?.kind == .hardlink(target: "a/tool"))
        #expect(byPath["bin/tool-link"]?.kind == .hardlink(target: "a/tool"))
        #expect(byPath["abs-link"]?.kind == .symlink(target: "/etc/passwd"))
        #expect(byPath["null"]?.kind == .characterDevice(major: 1, minor: 3))
        #expect(byPath["fifo"]?.kind == .fifo)
        #expect(byPath["empty-dir"]?.kind == .directory)
        #expect(byPath["empty-dir"]?.mode == 0o700)
        #expect(byPath["bin/su"]?.mode == 0o4755)
        #expect(byPath["etc/config"]?.uid == 1000)
        // user.* kept, trusted.* never.
        #expect(byPath["etc/config"]?.xattrs == ["user.comment": Array("hello".utf8)])
    }

    @Test func prefixExcludeRootAndXattrOptions() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let tree = tmp.appending("tree")
        try FileManager.default.createDirectory(
            at: tree.appendingPathComponent("keep"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: tree.appendingPathComponent("node_modules/x"), withIntermediateDirectories: true)
        try write([1], to: tree.appendingPathComponent("keep/file"))
        try write([1], to: tree.appendingPathComponent("node_modules/x/y"))
        try write([1], to: tree.appendingPathComponent("secret.env"))
        try setXattrWithPython(tree.appendingPathComponent("keep/file"), name: "user.a", value: "1")
        let options = TreeScanner.Options(
            pathPrefix: "/app/", exclude: { $0 == "node_modules" || $0.hasSuffix(".env") },
            includeRoot: true, xattrs: false)
        let entries = try TreeScanner.scan(tree, options: options)
        #expect(entries.map(\.path) == ["app", "app/keep", "app/keep/file"])
        #expect(entries.allSatisfy { $0.xattrs.isEmpty })
        let rootOnly = try TreeScanner.scan(tree, options: .init(exclude: { _ in true }, includeRoot: true))
        #expect(rootOnly.map(\.path) == ["."])
    }

    @Test func missingDirectoryAndBadPrefixAreErrors() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        #expect(throws: ArchiveError.missingPath(tmp.appending("nope").path, what: "directory")) {
            _ = try TreeScanner.scan(tmp.appending("nope"))
        }
        #expect(throws: ArchiveError.self) {
            _ = try TreeScanner.scan(tmp.url, options: .init(pathPrefix: "../up"))
        }
    }

    @Test func overlayUpperdirBecomesOCIWhiteouts() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let upper = tmp.appending("upper")
        try FileManager.default.createDirectory(
            at: upper.appendingPathComponent("etc/opaque"), withIntermediateDirectories: true)
        try write(Array("new".utf8), to: upper.appendingPathComponent("etc/opaque/fresh"))
        try setXattrWithPython(upper.appendingPathComponent("etc/opaque"), name: "trusted.overlay.opaque", value: "y")
        #expect(mknod(upper.appendingPathComponent("etc/deleted").path, FileType.character, makeDevice(0, 0)) == 0)
        let entries = try TreeScanner.scan(upper, options: .init(overlayWhiteouts: true))
        #expect(
            entries.map(\.path) == [
                "etc", "etc/.wh.deleted", "etc/opaque", "etc/opaque/.wh..wh..opq", "etc/opaque/fresh",
            ])
        #expect(entries[1].kind == .regular(source: nil, size: 0))
        #expect(entries[3].kind == .regular(source: nil, size: 0))
        #expect(entries[2].xattrs.isEmpty)
        // Without the option the device is kept as is.
        let plain = try TreeScanner.scan(upper)
        #expect(plain.map(\.path) == ["etc", "etc/deleted", "etc/opaque", "etc/opaque/fresh"])
        #expect(plain[1].kind == .characterDevice(major: 0, minor: 0))
    }
}
