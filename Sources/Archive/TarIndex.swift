import CLibArchive
import Foundation

/// The regular members of an uncompressed tar file (a docker-archive), read with libarchive:
/// name -> where its data starts in the file and how long it is, so a member (a layer) can be
/// read in place without extracting anything. The file is hostile input: every member must lie
/// inside the file and extended headers are capped, so a crafted archive is refused, never walked.
public enum TarIndex {
    public struct Member: Sendable, Equatable {
        public var offset: Int64
        public var size: Int64
    }

    /// Extended headers (pax `x`, GNU `L`) larger than this are refused as damaged or crafted.
    static let extendedHeaderLimit: Int64 = 1 << 20

    /// Names are as the archive spells them, without a leading `./`.
    public static func members(of url: URL) throws(ArchiveError) -> [String: Member] {
        var st = stat()
        guard stat(url.path, &st) == 0 else {
            let code = errno
            if code == ENOENT { throw .missingPath(url.path, what: "archive") }
            throw .unreadable(url.path, reason: errnoText(code))
        }
        let fileSize = Int64(st.st_size)
        guard let archive = archive_read_new() else {
            throw .unreadable(url.path, reason: "libarchive could not allocate a reader")
        }
        defer { archive_read_free(archive) }
        // Uncompressed tar only: member offsets are then offsets into the file itself.
        archive_read_support_filter_none(archive)
        archive_read_support_format_tar(archive)
        guard archive_read_open_filename(archive, url.path, 64 * 1024) == ARCHIVE_OK else {
            throw .invalidArchive(url.path, reason: "not a tar file: \(message(archive))")
        }
        var members: [String: Member] = [:]
        var entry: OpaquePointer?
        var nextHeader: Int64 = 0
        while true {
            let rc = archive_read_next_header(archive, &entry)
            if rc == ARCHIVE_EOF { break }
            guard rc >= ARCHIVE_WARN, let entry else {
                // Where the failing header starts: right after the previous member's padded data.
                let text = message(archive)
                throw .invalidArchive(
                    url.path,
                    reason: text.lowercased().contains("size")
                        ? "the tar header at byte \(nextHeader) declares an impossible size; the archive is damaged or crafted"
                        : "the tar header at byte \(nextHeader) is damaged, or the file is not a tar: \(text)")
            }
            let headerStart = nextHeader
            // Consumed bytes of the (only) filter: where this member's data starts.
            let dataOffset = archive_filter_bytes(archive, 0)
            let size = archive_entry_size(entry)
            guard size >= 0, dataOffset >= 0, size <= fileSize - dataOffset else {
                throw .corruptLayer(
                    url.path,
                    detail:
                        "the tar header at byte \(headerStart) declares an impossible size; the archive is damaged or crafted"
                )
            }
            // The member's own 512-byte header plus at most one capped extended header and its header.
            guard dataOffset - headerStart <= extendedHeaderLimit + 1024 else {
                throw .corruptLayer(
                    url.path,
                    detail:
                        "the extended header at byte \(headerStart) is larger than 1 MiB; the archive is damaged or crafted"
                )
            }
            // Hard links carry no data of their own: not members (as before, only files with bytes are).
            if archive_entry_filetype(entry) == UInt32(FileType.regular), archive_entry_hardlink(entry) == nil,
                let raw = archive_entry_pathname(entry)
            {
                members[memberName(String(cString: raw))] = Member(offset: dataOffset, size: size)
            }
            nextHeader = dataOffset + (size + 511) / 512 * 512
            guard archive_read_data_skip(archive) == ARCHIVE_OK else {
                throw .invalidArchive(url.path, reason: "truncated: \(message(archive))")
            }
        }
        guard !members.isEmpty else { throw .invalidArchive(url.path, reason: "not a tar file, or it holds no files") }
        return members
    }

    /// How a name is looked up among the members: without a leading `./`.
    public static func memberName(_ name: String) -> String {
        name.hasPrefix("./") ? String(name.dropFirst(2)) : name
    }

    /// A small member's bytes (a manifest or a config: at most 64 MiB).
    public static func read(_ url: URL, _ member: Member) throws(ArchiveError) -> Data {
        guard member.size < 64 << 20, let handle = FileHandle(forReadingAtPath: url.path) else {
            throw .invalidArchive(url.path, reason: "cannot read a member of the archive")
        }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: UInt64(member.offset))
            let data = try handle.read(upToCount: Int(member.size)) ?? Data()
            guard data.count == member.size else {
                throw ArchiveError.invalidArchive(url.path, reason: "a member ends early; the archive is truncated")
            }
            return data
        } catch let error as ArchiveError {
            throw error
        } catch { throw .invalidArchive(url.path, reason: "\(error)") }
    }

    private static func message(_ archive: OpaquePointer) -> String {
        archive_error_string(archive).map { String(cString: $0) } ?? "unknown error"
    }
}
