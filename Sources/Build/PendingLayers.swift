import Foundation
import OCI
import Store

/// RUN layers whose compressed blob is still being written while the build goes on. A RUN's
/// layer is known by its diffID (its tar stream hashed, no compression) as soon as the container
/// exits; its overlay upper directory becomes the unpacked layer; so the next step, and the stages
/// that copy from this one, run at once while gzip and the blob's sha256 run beside them. Until
/// its blob is written, the layer's descriptor is a placeholder whose digest is the diffID (a gzip
/// blob never hashes to its own tar stream's digest): it is never written into the store, the
/// cache or an image; `finish` gives the real descriptors, and the build swaps them in.
actor PendingLayers {
    private var writes: [Digest: Task<Descriptor, Error>] = [:]
    private var adopted: [(key: Digest, entry: CacheEntry)] = []

    /// Whether a step result stands for a layer still being written.
    static func isPlaceholder(_ entry: CacheEntry) -> Bool {
        entry.layer != nil && entry.layer?.digest == entry.diffID
    }

    /// Starts writing the blob of the layer `diffID` (once, however many steps made it).
    func start(_ diffID: Digest, _ write: @escaping @Sendable () async throws -> Descriptor) {
        guard writes[diffID] == nil else { return }
        writes[diffID] = Task { try await write() }
    }

    /// A step adopted a placeholder under `key`: its cache record is written once the blob is.
    func adopt(_ key: Digest, _ entry: CacheEntry) { adopted.append((key, entry)) }

    /// Waits for every blob; returns their descriptors by diffID and the adopted placeholders.
    func finish() async throws -> (blobs: [Digest: Descriptor], adopted: [(key: Digest, entry: CacheEntry)]) {
        var blobs: [Digest: Descriptor] = [:]
        for (diffID, write) in writes { blobs[diffID] = try await write.value }
        return (blobs, adopted)
    }

    /// Stops the writes (the build failed) and waits for them: each removes what it wrote.
    func cancelAll() async {
        for write in writes.values { write.cancel() }
        for write in writes.values { _ = try? await write.value }
    }
}
