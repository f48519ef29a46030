import CLibArchive
import Foundation
import OCI

/// Reads a layer (.tar or .tar.gz, detected from the bytes) entry by entry, from a file or a
/// file descriptor such as stdin. Paths are normalized and checked: absolute paths, ".."
/// components and hardlinks leaving the layer are refused here, before anyone can use them.
public final class LayerReader {
    private let archive: OpaquePointer
    /// The layer's name in error messages (its path, or "fd N").
    let name: String
    private var entry: OpaquePointer?
    /// Set when the reader hashes what it reads (`init(verifying:)`).
    private var source: HashingSource?

    public convenience init(path: URL) throws(ArchiveError) {
        var st = stat()
        if stat(path.path, &st) != 0 {
            let code = errno
            if code == ENOENT { throw .missingPath(path.path, what: "layer") }
            throw .unreadable(path.path, reason: errnoText(code))
        }
        let fd = open(path.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path.path, reason: errnoText()) }
        try self.init(descriptor: fd, name: path.path, owned: true)
    }

    /// Reads a layer blob (gzip or plain tar) while hashing it: the blob's bytes give its digest,
    /// the inflated tar its diffID. Call `finishVerification` after the last entry.
    public init(verifying path: URL) throws(ArchiveError) {
        name = path.path
        let fd = open(path.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw .missingPath(path.path, what: "layer") }
            throw .unreadable(path.path, reason: errnoText(code))
        }
        ownedFD = fd
        guard let a = archive_read_new() else {
            close(fd)
            throw .unreadable(name, reason: "libarchive could not allocate a reader")
        }
        archive = a
        let source = try HashingSource(fd: fd, name: name)
        self.source = source
        archive_read_support_format_tar(a)
        archive_read_support_format_empty(a)
        let context = Unmanaged.passUnretained(source).toOpaque()
        if archive_read_open(
            a, context, nil,
            { _, context, buffer in
                let source = Unmanaged<HashingSource>.fromOpaque(context!).takeUnretainedValue()
                do throws(ArchiveError) {
                    let chunk = try source.next()
                    buffer?.pointee = chunk.baseAddress.map { UnsafeRawPointer($0) }
                    return chunk.count
                } catch {
                    source.failure = error
                    return -1
                }
            }, nil) != ARCHIVE_OK
        {
            throw source.failure ?? Self.classify(a, name: name)
        }
    }

    /// Hashes a layer blob without reading its entries: its digest and diffID.
    public static func hash(layer path: URL) throws(ArchiveError) -> LayerDigests {
        let fd = open(path.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path.path, reason: errnoText()) }
        defer { close(fd) }
        return try HashingSource(fd: fd, name: path.path).finish()
    }

    /// Reads what is left of the blob and returns what it hashed to; after the last entry.
    public func finishVerification() throws(ArchiveError) -> LayerDigests {
        guard let source else {
            throw .misuse("finishVerification() on a reader not made with init(verifying:) for '\(name)'")
        }
        return try source.finish()
    }

    /// Reads from an open descriptor; it is not closed (the caller owns it).
    public convenience init(fileDescriptor: Int32) throws(ArchiveError) {
        try self.init(descriptor: fileDescriptor, name: "file descriptor \(fileDescriptor)", owned: false)
    }

    private var ownedFD: Int32 = -1

    private init(descriptor: Int32, name: String, owned: Bool) throws(ArchiveError) {
        self.name = name
        guard let a = archive_read_new() else {
            if owned { close(descriptor) }
            throw .unreadable(name, reason: "libarchive could not allocate a reader")
        }
        archive = a
        if owned { ownedFD = descriptor }
        archive_read_support_filter_gzip(a)
        archive_read_support_filter_zstd(a)
        archive_read_support_format_tar(a)
        archive_read_support_format_empty(a)
        // On failure deinit frees the reader and closes an owned descriptor.
        if archive_read_open_fd(a, descriptor, 1 << 20) != ARCHIVE_OK {
            throw Self.classify(a, name: name)
        }
    }

    deinit {
        archive_read_free(archive)
        if ownedFD >= 0 { close(ownedFD) }
    }

    /// The next entry, or nil at the end of the layer. For regular files `source` is nil and
    /// `size` is set; read the contents with `readData` before calling `next` again.
    public func next() throws(ArchiveError) -> LayerEntry? {
        var e: OpaquePointer?
        let rc = withUTF8Locale { archive_read_next_header(archive, &e) }
        if rc == ARCHIVE_EOF { entry = nil; return nil }
        if rc < ARCHIVE_WARN { entry = nil; throw source?.failure ?? Self.classify(archive, name: name) }
        guard let e else { throw .corruptLayer(name, detail: "an entry without a header") }
        entry = e
        let rawPath = Self.string(archive_entry_pathname_utf8(e)) ?? Self.string(archive_entry_pathname(e)) ?? ""
        let path = try normalize(rawPath, entry: rawPath)
        let perm = UInt32(archive_entry_perm(e)) & 0o7777
        let kind: EntryKind
        if let link = Self.string(archive_entry_hardlink_utf8(e)) ?? Self.string(archive_entry_hardlink(e)) {
            let target = try normalize(link, entry: rawPath)
            if target == "." {
                throw .unsafeEntry(rawPath, layer: name, reason: "a hardlink to the layer's root directory")
            }
            kind = .hardlink(target: target)
        } else {
            switch mode_t(archive_entry_filetype(e)) {
            case FileType.regular:
                let size = archive_entry_size(e)
                guard size >= 0, size <= LayerEntry.maxFileSize else {
                    throw .unsafeEntry(rawPath, layer: name, reason: "it declares an impossible size of \(size) bytes")
                }
                kind = .regular(source: nil, size: size)
            case FileType.directory: kind = .directory
            case FileType.symlink:
                let target = Self.string(archive_entry_symlink_utf8(e)) ?? Self.string(archive_entry_symlink(e)) ?? ""
                kind = .symlink(target: target)
            case FileType.character:
                kind = .characterDevice(
                    major: UInt32(archive_entry_rdevmajor(e)), minor: UInt32(archive_entry_rdevminor(e)))
            case FileType.block:
                kind = .blockDevice(
                    major: UInt32(archive_entry_rdevmajor(e)), minor: UInt32(archive_entry_rdevminor(e)))
            case FileType.fifo: kind = .fifo
            default:
                throw .unsafeEntry(
                    rawPath, layer: name,
                    reason: "unsupported entry type \(String(archive_entry_filetype(e), radix: 8))")
            }
        }
        var xattrs: [String: [UInt8]] = [:]
        if archive_entry_xattr_reset(e) > 0 {
            var namePointer: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while archive_entry_xattr_next(e, &namePointer, &value, &size) == ARCHIVE_OK {
                guard let namePointer else { continue }
                let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                xattrs[String(cString: namePointer)] = bytes
            }
        }
        return LayerEntry(
            path: path, kind: kind, mode: perm, uid: UInt32(truncatingIfNeeded: archive_entry_uid(e)),
            gid: UInt32(truncatingIfNeeded: archive_entry_gid(e)), mtime: Int64(archive_entry_mtime(e)),
            xattrs: xattrs)
    }

    /// Streams the current entry's contents in chunks.
    public func readData(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard entry != nil else { throw ArchiveError.misuse("readData() without a current entry in '\(name)'") }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = archive_read_data(archive, buffer.baseAddress, buffer.count)
            if n == 0 { return }
            if n < 0 {
                if n == ARCHIVE_WARN { continue }
                throw source?.failure ?? Self.classify(archive, name: name)
            }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    /// Streams the current entry's data blocks with their offsets in the file, without copying;
    /// the holes of a sparse entry are skipped, not filled with zeros.
    public func readDataBlocks(_ body: (Int64, UnsafeRawBufferPointer) throws -> Void) throws {
        guard entry != nil else { throw ArchiveError.misuse("readDataBlocks() without a current entry in '\(name)'") }
        var pointer: UnsafeRawPointer?
        var size = 0
        var offset: la_int64_t = 0
        while true {
            let rc = archive_read_data_block(archive, &pointer, &size, &offset)
            if rc == ARCHIVE_EOF { return }
            if rc < ARCHIVE_WARN { throw source?.failure ?? Self.classify(archive, name: name) }
            guard offset >= 0 else {
                throw ArchiveError.corruptLayer(name, detail: "a data block at a negative offset")
            }
            if size > 0 { try body(Int64(offset), UnsafeRawBufferPointer(start: pointer, count: size)) }
        }
    }

    /// "./a/b/" -> "a/b"; "./" -> "."; absolute paths and ".." are refused.
    private func normalize(_ raw: String, entry: String) throws(ArchiveError) -> String {
        if raw.isEmpty { throw .unsafeEntry(entry, layer: name, reason: "an entry with an empty name") }
        if raw.hasPrefix("/") {
            throw .unsafeEntry(raw, layer: name, reason: "it is an absolute path, which points outside the root")
        }
        guard let parts = safeComponents(raw) else {
            throw .unsafeEntry(raw, layer: name, reason: "it contains '..' and so points outside the root")
        }
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }

    private static func string(_ pointer: UnsafePointer<CChar>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    /// Turns libarchive's last error into a corrupt/truncated error naming the layer.
    static func classify(_ a: OpaquePointer, name: String) -> ArchiveError {
        let message = archive_error_string(a).map { String(cString: $0) } ?? "unknown error"
        if message.lowercased().contains("truncated") || message.contains("unexpected end") {
            return .truncatedLayer(name, detail: message)
        }
        var detail = message
        if archive_filter_count(a) > 1, archive_filter_code(a, 0) == ARCHIVE_FILTER_GZIP {
            detail = "gzip stream: " + message
        }
        return .corruptLayer(name, detail: detail)
    }
}

/// What a layer blob hashed to while it was read.
public struct LayerDigests: Sendable, Equatable {
    /// sha256 of the blob's bytes.
    public var digest: Digest
    /// sha256 of the uncompressed tar stream (the digest itself for a plain tar blob).
    public var diffID: Digest
    public var size: Int64
    public var uncompressedSize: Int64
}

/// Feeds libarchive a blob's tar stream and hashes both the blob and the tar on the way, so a
/// check costs no second read. What libarchive leaves unread (end-of-archive padding) is
/// drained by `finish`, so the hashes cover every byte.
final class HashingSource {
    let fd: Int32
    let name: String
    private let blobHasher = SHA256Hasher()
    private let tarHasher = SHA256Hasher()
    private var blobSize: Int64 = 0
    private var tarSize: Int64 = 0
    private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    private let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    private var inflater: GzipInflater?
    /// Bytes read before deciding whether the blob is gzip, not yet handed on.
    private var pending = 0
    private var inputEnded = false
    /// The precise error behind a failed callback (libarchive only sees -1).
    var failure: ArchiveError?

    init(fd: Int32, name: String) throws(ArchiveError) {
        self.fd = fd
        self.name = name
        pending = try readInput()
        if pending >= 2, input[0] == 0x1f, input[1] == 0x8b {
            inflater = try GzipInflater()
            inflater?.setInput(UnsafeRawBufferPointer(rebasing: input[0..<pending]))
            pending = 0
        }
    }

    deinit {
        input.deallocate()
        output.deallocate()
    }

    private func readInput() throws(ArchiveError) -> Int {
        while true {
            let n = read(fd, input.baseAddress, input.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(name, reason: errnoText())
            }
            if n == 0 { inputEnded = true }
            blobHasher.update(UnsafeRawBufferPointer(rebasing: input[0..<n]))
            blobSize += Int64(n)
            return n
        }
    }

    /// The next bytes of the tar stream; empty at its end.
    func next() throws(ArchiveError) -> UnsafeRawBufferPointer {
        guard let inflater else {
            let n = pending > 0 ? pending : (inputEnded ? 0 : try readInput())
            pending = 0
            let chunk = UnsafeRawBufferPointer(rebasing: input[0..<n])
            tarHasher.update(chunk)
            tarSize += Int64(n)
            return chunk
        }
        while true {
            if inflater.needsInput {
                if inputEnded {
                    do throws(GzipError) { try inflater.finish() } catch {
                        throw .corruptLayer(name, detail: "gzip stream: \(error.reason)")
                    }
                    return UnsafeRawBufferPointer(start: nil, count: 0)
                }
                let n = try readInput()
                inflater.setInput(UnsafeRawBufferPointer(rebasing: input[0..<n]))
                continue
            }
            let produced: Int
            do throws(GzipError) { produced = try inflater.inflate(into: output) } catch {
                throw .corruptLayer(name, detail: "gzip stream: \(error.reason)")
            }
            if produced > 0 {
                let chunk = UnsafeRawBufferPointer(rebasing: output[0..<produced])
                tarHasher.update(chunk)
                tarSize += Int64(produced)
                return chunk
            }
        }
    }

    func finish() throws(ArchiveError) -> LayerDigests {
        while try next().count > 0 {}
        let digest = blobHasher.finalizeDigest()
        let diffID = inflater == nil ? digest : tarHasher.finalizeDigest()
        return LayerDigests(digest: digest, diffID: diffID, size: blobSize, uncompressedSize: tarSize)
    }
}
