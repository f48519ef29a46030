import Foundation
import TestSupport
import Testing

@testable import Archive

/// Resolution inside a root as securejoin does it: symlinks followed from the root, never out of it.
@Suite struct RootedPathTests {
    /// root/{lib -> usr/lib, usr/lib/f, abs -> /usr/lib, up -> ../../.., host -> <outside>, a/loop -> loop}
    /// next to outside/secret, the file nothing may reach.
    static func tree() throws -> (TemporaryDirectory, URL, URL) {
        let temp = try TemporaryDirectory()
        let root = temp.appending("root"), outside = temp.appending("outside")
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("usr/lib"), withIntermediateDirectories: true)
        try fm.createDirectory(at: root.appendingPathComponent("a"), withIntermediateDirectories: true)
        try fm.createDirectory(at: outside, withIntermediateDirectories: true)
        try Data("inside".utf8).write(to: root.appendingPathComponent("usr/lib/f"))
        try Data("secret".utf8).write(to: outside.appendingPathComponent("secret"))
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("lib").path, withDestinationPath: "usr/lib")
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("abs").path, withDestinationPath: "/usr/lib")
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("up").path, withDestinationPath: "../../..")
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("host").path, withDestinationPath: outside.path)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("a/loop").path, withDestinationPath: "loop")
        return (temp, root, outside)
    }

    @Test func clampedLikeAContainerSeesItsFilesystem() throws {
        let (temp, root, outside) = try Self.tree()
        defer { temp.remove() }
        #expect(try RootedPath.resolve("/lib/f", in: root, escapes: .clamp).relative == "usr/lib/f")
        #expect(try RootedPath.resolve("abs/f", in: root, escapes: .clamp).relative == "usr/lib/f")
        #expect(try RootedPath.resolve("/up/usr/lib/f", in: root, escapes: .clamp).relative == "usr/lib/f")
        #expect(try RootedPath.resolve("../../lib", in: root, escapes: .clamp).relative == "usr/lib")
        #expect(try RootedPath.resolve("/", in: root, escapes: .clamp).relative == "")
        // The host path is looked up inside the root, where it does not exist.
        #expect(throws: RootedPathError.self) { try RootedPath.resolve("host/secret", in: root, escapes: .clamp) }
        #expect(throws: RootedPathError.tooManyLinks(path: "a/loop")) {
            try RootedPath.resolve("a/loop", in: root, escapes: .clamp)
        }
        #expect(RootedPath.contents(of: "/lib/f", in: root) == Data("inside".utf8))
        #expect(RootedPath.contents(of: "host/secret", in: root) == nil)
        _ = outside
    }

    @Test func rejectedWhenALinkLeadsOut() throws {
        let (temp, root, outside) = try Self.tree()
        defer { temp.remove() }
        #expect(try RootedPath.resolve("lib/f", in: root, escapes: .reject).relative == "usr/lib/f")
        #expect(throws: RootedPathError.escapes(path: "abs/f", link: "abs", target: "/usr/lib")) {
            try RootedPath.resolve("abs/f", in: root, escapes: .reject)
        }
        #expect(throws: RootedPathError.escapes(path: "host/secret", link: "host", target: outside.path)) {
            try RootedPath.resolve("host/secret", in: root, escapes: .reject)
        }
        #expect(throws: RootedPathError.escapes(path: "up", link: "up", target: "../../..")) {
            try RootedPath.resolve("up", in: root, escapes: .reject)
        }
        #expect(throws: RootedPathError.escapes(path: "../x", link: nil, target: nil)) {
            try RootedPath.resolve("../x", in: root, escapes: .reject)
        }
    }

    @Test func createsMissingComponentsInsideTheRoot() throws {
        let (temp, root, outside) = try Self.tree()
        defer { temp.remove() }
        // host -> outside: created under the root's own copy of that path, never in outside/.
        let dir = try RootedPath.resolve("host/cache/pip", in: root, escapes: .clamp, create: .directories)
        let inside = String(outside.path.dropFirst()) + "/cache/pip"
        #expect(dir.relative == inside && dir.isDirectory)
        #expect(dir.created.last == inside && dir.created.count == outside.pathComponents.count + 1)
        let file = try RootedPath.resolve("/lib/new", in: root, escapes: .clamp, create: .file)
        #expect(file.relative == "usr/lib/new" && file.created == ["usr/lib/new"] && !file.isDirectory)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path) == ["secret"])
        #expect(RootedPath.status(of: "lib/f", in: root) == nil, "status never follows a parent symlink")
        #expect(RootedPath.status(of: "usr/lib/f", in: root) != nil)
        #expect(RootedPath.names(in: "host", under: root) == nil)
        #expect(RootedPath.climbsOutOfRoot("a/../../x") && !RootedPath.climbsOutOfRoot("a/../x"))
    }

    /// What a race would leave: a directory on the way swapped for a symlink after resolution.
    @Test func filesBelowASourceRootAreOpenedWithoutFollowingSymlinks() throws {
        let (temp, root, outside) = try Self.tree()
        defer { temp.remove() }
        let inside = RootedPath.openFile("usr/lib/f", under: root)
        #expect(inside >= 0)
        close(inside)
        #expect(RootedPath.openFile("lib/f", under: root) == -1 && errno == ENOTDIR)
        #expect(RootedPath.openFile("host/secret", under: root) == -1)

        let entry = LayerEntry(
            path: "secret", kind: .regular(source: root.appendingPathComponent("host/secret"), size: 6), mode: 0o644)
        let writer = try LayerWriter(output: temp.appending("layer.tar.gz"), options: LayerOptions())
        writer.sourceRoot = root
        #expect(throws: ArchiveError.self) { try writer.add(entry) }
        // Without a source root only the last component is held to O_NOFOLLOW.
        let plain = try LayerWriter(output: temp.appending("plain.tar.gz"), options: LayerOptions())
        try plain.add(
            LayerEntry(path: "f", kind: .regular(source: root.appendingPathComponent("lib/f"), size: 6), mode: 0o644))
        #expect(throws: ArchiveError.self) {
            try plain.add(
                LayerEntry(path: "g", kind: .regular(source: root.appendingPathComponent("lib"), size: 6), mode: 0o644))
        }
        _ = outside
    }
}
