import Build
import Foundation
import OCI
import Store

/// Base images for builds: the local store first (the builder checks it); a registry pull otherwise.
struct BaseImages: BaseImageSource {
    struct Options: Sendable {}
    let options: Options

    func pull(_ reference: ImageReference, platform: OCI.Platform, into store: ImageStore) async throws -> StoredImage {
        throw CommandFailure.usage("\(reference.familiar) is not in the local store; import or pull it first (`imagekit pull \(reference.familiar)`)")
    }
}
