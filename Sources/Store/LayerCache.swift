import Archive
import Foundation
import OCI

#if canImport(Glibc)
import Glibc
#endif

/// Unpacked layers, one directory per diffID in overlayfs form (whiteouts as 0/0 devices,
/// opaque dirs as xattrs), ready to stack as overlay lowerdirs. A warm build never re-extracts.
/// A directory is named by the diffID its tar stream was hashed to while it was extracted,
/// never by what a config claims, so a forged config cannot plant files under another
/// layer's name.
public struct LayerCache: Sendable {
    public let directory: URL
    private let store: ImageStore

    public init(store: ImageStore) throws(StoreError) {
        self.store = store
        directory = store.root.appendingPathComponent("unpacked")
        try FileOps.makeDirectory(directory)
    }

    public func path(for diffID: Digest) -> URL { directory.appendingPathComponent(diffID.encoded) }

    /// The unpacked directory of a layer blob, extracting it on first use. Extraction goes to a
    /// temporary directory that is renamed into place only when the blob's bytes hashed to
    /// `blob` and its tar stream to `diffID`, so a crash or a forgery never leaves a layer here.
    public func unpacked(blob: Digest, diffID: Digest) throws -> URL {
        let final = path(for: diffID)
        if FileManager.default.fileExists(atPath: final.path) { return final }
        guard store.hasBlob(blob) else { throw StoreError.blobMissing(blob) }
        let temp = directory.appendingPathComponent(".tmp-\(UUID().uuidString.lowercased())")
        try FileOps.makeDirectory(temp)
        do {
            _ = try LayerExtractor.unpackForOverlay(
                layer: store.blobURL(blob), to: temp, options: ExtractOptions(expected: (blob, diffID)))
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw error
        }
        if rename(temp.path, final.path) != 0 {
            // Another process finished the same layer first: theirs is identical.
            try? FileManager.default.removeItem(at: temp)
            guard FileManager.default.fileExists(atPath: final.path) else {
                throw StoreError.io(path: final.path, operation: "renaming into", errno: errno)
            }
        }
        return final
    }

    /// Removes unpacked layers whose diffIDs no image or cache entry uses any more.
    @discardableResult
    public func prune(keeping diffIDs: Set<Digest>) -> Int {
        var removed = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] {
            if name.hasPrefix(".tmp-") || !diffIDs.contains(Digest(algorithm: "sha256", encoded: name)) {
                try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
                removed += 1
            }
        }
        return removed
    }
}
