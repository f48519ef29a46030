import Foundation
import OCI
import Store

/// Step results from caches other than the store's own (a registry build cache, in the CLI),
/// consulted after the local cache misses. The build knows nothing about registries: a hit costs
/// what the source has already fetched (small JSON); a layer's blob is asked for only when a
/// later step must see its files.
public protocol RemoteCacheSource: Sendable {
    /// The result recorded for a step key, if a cache the user named has one whose layer the
    /// registry serves. A hit records the layer as remote in the store.
    func lookup(_ key: Digest, store: ImageStore) async -> RemoteCacheHit?
    /// A layer's paths (each a directory with its mode and owner, or something else) as its tar
    /// lists them, whiteouts included, without its blob; nil when the cache has no file list for it.
    func paths(of diffID: Digest) async -> [String: ListedPath]?
    /// Downloads a layer blob the store lacks into the store, checked against its digest and diffID.
    func fetch(_ layer: Descriptor, diffID: Digest, into store: ImageStore) async throws
}

public struct RemoteCacheHit: Sendable {
    public var entry: CacheEntry
    /// Which cache answered (`REGISTRY/REPO:TAG`), for progress.
    public var source: String

    public init(entry: CacheEntry, source: String) {
        self.entry = entry
        self.source = source
    }
}

/// A step result the build used or made: what a registry cache export records.
public struct CacheRecord: Sendable, Equatable {
    public var key: Digest
    public var entry: CacheEntry

    public init(key: Digest, entry: CacheEntry) {
        self.key = key
        self.entry = entry
    }
}

/// A layer of some stage's filesystem (base layers included), for exporting file lists.
public struct BuiltLayer: Sendable, Hashable {
    public var descriptor: Descriptor
    public var diffID: Digest

    public init(descriptor: Descriptor, diffID: Digest) {
        self.descriptor = descriptor
        self.diffID = diffID
    }
}
