import Archive
import Dockerfile
import Foundation
import OCI
import Store

/// Where base images come from when the store does not have them (a registry pull, in the CLI).
/// The build knows nothing about registries.
public protocol BaseImageSource: Sendable {
    func pull(_ reference: ImageReference, platform: Platform, into store: ImageStore) async throws -> StoredImage
}
