import Foundation
import OCI

/// Reads an OCI image layout in place (the format `ImageExporter` writes): the image a tag
/// names, or the only one; a nested index resolves to linux/amd64.
public enum OCILayoutReader {
    public static func load(directory: URL, tag: String?, reference: String) throws(StoreError) -> ImageSource {
        let fm = FileManager.default
        guard fm.fileExists(atPath: directory.appendingPathComponent("oci-layout").path) else {
            throw .invalidImage(
                reference, reason: "\(directory.path) has no oci-layout file; give an OCI image layout directory")
        }
        let indexURL = directory.appendingPathComponent("index.json")
        let index: ImageIndex
        do { index = try ImageIndex.decode(try readFile(indexURL)) } catch let error as OCIError {
            throw .invalidImage(reference, reason: "\(indexURL.path): \(error.description)")
        } catch { throw .invalidImage(reference, reason: "\(error)") }
        let refName = ImageStore.refNameAnnotation
        var entry: Descriptor
        if let tag {
            let matches = index.manifests.filter { d in
                guard let name = d.annotations?[refName] else { return false }
                return name == tag || name.hasSuffix(":" + tag)
            }
            guard let first = matches.first else {
                let tags = index.manifests.compactMap { $0.annotations?[refName] }
                throw .invalidImage(
                    reference,
                    reason:
                        "no image tagged '\(tag)' in \(indexURL.path) (tags: \(tags.isEmpty ? "none" : tags.joined(separator: ", ")))"
                )
            }
            entry = first
        } else {
            guard index.manifests.count == 1, let only = index.manifests.first else {
                let tags = index.manifests.compactMap { $0.annotations?[refName] }
                throw .invalidImage(
                    reference,
                    reason: index.manifests.isEmpty
                        ? "the layout has no images"
                        : "the layout has \(index.manifests.count) images; name one as oci:\(directory.path):TAG (tags: \(tags.joined(separator: ", ")))"
                )
            }
            entry = only
        }
        func blob(_ digest: Digest) -> URL {
            directory.appendingPathComponent("blobs/\(digest.algorithm)/\(digest.encoded)")
        }
        do {
            if MediaType.indexes.contains(entry.mediaType) {
                let nested = try ImageIndex.decode(try readFile(blob(entry.digest)))
                entry = try nested.manifest(for: .linuxAMD64)
            }
            let manifest = try Manifest.decode(try readFile(blob(entry.digest)))
            let config = try ImageConfig.decode(try readFile(blob(manifest.config.digest)))
            let layers = manifest.layers.enumerated().map { index, layer in
                LayerBlob(
                    digest: layer.digest,
                    diffID: index < config.rootfs.diffIDs.count ? config.rootfs.diffIDs[index] : nil,
                    file: blob(layer.digest), offset: 0, length: layer.size,
                    uncompressedSize: layer.mediaType == MediaType.ociLayerTar ? layer.size : nil)
            }
            return ImageSource(digest: entry.digest, config: config, layers: layers)
        } catch let error as StoreError {
            throw error
        } catch let error as OCIError {
            throw .invalidImage(reference, reason: error.description)
        } catch {
            throw .invalidImage(reference, reason: "\(error)")
        }
    }

    static func readFile(_ url: URL) throws(StoreError) -> Data {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw .invalidImage(url.path, reason: "the file is missing or unreadable")
        }
        return data
    }
}
