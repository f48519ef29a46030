import Foundation
import OCI

/// An image read in place from an OCI image layout or a docker-archive, outside any store:
/// its config and where each layer blob's bytes are.
public struct ImageSource: Sendable {
    /// One layer blob: a file in a layout, or a member of a docker-archive tar.
    public struct Layer: Sendable {
        public var digest: Digest?
        public var diffID: Digest?
        public var file: URL
        /// Where the blob starts in `file` (0 for a standalone blob).
        public var offset: Int64
        /// Bytes of the blob as stored (compressed when gzip).
        public var length: Int64
        /// Bytes of the layer tar, when known without reading it.
        public var uncompressedSize: Int64?
    }

    /// The manifest's digest, when the format names it (an OCI layout does).
    public var digest: Digest?
    public var config: ImageConfig
    public var layers: [Layer]
}
