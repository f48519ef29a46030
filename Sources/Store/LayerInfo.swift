import Foundation
import OCI

#if canImport(Glibc)
import Glibc
#endif

/// What the store knows about a layer blob beyond its digest: recorded when the layer is
/// written or pulled, so listings and policies never have to decompress it again.
public struct LayerInfo: Sendable, Codable, Hashable {
    public var diffID: Digest
    public var uncompressedSize: Int64
    /// The blob file as it was when its digest and diffID were computed from its bytes; nil
    /// when the diffID was only taken from a config (then it is checked again before it is trusted).
    public var verified: FileStamp?

    public init(diffID: Digest, uncompressedSize: Int64, verified: FileStamp? = nil) {
        self.diffID = diffID
        self.uncompressedSize = uncompressedSize
        self.verified = verified
    }
}

/// Identifies one version of a file cheaply (inode, size, mtime): a blob whose stamp is
/// unchanged since it was hashed is not hashed again.
public struct FileStamp: Sendable, Codable, Hashable {
    public var inode: UInt64
    public var size: Int64
    public var mtimeNanoseconds: Int64

    public init?(_ url: URL) {
        var st = stat()
        guard stat(url.path, &st) == 0 else { return nil }
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        mtimeNanoseconds = Int64(st.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(st.st_mtim.tv_nsec)
    }
}

/// Where a layer blob that is not in the store lives.
public struct RemoteLayer: Sendable, Codable, Hashable {
    /// `REGISTRY/REPO`
    public var repository: String

    public init(repository: String) { self.repository = repository }
}
