import Foundation
import OCI
import TestSupport
import Testing

@testable import Archive

/// `LayerWriter.tarDigest`: a layer's diffID without compressing it, as the writer would hash it.
@Suite struct LayerTarDigestTests {
    @Test func matchesTheDiffIDOfTheWrittenLayer() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let tree = tmp.appending("tree")
        try FileManager.default.createDirectory(
            at: tree.appendingPathComponent("usr/lib"), withIntermediateDirectories: true)
        try write(pseudoRandomBytes(count: 3_000_000, seed: 7), to: tree.appendingPathComponent("usr/lib/blob.so"))
        try write(Array("x\n".utf8), to: tree.appendingPathComponent("usr/lib/small"))
        try FileManager.default.createSymbolicLink(
            atPath: tree.appendingPathComponent("usr/lib/link").path, withDestinationPath: "small")
        let entries = try TreeScanner.scan(tree)
        for level: Int32 in [1, 3] {
            let options = LayerOptions(compressionLevel: level, compressionThreads: 2)
            let writer = try LayerWriter(output: tmp.appending("layer-\(level).tar.gz"), options: options)
            for entry in entries { try writer.add(entry) }
            let written = try writer.finish()
            let tar = try LayerWriter.tarDigest(of: entries, options: options)
            #expect(tar.diffID == written.diffID && tar.size == written.uncompressedSize)
        }
        // Nothing is written: no file appears next to the tree.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: tmp.url.path).sorted() == [
                "layer-1.tar.gz", "layer-3.tar.gz", "tree",
            ])
    }

    @Test func aSourceThatChangedSizeIsAnError() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let file = tmp.appending("f")
        try write(Array("four".utf8), to: file)
        let entry = LayerEntry(path: "f", kind: .regular(source: file, size: 3), mode: 0o644)
        #expect(throws: ArchiveError.self) { _ = try LayerWriter.tarDigest(of: [entry], options: LayerOptions()) }
    }
}
