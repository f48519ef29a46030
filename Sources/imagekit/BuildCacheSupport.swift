import Build
import Foundation
import OCI
import Policy
import Registry
import Store

/// `--cache-from`: the registry build caches the user named, loaded lazily. Loading fetches each
/// cache's manifest and records (small JSON) and checks every cached layer against what the
/// registry serves; a hit then costs nothing more, and a layer's blob (or its file list) is
/// fetched only when a step must see its files.
actor RegistryBuildCache: RemoteCacheSource {
    private struct Known {
        var record: RegistryCacheDocument.Record
        var layer: RegistryCacheDocument.Layer?
        var source: ImageReference
    }

    private let client: RegistryClient
    private let store: ImageStore
    private var records: [Digest: Known] = [:]
    private var layers: [Digest: (layer: RegistryCacheDocument.Layer, source: ImageReference)] = [:]  // by diffID
    private var lists: [Digest: [String: ListedPath]] = [:]  // by diffID

    init(client: RegistryClient, store: ImageStore) {
        self.client = client
        self.store = store
    }

    /// Loads the caches in order (the first one naming a key wins). A cache that cannot be read
    /// is a warning: the build goes on without it. Returns the warnings.
    func load(_ references: [ImageReference]) async -> [String] {
        var warnings: [String] = []
        for reference in references {
            let fetched: RegistryClient.FetchedBuildCache
            do { fetched = try await client.fetchBuildCache(reference) } catch {
                warnings.append("cache \(reference.familiar) is not usable, building without it: \(error)")
                continue
            }
            let served = Dictionary(
                fetched.manifest.layers.map { ($0.digest, $0.size) }, uniquingKeysWith: { first, _ in first })
            var good: [Digest: RegistryCacheDocument.Layer] = [:]  // by blob digest
            var diffIDs: [Digest: Digest] = [:]
            var conflicting = Set<Digest>()
            for var layer in fetched.document.layers {
                if let list = layer.fileList, served[list.digest] != list.size { layer.fileList = nil }
                if layer.cached {
                    // The record's layer must be in the manifest and served with the recorded size.
                    let size: Int64?
                    if served[layer.blob.digest] == layer.blob.size {
                        size = try? await client.blobSize(layer.blob.digest, in: reference)
                    } else {
                        size = nil
                    }
                    // One blob has one diffID: two different claims make both suspect.
                    if let claimed = diffIDs[layer.blob.digest], claimed != layer.diffID {
                        conflicting.insert(layer.blob.digest)
                    }
                    guard size == layer.blob.size, !conflicting.contains(layer.blob.digest) else {
                        warnings.append(
                            "cache \(reference.familiar): ignoring the records of layer \(layer.blob.digest) (\(layer.blob.size) bytes, diffID \(layer.diffID)): the registry does not serve that blob as recorded"
                        )
                        good[layer.blob.digest] = nil
                        continue
                    }
                    diffIDs[layer.blob.digest] = layer.diffID
                    good[layer.blob.digest] = layer
                }
                if layer.fileList != nil || layer.cached, layers[layer.diffID] == nil {
                    layers[layer.diffID] = (layer, reference)
                }
            }
            for record in fetched.document.records where records[record.key] == nil {
                if let digest = record.layer {
                    guard let layer = good[digest] else { continue }
                    records[record.key] = Known(record: record, layer: layer, source: reference)
                } else {
                    records[record.key] = Known(record: record, layer: nil, source: reference)
                }
            }
        }
        return warnings
    }

    func lookup(_ key: Digest, store: ImageStore) async -> RemoteCacheHit? {
        guard let known = records[key] else { return nil }
        let entry = CacheEntry(
            layer: known.layer?.blob, diffID: known.layer?.diffID, uncompressedSize: known.layer?.uncompressedSize,
            createdBy: known.record.createdBy)
        if let layer = known.layer {
            do {
                if !store.hasBlob(layer.blob.digest) {
                    try await store.recordRemoteLayer(layer.blob.digest, repository: known.source.name)
                }
            } catch { return nil }
        }
        return RemoteCacheHit(entry: entry, source: known.source.familiar)
    }

    func paths(of diffID: Digest) async -> [String: ListedPath]? {
        if let known = lists[diffID] { return known }
        guard let data = await fileList(diffID), let entries = LayerFileList.entries(data) else { return nil }
        let paths = entries.mapValues { record -> ListedPath in
            record.kind == .directory
                ? .directory(DirectoryAttributes(mode: record.mode, uid: record.uid, gid: record.gid)) : .other
        }
        lists[diffID] = paths
        return paths
    }

    func fetch(_ layer: Descriptor, diffID: Digest, into store: ImageStore) async throws {
        if let known = layers[diffID], known.layer.cached, known.layer.blob.digest == layer.digest {
            return try await client.fetchLayer(layer, diffID: diffID, from: known.source, into: store)
        }
        // A base layer left in its own registry.
        guard let remote = store.remoteLayer(layer.digest),
            let source = try? ImageReference(parsing: remote.repository, defaultTag: nil)
        else {
            throw StoreError.blobMissing(layer.digest)
        }
        try await client.fetchLayer(layer, diffID: diffID, from: source, into: store)
    }

    /// Whether a base image's layer can stay in its registry: the cache lists its files and its
    /// size, which the store records (what verify and `images` report without the blob).
    func leaveInRegistry(_ layer: Descriptor, diffID: Digest) async -> Bool {
        guard let known = layers[diffID], known.layer.fileList != nil, known.layer.blob.digest == layer.digest,
            let size = known.layer.uncompressedSize
        else { return false }
        do {
            try await store.recordLayerInfo(LayerInfo(diffID: diffID, uncompressedSize: size), for: layer.digest)
        } catch { return false }
        return true
    }

    /// A layer's file list from the cache, kept in the store beside the (absent) blob, where
    /// verify reads it; nil when the cache has none or it does not parse.
    func fileList(_ diffID: Digest) async -> Data? {
        guard let known = layers[diffID], let list = known.layer.fileList else { return nil }
        if let data = LayerFileList.stored(blob: known.layer.blob.digest, in: store) { return data }
        guard let data = try? await client.fetchSmallBlob(list, from: known.source), LayerFileList.isValid(data) else {
            return nil
        }
        try? store.recordFileIndex(data, layer: known.layer.blob.digest)
        return data
    }

    /// Puts the cache's file list of every layer of an image into the store, so `imagekit verify`
    /// needs no layer blob (and decompresses none of the base layers the cache lists).
    func fetchFileLists(for image: StoredImage) async {
        for (layer, diffID) in zip(image.manifest.layers, image.config.rootfs.diffIDs)
        where !store.hasBlob(layer.digest) || layers[diffID]?.layer.blob.digest == layer.digest {
            _ = await fileList(diffID)
        }
    }
}

/// `--cache-to`: every step result of the build (every stage's, the builder stages' included)
/// with its layer and the file lists of all the layers the stages stand on.
enum RegistryCacheExport {
    static func document(
        for result: BuildResult, store: ImageStore, imported: RegistryBuildCache?
    ) async throws -> RegistryCacheDocument {
        var layers: [RegistryCacheDocument.Layer] = []
        var listed = Set<Digest>()
        // A list the store has, else the imported cache's (a small download), else one made from the blob.
        func fileList(_ blob: Descriptor, diffID: Digest, uncompressedSize: Int64?) async throws -> Descriptor? {
            let data: Data
            if let local = LayerFileList.stored(blob: blob.digest, in: store) {
                data = local
            } else if let imported, let fetched = await imported.fileList(diffID) {
                data = fetched
            } else if store.hasBlob(blob.digest) {
                data = try LayerFileList.ensure(
                    blob: blob, diffID: diffID, uncompressedSize: uncompressedSize, store: store)
            } else {
                return nil
            }
            let digest = try await store.putBlob(data)
            return Descriptor(
                mediaType: RegistryCacheDocument.fileListMediaType, digest: digest, size: Int64(data.count))
        }
        var records: [RegistryCacheDocument.Record] = []
        for record in result.cacheRecords {
            records.append(
                RegistryCacheDocument.Record(
                    key: record.key, layer: record.entry.layer?.digest, createdBy: record.entry.createdBy))
            guard let layer = record.entry.layer, let diffID = record.entry.diffID, listed.insert(diffID).inserted
            else { continue }
            let size = await store.layerInfo(layer.digest)?.uncompressedSize ?? record.entry.uncompressedSize
            layers.append(
                RegistryCacheDocument.Layer(
                    blob: layer, diffID: diffID, uncompressedSize: size, cached: true,
                    fileList: try await fileList(layer, diffID: diffID, uncompressedSize: size)))
        }
        // Base layers: their file lists only (the blobs stay in the base image's repository).
        for built in result.layers where listed.insert(built.diffID).inserted {
            let size = await store.layerInfo(built.descriptor.digest)?.uncompressedSize
            guard let list = try await fileList(built.descriptor, diffID: built.diffID, uncompressedSize: size) else {
                continue
            }
            layers.append(
                RegistryCacheDocument.Layer(
                    blob: built.descriptor, diffID: built.diffID, uncompressedSize: size, cached: false, fileList: list)
            )
        }
        return RegistryCacheDocument(records: records, layers: layers)
    }
}

/// The cache refs of one build, resolved (`ecr://` through STS, as push does) and with a client
/// that authenticates to them (ECR's GetAuthorizationToken, else Docker's credentials).
struct CacheRefs {
    /// A ref without a tag names this one, so a cache never overwrites an image's `latest`.
    static let defaultTag = "buildcache"

    var from: [String]
    var to: String?

    /// The refs as resolved, or why they could not be (then the build goes on without them).
    struct Resolved: Sendable {
        var client: RegistryClient?
        var from: [ImageReference] = []
        var to: ImageReference?
        var failure: String?
    }

    /// Errors of `body` pass through untouched; only resolving the refs is caught.
    private struct BodyError: Error { let error: any Error }

    func withResolved<T: Sendable>(
        registryOptions: RegistryOptions, registryHost: String?,
        _ body: @escaping @Sendable (Resolved) async throws -> T
    ) async throws -> T {
        do {
            return try await resolve(registryOptions: registryOptions, registryHost: registryHost) { resolved in
                do { return try await body(resolved) } catch { throw BodyError(error: error) }
            }
        } catch let wrapped as BodyError {
            throw wrapped.error
        } catch let failure as CommandFailure where failure.code == 2 {
            throw failure
        } catch {
            return try await body(Resolved(failure: "\(error)"))
        }
    }

    private func resolve<T: Sendable>(
        registryOptions: RegistryOptions, registryHost: String?,
        _ body: @escaping @Sendable (Resolved) async throws -> T
    ) async throws -> T {
        let from = self.from, to = self.to
        guard !from.isEmpty || to != nil else { return try await body(Resolved()) }
        guard (from + [to].compactMap { $0 }).contains(where: ECRDestination.isECR) else {
            let sources = try from.map { try Self.parse($0, flag: "--cache-from") }
            let destination = try to.map { try Self.parse($0, flag: "--cache-to") }
            return try await RegistryOptions.withClient(
                credentials: DockerConfigCredentials(), options: try registryOptions.clientOptions()
            ) { client in
                try await body(Resolved(client: client, from: sources, to: destination))
            }
        }
        let options = try registryOptions.clientOptions(preemptiveBasic: true)
        return try await AWSContext.with(profile: nil, region: nil, endpointURL: nil) { context in
            var credentials: [any RegistryCredentialSource] = []
            func resolve(_ text: String, flag: String) async throws -> ImageReference {
                guard ECRDestination.isECR(text) else { return try Self.parse(text, flag: flag) }
                let target = try await ECRDestination.resolve(text, context: context, registryHost: registryHost)
                if !credentials.contains(where: { ($0 as? ECRCredentialSource)?.host == target.host }) {
                    credentials.append(
                        ECRCredentialSource(host: target.host, accountId: target.accountId, ecr: context.ecr))
                }
                return try Self.parse(target.reference, flag: flag)
            }
            var sources: [ImageReference] = []
            for text in from { sources.append(try await resolve(text, flag: "--cache-from")) }
            var destination: ImageReference?
            if let to { destination = try await resolve(to, flag: "--cache-to") }
            let target = destination
            return try await RegistryOptions.withClient(
                credentials: CredentialChain(credentials + [DockerConfigCredentials()]), options: options
            ) { client in
                try await body(Resolved(client: client, from: sources, to: target))
            }
        }
    }

    static func parse(_ text: String, flag: String) throws -> ImageReference {
        do { return try ImageReference(parsing: text, defaultTag: defaultTag) } catch {
            throw CommandFailure.usage("\(flag) '\(text)': \(error); expected REGISTRY/REPO[:TAG] or ecr://NAME[:TAG]")
        }
    }
}
