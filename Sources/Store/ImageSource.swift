import Foundation
import OCI

/// An image read in place from an OCI image layout or a docker-archive, outside any store:
/// its config and where each layer blob's bytes are.
public struct ImageSource: Sendable {
    /// The manifest's digest, when the format names it (an OCI layout does).
    public var digest: Digest?
    public var config: ImageConfig
    public var layers: [LayerBlob]
}
