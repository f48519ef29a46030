import Foundation
import TestSupport
import Testing

/// `imagekit import --unpack`: the layer is also unpacked for builds, with the same image digest.
@Suite(.serialized) struct ImportUnpackTests {
    @Test func unpackKeepsTheDigestAndLeavesTheLayerUnpacked() throws {
        let scratch = try TemporaryDirectory.scratch("import-unpack")
        let tree = scratch.url.appendingPathComponent("tree")
        try ImportExportTests.makeTree(at: tree)
        let plainStore = scratch.path("plain"), unpackStore = scratch.path("unpacked")
        let plain = try Imagekit.run(["import", tree.path, "-t", "tree:1"], store: plainStore)
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: plainStore + "/unpacked")) ?? []).isEmpty)
        let unpacked = try Imagekit.run(["import", "--unpack", tree.path, "-t", "tree:1"], store: unpackStore)
        #expect(unpacked.status == 0, "\(unpacked.stderr)")
        #expect(unpacked.stdout == plain.stdout && plain.stdout.hasPrefix("sha256:"))
        // One directory, named by the layer's diffID, holding the tree's files.
        let inspect = try Imagekit.run(["inspect", "tree:1"], store: unpackStore)
        let names = try FileManager.default.contentsOfDirectory(atPath: unpackStore + "/unpacked")
        #expect(names.count == 1 && inspect.stdout.contains("sha256:" + (names.first ?? "-")), "\(names)")
        let tool = unpackStore + "/unpacked/" + names[0] + "/usr/bin/tool"
        #expect(try String(contentsOfFile: tool, encoding: .utf8) == "#!/bin/sh\necho tool\n")
    }
}
