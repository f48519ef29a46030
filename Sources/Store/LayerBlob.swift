import Foundation
import OCI

/// One layer blob to read: a file in a store or layout, or a member of a docker-archive tar.
public struct LayerBlob: Sendable {
    public var digest: Digest?
    public var diffID: Digest?
    public var file: URL
    /// Where the blob starts in `file` (0 for a standalone blob).
    public var offset: Int64
    /// Bytes of the blob as stored (compressed when gzip).
    public var length: Int64
    /// Bytes of the layer tar, when known without reading it.
    public var uncompressedSize: Int64?

    public init(digest: Digest?, diffID: Digest?, file: URL, offset: Int64 = 0, length: Int64, uncompressedSize: Int64?)
    {
        self.digest = digest
        self.diffID = diffID
        self.file = file
        self.offset = offset
        self.length = length
        self.uncompressedSize = uncompressedSize
    }
}
