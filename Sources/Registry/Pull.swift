import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OCI
import Store

extension RegistryClient {
    /// The largest manifest or config accepted (real ones are a few kB).
    static let maxDocumentSize = 8 << 20

    /// A manifest or index as the registry sent it.
    public struct FetchedManifest: Sendable {
        public var data: Data
        public var mediaType: String
        public var digest: Digest
    }

    /// Fetches a manifest or index by tag or digest, verified against the digest asked for and
    /// against `Docker-Content-Digest` when the registry sends one.
    public func fetchManifest(
        _ reference: ImageReference, progress: some ProgressSink = NoProgress()
    ) async throws -> FetchedManifest {
        let endpoint = options.endpoint(for: reference)
        let tagOrDigest = reference.digest?.description ?? reference.tag ?? ImageReference.defaultTag
        return try await retrying("fetching the manifest of \(reference.familiar)", progress: progress) { _ in
            var request = Request(method: .GET, url: url(endpoint, "manifests/\(tagOrDigest)"), scopes: ["pull"])
            request.headers.add(name: "Accept", value: MediaType.acceptedManifests.joined(separator: ", "))
            let response = try await send(request, to: endpoint)
            try await checkCommon(response, endpoint: endpoint, operation: "GET manifest")
            let body = try await collect(response, limit: Self.maxDocumentSize, host: endpoint.host)
            switch response.status.code {
            case 200: break
            case 404: throw RegistryError.notFound(reference.familiar)
            default:
                throw RegistryError.httpError(
                    host: endpoint.host, operation: "GET manifest \(reference.familiar)",
                    status: Int(response.status.code), detail: Self.errorDetail(body))
            }
            let digest = SHA256Hasher.hash(body)
            if let wanted = reference.digest, wanted != digest {
                throw RegistryError.digestMismatch(
                    what: "the manifest of \(reference.familiar)", expected: wanted, actual: digest)
            }
            if let header = response.headers.first(name: "Docker-Content-Digest"),
                let claimed = try? Digest(parsing: header), claimed != digest
            {
                throw RegistryError.digestMismatch(
                    what: "the manifest of \(reference.familiar) (Docker-Content-Digest)", expected: claimed,
                    actual: digest)
            }
            let declared = try? ManifestKind.mediaType(of: body)
            let contentType = response.headers.first(name: "Content-Type")?.split(separator: ";").first.map {
                String($0).trimmingCharacters(in: .whitespaces)
            }
            guard let mediaType = declared ?? contentType else {
                throw RegistryError.invalidResponse(
                    host: endpoint.host, reason: "the manifest of \(reference.familiar) has no media type")
            }
            return FetchedManifest(data: body, mediaType: mediaType, digest: digest)
        }
    }

    /// The digest a tag points at (HEAD), or nil when the registry does not know it.
    public func manifestDigest(_ reference: ImageReference) async throws -> Digest? {
        let endpoint = options.endpoint(for: reference, forPush: true)
        let tagOrDigest = reference.digest?.description ?? reference.tag ?? ImageReference.defaultTag
        return try await headManifest(endpoint: endpoint, tagOrDigest: tagOrDigest, scopes: ["pull"])
    }

    /// HEAD of a manifest: its digest when present (nil if the registry omits the header: then GET it).
    func headManifest(endpoint: RepositoryEndpoint, tagOrDigest: String, scopes: [String]) async throws -> Digest? {
        try await retrying("checking manifest \(endpoint)/\(tagOrDigest)", progress: nil) { _ in
            var request = Request(method: .HEAD, url: url(endpoint, "manifests/\(tagOrDigest)"), scopes: scopes)
            request.headers.add(name: "Accept", value: MediaType.acceptedManifests.joined(separator: ", "))
            let response = try await send(request, to: endpoint)
            try await checkCommon(response, endpoint: endpoint, operation: "HEAD manifest")
            await drain(response)
            switch response.status.code {
            case 200:
                if let header = response.headers.first(name: "Docker-Content-Digest"),
                    let digest = try? Digest(parsing: header)
                {
                    return digest
                }
                // No digest header: fetch the bytes and hash them ourselves.
                var get = Request(method: .GET, url: url(endpoint, "manifests/\(tagOrDigest)"), scopes: scopes)
                get.headers.add(name: "Accept", value: MediaType.acceptedManifests.joined(separator: ", "))
                let full = try await send(get, to: endpoint)
                try await checkCommon(full, endpoint: endpoint, operation: "GET manifest")
                let body = try await collect(full, limit: Self.maxDocumentSize, host: endpoint.host)
                return full.status.code == 200 ? SHA256Hasher.hash(body) : nil
            case 404: return nil
            default:
                throw RegistryError.httpError(
                    host: endpoint.host, operation: "HEAD manifest \(tagOrDigest)", status: Int(response.status.code),
                    detail: "")
            }
        }
    }

    /// Pulls one image into the store: the platform's manifest from an index, config and layers
    /// verified against their digests and the config's diffIDs, then the manifest, tagged as `reference`.
    /// `leaveInRegistry` names layers not to download: the store records them as remote (a build
    /// with a registry cache fetches them only if a step must see their files).
    public func pull(
        _ reference: ImageReference, platform: Platform = .linuxAMD64, into store: ImageStore,
        progress: some ProgressSink = NoProgress(),
        leaveInRegistry: (@Sendable (Descriptor, Digest) async -> Bool)? = nil
    ) async throws -> StoredImage {
        var fetched = try await fetchManifest(reference, progress: progress)
        if MediaType.indexes.contains(fetched.mediaType) {
            let index: ImageIndex
            do { index = try ImageIndex.decode(fetched.data) } catch {
                throw RegistryError.invalidResponse(host: reference.registry, reason: error.description)
            }
            let chosen: Descriptor
            do { chosen = try index.manifest(for: platform) } catch {
                throw RegistryError.invalidImage("\(reference.familiar): \(error.description)")
            }
            fetched = try await fetchManifest(reference.withDigest(chosen.digest), progress: progress)
        }
        guard MediaType.manifests.contains(fetched.mediaType) else {
            throw RegistryError.invalidImage(
                "\(reference.familiar) has media type \(fetched.mediaType); only Docker v2 schema 2 and OCI images can be pulled"
            )
        }
        let manifest: Manifest
        do { manifest = try Manifest.decode(fetched.data) } catch {
            throw RegistryError.invalidResponse(host: reference.registry, reason: error.description)
        }
        progress.report(.resolved(reference: reference.familiar, digest: fetched.digest))
        let endpoint = options.endpoint(for: reference)

        // The config first: its diffIDs check the layers.
        let configData: Data
        if store.hasBlob(manifest.config.digest) {
            configData = try await store.readBlob(manifest.config.digest)
            progress.report(.blobSkipped(digest: manifest.config.digest, reason: .present))
        } else {
            configData = try await fetchSmallBlob(manifest.config, endpoint: endpoint, progress: progress)
        }
        // Present or fetched, the config must be what the manifest says, size included.
        guard Int64(configData.count) == manifest.config.size else {
            throw RegistryError.invalidResponse(
                host: reference.registry,
                reason:
                    "the config of \(reference.familiar) has \(configData.count) bytes but its manifest says \(manifest.config.size)"
            )
        }
        let config: ImageConfig
        do { config = try ImageConfig.decode(configData) } catch {
            throw RegistryError.invalidImage("the config of \(reference.familiar) is invalid: \(error.description)")
        }
        guard config.rootfs.diffIDs.count == manifest.layers.count else {
            throw RegistryError.invalidImage(
                "\(reference.familiar) lists \(manifest.layers.count) layers but its config has \(config.rootfs.diffIDs.count) diff_ids"
            )
        }
        for layer in manifest.layers where !MediaType.layers.contains(layer.mediaType) {
            throw RegistryError.invalidImage(
                "layer \(layer.digest) of \(reference.familiar) has media type \(layer.mediaType); only gzip and plain tar layers are supported"
            )
        }

        var jobs: [(Descriptor, Digest)] = []
        for (layer, diffID) in zip(manifest.layers, config.rootfs.diffIDs) {
            if !store.hasBlob(layer.digest), let leave = leaveInRegistry, await leave(layer, diffID) {
                try await store.recordRemoteLayer(layer.digest, repository: reference.name)
                progress.report(.blobSkipped(digest: layer.digest, reason: .remote))
            } else {
                jobs.append((layer, diffID))
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func addNext() {
                guard next < jobs.count else { return }
                let (layer, diffID) = jobs[next]
                next += 1
                group.addTask {
                    try await self.fetchLayer(
                        layer, diffID: diffID, endpoint: endpoint, store: store, progress: progress)
                }
            }
            for _ in 0..<options.pullConcurrency { addNext() }
            while try await group.next() != nil { addNext() }
        }
        if !store.hasBlob(manifest.config.digest) { try await store.putBlob(configData) }
        let tags =
            reference.tag.map {
                [ImageReference(registry: reference.registry, repository: reference.repository, tag: $0)]
            } ?? []
        return try await store.commitManifest(manifestData: fetched.data, tags: tags)
    }

    func fetchSmallBlob(
        _ descriptor: Descriptor, endpoint: RepositoryEndpoint, progress: some ProgressSink
    ) async throws -> Data {
        try await retrying("fetching blob \(descriptor.digest.short)", progress: progress) { _ in
            let response = try await send(
                Request(method: .GET, url: url(endpoint, "blobs/\(descriptor.digest)"), scopes: ["pull"]), to: endpoint)
            try await checkCommon(response, endpoint: endpoint, operation: "GET blob")
            let body = try await collect(response, limit: Self.maxDocumentSize, host: endpoint.host)
            guard response.status.code == 200 else {
                if response.status.code == 404 {
                    throw RegistryError.notFound("blob \(descriptor.digest) in \(endpoint)")
                }
                throw RegistryError.httpError(
                    host: endpoint.host, operation: "GET blob \(descriptor.digest.short)",
                    status: Int(response.status.code), detail: Self.errorDetail(body))
            }
            let actual = SHA256Hasher.hash(body)
            guard actual == descriptor.digest else {
                throw RegistryError.digestMismatch(
                    what: "blob \(descriptor.digest) from \(endpoint.host)", expected: descriptor.digest, actual: actual
                )
            }
            return body
        }
    }

    func fetchLayer(
        _ layer: Descriptor, diffID expectedDiffID: Digest, endpoint: RepositoryEndpoint,
        store: ImageStore, progress: some ProgressSink
    ) async throws {
        if store.hasBlob(layer.digest) {
            // Already stored (by another image): still checked against this manifest and config,
            // or a forged manifest could pin a false diffID on a known blob.
            let info: LayerInfo
            do { info = try await store.verifiedLayerInfo(layer) } catch .sizeMismatch(_, let expected, let actual) {
                throw RegistryError.invalidResponse(
                    host: endpoint.host,
                    reason: "layer \(layer.digest) of \(endpoint) is listed with \(expected) bytes but has \(actual)")
            }
            guard info.diffID == expectedDiffID else {
                throw RegistryError.diffIDMismatch(layer: layer.digest, expected: expectedDiffID, actual: info.diffID)
            }
            progress.report(.blobSkipped(digest: layer.digest, reason: .present))
            return
        }
        let gzip = layer.mediaType != MediaType.ociLayerTar
        progress.report(.blobStarted(digest: layer.digest, total: layer.size))
        try await retrying("fetching layer \(layer.digest.short)", progress: progress) { _ in
            let response = try await send(
                Request(method: .GET, url: url(endpoint, "blobs/\(layer.digest)"), scopes: ["pull"]), to: endpoint)
            try await checkCommon(response, endpoint: endpoint, operation: "GET blob")
            guard response.status.code == 200 else {
                let body = try await collect(response, limit: 1 << 16, host: endpoint.host)
                if response.status.code == 404 { throw RegistryError.notFound("blob \(layer.digest) in \(endpoint)") }
                throw RegistryError.httpError(
                    host: endpoint.host, operation: "GET blob \(layer.digest.short)", status: Int(response.status.code),
                    detail: Self.errorDetail(body))
            }
            let temp = store.newIngestURL()
            var committed = false
            defer { if !committed { unlink(temp.path) } }
            let writer = try BlobWriter(path: temp.path, inflate: gzip)
            var lastReport: Int64 = 0
            do {
                for try await chunk in response.body {
                    try chunk.withUnsafeReadableBytes { try writer.write($0) }
                    if writer.size > layer.size {
                        throw RegistryError.invalidResponse(
                            host: endpoint.host,
                            reason: "blob \(layer.digest) is larger than the \(layer.size) bytes its manifest says")
                    }
                    if writer.size - lastReport >= 1 << 20 || writer.size == layer.size {
                        lastReport = writer.size
                        progress.report(.blobBytes(digest: layer.digest, completed: writer.size, total: layer.size))
                    }
                }
            } catch let error as RegistryError {
                throw error
            } catch {
                throw classify(error, host: endpoint.host)
            }
            guard writer.size == layer.size else {
                throw TransientFailure(
                    description:
                        "the download of blob \(layer.digest.short) ended after \(writer.size) of \(layer.size) bytes")
            }
            let result = try writer.finish()
            guard result.digest == layer.digest else {
                throw RegistryError.digestMismatch(
                    what: "layer blob from \(endpoint)", expected: layer.digest, actual: result.digest)
            }
            if let gzipError = result.gzipError {
                throw RegistryError.invalidImage("layer \(layer.digest) of \(endpoint): \(gzipError.description)")
            }
            let diffID = result.diffID ?? result.digest
            guard diffID == expectedDiffID else {
                throw RegistryError.diffIDMismatch(layer: layer.digest, expected: expectedDiffID, actual: diffID)
            }
            try await store.commitIngested(temp, digest: result.digest, size: writer.size)
            committed = true
            try await store.recordVerifiedLayerInfo(
                diffID: diffID, uncompressedSize: result.uncompressedSize ?? writer.size, for: layer.digest)
        }
        progress.report(.blobDone(digest: layer.digest))
    }
}
