import Foundation
import OCI

/// How layers are written so that the same inputs give the same bytes.
public struct LayerOptions: Sendable {
    /// 2000-01-01T00:00:00Z; not before 1980 so zip/wheel tools accept the clamped mtimes.
    public static let defaultEpoch: Int64 = 946_684_800

    /// Modification times later than this are clamped to it (`min(mtime, epoch)`).
    public var sourceDateEpoch: Int64
    /// zlib level, 0...9. The default, 3, is measured on the dashboard's venv: blobs within 8% of
    /// level 6's size for less than half the CPU time (level 1: +14%, 2.6x less CPU than 6).
    public static let defaultCompressionLevel: Int32 = 3
    public var compressionLevel: Int32
    /// Threads compressing blocks concurrently; the output does not depend on it.
    public var compressionThreads: Int

    public init(
        sourceDateEpoch: Int64 = LayerOptions.defaultEpoch,
        compressionLevel: Int32 = LayerOptions.defaultCompressionLevel,
        compressionThreads: Int = ProcessInfo.processInfo.activeProcessorCount
    ) {
        self.sourceDateEpoch = sourceDateEpoch
        self.compressionLevel = compressionLevel
        self.compressionThreads = compressionThreads
    }

    /// Options with `SOURCE_DATE_EPOCH` taken from the environment when it is set and not empty.
    public static func fromEnvironment(
        _ env: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ArchiveError) -> LayerOptions {
        var options = LayerOptions()
        if let raw = env["SOURCE_DATE_EPOCH"], !raw.isEmpty {
            guard raw.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = Int64(raw) else {
                throw .invalidSourceDateEpoch(raw)
            }
            options.sourceDateEpoch = value
        }
        return options
    }
}

/// What an entry is; regular files carry where their contents come from.
public enum EntryKind: Sendable, Equatable {
    case regular(source: URL?, size: Int64)
    case directory
    case symlink(target: String)
    case hardlink(target: String)
    case characterDevice(major: UInt32, minor: UInt32)
    case blockDevice(major: UInt32, minor: UInt32)
    case fifo
}

/// One file system entry of a layer.
public struct LayerEntry: Sendable, Equatable {
    /// The largest regular file a layer may declare (16 TiB): far above any real image, low
    /// enough that sums over many entries cannot overflow.
    public static let maxFileSize: Int64 = 1 << 44

    /// Relative, without a leading "/" or "./" and without a trailing "/" ("." is the root itself).
    public var path: String
    public var kind: EntryKind
    /// Permission bits including setuid, setgid and sticky.
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// Seconds since 1970; the writer clamps it to the source date epoch.
    public var mtime: Int64
    public var xattrs: [String: [UInt8]]

    public init(
        path: String, kind: EntryKind, mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0,
        mtime: Int64 = 0, xattrs: [String: [UInt8]] = [:]
    ) {
        self.path = path
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.mtime = mtime
        self.xattrs = xattrs
    }
}

/// The result of writing a layer: what the image config and manifest need.
public struct WrittenLayer: Sendable, Equatable {
    /// sha256 of the uncompressed tar (the config's `rootfs.diff_ids`).
    public let diffID: Digest
    /// sha256 of the gzip blob (the manifest's layer digest).
    public let digest: Digest
    /// Bytes of the gzip blob.
    public let size: Int64
    /// Bytes of the tar stream.
    public let uncompressedSize: Int64
    public let entryCount: Int

    public init(diffID: Digest, digest: Digest, size: Int64, uncompressedSize: Int64, entryCount: Int) {
        self.diffID = diffID
        self.digest = digest
        self.size = size
        self.uncompressedSize = uncompressedSize
        self.entryCount = entryCount
    }
}

/// Xattrs worth carrying in a layer: file capabilities and user attributes. Never `trusted.*`
/// (overlayfs bookkeeping, privileged) nor `security.selinux` (host labels).
func isPortableXattr(_ name: String) -> Bool {
    name == "security.capability" || name.hasPrefix("user.") && !name.hasPrefix("user.overlay.")
}

/// Splits a relative entry path into components, or nil when it is absolute or climbs with "..".
func safeComponents(_ path: String) -> [String]? {
    if path.hasPrefix("/") { return nil }
    var out: [String] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        if part == "." { continue }
        if part == ".." { return nil }
        out.append(String(part))
    }
    return out
}

/// File type bits as tar and Linux define them (Glibc and Foundation both export S_IF*, which
/// makes the bare names ambiguous in some builds).
enum FileType {
    static let mask: mode_t = 0o170000
    static let socket: mode_t = 0o140000
    static let symlink: mode_t = 0o120000
    static let regular: mode_t = 0o100000
    static let block: mode_t = 0o060000
    static let directory: mode_t = 0o040000
    static let character: mode_t = 0o020000
    static let fifo: mode_t = 0o010000
}
