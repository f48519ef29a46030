import Build
import Foundation
import OCI
import Registry
import Store

/// Base images for builds: the builder checks the local store first; this pulls what is missing
/// from its registry (Docker's credentials, `--insecure-registry`, `--registry-mirror`).
struct BaseImages: BaseImageSource {
    let clientOptions: RegistryClientOptions
    let progress: ProgressOptions

    func pull(_ reference: ImageReference, platform: Platform, into store: ImageStore) async throws -> StoredImage {
        let renderer = ProgressRenderer(options: progress, verb: "pulling")
        let image = try await RegistryOptions.withClient(credentials: DockerConfigCredentials(), options: clientOptions) { client in
            try await client.pull(reference, platform: platform, into: store, progress: renderer)
        }
        renderer.finish()
        return image
    }
}
