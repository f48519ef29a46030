/// The two image formats imagekit writes.
public enum ImageFormat: String, Sendable, CaseIterable, Codable {
    case docker, oci

    public var manifestMediaType: String { self == .docker ? MediaType.dockerManifest : MediaType.ociManifest }
    public var configMediaType: String { self == .docker ? MediaType.dockerConfig : MediaType.ociConfig }
    public var layerMediaType: String { self == .docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip }
    public var indexMediaType: String { self == .docker ? MediaType.dockerManifestList : MediaType.ociIndex }

    /// The layer media type of this format for a layer written in any format.
    public func convertLayerMediaType(_ mediaType: String) -> String {
        switch mediaType {
        case MediaType.dockerLayerGzip, MediaType.ociLayerGzip: return layerMediaType
        default: return mediaType
        }
    }
}
