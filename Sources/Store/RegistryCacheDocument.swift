import Foundation
import Glibc
import OCI

/// The build cache as a registry keeps it (`--cache-to`/`--cache-from`): one OCI image manifest
/// whose `artifactType` is `artifactType`, whose config blob is this document, and whose layers are
/// the cached layer blobs followed by their file lists, so registry garbage collection keeps them.
/// A build that hits needs only the manifest and this document; docs/BUILD-CACHE.md has the format.
public struct RegistryCacheDocument: Sendable, Codable, Equatable {
    public static let artifactType = "application/vnd.imagekit.buildcache.v1"
    public static let configMediaType = "application/vnd.imagekit.buildcache.config.v1+json"
    /// A layer's entries (verify's per-layer file index), so later steps and `verify` need not download it.
    public static let fileListMediaType = "application/vnd.imagekit.filelist.v1"
    public static let currentVersion = 1

    /// One step result: its cache key, and the layer it made (none for a step that changed no file).
    public struct Record: Sendable, Codable, Equatable {
        public var key: Digest
        public var layer: Digest?
        public var createdBy: String

        public init(key: Digest, layer: Digest?, createdBy: String) {
            self.key = key
            self.layer = layer
            self.createdBy = createdBy
        }
    }

    /// A layer a record made, or a base layer that only has a file list here.
    public struct Layer: Sendable, Codable, Equatable {
        /// The compressed blob, a layer of the cache manifest when `cached`.
        public var blob: Descriptor
        public var diffID: Digest
        public var uncompressedSize: Int64?
        /// Whether the blob is one of the manifest's layers (false for base layers, listed for their files only).
        public var cached: Bool
        public var fileList: Descriptor?

        public init(blob: Descriptor, diffID: Digest, uncompressedSize: Int64?, cached: Bool, fileList: Descriptor?) {
            self.blob = blob
            self.diffID = diffID
            self.uncompressedSize = uncompressedSize
            self.cached = cached
            self.fileList = fileList
        }
    }

    public var version: Int
    public var records: [Record]
    public var layers: [Layer]

    public init(records: [Record], layers: [Layer]) {
        version = Self.currentVersion
        self.records = records
        self.layers = layers
    }

    /// The manifest pushed for this document: cached layer blobs, then file lists, each once.
    public func manifest(config: Descriptor) throws(StoreError) -> Data {
        var seen = Set<Digest>()
        var blobs: [Descriptor] = []
        for layer in layers where layer.cached && seen.insert(layer.blob.digest).inserted { blobs.append(layer.blob) }
        for layer in layers { if let list = layer.fileList, seen.insert(list.digest).inserted { blobs.append(list) } }
        var manifest = Manifest(mediaType: MediaType.ociManifest, config: config, layers: blobs)
        manifest.artifactType = Self.artifactType
        do { return try CanonicalJSON.encode(manifest) } catch {
            throw .corrupt(path: "build cache manifest", reason: "cannot encode: \(error)")
        }
    }
}
