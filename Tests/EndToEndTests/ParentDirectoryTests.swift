import Foundation
import TestSupport
import Testing

/// A COPY, ADD or WORKDIR layer carries the existing directories above what it adds with the mode
/// and owner the layers below gave them, as BuildKit's layers do: unpacked and stacked under a
/// later RUN, it must not hide them behind root-owned 0755 copies.
@Suite(.serialized) struct ParentDirectoryTests {
    static let dockerfile = """
        FROM debian-python:bookworm
        RUN mkdir /home/app && chown 1500:1500 /home/app && chmod 0750 /home/app
        COPY f /home/app/f
        USER 1500
        WORKDIR /home/app/w
        RUN touch /home/app/by-run w-file
        """

    /// `mode uid/gid path` of each directory entry of a layer blob, numeric owners.
    static func directoryEntries(_ store: String, _ digest: String) throws -> [String: String] {
        let listed = try run("/usr/bin/tar", ["--numeric-owner", "-tvzf", RunTests.blob(store, digest)])
        #expect(listed.status == 0, "\(listed.stderr)")
        var entries: [String: String] = [:]
        for line in listed.lines where line.hasPrefix("d") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let path = fields.last, fields.count >= 6 else { continue }
            var name = Substring(path.hasPrefix("./") ? path.dropFirst(2) : path)
            while name.hasSuffix("/") { name = name.dropLast() }
            entries[String(name)] = "\(fields[0]) \(fields[1])"
        }
        return entries
    }

    @Test func copyAndWorkdirKeepTheOwnerOfExistingParents() throws {
        let scratch = try TemporaryDirectory.scratch("parents")
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(["Dockerfile": Self.dockerfile, "f": "copied\n"], in: context)
        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        // The RUN as user 1500 writes into /home/app: it fails if the COPY or WORKDIR layer hides its owner.
        let built = try BuildTests.build(context, tag: "parents:1", store: store, scratch: scratch)

        let layers = try RunTests.manifestLayers(store, "parents:1")
        try #require(layers.count == 5, "base, RUN, COPY, WORKDIR, RUN: \(layers)")
        let copyLayer = try Self.directoryEntries(store, layers[2])
        #expect(copyLayer["home/app"] == "drwxr-x--- 1500/1500", "\(copyLayer)")
        #expect(copyLayer["home"] == "drwxr-xr-x 0/0", "\(copyLayer)")
        let workdirLayer = try Self.directoryEntries(store, layers[3])
        #expect(workdirLayer["home/app"] == "drwxr-x--- 1500/1500", "\(workdirLayer)")
        #expect(workdirLayer["home/app/w"] == "drwxr-xr-x 1500/1500", "created by WORKDIR for USER: \(workdirLayer)")
        let runLayer = try Self.directoryEntries(store, layers[4])
        #expect(runLayer["home/app"] == "drwxr-x--- 1500/1500", "\(runLayer)")

        let image = try BuildTests.unpack(store, "parents:1", scratch: scratch)
        #expect(image.owner("home/app") == "1500:1500 750")
        #expect(image.owner("home/app/by-run") == "1500:0 644")  // a uid without a passwd entry: group 0
        #expect(image.owner("home/app/f") == "0:0 644")
        #expect(image.owner("home/app/w/w-file") == "1500:0 644")
        #expect(image.read("home/app/f") == "copied\n")

        // The same digest from a second empty store.
        let second = scratch.path("store2")
        _ = try Fixture.importBase(store: second)
        let again = try BuildTests.build(context, tag: "parents:1", store: second, scratch: scratch)
        #expect(again.trimmed == built.trimmed, "\(RunTests.layerDifferences(store, second, image: "parents:1"))")

        // A rebuild after the copied file changed looks /home/app up in the path list the first
        // build kept of its RUN layer; a fresh store looks it up in the layer itself: the same image.
        try Data("changed\n".utf8).write(to: context.appendingPathComponent("f"))
        let rebuilt = try BuildTests.build(context, tag: "parents:2", store: store, scratch: scratch)
        let fresh = scratch.path("store3")
        _ = try Fixture.importBase(store: fresh)
        let freshBuild = try BuildTests.build(context, tag: "parents:2", store: fresh, scratch: scratch)
        #expect(rebuilt.trimmed == freshBuild.trimmed, "\(RunTests.layerDifferences(store, fresh, image: "parents:2"))")
        #expect(rebuilt.trimmed != built.trimmed)
    }
}
