import Foundation
import OCI

/// An image as stored: the manifest's exact bytes and the decoded parts.
public struct StoredImage: Sendable {
    public let names: [ImageReference]
    public let descriptor: Descriptor
    public let manifestData: Data
    public let manifest: Manifest
    public let configData: Data
    public let config: ImageConfig

    public var digest: Digest { descriptor.digest }
    /// Docker's image ID: the digest of the config.
    public var id: Digest { manifest.config.digest }
    public var format: ImageFormat { manifest.mediaType == MediaType.ociManifest ? .oci : .docker }
}

/// One row of `imagekit images`.
public struct ImageSummary: Sendable, Codable {
    public let name: String?
    public let tag: String?
    public let digest: Digest
    public let id: Digest
    public let created: String?
    public let uncompressedSize: Int64
    public let compressedSize: Int64
}
