import Foundation

/// Values every builder and checker of images must agree on.
public enum ImageDefaults {
    /// The PATH a container gets when its image sets none (Docker's and runc's default).
    public static let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    /// OCI annotation keys naming the base image, which `imagekit build` writes as labels.
    public static let baseNameLabel = "org.opencontainers.image.base.name"
    public static let baseDigestLabel = "org.opencontainers.image.base.digest"
}
