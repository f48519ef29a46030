/// Media types of the Docker v2 schema 2 and OCI image formats.
public enum MediaType {
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerForeignLayerGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayerTar = "application/vnd.oci.image.layer.v1.tar"
    public static let ociLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"

    public static let manifests: Set<String> = [dockerManifest, ociManifest]
    public static let indexes: Set<String> = [dockerManifestList, ociIndex]
    public static let layers: Set<String> = [dockerLayerGzip, dockerForeignLayerGzip, ociLayerGzip, ociLayerTar]

    /// What a pull sends in Accept: both index kinds and both manifest kinds.
    public static let acceptedManifests = [ociIndex, dockerManifestList, ociManifest, dockerManifest]
}
