import Foundation
import OCI

/// What a project's last `imagekit build` produced. The store keeps it per project directory
/// (in the store, not the repository, so nothing in the build context changes).
public struct LastBuild: Sendable, Codable, Equatable {
    public var image: String
    public var digest: String
    public var builtAt: String

    public init(image: String, digest: String, builtAt: String) {
        self.image = image
        self.digest = digest
        self.builtAt = builtAt
    }
}

/// The store's `meta/` directory: every record the store keeps beside its blobs lives at a path
/// decided here, so no other module knows the layout. Per-blob records (layer facts, the
/// registry serving an absent blob, the file index verify makes of a layer) go when `prune`
/// removes their blob; project records say what a project's last build produced.
extension ImageStore {
    /// A kind of record kept per blob, named by the blob's digest.
    enum BlobRecord: CaseIterable {
        case layerInfo, remoteLayer, fileIndex

        var directory: String {
            switch self {
            case .layerInfo: return "meta/layers"
            case .remoteLayer: return "meta/remote"
            case .fileIndex: return "meta/files"
            }
        }

        var fileExtension: String { self == .fileIndex ? "idx" : "json" }
    }

    nonisolated func recordURL(_ kind: BlobRecord, blob encoded: String) -> URL {
        root.appendingPathComponent("\(kind.directory)/\(encoded).\(kind.fileExtension)")
    }

    /// Drops every record kept for a blob (`prune`, once the blob is gone).
    nonisolated func removeRecords(ofBlob encoded: String) {
        for kind in BlobRecord.allCases { unlink(recordURL(kind, blob: encoded).path) }
    }

    // MARK: File indexes

    /// The file index of a layer blob (its bytes; their format is verify's), if one was kept.
    public nonisolated func fileIndex(layer: Digest) -> Data? {
        try? FileOps.read(recordURL(.fileIndex, blob: layer.encoded))
    }

    /// Keeps the file index of a layer blob, replacing any earlier one atomically.
    public nonisolated func recordFileIndex(_ data: Data, layer: Digest) throws(StoreError) {
        let url = recordURL(.fileIndex, blob: layer.encoded)
        try FileOps.makeDirectory(url.deletingLastPathComponent())
        try FileOps.atomicWrite(data, to: url)
    }

    // MARK: Projects

    /// What the last build of the project in `directory` produced, if this store recorded one.
    public nonisolated func lastBuild(ofProject directory: URL) -> LastBuild? {
        let key = directory.standardizedFileURL.path
        guard let data = try? FileOps.read(projectURL(key)),
            let record = try? JSONDecoder().decode(ProjectRecord.self, from: data), record.project == key
        else { return nil }
        return record.lastBuild
    }

    /// Records what a build of the project in `directory` produced.
    public nonisolated func recordLastBuild(_ build: LastBuild, ofProject directory: URL) throws(StoreError) {
        let key = directory.standardizedFileURL.path
        let url = projectURL(key)
        try FileOps.makeDirectory(url.deletingLastPathComponent())
        try FileOps.atomicWrite(try Self.encode(ProjectRecord(project: key, lastBuild: build), path: url.path), to: url)
    }

    /// FNV-1a keeps the file name short and stable for a project path; the record names its
    /// project in full, so a collision reads as "no record".
    private nonisolated func projectURL(_ key: String) -> URL {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return root.appendingPathComponent("meta/projects/\(String(hash, radix: 16)).json")
    }

    private struct ProjectRecord: Codable {
        var project: String
        var lastBuild: LastBuild
    }
}
