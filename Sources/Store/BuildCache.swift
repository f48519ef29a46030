import Foundation
import OCI

#if canImport(Glibc)
import Glibc
#endif

/// What a cached build step produced: a layer (or nothing, for a step that changed no file).
public struct CacheEntry: Sendable, Codable, Equatable {
    public var layer: Descriptor?
    public var diffID: Digest?
    public var uncompressedSize: Int64?
    public var createdBy: String

    public init(layer: Descriptor?, diffID: Digest?, uncompressedSize: Int64?, createdBy: String) {
        self.layer = layer
        self.diffID = diffID
        self.uncompressedSize = uncompressedSize
        self.createdBy = createdBy
    }
}

/// The build cache: step key -> result, one small file per key under `cache/`.
/// It survives processes and reboots; a hit costs one file read. Entries keep their layer blobs
/// alive through `prune`, which first trims the cache to a size limit, least recently used first.
public struct BuildCache: Sendable {
    public let directory: URL
    private let store: ImageStore

    public init(store: ImageStore) throws(StoreError) {
        self.store = store
        directory = store.root.appendingPathComponent("cache")
        try FileOps.makeDirectory(directory)
    }

    private func url(_ key: Digest) -> URL { directory.appendingPathComponent("\(key.encoded).json") }

    /// The entry for `key` if it exists and its layer is still in the store.
    public func lookup(_ key: Digest) -> CacheEntry? {
        let file = url(key)
        guard let data = try? FileOps.read(file), let entry = try? JSONDecoder().decode(CacheEntry.self, from: data)
        else { return nil }
        if let layer = entry.layer, !store.hasBlob(layer.digest) { return nil }
        utimes(file.path, nil)  // recently used: trimmed last
        return entry
    }

    public func record(_ key: Digest, _ entry: CacheEntry) throws(StoreError) {
        let data: Data
        do { data = try CanonicalJSON.encode(entry) } catch { throw .corrupt(path: url(key).path, reason: "\(error)") }
        try FileOps.atomicWrite(data, to: url(key))
    }

    /// Layer digests the cache keeps alive.
    public func roots() -> Set<Digest> {
        var roots = Set<Digest>()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        where name.hasSuffix(".json") {
            if let data = try? FileOps.read(directory.appendingPathComponent(name)),
                let entry = try? JSONDecoder().decode(CacheEntry.self, from: data), let layer = entry.layer
            {
                roots.insert(layer.digest)
            }
        }
        return roots
    }

    /// Drops least recently used entries until the layers they hold add up to at most `limit` bytes.
    /// Returns how many entries were dropped.
    @discardableResult
    public func trim(toBytes limit: Int64) -> Int {
        struct Item { let url: URL; let used: Int; let bytes: Int64 }
        var items: [Item] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        where name.hasSuffix(".json") {
            let file = directory.appendingPathComponent(name)
            var st = stat()
            guard stat(file.path, &st) == 0, let data = try? FileOps.read(file),
                let entry = try? JSONDecoder().decode(CacheEntry.self, from: data)
            else { continue }
            items.append(Item(url: file, used: st.st_mtim.tv_sec, bytes: entry.layer?.size ?? 0))
        }
        var total = items.reduce(Int64(0)) { $0 + $1.bytes }
        var dropped = 0
        for item in items.sorted(by: { $0.used < $1.used }) where total > limit {
            if unlink(item.url.path) == 0 { total -= item.bytes; dropped += 1 }
        }
        return dropped
    }
}
