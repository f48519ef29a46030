import Archive
import Dockerfile
import Foundation
import OCI
import Store

/// What a build produced, and what it took from the caches.
public struct BuildResult: Sendable {
    public let image: StoredImage
    public let steps: Int
    public let cachedSteps: Int
    /// Of the cached steps, those the registry cache answered.
    public let remoteCachedSteps: Int
    public let warnings: [String]
    /// Every step result of every stage (the builder stages' too), for `--cache-to`.
    public let cacheRecords: [CacheRecord]
    /// Every layer of every stage's filesystem, base layers included, bottom first per stage.
    public let layers: [BuiltLayer]
}
