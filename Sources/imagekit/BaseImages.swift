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
    /// With a registry build cache, base layers it has file lists for stay in their registry
    /// until a step must see their files (the cache's client pulls the rest).
    var registryCache: (client: RegistryClient, cache: RegistryBuildCache)?

    func pull(_ reference: ImageReference, platform: Platform, into store: ImageStore) async throws -> StoredImage {
        let renderer = ProgressRenderer(options: progress, verb: "pulling")
        if let (client, cache) = registryCache {
            let image = try await client.pull(reference, platform: platform, into: store, progress: renderer) {
                layer, diffID in
                await cache.leaveInRegistry(layer, diffID: diffID)
            }
            renderer.finish()
            return image
        }
        let image = try await RegistryOptions.withClient(credentials: DockerConfigCredentials(), options: clientOptions)
        { client in
            try await client.pull(reference, platform: platform, into: store, progress: renderer)
        }
        renderer.finish()
        return image
    }
}
