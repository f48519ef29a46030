import Foundation
import OCI
import Store

/// One layer blob to read: a file in a store or layout, or a member of a docker-archive tar.
public struct LayerBlob: Sendable {
    public var digest: Digest?
    public var diffID: Digest?
    public var file: URL
    /// Where the blob starts in `file` (0 for a standalone blob).
    public var offset: Int64
    /// Bytes of the blob as stored (compressed when gzip).
    public var length: Int64
    /// Bytes of the layer tar, when known without reading it.
    public var uncompressedSize: Int64?

    public init(digest: Digest?, diffID: Digest?, file: URL, offset: Int64 = 0, length: Int64, uncompressedSize: Int64?)
    {
        self.digest = digest
        self.diffID = diffID
        self.file = file
        self.offset = offset
        self.length = length
        self.uncompressedSize = uncompressedSize
    }
}

/// The image being verified: its config and its layers, wherever they live.
public struct ImageSubject: Sendable {
    /// What the user named (shown in reports; SARIF's artifact URI).
    public var reference: String
    public var digest: Digest?
    public var config: ImageConfig
    public var layers: [LayerBlob]
    /// Where per-layer file lists are cached (`<store>/meta/files`); nil to read every layer.
    public var cacheDirectory: URL?

    public init(reference: String, digest: Digest?, config: ImageConfig, layers: [LayerBlob], cacheDirectory: URL?) {
        self.reference = reference
        self.digest = digest
        self.config = config
        self.layers = layers
        self.cacheDirectory = cacheDirectory
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
            return try OCILayoutReader.load(directory: URL(fileURLWithPath: path), tag: tag, reference: text)
        }
        if text.hasPrefix("docker-archive:") {
            let (path, tag) = splitTag(String(text.dropFirst("docker-archive:".count)), isDirectory: false)
            return try DockerArchiveReader.load(file: URL(fileURLWithPath: path), tag: tag, reference: text)
        }
        if fm.fileExists(atPath: text, isDirectory: &isDir) {
            if isDir.boolValue {
                guard fm.fileExists(atPath: (text as NSString).appendingPathComponent("oci-layout")) else {
                    throw PolicyError.invalidImage(
                        text, reason: "the directory has no oci-layout file, so it is not an OCI image layout")
                }
                return try OCILayoutReader.load(directory: URL(fileURLWithPath: text), tag: nil, reference: text)
            }
            if text.hasSuffix(".tar") {
                return try DockerArchiveReader.load(file: URL(fileURLWithPath: text), tag: nil, reference: text)
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
            cacheDirectory: store.root.appendingPathComponent("meta/files"))
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

enum OCILayoutReader {
    static func load(directory: URL, tag: String?, reference: String) throws(PolicyError) -> ImageSubject {
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
                    file: blob(layer.digest), length: layer.size,
                    uncompressedSize: layer.mediaType == MediaType.ociLayerTar ? layer.size : nil)
            }
            return ImageSubject(
                reference: reference, digest: entry.digest, config: config, layers: layers, cacheDirectory: nil)
        } catch let error as PolicyError {
            throw error
        } catch let error as OCIError {
            throw .invalidImage(reference, reason: error.description)
        } catch {
            throw .invalidImage(reference, reason: "\(error)")
        }
    }

    static func readFile(_ url: URL) throws(PolicyError) -> Data {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw .invalidImage(url.path, reason: "the file is missing or unreadable")
        }
        return data
    }
}

/// `docker save` output: a tar holding manifest.json, the config and the layer tars.
/// Layers are read in place (offset into the tar), never extracted.
enum DockerArchiveReader {
    private struct Entry: Decodable {
        var Config: String
        var RepoTags: [String]?
        var Layers: [String]
    }

    static func load(file: URL, tag: String?, reference: String) throws(PolicyError) -> ImageSubject {
        let members = try TarMembers.index(file)
        func bytes(_ name: String) throws(PolicyError) -> Data {
            guard let member = members[normalize(name)] else {
                throw .invalidImage(reference, reason: "\(name) is missing from \(file.path)")
            }
            return try TarMembers.read(file, member)
        }
        let entries: [Entry]
        do { entries = try JSONDecoder().decode([Entry].self, from: try bytes("manifest.json")) } catch let error
            as PolicyError
        {
            throw error
        } catch {
            throw .invalidImage(
                reference, reason: "manifest.json in \(file.path) is not a docker save manifest: \(error)")
        }
        let chosen: Entry?
        if let tag {
            chosen = entries.first { $0.RepoTags?.contains { $0 == tag || $0.hasSuffix(":" + tag) } ?? false }
        } else {
            chosen = entries.count == 1 ? entries.first : nil
        }
        guard let entry = chosen else {
            let tags = entries.flatMap { $0.RepoTags ?? [] }
            throw .invalidImage(
                reference,
                reason: tag == nil
                    ? "the archive holds \(entries.count) images; name one as docker-archive:\(file.path):TAG (tags: \(tags.joined(separator: ", ")))"
                    : "no image tagged '\(tag!)' in the archive (tags: \(tags.joined(separator: ", ")))")
        }
        let config: ImageConfig
        do { config = try ImageConfig.decode(try bytes(entry.Config)) } catch let error as PolicyError {
            throw error
        } catch {
            throw .invalidImage(reference, reason: "\(entry.Config): \(error)")
        }
        var layers: [LayerBlob] = []
        for (index, name) in entry.Layers.enumerated() {
            guard let member = members[normalize(name)] else {
                throw .invalidImage(reference, reason: "layer \(name) is missing from \(file.path)")
            }
            let hex = name.hasPrefix("blobs/sha256/") ? String(name.dropFirst("blobs/sha256/".count)) : nil
            let digest = hex.flatMap { try? Digest(parsing: "sha256:" + $0) }
            layers.append(
                LayerBlob(
                    digest: digest, diffID: index < config.rootfs.diffIDs.count ? config.rootfs.diffIDs[index] : nil,
                    file: file, offset: member.offset, length: member.size, uncompressedSize: nil))
        }
        return ImageSubject(reference: reference, digest: nil, config: config, layers: layers, cacheDirectory: nil)
    }

    private static func normalize(_ name: String) -> String {
        name.hasPrefix("./") ? String(name.dropFirst(2)) : name
    }
}

/// The members of an uncompressed tar file: name -> where its data starts and how long it is.
enum TarMembers {
    struct Member { var offset: Int64; var size: Int64 }

    static func index(_ url: URL) throws(PolicyError) -> [String: Member] {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .invalidImage(url.path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var members: [String: Member] = [:]
        var offset: Int64 = 0
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .invalidImage(url.path, reason: String(cString: strerror(errno))) }
        let fileSize = Int64(st.st_size)
        var header = [UInt8](repeating: 0, count: 512)
        var longName: String?
        while true {
            let n = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 512, off_t(offset)) }
            guard n == 512 else {
                if n == 0 && !members.isEmpty { break }
                throw .invalidImage(url.path, reason: "not a tar file, or truncated at byte \(offset)")
            }
            if header.allSatisfy({ $0 == 0 }) { break }
            let dataOffset = offset + 512
            // Every member must fit in the file: negative or impossible sizes (a crafted
            // base-256 field) would send the walk backwards or past the end.
            guard let size = number(header[124..<136]), size >= 0, size <= fileSize - dataOffset else {
                throw .invalidImage(
                    url.path,
                    reason:
                        "the tar header at byte \(offset) declares an impossible size; the archive is damaged or crafted"
                )
            }
            let type = header[156]
            let padded = (size + 511) / 512 * 512
            if type == UInt8(ascii: "L") || type == UInt8(ascii: "x") {
                guard size <= 1 << 20 else {
                    throw .invalidImage(
                        url.path,
                        reason:
                            "the extended header at byte \(offset) is larger than 1 MiB; the archive is damaged or crafted"
                    )
                }
                var data = [UInt8](repeating: 0, count: Int(size))
                _ = data.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Int(size), off_t(dataOffset)) }
                if type == UInt8(ascii: "L") {
                    longName = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
                } else if let path = paxPath(data) {
                    longName = path
                }
            } else {
                var name = longName ?? string(header[0..<100])
                if longName == nil, header[257..<262].elementsEqual(Array("ustar".utf8)) {
                    let prefix = string(header[345..<500])
                    if !prefix.isEmpty { name = prefix + "/" + name }
                }
                longName = nil
                if name.hasPrefix("./") { name.removeFirst(2) }
                if type == 0 || type == UInt8(ascii: "0") { members[name] = Member(offset: dataOffset, size: size) }
            }
            offset = dataOffset + padded
        }
        return members
    }

    static func read(_ url: URL, _ member: Member) throws(PolicyError) -> Data {
        guard member.size < 64 << 20, let handle = FileHandle(forReadingAtPath: url.path) else {
            throw .invalidImage(url.path, reason: "cannot read a member of the archive")
        }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: UInt64(member.offset))
            return try handle.read(upToCount: Int(member.size)) ?? Data()
        } catch { throw .invalidImage(url.path, reason: "\(error)") }
    }

    private static func string(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// An octal or base-256 field; nil for negative values (0xff lead byte) or any that overflow.
    private static func number(_ field: ArraySlice<UInt8>) -> Int64? {
        if let first = field.first, first & 0x80 != 0 {  // base-256 for large sizes
            guard first & 0x40 == 0 else { return nil }  // the sign bit: a negative size
            var value = Int64(first & 0x3f)
            for byte in field.dropFirst() {
                guard value <= (Int64.max - Int64(byte)) >> 8 else { return nil }
                value = value << 8 | Int64(byte)
            }
            return value
        }
        let text = string(field).trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? 0 : Int64(text, radix: 8)
    }

    private static func paxPath(_ data: [UInt8]) -> String? {
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let space = line.firstIndex(of: " ") else { continue }
            let record = line[line.index(after: space)...]
            if record.hasPrefix("path=") { return String(record.dropFirst(5)) }
        }
        return nil
    }
}
