import ArgumentParser
import Foundation
import OCI
import Store

struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Show an image's manifest and config as JSON.")

    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "Image: name[:tag], digest, or digest prefix.") var image: String

    private struct Inspection: Encodable {
        let names: [String]
        let digest: Digest
        let id: Digest
        let mediaType: String
        let manifest: Manifest
        let config: ImageConfig
        let uncompressedSize: Int64
        let compressedSize: Int64
    }

    func run() async throws {
        let store = try storeOptions.open()
        let stored = try await store.resolve(image)
        var uncompressed: Int64 = 0
        for layer in stored.manifest.layers {
            uncompressed = uncompressed.addingSaturating(
                await store.layerInfo(layer.digest)?.uncompressedSize ?? layer.size)
        }
        try Output.json(
            Inspection(
                names: stored.names.map(\.familiar), digest: stored.digest, id: stored.id,
                mediaType: stored.descriptor.mediaType, manifest: stored.manifest, config: stored.config,
                uncompressedSize: uncompressed, compressedSize: stored.manifest.compressedLayerSize))
    }
}
