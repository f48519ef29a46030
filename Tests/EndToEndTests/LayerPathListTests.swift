import Foundation
import TestSupport
import Testing

/// The path lists of written layers outlive the build: a rebuild after an app change tells
/// whether /app exists without unpacking the (cached) layers below it.
@Suite(.serialized) struct LayerPathListTests {
    static func unpackedLayers(_ store: String) -> Set<String> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: store + "/unpacked")) ?? []
        return Set(names.filter { !$0.hasPrefix(".") && !$0.hasSuffix(".paths") })
    }

    @Test func appChangeRebuildUnpacksNoCachedLayer() throws {
        let scratch = try TemporaryDirectory.scratch("path-lists")
        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM debian-python:bookworm
                COPY vendor/ /opt/vendor/
                WORKDIR /app
                COPY app/ /app/src/
                """,
                "vendor/lib/a.py": "A = 1\n", "vendor/lib/b.py": "B = 2\n", "app/main.py": "print(1)\n",
            ], in: context)
        let first = try Imagekit.run(["build", "-t", "paths:1", context.path], store: store, directory: scratch.url)
        #expect(first.status == 0, "\(first.stderr)")
        let before = Self.unpackedLayers(store)
        try Data("print(2)\n".utf8).write(to: context.appendingPathComponent("app/main.py"))
        let second = try Imagekit.run(["build", "-t", "paths:1", context.path], store: store, directory: scratch.url)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout != first.stdout)
        // WORKDIR and COPY looked /app and /app/src up in the path lists, not in unpacked layers.
        #expect(Self.unpackedLayers(store) == before, "\(Self.unpackedLayers(store).subtracting(before))")
        // The same image as a build that has no path lists (they are a shortcut, not an input).
        let fresh = scratch.path("fresh")
        _ = try Fixture.importBase(store: fresh)
        let again = try Imagekit.run(["build", "-t", "paths:1", context.path], store: fresh, directory: scratch.url)
        #expect(again.status == 0 && again.stdout == second.stdout, "\(again.stderr)")
    }
}
