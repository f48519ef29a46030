import Archive
import Foundation
import OCI

#if canImport(Glibc)
import Glibc
#endif

/// Writes a stored image out of the store: an OCI image layout (directory or tar), or a tar that
/// `docker load` and `podman load` accept (an OCI layout plus Docker's manifest.json, as Docker 25+ writes).
public struct ImageExporter: Sendable {
    public enum Kind: Sendable { case ociDirectory, ociTar, dockerArchive }

    public let store: ImageStore
    public init(store: ImageStore) { self.store = store }

    /// Returns the digest of the manifest as written (it differs from the stored one when the format is converted).
    @discardableResult
    public func export(
        _ image: StoredImage, as kind: Kind, to destination: URL, reference: ImageReference?
    ) async throws -> Digest {
        let format: ImageFormat = kind == .dockerArchive ? .docker : .oci
        let manifestData: Data
        let manifest: Manifest
        if image.format == format {
            manifestData = image.manifestData
            manifest = image.manifest
        } else {
            manifest = image.manifest.converted(to: format)
            manifestData = try CanonicalJSON.encode(manifest)
        }
        let manifestDigest = SHA256Hasher.hash(manifestData)
        var annotations: [String: String] = [:]
        if let reference {
            annotations[ImageStore.refNameAnnotation] = reference.tag ?? reference.digest?.description ?? "latest"
            annotations[ImageStore.containerdNameAnnotation] = reference.description
        }
        let descriptor = Descriptor(
            mediaType: format.manifestMediaType, digest: manifestDigest, size: Int64(manifestData.count),
            annotations: annotations.isEmpty ? nil : annotations)
        let blobs = [manifest.config.digest] + manifest.layers.map(\.digest)
        for digest in blobs where !store.hasBlob(digest) { throw StoreError.blobMissing(digest) }

        switch kind {
        case .ociDirectory:
            try writeDirectory(destination, descriptor: descriptor, manifestData: manifestData, blobs: blobs)
        case .ociTar, .dockerArchive:
            var extra: [(String, Data)] = []
            if kind == .dockerArchive {
                let repoTag = reference.flatMap { $0.tag == nil ? nil : $0.familiar }
                let entry: [String: Any] = [
                    "Config": "blobs/sha256/\(manifest.config.digest.encoded)",
                    "RepoTags": repoTag.map { [$0] } ?? [],
                    "Layers": manifest.layers.map { "blobs/sha256/\($0.digest.encoded)" },
                ]
                extra.append(
                    ("manifest.json", try JSONSerialization.data(withJSONObject: [entry], options: [.sortedKeys])))
                if let reference, let tag = reference.tag {
                    let repositories = [reference.familiarName: [tag: manifest.config.digest.encoded]]
                    extra.append(
                        (
                            "repositories",
                            try JSONSerialization.data(withJSONObject: repositories, options: [.sortedKeys])
                        ))
                }
            }
            try writeTar(destination, descriptor: descriptor, manifestData: manifestData, blobs: blobs, extra: extra)
        }
        return manifestDigest
    }

    private func layoutFiles(descriptor: Descriptor) throws -> (layout: Data, index: Data) {
        let index = ImageIndex(mediaType: MediaType.ociIndex, manifests: [descriptor])
        return (Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), try CanonicalJSON.encode(index))
    }

    /// A layout directory; an existing layout gains the image (an entry with the same name is replaced).
    private func writeDirectory(_ dir: URL, descriptor: Descriptor, manifestData: Data, blobs: [Digest]) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let indexURL = dir.appendingPathComponent("index.json")
        var entries: [Descriptor] = []
        if fm.fileExists(atPath: dir.path, isDirectory: &isDir) {
            guard isDir.boolValue else {
                throw StoreError.cannotCreate(
                    path: dir.path, reason: "it is a file; give a directory path, or a path ending in .tar")
            }
            let contents = try fm.contentsOfDirectory(atPath: dir.path)
            if !contents.isEmpty {
                guard contents.contains("oci-layout"), let data = try? FileOps.read(indexURL) else {
                    throw StoreError.cannotCreate(
                        path: dir.path,
                        reason: "the directory is not empty and not an OCI layout; choose an empty or new directory")
                }
                entries = try ImageIndex.decode(data).manifests
            }
        }
        try FileOps.makeDirectory(dir.appendingPathComponent("blobs/sha256"))
        for digest in blobs { try copyBlob(digest, to: dir.appendingPathComponent("blobs/sha256/\(digest.encoded)")) }
        try FileOps.atomicWrite(
            manifestData, to: dir.appendingPathComponent("blobs/sha256/\(descriptor.digest.encoded)"))
        try FileOps.atomicWrite(
            Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), to: dir.appendingPathComponent("oci-layout"))
        let name = descriptor.annotations?[ImageStore.refNameAnnotation]
        entries.removeAll { name != nil && $0.annotations?[ImageStore.refNameAnnotation] == name }
        entries.append(descriptor)
        try FileOps.atomicWrite(
            try CanonicalJSON.encode(ImageIndex(mediaType: MediaType.ociIndex, manifests: entries)), to: indexURL)
    }

    /// A reflink (FICLONE: copy-on-write, instant on btrfs and xfs) or else a copy, checked
    /// against its digest on the way. Never a hard link: editing an export must not change the store.
    private func copyBlob(_ digest: Digest, to destination: URL) throws {
        if FileManager.default.fileExists(atPath: destination.path) { return }
        let source = store.blobURL(digest)
        let temp = destination.appendingPathExtension("tmp")
        unlink(temp.path)
        let input = open(source.path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw StoreError.io(path: source.path, operation: "opening", errno: errno) }
        defer { close(input) }
        let output = open(temp.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw StoreError.io(path: temp.path, operation: "creating", errno: errno) }
        var done = false
        defer {
            close(output)
            if !done { unlink(temp.path) }
        }
        if ioctl(output, Self.ficlone, input) != 0 {
            let hasher = SHA256Hasher()
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                let n = read(input, buffer.baseAddress, buffer.count)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw StoreError.io(path: source.path, operation: "reading", errno: errno)
                }
                if n == 0 { break }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                hasher.update(chunk)
                try writeAll(output, chunk, path: temp.path)
            }
            let actual = hasher.finalizeDigest()
            guard actual == digest else {
                throw StoreError.corrupt(path: source.path, reason: "its content hashes to \(actual)")
            }
        }
        guard fsync(output) == 0 else { throw StoreError.io(path: temp.path, operation: "syncing", errno: errno) }
        try FileOps.moveIntoPlace(temp, destination)
        done = true
    }

    /// `_IOW(0x94, 9, int)` from linux/fs.h.
    static let ficlone = UInt(0x4004_9409)

    /// A tar written to a temporary name next to the destination, then renamed: never half a file.
    private func writeTar(
        _ destination: URL, descriptor: Descriptor, manifestData: Data, blobs: [Digest], extra: [(String, Data)]
    ) throws {
        let temp = destination.deletingLastPathComponent().appendingPathComponent(
            ".\(destination.lastPathComponent).\(getpid()).partial")
        unlink(temp.path)
        do {
            let files = try layoutFiles(descriptor: descriptor)
            let writer = try TarFileWriter(output: temp)
            try writer.addDirectory("blobs")
            try writer.addDirectory("blobs/sha256")
            var written = Set<Digest>()
            for digest in blobs where written.insert(digest).inserted {
                try writer.addFile("blobs/sha256/\(digest.encoded)", contentsOf: store.blobURL(digest))
            }
            try writer.addFile("blobs/sha256/\(descriptor.digest.encoded)", data: manifestData)
            try writer.addFile("oci-layout", data: files.layout)
            try writer.addFile("index.json", data: files.index)
            for (name, data) in extra { try writer.addFile(name, data: data) }
            try writer.finish()
            try FileOps.moveIntoPlace(temp, destination)
        } catch {
            unlink(temp.path)
            throw error
        }
    }
}
