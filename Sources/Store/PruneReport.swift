import Foundation

/// What `prune` removed.
public struct PruneReport: Sendable, Codable {
    public var removedBlobs: Int = 0
    public var reclaimedBytes: Int64 = 0
    public var removedPartialUploads: Int = 0
    public var removedCacheEntries: Int = 0
    public var removedUnpackedLayers: Int = 0
}
