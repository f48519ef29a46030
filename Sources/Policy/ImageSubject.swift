import Foundation
import OCI
import Store

/// The image being verified: its config and its layers, wherever they live.
public struct ImageSubject: Sendable {
    /// What the user named (shown in reports; SARIF's artifact URI).
    public var reference: String
    public var digest: Digest?
    public var config: ImageConfig
    public var layers: [LayerBlob]
    /// The store that keeps each layer's file list (its file index) for next time; nil to read every layer.
    public var fileIndexes: ImageStore?

    public init(reference: String, digest: Digest?, config: ImageConfig, layers: [LayerBlob], fileIndexes: ImageStore?)
    {
        self.reference = reference
        self.digest = digest
        self.config = config
        self.layers = layers
        self.fileIndexes = fileIndexes
    }

    /// The history entry that made each layer (entries marked `empty_layer` made none).
    public var layerInstructions: [String?] {
        let made = config.history.filter { $0.emptyLayer != true }
        // Aligned from the end: tools that drop history lose it for the oldest (base) layers.
        let shift = made.count - layers.count
        return layers.indices.map { index in
            let position = index + shift
            return made.indices.contains(position) ? made[position].createdBy : nil
        }
    }
}

/// Finds the image a user named: a store image, an OCI image layout, or a docker-archive tar.
public enum ImageLocator {
    /// `oci:DIR[:TAG]`, `docker-archive:FILE[:TAG]`, a directory with `oci-layout`, a `.tar` file,
    /// else a store name, name:tag or digest.
    public static func load(_ text: String, storeRoot: URL) async throws -> ImageSubject {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if text.hasPrefix("oci:") {
            let (path, tag) = splitTag(String(text.dropFirst(4)), isDirectory: true)
            return try ImageSubject.layout(directory: URL(fileURLWithPath: path), tag: tag, reference: text)
        }
        if text.hasPrefix("docker-archive:") {
            let (path, tag) = splitTag(String(text.dropFirst("docker-archive:".count)), isDirectory: false)
            return try ImageSubject.dockerArchive(file: URL(fileURLWithPath: path), tag: tag, reference: text)
        }
        if fm.fileExists(atPath: text, isDirectory: &isDir) {
            if isDir.boolValue {
                guard fm.fileExists(atPath: (text as NSString).appendingPathComponent("oci-layout")) else {
                    throw PolicyError.invalidImage(
                        text, reason: "the directory has no oci-layout file, so it is not an OCI image layout")
                }
                return try ImageSubject.layout(directory: URL(fileURLWithPath: text), tag: nil, reference: text)
            }
            if text.hasSuffix(".tar") {
                return try ImageSubject.dockerArchive(file: URL(fileURLWithPath: text), tag: nil, reference: text)
            }
        }
        if text.hasSuffix(".tar") || text.hasPrefix("/") || text.hasPrefix("./") {
            throw PolicyError.invalidImage(
                text,
                reason:
                    "no such file or directory; give an OCI layout directory, a docker-archive .tar or a store image name"
            )
        }
        let store = try ImageStore(root: storeRoot)
        let image = try await store.resolve(text)
        var layers: [LayerBlob] = []
        for (index, layer) in image.manifest.layers.enumerated() {
            let info = await store.layerInfo(layer.digest)
            let diffID = index < image.config.rootfs.diffIDs.count ? image.config.rootfs.diffIDs[index] : info?.diffID
            layers.append(
                LayerBlob(
                    digest: layer.digest, diffID: diffID, file: store.blobURL(layer.digest),
                    length: layer.size, uncompressedSize: info?.uncompressedSize))
        }
        let name = image.names.first?.familiar ?? image.digest.description
        return ImageSubject(
            reference: text.contains("sha256:") || text.allSatisfy(\.isHexDigit) ? name : text,
            digest: image.digest, config: image.config, layers: layers,
            fileIndexes: store)
    }

    /// `DIR:TAG` -> (DIR, TAG) unless the whole text is an existing path.
    static func splitTag(_ text: String, isDirectory: Bool) -> (String, String?) {
        if FileManager.default.fileExists(atPath: text) { return (text, nil) }
        guard let colon = text.lastIndex(of: ":"), !text[text.index(after: colon)...].contains("/") else {
            return (text, nil)
        }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }
}

extension ImageSubject {
    /// A layout or docker-archive read by the store's readers, verified in place.
    init(_ source: ImageSource, reference: String) {
        self.init(
            reference: reference, digest: source.digest, config: source.config,
            layers: source.layers, fileIndexes: nil)
    }

    static func layout(directory: URL, tag: String?, reference: String) throws(PolicyError) -> ImageSubject {
        do {
            return ImageSubject(
                try OCILayoutReader.load(directory: directory, tag: tag, reference: reference), reference: reference)
        } catch { throw PolicyError(error, reading: reference) }
    }

    static func dockerArchive(file: URL, tag: String?, reference: String) throws(PolicyError) -> ImageSubject {
        do {
            return ImageSubject(
                try DockerArchiveReader.load(file: file, tag: tag, reference: reference), reference: reference)
        } catch { throw PolicyError(error, reading: reference) }
    }
}

extension PolicyError {
    /// The store's reader errors, worded as verify always worded them.
    init(_ error: StoreError, reading reference: String) {
        if case .invalidImage(let what, let reason) = error {
            self = .invalidImage(what, reason: reason)
        } else {
            self = .invalidImage(reference, reason: error.description)
        }
    }
}
