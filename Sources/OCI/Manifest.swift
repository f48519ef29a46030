import Foundation

/// An image manifest, Docker v2 schema 2 or OCI (same shape, different media types).
public struct Manifest: Sendable, Hashable, Codable {
    public var schemaVersion: Int = 2
    /// Always written: ECR refuses manifests without a top-level mediaType.
    public var mediaType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var annotations: [String: String]?
    public var subject: Descriptor?
    public var artifactType: String?

    public init(mediaType: String, config: Descriptor, layers: [Descriptor], annotations: [String: String]? = nil) {
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
        self.annotations = annotations
    }

    public static func decode(_ data: Data) throws(OCIError) -> Manifest {
        let manifest = try CanonicalJSON.decode(Manifest.self, from: data, what: "image manifest")
        guard manifest.schemaVersion == 2 else {
            throw .invalidJSON(
                what: "image manifest", reason: "schemaVersion \(manifest.schemaVersion) is not supported (only 2)")
        }
        return manifest
    }

    /// Sum of the layer blob sizes: what the registry stores for this image.
    public var compressedLayerSize: Int64 { layers.reduce(0) { $0 + $1.size } }

    /// The same image in the other format: media types change, digests of layers and config do not.
    public func converted(to format: ImageFormat) -> Manifest {
        var copy = self
        copy.mediaType = format.manifestMediaType
        copy.config.mediaType = format.configMediaType
        copy.layers = layers.map {
            var l = $0; l.mediaType = format.convertLayerMediaType(l.mediaType); return l
        }
        return copy
    }
}

/// An OCI image index or a Docker manifest list.
public struct ImageIndex: Sendable, Hashable, Codable {
    public var schemaVersion: Int = 2
    public var mediaType: String?
    public var manifests: [Descriptor]
    public var annotations: [String: String]?

    public init(mediaType: String? = MediaType.ociIndex, manifests: [Descriptor], annotations: [String: String]? = nil)
    {
        self.mediaType = mediaType
        self.manifests = manifests
        self.annotations = annotations
    }

    public static func decode(_ data: Data) throws(OCIError) -> ImageIndex {
        try CanonicalJSON.decode(ImageIndex.self, from: data, what: "image index")
    }

    /// The manifest for a platform, as `docker pull` picks it.
    public func manifest(for platform: Platform) throws(OCIError) -> Descriptor {
        let candidates = manifests.filter { MediaType.manifests.contains($0.mediaType) }
        if let match = candidates.first(where: { $0.platform.map { platform.matches($0) } ?? false }) { return match }
        throw .noMatchingPlatform(
            wanted: platform.description, available: candidates.compactMap { $0.platform?.description })
    }
}

/// Reads just the media type of a manifest-ish JSON document (manifests, indexes).
public enum ManifestKind {
    private struct Probe: Decodable { var mediaType: String?; var manifests: [JSONValue]?; var config: JSONValue? }

    /// The media type declared in the document, or inferred from its shape when absent (older OCI manifests).
    public static func mediaType(of data: Data) throws(OCIError) -> String {
        let probe = try CanonicalJSON.decode(Probe.self, from: data, what: "manifest")
        if let declared = probe.mediaType { return declared }
        if probe.manifests != nil { return MediaType.ociIndex }
        if probe.config != nil { return MediaType.ociManifest }
        throw .invalidJSON(
            what: "manifest", reason: "neither a manifest nor an index (no mediaType, config or manifests)")
    }
}
