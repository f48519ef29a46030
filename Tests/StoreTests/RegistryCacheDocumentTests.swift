import Foundation
import OCI
import TestSupport
import Testing

@testable import Store

@Suite struct RegistryCacheDocumentTests {
    static func descriptor(_ text: String, _ mediaType: String = MediaType.dockerLayerGzip) -> Descriptor {
        Descriptor(mediaType: mediaType, digest: SHA256Hasher.hash(Data(text.utf8)), size: Int64(text.utf8.count))
    }

    @Test func manifestListsCachedLayersOnceThenFileLists() throws {
        let venv = Self.descriptor("venv"), app = Self.descriptor("app"), base = Self.descriptor("base")
        let list = { (text: String) in Self.descriptor(text, RegistryCacheDocument.fileListMediaType) }
        let document = RegistryCacheDocument(
            records: [
                .init(key: SHA256Hasher.hash(Data("k1".utf8)), layer: venv.digest, createdBy: "RUN pip"),
                .init(key: SHA256Hasher.hash(Data("k2".utf8)), layer: nil, createdBy: "WORKDIR /app"),
            ],
            layers: [
                .init(
                    blob: venv, diffID: SHA256Hasher.hash(Data("venv-tar".utf8)), uncompressedSize: 10, cached: true,
                    fileList: list("venv-list")),
                .init(
                    blob: venv, diffID: SHA256Hasher.hash(Data("venv-tar".utf8)), uncompressedSize: 10, cached: true,
                    fileList: list("venv-list")),
                .init(
                    blob: app, diffID: SHA256Hasher.hash(Data("app-tar".utf8)), uncompressedSize: 3, cached: true,
                    fileList: nil),
                .init(
                    blob: base, diffID: SHA256Hasher.hash(Data("base-tar".utf8)), uncompressedSize: 4, cached: false,
                    fileList: list("base-list")),
            ])
        let config = Self.descriptor("{}", RegistryCacheDocument.configMediaType)
        let manifest = try Manifest.decode(try document.manifest(config: config))
        // An image manifest ECR accepts: top-level mediaType, our artifactType, no config annotations.
        #expect(manifest.mediaType == MediaType.ociManifest)
        #expect(manifest.artifactType == RegistryCacheDocument.artifactType)
        #expect(manifest.config == config)
        // Cached blobs once each, then file lists; a base layer contributes its list only.
        #expect(
            manifest.layers.map(\.digest) == [
                venv.digest, app.digest, list("venv-list").digest, list("base-list").digest,
            ])
        let decoded = try CanonicalJSON.decode(
            RegistryCacheDocument.self, from: try CanonicalJSON.encode(document), what: "records")
        #expect(decoded == document)
    }

    @Test func imagesMayReferenceLayersKnownToBeRemote() async throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }  // holds it to the end: ARC may release it after its last use
        let store = try ImageStore(root: root.url)
        let remote = Self.descriptor("remote layer")
        var config = ImageConfig()
        config.rootfs.diffIDs = [SHA256Hasher.hash(Data("remote tar".utf8))]
        let tags = [try ImageReference(parsing: "lazy:1")]
        await #expect(throws: StoreError.self) {
            try await store.commitImage(config: config, layers: [remote], format: .docker, tags: tags)
        }
        try await store.recordRemoteLayer(remote.digest, repository: "127.0.0.1:5000/cache/app")
        #expect(store.remoteLayer(remote.digest) == RemoteLayer(repository: "127.0.0.1:5000/cache/app"))
        let image = try await store.commitImage(config: config, layers: [remote], format: .docker, tags: tags)
        #expect(image.manifest.layers.map(\.digest) == [remote.digest])
        #expect(!store.hasBlob(remote.digest) && store.isAvailable(remote.digest))
    }
}
