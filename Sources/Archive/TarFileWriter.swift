import CLibArchive
import Foundation

/// A plain (uncompressed) pax tar file of whole files, for image exports (`docker load` archives,
/// OCI layout tarballs). Deterministic: numeric owner 0, fixed mtime, entries in the order added.
public final class TarFileWriter {
    private let archive: OpaquePointer
    private let path: String
    private let mtime: Int64
    private var closed = false

    public init(output: URL, mtime: Int64 = LayerOptions.defaultEpoch) throws(ArchiveError) {
        guard let a = archive_write_new() else {
            throw .writeFailed(output.path, reason: "libarchive could not allocate a writer")
        }
        archive_write_set_format_pax_restricted(a)
        guard archive_write_open_filename(a, output.path) == ARCHIVE_OK else {
            let reason = String(cString: archive_error_string(a))
            archive_write_free(a)
            throw .writeFailed(output.path, reason: reason)
        }
        archive = a
        path = output.path
        self.mtime = mtime
    }

    deinit {
        if !closed { archive_write_free(archive) }
    }

    public func addDirectory(_ name: String) throws(ArchiveError) {
        try writeHeader(name, type: 0o040000, mode: 0o755, size: 0)
    }

    public func addFile(_ name: String, data: Data) throws(ArchiveError) {
        try writeHeader(name, type: 0o100000, mode: 0o644, size: Int64(data.count))
        let written = data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) -> Int in
            buffer.count == 0 ? 0 : archive_write_data(archive, buffer.baseAddress, buffer.count)
        }
        if written < 0 { throw lastError() }
    }

    /// Streams a file from disk in 1 MiB chunks.
    public func addFile(_ name: String, contentsOf source: URL) throws(ArchiveError) {
        let fd = open(source.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(source.path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        try writeHeader(name, type: 0o100000, mode: 0o644, size: Int64(st.st_size))
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer, 1 << 20)
            if n < 0 {
                if errno == EINTR { continue }; throw .unreadable(source.path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            if archive_write_data(archive, buffer, n) < 0 { throw lastError() }
        }
    }

    public func finish() throws(ArchiveError) {
        closed = true
        defer { archive_write_free(archive) }
        guard archive_write_close(archive) == ARCHIVE_OK else { throw lastError() }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    private func writeHeader(_ name: String, type: UInt32, mode: UInt32, size: Int64) throws(ArchiveError) {
        guard let entry = archive_entry_new() else {
            throw .writeFailed(path, reason: "libarchive could not allocate an entry")
        }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, name)
        archive_entry_set_filetype(entry, type)
        archive_entry_set_perm(entry, mode_t(mode))
        archive_entry_set_size(entry, size)
        archive_entry_set_uid(entry, 0)
        archive_entry_set_gid(entry, 0)
        archive_entry_set_mtime(entry, time_t(mtime), 0)
        guard archive_write_header(archive, entry) == ARCHIVE_OK else { throw lastError() }
    }

    private func lastError() -> ArchiveError {
        .writeFailed(path, reason: archive_error_string(archive).map { String(cString: $0) } ?? "write failed")
    }
}
