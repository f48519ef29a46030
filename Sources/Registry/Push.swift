import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OCI
import Store

public struct PushOptions: Sendable {
    /// Blobs uploaded at once.
    public var jobs: Int
    /// A repository of the same registry to mount blobs from (`?mount=&from=`) instead of uploading.
    public var mountFrom: String?

    public init(jobs: Int = 4, mountFrom: String? = nil) {
        self.jobs = max(1, jobs)
        self.mountFrom = mountFrom
    }
}

public struct PushResult: Sendable, Codable {
    public var digest: Digest
    /// `REGISTRY/REPO@sha256:...`
    public var reference: String
    public var tags: [String]
    public var bytesUploaded: Int64
    public var blobsUploaded: Int
    public var blobsSkipped: Int
    public var blobsMounted: Int
    /// Tags that already pointed at this digest, left untouched (immutable repositories refuse a rewrite).
    public var tagsUnchanged: [String]
}

extension RegistryClient {
    enum BlobOutcome: Sendable { case uploaded(Int64), skipped, mounted }

    /// Pushes a stored image: missing blobs (HEAD first, mount when possible, else POST + one streamed PUT),
    /// then the manifest's exact bytes under each tag. Tags already pointing at the digest are left alone.
    public func push(
        _ image: StoredImage, from store: ImageStore, to destination: ImageReference, tags: [String],
        options pushOptions: PushOptions = .init(), progress: some ProgressSink = NoProgress()
    ) async throws -> PushResult {
        var allTags = tags
        if allTags.isEmpty, let tag = destination.tag { allTags = [tag] }
        var seen = Set<String>()
        allTags = allTags.filter { seen.insert($0).inserted }
        for tag in allTags where !ImageReference.isValidTag(tag) { throw RegistryError.invalidTag(tag) }

        // Checks ECR would make, made before anything is sent.
        guard image.manifest.config.annotations == nil else {
            throw RegistryError.invalidImage(
                "the config descriptor carries annotations, which ECR rejects; rebuild the image")
        }
        var blobs: [Descriptor] = []
        var blobDigests = Set<Digest>()
        for blob in [image.manifest.config] + image.manifest.layers where blobDigests.insert(blob.digest).inserted {
            guard blob.size > 0 else {
                throw RegistryError.invalidImage(
                    "blob \(blob.digest) is empty; registries such as ECR refuse zero-byte blobs")
            }
            // A layer a registry cache build reused without downloading it: mounted or fetched below.
            if !store.hasBlob(blob.digest), store.remoteLayer(blob.digest) != nil {
                blobs.append(blob)
                continue
            }
            guard let local = store.blobSize(blob.digest) else {
                throw RegistryError.invalidImage(
                    "blob \(blob.digest) is missing from the local store; build or pull the image again")
            }
            guard local == blob.size else {
                throw RegistryError.invalidImage(
                    "blob \(blob.digest) has \(local) bytes in the store but the manifest says \(blob.size); the store is damaged"
                )
            }
            blobs.append(blob)
        }
        let mediaType = image.manifest.mediaType ?? image.descriptor.mediaType
        let endpoint = options.endpoint(for: destination, forPush: true)
        var scopes = ["pull,push"]
        if let from = pushOptions.mountFrom, from != endpoint.repository { scopes.append("repository:\(from):pull") }
        let pushScopes = scopes

        let counts = try await uploadBlobs(
            blobs, store: store, endpoint: endpoint, scopes: pushScopes, options: pushOptions, progress: progress)
        let (bytes, uploaded, skipped, mounted) = (counts.bytes, counts.uploaded, counts.skipped, counts.mounted)

        let digest = SHA256Hasher.hash(image.manifestData)
        var unchanged: [String] = []
        if allTags.isEmpty {
            try await putManifest(
                image.manifestData, mediaType: mediaType, digest: digest, endpoint: endpoint,
                tagOrDigest: digest.description, scopes: pushScopes, progress: progress)
        }
        for tag in allTags {
            if try await headManifest(endpoint: endpoint, tagOrDigest: tag, scopes: pushScopes) == digest {
                unchanged.append(tag)
                progress.report(.manifestPushed(reference: "\(endpoint):\(tag)", digest: digest))
                continue
            }
            try await putManifest(
                image.manifestData, mediaType: mediaType, digest: digest, endpoint: endpoint, tagOrDigest: tag,
                scopes: pushScopes, progress: progress)
            progress.report(.manifestPushed(reference: "\(endpoint):\(tag)", digest: digest))
        }
        return PushResult(
            digest: digest, reference: "\(destination.name)@\(digest)", tags: allTags, bytesUploaded: bytes,
            blobsUploaded: uploaded, blobsSkipped: skipped, blobsMounted: mounted, tagsUnchanged: unchanged)
    }

    struct UploadCounts: Sendable { var bytes: Int64 = 0, uploaded = 0, skipped = 0, mounted = 0 }

    /// Uploads the blobs the registry lacks, `options.jobs` at a time.
    func uploadBlobs(
        _ blobs: [Descriptor], store: ImageStore, endpoint: RepositoryEndpoint, scopes pushScopes: [String],
        options pushOptions: PushOptions, progress: some ProgressSink
    ) async throws -> UploadCounts {
        guard !blobs.isEmpty else { return UploadCounts() }
        // The first request alone: it meets the auth challenge once, and the parallel ones reuse the answer.
        let firstExists = try await blobExists(blobs[0].digest, endpoint: endpoint, scopes: pushScopes)
        var counts = UploadCounts()
        try await withThrowingTaskGroup(of: BlobOutcome.self) { group in
            var next = 0
            func addNext() {
                guard next < blobs.count else { return }
                let blob = blobs[next]
                let known: Bool? = next == 0 ? firstExists : nil
                next += 1
                group.addTask {
                    try await self.pushBlob(
                        blob, exists: known, store: store, endpoint: endpoint, scopes: pushScopes,
                        mountFrom: pushOptions.mountFrom, progress: progress)
                }
            }
            for _ in 0..<pushOptions.jobs { addNext() }
            while let outcome = try await group.next() {
                switch outcome {
                case .uploaded(let n): counts.bytes += n; counts.uploaded += 1
                case .skipped: counts.skipped += 1
                case .mounted: counts.mounted += 1
                }
                addNext()
            }
        }
        return counts
    }

    /// PUTs manifest or index bytes as they are (an index over manifests pushed by digest, for example).
    @discardableResult
    public func pushManifest(_ data: Data, mediaType: String, to destination: ImageReference) async throws -> Digest {
        let endpoint = options.endpoint(for: destination, forPush: true)
        let digest = SHA256Hasher.hash(data)
        if let tag = destination.tag, !ImageReference.isValidTag(tag) { throw RegistryError.invalidTag(tag) }
        try await putManifest(
            data, mediaType: mediaType, digest: digest, endpoint: endpoint,
            tagOrDigest: destination.tag ?? digest.description, scopes: ["pull,push"])
        return digest
    }

    func putManifest(
        _ data: Data, mediaType: String, digest: Digest, endpoint: RepositoryEndpoint,
        tagOrDigest: String, scopes: [String], progress: (any ProgressSink)? = nil
    ) async throws {
        try await retrying("pushing the manifest \(endpoint):\(tagOrDigest)", progress: progress) { _ in
            var request = Request(
                method: .PUT, url: url(endpoint, "manifests/\(tagOrDigest)"), body: .data(data), scopes: scopes)
            request.headers.add(name: "Content-Type", value: mediaType)
            let response = try await send(request, to: endpoint)
            try await checkCommon(response, endpoint: endpoint, operation: "PUT manifest")
            let body = try await collect(response, limit: 1 << 16, host: endpoint.host)
            guard (200...299).contains(response.status.code) else {
                if response.status.code == 404 {
                    throw RegistryError.httpError(
                        host: endpoint.host, operation: "PUT manifest \(endpoint):\(tagOrDigest)", status: 404,
                        detail: "\(Self.errorDetail(body)); check that the repository exists")
                }
                throw RegistryError.httpError(
                    host: endpoint.host, operation: "PUT manifest \(endpoint):\(tagOrDigest)",
                    status: Int(response.status.code), detail: Self.errorDetail(body))
            }
            // The header is optional; when present it must name what we sent.
            if let header = response.headers.first(name: "Docker-Content-Digest"),
                let claimed = try? Digest(parsing: header), claimed != digest
            {
                throw RegistryError.digestMismatch(
                    what: "the manifest stored by \(endpoint.host)", expected: digest, actual: claimed)
            }
        }
    }

    private func pushBlob(
        _ blob: Descriptor, exists: Bool?, store: ImageStore, endpoint: RepositoryEndpoint, scopes: [String],
        mountFrom: String?, progress: some ProgressSink
    ) async throws -> BlobOutcome {
        let present: Bool
        if let exists {
            present = exists
        } else {
            present = try await blobExists(blob.digest, endpoint: endpoint, scopes: scopes)
        }
        if present {
            progress.report(.blobSkipped(digest: blob.digest, reason: .present))
            return .skipped
        }
        if !store.hasBlob(blob.digest), let remote = store.remoteLayer(blob.digest) {
            if try await mountRemote(blob, remote: remote, endpoint: endpoint, progress: progress) { return .mounted }
            try await fetchRemote(blob, remote: remote, store: store, progress: progress)
        }
        progress.report(.blobStarted(digest: blob.digest, total: blob.size))
        let path = store.blobURL(blob.digest).path
        let outcome: BlobOutcome = try await retrying(
            "uploading blob \(blob.digest.short) to \(endpoint)", progress: progress
        ) { _ in
            // A new upload session on every attempt: registries (ECR) refuse a reused one with 416.
            let start = try await startUpload(blob.digest, endpoint: endpoint, scopes: scopes, mountFrom: mountFrom)
            guard let location = start else { return .mounted }
            let target = try uploadURL(location, digest: blob.digest, endpoint: endpoint)
            var request = Request(method: .PUT, url: target, scopes: scopes)
            request.body = .file(
                path: path, size: blob.size,
                onBytes: { sent in
                    progress.report(.blobBytes(digest: blob.digest, completed: sent, total: blob.size))
                })
            request.headers.add(name: "Content-Type", value: "application/octet-stream")
            let response = try await send(request, to: endpoint)
            try await checkCommon(response, endpoint: endpoint, operation: "PUT blob")
            let body = try await collect(response, limit: 1 << 16, host: endpoint.host)
            switch response.status.code {
            case 201, 204: return .uploaded(blob.size)
            case 416:
                throw TransientFailure(description: "the upload session was refused (HTTP 416)")
            case 404 where Self.errorDetail(body).contains("BLOB_UPLOAD_UNKNOWN"):
                throw TransientFailure(description: "the upload session expired (HTTP 404 BLOB_UPLOAD_UNKNOWN)")
            default:
                throw RegistryError.httpError(
                    host: endpoint.host, operation: "PUT blob \(blob.digest.short)",
                    status: Int(response.status.code), detail: Self.errorDetail(body))
            }
        }
        if case .mounted = outcome {
            progress.report(.blobSkipped(digest: blob.digest, reason: .mounted))
        } else {
            progress.report(.blobDone(digest: blob.digest))
        }
        return outcome
    }

    private func blobExists(_ digest: Digest, endpoint: RepositoryEndpoint, scopes: [String]) async throws -> Bool {
        try await retrying("checking blob \(digest.short) in \(endpoint)", progress: nil) { _ in
            let response = try await send(
                Request(method: .HEAD, url: url(endpoint, "blobs/\(digest)"), scopes: scopes), to: endpoint)
            try await checkCommon(response, endpoint: endpoint, operation: "HEAD blob")
            await drain(response)
            switch response.status.code {
            case 200: return true
            case 404: return false
            default:
                throw RegistryError.httpError(
                    host: endpoint.host, operation: "HEAD blob \(digest.short)", status: Int(response.status.code),
                    detail: "")
            }
        }
    }

    /// POSTs a new upload session (or a mount). Returns nil when the blob was mounted, else the upload Location.
    func startUpload(
        _ digest: Digest, endpoint: RepositoryEndpoint, scopes: [String], mountFrom: String?
    ) async throws -> String? {
        var path = "blobs/uploads/"
        if let from = mountFrom, from != endpoint.repository {
            path += "?mount=\(Self.queryEscape(digest.description))&from=\(Self.queryEscape(from))"
        }
        let response: HTTPClientResponse
        do {
            response = try await send(Request(method: .POST, url: url(endpoint, path), scopes: scopes), to: endpoint)
        } catch let failure as TransientFailure {
            // ECR drops the connection here when the repository does not exist.
            throw TransientFailure(
                description:
                    "\(failure.description) while starting an upload; check that the repository \(endpoint.repository) exists",
                retryAfter: failure.retryAfter)
        }
        try await checkCommon(response, endpoint: endpoint, operation: "POST blob upload")
        let body = try await collect(response, limit: 1 << 16, host: endpoint.host)
        switch response.status.code {
        case 201 where mountFrom != nil:
            return nil
        case 202:
            // A mount the registry could not do also answers 202 with a session: upload normally.
            guard let location = response.headers.first(name: "Location"), !location.isEmpty else {
                throw RegistryError.invalidResponse(
                    host: endpoint.host, reason: "the upload start (202) has no Location header")
            }
            return location
        case 404:
            throw RegistryError.httpError(
                host: endpoint.host, operation: "starting a blob upload to \(endpoint)", status: 404,
                detail: "\(Self.errorDetail(body)); check that the repository exists (create it first)")
        default:
            throw RegistryError.httpError(
                host: endpoint.host, operation: "starting a blob upload to \(endpoint)",
                status: Int(response.status.code), detail: Self.errorDetail(body))
        }
    }

    /// The session URL from a Location (absolute, absolute-path or relative), keeping its query, plus `digest=`.
    func uploadURL(_ location: String, digest: Digest, endpoint: RepositoryEndpoint) throws -> String {
        let base = URL(string: url(endpoint, "blobs/uploads/"))
        guard let resolved = URL(string: location, relativeTo: base)?.absoluteString else {
            throw RegistryError.invalidResponse(
                host: endpoint.host, reason: "the upload Location '\(location)' is not a URL")
        }
        let separator = resolved.contains("?") ? "&" : "?"
        return resolved + separator + "digest=" + Self.queryEscape(digest.description)
    }

    static func queryEscape(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}
