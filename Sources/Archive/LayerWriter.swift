import CLibArchive
import Foundation
import OCI

/// Writes one layer as a stream: tar (libarchive, pax_restricted) -> sha256 (diffID)
/// -> gzip -> sha256 + size -> file. Nothing is held in memory beyond a few compression
/// blocks. Not thread-safe: one writer per task.
public final class LayerWriter {
    private let output: URL
    private let options: LayerOptions
    private var fd: Int32
    private var archive: OpaquePointer?
    private let tarHasher = SHA256Hasher()
    private let blobHasher = SHA256Hasher()
    private var gzip: GzipCompressor?
    private var tarBytes: Int64 = 0
    private var blobBytes: Int64 = 0
    private var entryCount = 0
    /// An error raised inside libarchive's write callback, reported instead of libarchive's.
    private var callbackError: ArchiveError?
    private var state: State = .open
    /// Reused for reading every source file.
    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)

    private enum State { case open, finished, failed }

    /// Sources below this directory (a build context) are opened without following a symlink
    /// anywhere below it, so a directory swapped for a link during the build cannot lead out.
    public var sourceRoot: URL?

    /// Creates `output` exclusively (it must not exist).
    public init(output: URL, options: LayerOptions) throws(ArchiveError) {
        self.output = output
        self.options = options
        fd = open(output.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            let code = errno
            if code == EEXIST { throw .outputExists(output.path) }
            throw .writeFailed(output.path, reason: errnoText(code))
        }
        do {
            let fileFD = fd
            let path = output.path
            let blobHasher = blobHasher
            gzip = try GzipCompressor(level: options.compressionLevel, threads: options.compressionThreads) {
                (buffer) throws(ArchiveError) in
                try writeAll(fileFD, buffer, path: path)
                blobHasher.update(buffer)
            }
            try openArchive()
        } catch {
            abandon()
            throw error
        }
    }

    /// A writer that only hashes the tar stream: no file, no compression.
    private init(hashingOnly options: LayerOptions) throws(ArchiveError) {
        output = URL(fileURLWithPath: "/dev/null")
        self.options = options
        fd = -1
        do { try openArchive() } catch {
            abandon()
            throw error
        }
    }

    /// The diffID (sha256 of the uncompressed tar stream) and size of the layer `entries` make,
    /// exactly as a writer with the same options writes it, without compressing or writing
    /// anything: what the next step needs (the layer's identity) at the cost of reading the
    /// files once, so the compressed blob can be written later, while other work runs.
    public static func tarDigest(
        of entries: [LayerEntry], options: LayerOptions, sourceRoot: URL? = nil
    ) throws(ArchiveError) -> (diffID: Digest, size: Int64) {
        let writer = try LayerWriter(hashingOnly: options)
        writer.sourceRoot = sourceRoot
        for entry in entries { try writer.add(entry) }
        let written = try writer.finish()
        return (written.diffID, written.uncompressedSize)
    }

    deinit {
        if state == .open { abandon() }
        readBuffer.deallocate()
    }

    private func openArchive() throws(ArchiveError) {
        guard let a = archive_write_new() else {
            throw .writeFailed(output.path, reason: "libarchive could not allocate a writer")
        }
        archive = a
        // pax_restricted: plain ustar headers unless a field needs an extended header.
        archive_write_set_format_pax_restricted(a)
        // Only SCHILY.xattr records (what Docker and Go read), not a LIBARCHIVE.xattr duplicate.
        archive_write_set_format_option(a, "pax", "xattrheader", "SCHILY")
        // No padding of the final record to 10 KiB: the stream ends with the two zero blocks.
        archive_write_set_bytes_in_last_block(a, 1)
        let me = Unmanaged.passUnretained(self).toOpaque()
        let rc = archive_write_open(
            a, me, nil,
            { _, client, buffer, length in
                let writer = Unmanaged<LayerWriter>.fromOpaque(client!).takeUnretainedValue()
                return writer.consumeTar(UnsafeRawBufferPointer(start: buffer, count: length))
            }, nil)
        guard rc == ARCHIVE_OK else { throw archiveFailure(entry: "(start)") }
    }

    /// libarchive's write callback: hash the tar bytes and feed the compressor.
    private func consumeTar(_ buffer: UnsafeRawBufferPointer) -> Int {
        // Abandoning: libarchive flushes its trailer on free; nothing of it is wanted.
        guard state == .open else { return buffer.count }
        do {
            tarHasher.update(buffer)
            try gzip?.write(buffer)
            tarBytes += Int64(buffer.count)
            return buffer.count
        } catch {
            callbackError = error
            return -1
        }
    }

    /// Adds an entry; regular files are read from the entry's source URL.
    public func add(_ entry: LayerEntry) throws(ArchiveError) {
        do {
            try addFromSource(entry)
        } catch {
            // Any failure ends the writer: a layer missing an entry must never be finished.
            if state == .open { abandon() }
            throw error
        }
    }

    private func addFromSource(_ entry: LayerEntry) throws(ArchiveError) {
        if case .regular(let source, let size) = entry.kind, size > 0 || source != nil {
            guard let source else {
                throw .invalidEntry(entry.path, reason: "a regular file of \(size) bytes needs a source file")
            }
            // Sources are resolved paths: a symlink in their place now was swapped in since.
            let file: Int32
            if let root = sourceRoot, source.path.hasPrefix(root.path + "/") {
                file = RootedPath.openFile(String(source.path.dropFirst(root.path.count + 1)), under: root)
            } else {
                file = open(source.path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            }
            if file < 0 {
                let code = errno
                if code == ENOENT { throw .missingPath(source.path, what: "source file") }
                throw .unreadable(source.path, reason: errnoText(code))
            }
            defer { close(file) }
            var st = stat()
            if fstat(file, &st) == 0, (st.st_mode & FileType.mask) != FileType.regular {
                throw .unreadable(source.path, reason: "it is not a regular file")
            }
            try writeHeader(entry)
            var remaining = size
            let buffer = readBuffer
            while remaining > 0 {
                let n = read(file, buffer.baseAddress, min(buffer.count, Int(remaining)))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw fail(.unreadable(source.path, reason: errnoText()))
                }
                if n == 0 { throw fail(.sourceChanged(source.path, expected: size, actual: size - remaining)) }
                try writeData(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), entry: entry.path)
                remaining -= Int64(n)
            }
            // A file that grew would silently lose its tail; say so instead.
            var probe: UInt8 = 0
            if read(file, &probe, 1) > 0 {
                throw fail(.sourceChanged(source.path, expected: size, actual: size + 1))
            }
        } else {
            try writeHeader(entry)
        }
    }

    /// Adds a regular file whose contents are given in memory (small generated files);
    /// the entry's size is taken from `data`.
    public func add(_ entry: LayerEntry, data: Data) throws(ArchiveError) {
        var entry = entry
        entry.kind = .regular(source: nil, size: Int64(data.count))
        do throws(ArchiveError) {
            try writeHeader(entry)
            var failure: ArchiveError?
            data.withUnsafeBytes { buffer in
                do throws(ArchiveError) { try writeData(buffer, entry: entry.path) } catch { failure = error }
            }
            if let failure { throw failure }
        } catch {
            if state == .open { abandon() }
            throw error
        }
    }

    /// Scans `directory` and writes all of it as one layer at `output`.
    public static func write(
        directory: URL, to output: URL, options: LayerOptions,
        scan: TreeScanner.Options = .init()
    ) throws(ArchiveError) -> WrittenLayer {
        let entries = try TreeScanner.scan(directory, options: scan)
        let writer = try LayerWriter(output: output, options: options)
        for entry in entries { try writer.add(entry) }
        return try writer.finish()
    }

    /// Adds an entry whose contents come from the reader's current entry (re-packing a tar).
    public func add(_ entry: LayerEntry, reader: LayerReader) throws(ArchiveError) {
        do {
            try writeHeader(entry)
        } catch {
            if state == .open { abandon() }
            throw error
        }
        guard case .regular(_, let size) = entry.kind, size > 0 else { return }
        var written: Int64 = 0
        var failure: ArchiveError?
        do {
            try reader.readData { chunk in
                do throws(ArchiveError) { try self.writeData(chunk, entry: entry.path) } catch {
                    failure = error; throw error
                }
                written += Int64(chunk.count)
            }
        } catch {
            throw fail(failure ?? (error as? ArchiveError) ?? .unreadable(reader.name, reason: "\(error)"))
        }
        if written != size {
            throw fail(
                .invalidEntry(entry.path, reason: "the reader delivered \(written) bytes but the entry says \(size)"))
        }
    }

    /// Flushes the tar and gzip streams, fsyncs and closes the file.
    public func finish() throws(ArchiveError) -> WrittenLayer {
        guard state == .open, let a = archive else {
            throw .misuse("finish() called twice or after a failure on '\(output.path)'")
        }
        if archive_write_close(a) != ARCHIVE_OK { throw fail(archiveFailure(entry: "(end of archive)")) }
        archive_write_free(a)
        archive = nil
        do {
            try gzip?.finish()
        } catch {
            throw fail(error)
        }
        gzip = nil
        if fd >= 0 {
            if fsync(fd) != 0 { throw fail(.writeFailed(output.path, reason: "fsync: \(errnoText())")) }
            var st = stat()
            fstat(fd, &st)
            close(fd)
            fd = -1
            blobBytes = Int64(st.st_size)
        }
        state = .finished
        return WrittenLayer(
            diffID: tarHasher.finalizeDigest(), digest: blobHasher.finalizeDigest(),
            size: blobBytes, uncompressedSize: tarBytes, entryCount: entryCount)
    }

    // MARK: - Headers

    private func writeHeader(_ entry: LayerEntry) throws(ArchiveError) {
        guard state == .open, let a = archive else {
            throw .misuse("add() after finish() or a failure on '\(output.path)'")
        }
        let path = try Self.tarPath(entry.path)
        guard let e = archive_entry_new() else { throw .writeFailed(output.path, reason: "out of memory") }
        defer { archive_entry_free(e) }
        archive_entry_set_pathname_utf8(e, path)
        archive_entry_set_perm(e, entry.mode & 0o7777)
        archive_entry_set_uid(e, la_int64_t(entry.uid))
        archive_entry_set_gid(e, la_int64_t(entry.gid))
        archive_entry_set_mtime(e, time_t(min(entry.mtime, options.sourceDateEpoch)), 0)
        switch entry.kind {
        case .regular(_, let size):
            guard size >= 0 else { throw .invalidEntry(entry.path, reason: "negative size \(size)") }
            archive_entry_set_filetype(e, FileType.regular)
            archive_entry_set_size(e, size)
        case .directory:
            archive_entry_set_filetype(e, FileType.directory)
        case .symlink(let target):
            guard !target.isEmpty else { throw .invalidEntry(entry.path, reason: "symlink with an empty target") }
            archive_entry_set_filetype(e, FileType.symlink)
            archive_entry_set_symlink_utf8(e, target)
        case .hardlink(let target):
            guard let parts = safeComponents(target), !parts.isEmpty else {
                throw .invalidEntry(
                    entry.path, reason: "hardlink target '\(target)' must be a relative path inside the layer")
            }
            archive_entry_set_filetype(e, FileType.regular)
            archive_entry_set_hardlink_utf8(e, parts.joined(separator: "/"))
            archive_entry_set_size(e, 0)
        case .characterDevice(let major, let minor):
            archive_entry_set_filetype(e, FileType.character)
            archive_entry_set_rdevmajor(e, dev_t(major))
            archive_entry_set_rdevminor(e, dev_t(minor))
        case .blockDevice(let major, let minor):
            archive_entry_set_filetype(e, FileType.block)
            archive_entry_set_rdevmajor(e, dev_t(major))
            archive_entry_set_rdevminor(e, dev_t(minor))
        case .fifo:
            archive_entry_set_filetype(e, FileType.fifo)
        }
        // Sorted so the pax records come out in the same order every time.
        for name in entry.xattrs.keys.sorted() {
            let value = entry.xattrs[name]!
            value.withUnsafeBytes { archive_entry_xattr_add_entry(e, name, $0.baseAddress, $0.count) }
        }
        // A warning means a field could not be stored exactly (e.g. a name not valid UTF-8).
        let rc = withUTF8Locale { archive_write_header(a, e) }
        if rc != ARCHIVE_OK { throw fail(archiveFailure(entry: entry.path)) }
        entryCount += 1
    }

    private func writeData(_ buffer: UnsafeRawBufferPointer, entry: String) throws(ArchiveError) {
        guard let a = archive else { throw .misuse("write after finish on '\(output.path)'") }
        var offset = 0
        while offset < buffer.count {
            let n = archive_write_data(a, buffer.baseAddress! + offset, buffer.count - offset)
            if n <= 0 { throw fail(archiveFailure(entry: entry)) }
            offset += n
        }
    }

    /// The tar name of an entry path: validated, normalized, "." for the root.
    static func tarPath(_ path: String) throws(ArchiveError) -> String {
        guard !path.isEmpty else { throw .invalidEntry(path, reason: "empty path") }
        guard let parts = safeComponents(path) else {
            throw .invalidEntry(path, reason: "paths in a layer must be relative and must not contain '..'")
        }
        if parts.isEmpty { return "./" }
        return parts.joined(separator: "/")
    }

    private func archiveFailure(entry: String) -> ArchiveError {
        if let callbackError { return callbackError }
        let message =
            archive.flatMap { archive_error_string($0) }.map { String(cString: $0) } ?? "unknown libarchive error"
        return .tarWriteFailed(layer: output.path, entry: entry, message: message)
    }

    /// Marks the writer failed, removes the partial output, and returns the error to throw.
    private func fail(_ error: ArchiveError) -> ArchiveError {
        abandon()
        return error
    }

    private func abandon() {
        state = .failed
        if let a = archive {
            archive_write_free(a)
            archive = nil
        }
        gzip = nil
        if fd >= 0 {
            close(fd)
            fd = -1
            unlink(output.path)
        }
    }
}

/// Writes a whole buffer to a file descriptor, retrying short writes.
public func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws(ArchiveError) {
    var offset = 0
    while offset < buffer.count {
        let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            throw .writeFailed(path, reason: errnoText())
        }
        offset += n
    }
}

/// `pwrite` of the whole buffer at `position` (extraction writes sparse files block by block).
func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, at position: Int64, path: String) throws(ArchiveError) {
    var offset = 0
    while offset < buffer.count {
        let n = pwrite(fd, buffer.baseAddress! + offset, buffer.count - offset, off_t(position) + off_t(offset))
        if n < 0 {
            if errno == EINTR { continue }
            throw .writeFailed(path, reason: errnoText())
        }
        offset += n
    }
}
