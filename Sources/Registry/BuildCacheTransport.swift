import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OCI
import Store

/// The registry build cache on the wire: one OCI image manifest (artifactType of imagekit's own,
/// the records in its config blob, the cached layers and their file lists as its layers), pushed
/// and fetched with the same auth, retries, mounts and HEAD-skips as images.
extension RegistryClient {
    /// A cache as a registry serves it.
    public struct FetchedBuildCache: Sendable {
        public var reference: ImageReference
        public var manifest: Manifest
        public var document: RegistryCacheDocument
    }

    /// The cache manifest and its config (two small GETs; no layer is fetched).
    public func fetchBuildCache(_ reference: ImageReference) async throws -> FetchedBuildCache {
        let fetched = try await fetchManifest(reference)
        guard fetched.mediaType == MediaType.ociManifest else {
            throw RegistryError.invalidImage(
                "\(reference.familiar) is a \(fetched.mediaType), not an imagekit build cache; name another --cache-from"
            )
        }
        let manifest: Manifest
        do { manifest = try Manifest.decode(fetched.data) } catch {
            throw RegistryError.invalidResponse(host: reference.registry, reason: error.description)
        }
        guard manifest.artifactType == RegistryCacheDocument.artifactType,
            manifest.config.mediaType == RegistryCacheDocument.configMediaType
        else {
            throw RegistryError.invalidImage(
                "\(reference.familiar) is not an imagekit build cache (artifactType \(manifest.artifactType ?? "none")); name another --cache-from"
            )
        }
        let data = try await fetchSmallBlob(
            manifest.config, endpoint: options.endpoint(for: reference), progress: NoProgress())
        let document: RegistryCacheDocument
        do {
            document = try CanonicalJSON.decode(RegistryCacheDocument.self, from: data, what: "build cache records")
        } catch {
            throw RegistryError.invalidImage("the records of \(reference.familiar) do not parse: \(error.description)")
        }
        guard document.version == RegistryCacheDocument.currentVersion else {
            throw RegistryError.invalidImage(
                "\(reference.familiar) is a version \(document.version) build cache; this imagekit reads version \(RegistryCacheDocument.currentVersion)"
            )
        }
        return FetchedBuildCache(reference: reference, manifest: manifest, document: document)
    }

    /// The size of a blob as the repository serves it (HEAD), or nil when it does not have it.
    public func blobSize(_ digest: Digest, in reference: ImageReference) async throws -> Int64? {
        let endpoint = options.endpoint(for: reference)
        return try await retrying("checking blob \(digest.short) in \(endpoint)", progress: nil) { _ in
            let response = try await send(
                Request(method: .HEAD, url: url(endpoint, "blobs/\(digest)"), scopes: ["pull"]), to: endpoint)
            try await checkCommon(response, endpoint: endpoint, operation: "HEAD blob")
            await drain(response)
            switch response.status.code {
            case 200: return response.headers.first(name: "Content-Length").flatMap { Int64($0) }
            case 404: return nil
            default:
                throw RegistryError.httpError(
                    host: endpoint.host, operation: "HEAD blob \(digest.short)", status: Int(response.status.code),
                    detail: "")
            }
        }
    }

    /// A small blob (a file list), checked against its digest.
    public func fetchSmallBlob(_ descriptor: Descriptor, from reference: ImageReference) async throws -> Data {
        try await fetchSmallBlob(descriptor, endpoint: options.endpoint(for: reference), progress: NoProgress())
    }

    /// A layer blob into the store, checked against its digest and diffID.
    public func fetchLayer(
        _ layer: Descriptor, diffID: Digest, from reference: ImageReference, into store: ImageStore,
        progress: some ProgressSink = NoProgress()
    ) async throws {
        try await fetchLayer(
            layer, diffID: diffID, endpoint: options.endpoint(for: reference), store: store, progress: progress)
    }

    /// Pushes a cache: the blobs the repository lacks (from the store, mounted or fetched from
    /// the cache they came from), the config, then the manifest under the reference's tag. The
    /// manifest PUT is the only step that changes what the tag names, so two runners exporting
    /// at once leave one complete cache or the other (the last writer's).
    @discardableResult
    public func pushBuildCache(
        _ document: RegistryCacheDocument, from store: ImageStore, to reference: ImageReference,
        options pushOptions: PushOptions = .init(), progress: some ProgressSink = NoProgress()
    ) async throws -> Digest {
        let tag = reference.tag ?? ImageReference.defaultTag
        guard ImageReference.isValidTag(tag) else { throw RegistryError.invalidTag(tag) }
        let configData: Data
        do { configData = try CanonicalJSON.encode(document) } catch {
            throw RegistryError.local("cannot encode the build cache records: \(error)")
        }
        let configDigest = try await store.putBlob(configData)
        let config = Descriptor(
            mediaType: RegistryCacheDocument.configMediaType, digest: configDigest, size: Int64(configData.count))
        let manifestData = try document.manifest(config: config)
        let manifest: Manifest
        do { manifest = try Manifest.decode(manifestData) } catch {
            throw RegistryError.local("the build cache manifest does not parse: \(error.description)")
        }
        for blob in manifest.layers where !store.isAvailable(blob.digest) {
            throw RegistryError.invalidImage(
                "cached blob \(blob.digest) is neither in the store nor in a registry cache; build again")
        }
        let endpoint = options.endpoint(for: reference, forPush: true)
        let scopes = ["pull,push"]
        _ = try await uploadBlobs(
            [config] + manifest.layers, store: store, endpoint: endpoint, scopes: scopes, options: pushOptions,
            progress: progress)
        let digest = SHA256Hasher.hash(manifestData)
        try await putManifest(
            manifestData, mediaType: MediaType.ociManifest, digest: digest, endpoint: endpoint, tagOrDigest: tag,
            scopes: scopes, progress: progress)
        progress.report(.manifestPushed(reference: "\(endpoint):\(tag)", digest: digest))
        return digest
    }

    /// Mounts a blob the store knows only as remote from its repository, when that is on the
    /// same registry; false when it is not or the registry would not mount it.
    func mountRemote(
        _ blob: Descriptor, remote: RemoteLayer, endpoint: RepositoryEndpoint, progress: some ProgressSink
    ) async throws -> Bool {
        guard let source = try? ImageReference(parsing: remote.repository, defaultTag: nil) else { return false }
        let from = options.endpoint(for: source)
        guard from.host == endpoint.host, from.repository != endpoint.repository else { return false }
        let start = try await startUpload(
            blob.digest, endpoint: endpoint, scopes: ["pull,push", "repository:\(from.repository):pull"],
            mountFrom: from.repository)
        // A session the registry opened instead of mounting is left to expire: the upload starts its own.
        return start == nil
    }

    /// Downloads a blob the store knows only as remote, so it can be uploaded elsewhere.
    func fetchRemote(
        _ blob: Descriptor, remote: RemoteLayer, store: ImageStore, progress: some ProgressSink
    ) async throws {
        let source = try ImageReference(parsing: remote.repository, defaultTag: nil)
        guard let info = await store.layerInfo(blob.digest) else {
            throw RegistryError.invalidImage(
                "blob \(blob.digest) is not in the store and its diffID is unknown; build again without the registry cache"
            )
        }
        try await fetchLayer(
            blob, diffID: info.diffID, endpoint: options.endpoint(for: source), store: store, progress: progress)
    }
}
