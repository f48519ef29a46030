import Archive
import Foundation
import OCI

#if canImport(Glibc)
import Glibc
#endif

/// The local content-addressed store: an OCI image layout on disk.
///
///     oci-layout, index.json          the layout; tags are `org.opencontainers.image.ref.name` annotations
///     blobs/sha256/<hex>              content, written once, never modified
///     ingest/                         partial writes; moved into blobs/ only when complete and verified
///     meta/layers/<hex>.json          LayerInfo per layer blob
///     unpacked/<diffID hex>           layers extracted for overlay mounts, checked against their diffID
///     meta/remote/<hex>.json          where a layer blob the store does not hold can be fetched (a registry build cache)
///     meta/files/<hex>.idx            a layer blob's file index (verify's format), removed with the blob
///     meta/projects/<hash>.json       what a project's last build produced
///     cache-mounts/<hash>[.lock]      RUN --mount=type=cache directories, kept across builds, and their sharing locks
///
/// Every path under `meta/` is decided in StoreMetadata.swift; other modules use its typed methods.
///
/// The root is 0700 (extracted layers hold setuid files and device nodes) and blobs are 0444.
/// Several imagekit processes may share a store: index.json changes happen under an
/// exclusive lock, and every process holds a shared "gc" lock that `prune` must take exclusively,
/// so a prune never removes a blob that a running build or pull has written but not yet tagged.
public actor ImageStore {
    public static let refNameAnnotation = "org.opencontainers.image.ref.name"
    public static let containerdNameAnnotation = "io.containerd.image.name"

    public nonisolated let root: URL
    private let indexLock: FileLock
    private let gcLock: FileLock

    public init(root: URL) throws(StoreError) {
        self.root = root.standardizedFileURL
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: root.path, isDirectory: &isDir), !isDir.boolValue {
            throw .notALayout(path: root.path, reason: "it is a file")
        }
        try FileOps.makeDirectory(root)
        // New, made by an older version or by hand: the store is its owner's only.
        var st = stat()
        // Only the owner can tighten it; a store shared on purpose by another owner stays as it is.
        if stat(root.path, &st) == 0, st.st_mode & 0o077 != 0, st.st_uid == geteuid(),
            chmod(root.path, st.st_mode & 0o700) != 0
        {
            throw .io(path: root.path, operation: "restricting permissions of", errno: errno)
        }
        for dir in [
            "blobs/sha256", "ingest", BlobRecord.layerInfo.directory, BlobRecord.remoteLayer.directory, "cache",
            "unpacked", "tmp",
        ] {
            try FileOps.makeDirectory(root.appendingPathComponent(dir))
        }
        let layoutFile = root.appendingPathComponent("oci-layout")
        if fm.fileExists(atPath: layoutFile.path) {
            let data = try FileOps.read(layoutFile)
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                object["imageLayoutVersion"] as? String == "1.0.0"
            else { throw .notALayout(path: root.path, reason: "oci-layout does not say imageLayoutVersion 1.0.0") }
        } else {
            try FileOps.atomicWrite(Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), to: layoutFile)
        }
        let indexFile = root.appendingPathComponent("index.json")
        if !fm.fileExists(atPath: indexFile.path) {
            try FileOps.atomicWrite(
                try Self.encode(ImageIndex(mediaType: MediaType.ociIndex, manifests: []), path: indexFile.path),
                to: indexFile)
        }
        indexLock = try FileLock(path: root.appendingPathComponent("index.lock").path)
        gcLock = try FileLock(path: root.appendingPathComponent("gc.lock").path)
        try gcLock.lock(exclusive: false)
    }

    /// `--store`, else `IMAGEKIT_STORE`, else `$XDG_DATA_HOME/imagekit`, else `~/.local/share/imagekit`.
    public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let explicit = environment["IMAGEKIT_STORE"], !explicit.isEmpty { return URL(fileURLWithPath: explicit) }
        if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("imagekit")
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".local/share/imagekit")
    }

    // MARK: Blobs

    public nonisolated func blobURL(_ digest: Digest) -> URL {
        root.appendingPathComponent("blobs/\(digest.algorithm)/\(digest.encoded)")
    }

    public nonisolated func hasBlob(_ digest: Digest) -> Bool {
        FileManager.default.fileExists(atPath: blobURL(digest).path)
    }

    public nonisolated func blobSize(_ digest: Digest) -> Int64? { FileOps.fileSize(blobURL(digest)) }

    /// A fresh path in the ingest area for a writer to fill; pass it to `commitIngested`.
    public nonisolated func newIngestURL() -> URL {
        root.appendingPathComponent("ingest/\(UUID().uuidString.lowercased()).partial")
    }

    /// Moves a complete, fsync'd ingest file into `blobs/`. `digest` must have been computed
    /// over the exact bytes written (a hashing writer); the size is checked here. When the blob
    /// exists already the ingest file is dropped: content addressing makes them identical.
    @discardableResult
    public func commitIngested(_ temp: URL, digest: Digest, size: Int64) throws(StoreError) -> Descriptor {
        let actual = FileOps.fileSize(temp) ?? -1
        guard actual == size else {
            unlink(temp.path)
            throw .sizeMismatch(digest: digest, expected: size, actual: actual)
        }
        let destination = blobURL(digest)
        if hasBlob(digest) {
            unlink(temp.path)
        } else {
            // Read-only: nothing, an export included, may change a blob in place.
            guard chmod(temp.path, 0o444) == 0 else {
                throw .io(path: temp.path, operation: "making read-only", errno: errno)
            }
            try FileOps.moveIntoPlace(temp, destination)
        }
        return Descriptor(mediaType: "application/octet-stream", digest: digest, size: size)
    }

    /// Verifies an ingest file by hashing it, then commits it. For content from elsewhere
    /// whose digest was only claimed, not computed while writing.
    @discardableResult
    public func commitVerifying(_ temp: URL, expected: Digest, source: String) throws(StoreError) -> Descriptor {
        let actual = try Self.hashFile(temp)
        guard actual.digest == expected else {
            unlink(temp.path)
            throw .digestMismatch(expected: expected, actual: actual.digest, source: source)
        }
        return try commitIngested(temp, digest: expected, size: actual.size)
    }

    /// Stores small content (configs, manifests) and returns its digest.
    @discardableResult
    public func putBlob(_ data: Data) throws(StoreError) -> Digest {
        let digest = SHA256Hasher.hash(data)
        if !hasBlob(digest) {
            try FileOps.atomicWrite(data, to: blobURL(digest), mode: 0o444)
        }
        return digest
    }

    /// Reads a small blob and checks it against its digest (a damaged store is reported, not trusted).
    public func readBlob(_ digest: Digest) throws(StoreError) -> Data {
        let url = blobURL(digest)
        guard hasBlob(digest) else { throw .blobMissing(digest) }
        let data = try FileOps.read(url)
        let actual = SHA256Hasher.hash(data)
        guard actual == digest else { throw .corrupt(path: url.path, reason: "its content hashes to \(actual)") }
        return data
    }

    public static func hashFile(_ url: URL) throws(StoreError) -> (digest: Digest, size: Int64) {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: url.path, operation: "opening", errno: errno) }
        defer { close(fd) }
        let hasher = SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: url.path, operation: "reading", errno: errno)
            }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            total += Int64(n)
        }
        return (hasher.finalizeDigest(), total)
    }

    // MARK: Layer facts

    public func recordLayerInfo(_ info: LayerInfo, for digest: Digest) throws(StoreError) {
        let url = recordURL(.layerInfo, blob: digest.encoded)
        try FileOps.atomicWrite(try Self.encode(info, path: url.path), to: url)
    }

    public func layerInfo(_ digest: Digest) -> LayerInfo? {
        let url = recordURL(.layerInfo, blob: digest.encoded)
        guard let data = try? FileOps.read(url) else { return nil }
        return try? JSONDecoder().decode(LayerInfo.self, from: data)
    }

    /// Records facts just computed from a blob's bytes, stamped so later checks can trust them.
    public func recordVerifiedLayerInfo(diffID: Digest, uncompressedSize: Int64, for digest: Digest) throws(StoreError)
    {
        try recordLayerInfo(
            LayerInfo(diffID: diffID, uncompressedSize: uncompressedSize, verified: FileStamp(blobURL(digest))),
            for: digest)
    }

    /// A stored layer blob checked against a descriptor that names it: its size now, and its
    /// digest and diffID as hashed from its bytes. The hashing is skipped when the blob's file
    /// is unchanged (inode, size, mtime) since the last time; otherwise it is read once and the
    /// result recorded. A forged descriptor or a damaged blob is an error, never trusted.
    public func verifiedLayerInfo(_ layer: Descriptor) throws(StoreError) -> LayerInfo {
        let url = blobURL(layer.digest)
        guard let stamp = FileStamp(url) else { throw .blobMissing(layer.digest) }
        guard stamp.size == layer.size else {
            throw .sizeMismatch(digest: layer.digest, expected: layer.size, actual: stamp.size)
        }
        if let info = layerInfo(layer.digest), info.verified == stamp { return info }
        let digests: LayerDigests
        do { digests = try LayerReader.hash(layer: url) } catch {
            throw .corrupt(path: url.path, reason: error.description)
        }
        guard digests.digest == layer.digest else {
            throw .corrupt(path: url.path, reason: "its content hashes to \(digests.digest)")
        }
        let info = LayerInfo(diffID: digests.diffID, uncompressedSize: digests.uncompressedSize, verified: stamp)
        try recordLayerInfo(info, for: layer.digest)
        return info
    }

    // MARK: Remote layers

    /// Records that a layer blob the store does not hold is served by `repository`
    /// (`REGISTRY/REPO`): a build from a registry cache references it without downloading it.
    public func recordRemoteLayer(_ digest: Digest, repository: String) throws(StoreError) {
        let url = recordURL(.remoteLayer, blob: digest.encoded)
        try FileOps.atomicWrite(try Self.encode(RemoteLayer(repository: repository), path: url.path), to: url)
    }

    /// The repository serving a blob that is not in the store, if one was recorded.
    public nonisolated func remoteLayer(_ digest: Digest) -> RemoteLayer? {
        let url = recordURL(.remoteLayer, blob: digest.encoded)
        guard let data = try? FileOps.read(url) else { return nil }
        return try? JSONDecoder().decode(RemoteLayer.self, from: data)
    }

    /// Held locally, or known to be in a registry.
    public nonisolated func isAvailable(_ digest: Digest) -> Bool { hasBlob(digest) || remoteLayer(digest) != nil }

    // MARK: Images

    /// Writes config and manifest, then tags. The layers must be in the store, or recorded as remote.
    @discardableResult
    public func commitImage(
        config: ImageConfig, layers: [Descriptor], format: ImageFormat,
        annotations: [String: String]? = nil, tags: [ImageReference]
    ) throws(StoreError) -> StoredImage {
        for layer in layers where !isAvailable(layer.digest) { throw .blobMissing(layer.digest) }
        let configData: Data
        do { configData = try CanonicalJSON.encode(config) } catch {
            throw .corrupt(path: "image config", reason: "\(error)")
        }
        let configDigest = try putBlob(configData)
        let manifest = Manifest(
            mediaType: format.manifestMediaType,
            config: Descriptor(mediaType: format.configMediaType, digest: configDigest, size: Int64(configData.count)),
            layers: layers.map {
                var l = $0; l.mediaType = format.convertLayerMediaType(l.mediaType); l.annotations = nil; return l
            },
            annotations: annotations)
        return try commitManifest(manifestData: try Self.encode(manifest, path: "manifest"), tags: tags)
    }

    /// Stores a manifest's exact bytes (as pulled, or as built) and tags it.
    @discardableResult
    public func commitManifest(manifestData: Data, tags: [ImageReference]) throws(StoreError) -> StoredImage {
        let manifest: Manifest
        do { manifest = try Manifest.decode(manifestData) } catch {
            throw .corrupt(path: "manifest", reason: error.description)
        }
        // Content addressing checked the digests when the blobs came in; a size that lies would
        // mislead every total and limit computed from the manifest. A layer the store knows only
        // as remote (a registry build cache) had its size checked against the registry.
        guard let configSize = blobSize(manifest.config.digest) else { throw .blobMissing(manifest.config.digest) }
        guard configSize == manifest.config.size else {
            throw .sizeMismatch(digest: manifest.config.digest, expected: manifest.config.size, actual: configSize)
        }
        for layer in manifest.layers {
            if let size = blobSize(layer.digest) {
                guard size == layer.size else {
                    throw .sizeMismatch(digest: layer.digest, expected: layer.size, actual: size)
                }
            } else if !isAvailable(layer.digest) {
                throw .blobMissing(layer.digest)
            }
        }
        let digest = try putBlob(manifestData)
        let descriptor = Descriptor(
            mediaType: manifest.mediaType ?? MediaType.ociManifest, digest: digest, size: Int64(manifestData.count))
        try updateIndex { entries in
            let names = Set(tags.map(\.description))
            entries.removeAll { entry in entry.annotations?[Self.refNameAnnotation].map(names.contains) ?? false }
            if tags.isEmpty {
                if !entries.contains(where: { $0.digest == digest }) { entries.append(descriptor) }
            } else {
                // An untagged entry for the same digest is superseded by a tagged one.
                entries.removeAll { $0.digest == digest && $0.annotations?[Self.refNameAnnotation] == nil }
                for tag in tags {
                    var entry = descriptor
                    entry.annotations = [
                        Self.refNameAnnotation: tag.description, Self.containerdNameAnnotation: tag.description,
                    ]
                    entries.append(entry)
                }
            }
        }
        return try load(descriptor: descriptor, names: tags)
    }

    /// Adds tags to an image already in the store.
    public func tag(_ image: StoredImage, as tags: [ImageReference]) throws(StoreError) {
        _ = try commitManifest(manifestData: image.manifestData, tags: tags)
    }

    /// Resolves a name, name:tag, full digest, `name@digest` or a unique digest/ID prefix.
    public func resolve(_ text: String) throws(StoreError) -> StoredImage {
        let entries = try readIndex()
        let hexPrefix = text.hasPrefix("sha256:") ? String(text.dropFirst(7)) : text
        if hexPrefix.count >= 4, hexPrefix.count <= 64, hexPrefix.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) {
            var matches: [Digest: [ImageReference]] = [:]
            for entry in entries {
                let image = try? load(descriptor: entry, names: [])
                if entry.digest.encoded.hasPrefix(hexPrefix) || image?.id.encoded.hasPrefix(hexPrefix) == true {
                    matches[entry.digest, default: []].append(contentsOf: Self.names(of: entry))
                }
            }
            if matches.count == 1, let (digest, names) = matches.first,
                let entry = entries.first(where: { $0.digest == digest })
            {
                return try load(descriptor: entry, names: names)
            }
            if matches.count > 1 { throw .ambiguous(text, matches: matches.keys.map(\.short).sorted()) }
            if text.hasPrefix("sha256:") { throw .imageNotFound(text, known: knownNames(entries)) }
        }
        let reference: ImageReference
        do { reference = try ImageReference(parsing: text) } catch {
            throw .invalidName(text, reason: error.description)
        }
        if let digest = reference.digest {
            guard let entry = entries.first(where: { $0.digest == digest }) else {
                throw .imageNotFound(text, known: knownNames(entries))
            }
            return try load(descriptor: entry, names: entries.filter { $0.digest == digest }.flatMap(Self.names))
        }
        guard let entry = entries.first(where: { $0.annotations?[Self.refNameAnnotation] == reference.description })
        else {
            throw .imageNotFound(text, known: knownNames(entries))
        }
        return try load(descriptor: entry, names: entries.filter { $0.digest == entry.digest }.flatMap(Self.names))
    }

    /// Every image, one row per tag (untagged images once), newest tags first by name.
    public func summaries() throws(StoreError) -> [ImageSummary] {
        var rows: [ImageSummary] = []
        for entry in try readIndex() {
            guard let image = try? load(descriptor: entry, names: []) else { continue }
            let uncompressed = image.manifest.layers.reduce(Int64(0)) { sum, layer in
                sum.addingSaturating(layerInfo(layer.digest)?.uncompressedSize ?? layer.size)
            }
            let name = Self.names(of: entry).first
            rows.append(
                ImageSummary(
                    name: name.map { $0.familiarName }, tag: name?.tag, digest: entry.digest, id: image.id,
                    created: image.config.created, uncompressedSize: uncompressed,
                    compressedSize: image.manifest.compressedLayerSize + image.manifest.config.size))
        }
        return rows.sorted { ($0.name ?? "~", $0.tag ?? "") < ($1.name ?? "~", $1.tag ?? "") }
    }

    /// Removes one tag, or with a digest every tag of that image (`force` needed when it has several).
    /// Returns the references removed; blobs stay until `prune`.
    @discardableResult
    public func remove(_ text: String, force: Bool = false) throws(StoreError) -> (untagged: [String], deleted: Digest?)
    {
        let image = try resolve(text)
        let byName =
            (try? ImageReference(parsing: text))?.digest == nil
            && image.names.contains(where: { (try? ImageReference(parsing: text))?.description == $0.description })
        var untagged: [String] = []
        var deleted: Digest?
        try updateIndex { (entries) throws(StoreError) in
            if byName, let reference = try? ImageReference(parsing: text) {
                entries.removeAll { $0.annotations?[Self.refNameAnnotation] == reference.description }
                untagged = [reference.familiar]
            } else {
                let tags = entries.filter { $0.digest == image.digest }.flatMap(Self.names)
                if tags.count > 1 && !force { throw .imageInUse(image.digest.short, tags: tags.map(\.familiar)) }
                entries.removeAll { $0.digest == image.digest }
                untagged = tags.map(\.familiar)
            }
            if !entries.contains(where: { $0.digest == image.digest }) { deleted = image.digest }
        }
        return (untagged, deleted)
    }

    /// Deletes blobs no image references, and abandoned partial writes. Waits for other
    /// imagekit processes using this store to finish first.
    /// `cacheLimit` bounds the layer bytes the build cache keeps (least recently used go first).
    public func prune(
        cacheLimit: Int64 = 10_000_000_000, waiting: @Sendable () -> Void = {}
    ) throws(StoreError) -> PruneReport {
        gcLock.unlock()
        defer { try? gcLock.lock(exclusive: false) }
        if !gcLock.tryLock(exclusive: true) {
            waiting()
            try gcLock.lock(exclusive: true)
        }
        var report = PruneReport()
        var live = Set<Digest>()
        var liveDiffIDs = Set<Digest>()
        for entry in try readIndex() {
            live.insert(entry.digest)
            guard let image = try? load(descriptor: entry, names: []) else { continue }
            live.insert(image.manifest.config.digest)
            image.manifest.layers.forEach { live.insert($0.digest) }
            liveDiffIDs.formUnion(image.config.rootfs.diffIDs)
        }
        let cache = try BuildCache(store: self)
        report.removedCacheEntries = cache.trim(toBytes: cacheLimit)
        for digest in cache.roots() {
            live.insert(digest)
            if let info = layerInfo(digest) { liveDiffIDs.insert(info.diffID) }
        }
        report.removedUnpackedLayers = try LayerCache(store: self).prune(keeping: liveDiffIDs)
        // Layers unpacked by versions that did not check diffIDs: never trusted, removed here
        // (no build runs during a prune).
        let legacy = root.appendingPathComponent("layers")
        if let names = try? FileManager.default.contentsOfDirectory(atPath: legacy.path) {
            report.removedUnpackedLayers += names.count
            try? FileManager.default.removeItem(at: legacy)
        }
        let fm = FileManager.default
        let blobDir = root.appendingPathComponent("blobs/sha256")
        for name in (try? fm.contentsOfDirectory(atPath: blobDir.path)) ?? [] {
            let digest = Digest(algorithm: "sha256", encoded: name)
            let url = blobDir.appendingPathComponent(name)
            guard !live.contains(digest) else {
                chmod(url.path, 0o444)  // blobs of stores made before blobs were read-only
                continue
            }
            report.reclaimedBytes += FileOps.fileSize(url) ?? 0
            if unlink(url.path) == 0 { report.removedBlobs += 1 }
            removeRecords(ofBlob: name)
        }
        let ingest = root.appendingPathComponent("ingest")
        for name in (try? fm.contentsOfDirectory(atPath: ingest.path)) ?? [] {
            if unlink(ingest.appendingPathComponent(name).path) == 0 { report.removedPartialUploads += 1 }
        }
        FileOps.syncDirectory(blobDir)
        return report
    }

    // MARK: Index

    public func loadImage(descriptor: Descriptor) throws(StoreError) -> StoredImage {
        try load(descriptor: descriptor, names: [])
    }

    private func load(descriptor: Descriptor, names: [ImageReference]) throws(StoreError) -> StoredImage {
        let manifestData = try readBlob(descriptor.digest)
        let manifest: Manifest
        do { manifest = try Manifest.decode(manifestData) } catch {
            throw .corrupt(path: blobURL(descriptor.digest).path, reason: error.description)
        }
        let configData = try readBlob(manifest.config.digest)
        let config: ImageConfig
        do { config = try ImageConfig.decode(configData) } catch {
            throw .corrupt(path: blobURL(manifest.config.digest).path, reason: error.description)
        }
        return StoredImage(
            names: names.isEmpty ? Self.names(of: descriptor) : names, descriptor: descriptor,
            manifestData: manifestData, manifest: manifest, configData: configData, config: config)
    }

    private static func names(of entry: Descriptor) -> [ImageReference] {
        guard let name = entry.annotations?[refNameAnnotation], let ref = try? ImageReference(parsing: name) else {
            return []
        }
        return [ref]
    }

    private func knownNames(_ entries: [Descriptor]) -> [String] {
        entries.flatMap(Self.names).map(\.familiar).sorted()
    }

    private func readIndex() throws(StoreError) -> [Descriptor] {
        let url = root.appendingPathComponent("index.json")
        let data = try FileOps.read(url)
        do { return try ImageIndex.decode(data).manifests } catch {
            throw .corrupt(path: url.path, reason: error.description)
        }
    }

    private func updateIndex(_ change: (inout [Descriptor]) throws(StoreError) -> Void) throws(StoreError) {
        try indexLock.withLock { () throws(StoreError) in
            let before = try readIndex()
            var entries = before
            try change(&entries)
            // Unchanged (a rebuild that tags what the tag already names): no write, no fsync.
            if entries == before { return }
            let url = root.appendingPathComponent("index.json")
            try FileOps.atomicWrite(
                try Self.encode(ImageIndex(mediaType: MediaType.ociIndex, manifests: entries), path: url.path), to: url)
        }
    }

    static func encode<T: Encodable>(_ value: T, path: String) throws(StoreError) -> Data {
        do { return try CanonicalJSON.encode(value) } catch {
            throw .corrupt(path: path, reason: "cannot encode: \(error)")
        }
    }
}
