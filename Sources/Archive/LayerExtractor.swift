import Foundation
import OCI

public struct ExtractOptions: Sendable {
    /// Set owners from the layer (lchown); needs root.
    public var preserveOwnership: Bool = (geteuid() == 0)
    /// Restore `security.capability` and `user.*` xattrs recorded in the layer.
    public var xattrs: Bool = true
    /// Most bytes of files (declared sizes, sparse holes included) one layer may create;
    /// nil: `ratio()` times the layer's compressed size, at least `minimumLimit`.
    public var byteLimit: Int64?
    /// What the blob and its tar stream must hash to; nothing is kept when they do not.
    public var expected: (digest: Digest, diffID: Digest)?

    /// Deflate cannot expand data more than about 1032 times, so only sparse entries (or a
    /// forged layer) reach this multiple of the compressed size.
    public static let defaultRatio: Int64 = 1024
    public static let minimumLimit: Int64 = 256 << 20
    public static let ratioVariable = "IMAGEKIT_EXTRACT_RATIO"

    public init(
        preserveOwnership: Bool = (geteuid() == 0), xattrs: Bool = true, byteLimit: Int64? = nil,
        expected: (digest: Digest, diffID: Digest)? = nil
    ) {
        self.preserveOwnership = preserveOwnership
        self.xattrs = xattrs
        self.byteLimit = byteLimit
        self.expected = expected
    }

    /// The multiple of a layer's compressed size that extraction may write: `IMAGEKIT_EXTRACT_RATIO` or 1024.
    public static func ratio(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int64 {
        (try? parseRatio(environment)) ?? defaultRatio
    }

    static func parseRatio(_ environment: [String: String]) throws(ArchiveError) -> Int64 {
        guard let raw = environment[ratioVariable], !raw.isEmpty else { return defaultRatio }
        guard raw.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = Int64(raw), value > 0 else {
            throw .invalidExtractRatio(raw)
        }
        return value
    }

    /// The limit for a layer of `compressedSize` bytes.
    public func limit(
        compressedSize: Int64, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ArchiveError) -> Int64 {
        if let byteLimit { return byteLimit }
        let (product, overflow) = max(0, compressedSize).multipliedReportingOverflow(
            by: try Self.parseRatio(environment))
        return overflow ? Int64.max : max(product, Self.minimumLimit)
    }
}

public struct ExtractStats: Sendable, Equatable {
    /// Entries read from the layer (whiteouts included).
    public var entries: Int
    /// Bytes of file contents written (holes of sparse files not counted).
    public var bytes: Int64
    /// What the blob hashed to while it was read.
    public var digests: LayerDigests?

    public init(entries: Int = 0, bytes: Int64 = 0, digests: LayerDigests? = nil) {
        self.entries = entries
        self.bytes = bytes
        self.digests = digests
    }
}

public enum LayerExtractor {
    /// Applies a layer onto a merged root filesystem (like `docker load` / `umoci unpack`):
    /// OCI whiteouts delete, opaque markers empty the directory first.
    public static func apply(
        layer: URL, to root: URL, options: ExtractOptions = .init()
    ) throws(ArchiveError) -> ExtractStats {
        let extraction = try Extraction(layer: layer, root: root, overlay: false, options: options)
        return try extraction.run()
    }

    /// Extracts a layer into its own empty directory in overlayfs form (for a lowerdir stack):
    /// `.wh.x` -> char device 0/0 named x, `.wh..wh..opq` -> xattr trusted.overlay.opaque="y" on the dir.
    public static func unpackForOverlay(
        layer: URL, to directory: URL, options: ExtractOptions = .init()
    ) throws(ArchiveError) -> ExtractStats {
        let extraction = try Extraction(layer: layer, root: directory, overlay: true, options: options)
        return try extraction.run()
    }
}

/// One extraction. Every path is resolved component by component from an open descriptor of
/// the root with O_NOFOLLOW; a symlink met on the way is followed only inside the root
/// (absolute targets are taken relative to the root, ".." stops at the root), like securejoin.
/// The final component is never followed: existing entries are replaced, files are created
/// with O_EXCL|O_NOFOLLOW. Nothing can be written or linked outside the root.
private final class Extraction {
    static let opaqueMarker = ".wh..wh..opq"
    static let whiteoutPrefix = ".wh."
    static let maxSymlinks = 40

    let layer: URL
    let root: URL
    let overlay: Bool
    let options: ExtractOptions
    let rootFD: Int32
    var stats = ExtractStats()
    /// Declared bytes of the files so far, against `limit`.
    var declared: Int64 = 0
    let limit: Int64
    let compressedSize: Int64
    /// Paths created by this layer, which an opaque marker must not remove.
    var created: Set<String> = []
    /// Directories whose mode, owner and times are set at the end (after their contents).
    var directories: [(components: [String], entry: LayerEntry)] = []

    init(layer: URL, root: URL, overlay: Bool, options: ExtractOptions) throws(ArchiveError) {
        self.layer = layer
        self.root = root
        self.overlay = overlay
        self.options = options
        var st = stat()
        compressedSize = stat(layer.path, &st) == 0 ? Int64(st.st_size) : 0
        limit = try options.limit(compressedSize: compressedSize)
        let fd = open(root.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { throw .missingPath(root.path, what: "extraction root") }
            throw .extractFailed(root.path, layer: layer.path, reason: "cannot open the root: \(errnoText(code))")
        }
        rootFD = fd
    }

    deinit { close(rootFD) }

    func run() throws(ArchiveError) -> ExtractStats {
        let reader = try LayerReader(verifying: layer)
        while let entry = try reader.next() {
            stats.entries += 1
            try extract(entry, reader: reader)
        }
        let digests = try reader.finishVerification()
        stats.digests = digests
        if let expected = options.expected {
            guard digests.digest == expected.digest else {
                throw .digestMismatch(
                    layer: layer.path, what: "digest", expected: expected.digest, actual: digests.digest)
            }
            guard digests.diffID == expected.diffID else {
                throw .digestMismatch(
                    layer: layer.path, what: "diffID", expected: expected.diffID, actual: digests.diffID)
            }
        }
        // Deepest first, so setting a parent's times is not undone by its children.
        for (components, entry) in directories.reversed() {
            try finishDirectory(components, entry)
        }
        return stats
    }

    // MARK: - Entries

    private func extract(_ entry: LayerEntry, reader: LayerReader) throws(ArchiveError) {
        let components = entry.path == "." ? [] : entry.path.split(separator: "/").map(String.init)
        guard let name = components.last else {
            guard entry.kind == .directory else {
                throw .unsafeEntry(entry.path, layer: layer.path, reason: "the root of a layer must be a directory")
            }
            directories.append(([], entry))
            return
        }
        let parentComponents = Array(components.dropLast())

        if name == Self.opaqueMarker {
            let dir = try openDirectory(parentComponents, create: true, entry: entry.path)
            defer { close(dir) }
            if overlay {
                if let code = setXattr(fd: dir, name: "trusted.overlay.opaque", value: Array("y".utf8)) {
                    throw fail(entry, "cannot mark the directory opaque: \(errnoText(code))")
                }
            } else {
                try emptyDirectory(dir, path: parentComponents.joined(separator: "/"), entry: entry)
            }
            return
        }
        if name.hasPrefix(Self.whiteoutPrefix) {
            let target = String(name.dropFirst(Self.whiteoutPrefix.count))
            guard !target.isEmpty, target != ".", target != ".." else {
                throw .unsafeEntry(entry.path, layer: layer.path, reason: "a whiteout without a valid name")
            }
            if overlay {
                let dir = try openDirectory(parentComponents, create: true, entry: entry.path)
                defer { close(dir) }
                try clearSlot(dir, target, keepDirectory: false, entry: entry)
                guard mknodat(dir, target, FileType.character, makeDevice(0, 0)) == 0 else {
                    throw fail(entry, "cannot create the overlay whiteout device (needs root): \(errnoText())")
                }
                try setOwnerAndTimes(dir, target, entry, mode: nil)
            } else {
                // Nothing to delete if the parent is not there.
                guard let dir = try openDirectoryIfPresent(parentComponents, entry: entry.path) else { return }
                defer { close(dir) }
                try removeTree(dir, target, entry: entry)
            }
            return
        }

        let parent = try openDirectory(parentComponents, create: true, entry: entry.path)
        defer { close(parent) }
        created.insert(entry.path)

        switch entry.kind {
        case .directory:
            try clearSlot(parent, name, keepDirectory: true, entry: entry)
            if mkdirat(parent, name, 0o700) != 0 && errno != EEXIST {
                throw fail(entry, "mkdir: \(errnoText())")
            }
            directories.append((components, entry))
        case .regular(_, let size):
            // Declared sizes count before any byte is written: a small layer claiming huge
            // (sparse) files stops here.
            let (total, overflow) = declared.addingReportingOverflow(size)
            guard !overflow, total <= limit else {
                throw .extractLimit(
                    layer: layer.path, declared: overflow ? Int64.max : total, limit: limit,
                    compressedSize: compressedSize)
            }
            declared = total
            try clearSlot(parent, name, keepDirectory: false, entry: entry)
            let fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw fail(entry, "create: \(errnoText())") }
            defer { close(fd) }
            var written: Int64 = 0
            var end: Int64 = 0
            var writeError: ArchiveError?
            do {
                try reader.readDataBlocks { offset, chunk in
                    do throws(ArchiveError) {
                        guard offset <= size - Int64(chunk.count) else {
                            throw ArchiveError.unsafeEntry(
                                entry.path, layer: self.layer.path,
                                reason: "it holds data beyond its declared size of \(size) bytes")
                        }
                        try writeAll(fd, chunk, at: offset, path: self.root.path + "/" + entry.path)
                    } catch {
                        writeError = error
                        throw error
                    }
                    written += Int64(chunk.count)
                    end = max(end, offset + Int64(chunk.count))
                }
            } catch {
                throw writeError ?? (error as? ArchiveError) ?? fail(entry, "\(error)")
            }
            // A sparse file's trailing hole: the size without writing zeros.
            if end < size, ftruncate(fd, off_t(size)) != 0 { throw fail(entry, "cannot set the size: \(errnoText())") }
            stats.bytes += written
            try setAttributes(fd: fd, entry)
        case .symlink(let target):
            try clearSlot(parent, name, keepDirectory: false, entry: entry)
            // Creating a symlink is harmless whatever it points to; only following one is not.
            guard symlinkat(target, parent, name) == 0 else { throw fail(entry, "symlink: \(errnoText())") }
            try setOwnerAndTimes(parent, name, entry, mode: nil)
        case .hardlink(let target):
            let targetComponents = target.split(separator: "/").map(String.init)
            guard let targetName = targetComponents.last else {
                throw .unsafeEntry(entry.path, layer: layer.path, reason: "a hardlink without a target")
            }
            let targetDir = try openDirectory(Array(targetComponents.dropLast()), create: false, entry: entry.path)
            defer { close(targetDir) }
            var st = stat()
            guard fstatat(targetDir, targetName, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw fail(entry, "its hardlink target '\(target)' is not in the layer or below it")
            }
            guard (st.st_mode & FileType.mask) != FileType.directory else {
                throw .unsafeEntry(entry.path, layer: layer.path, reason: "a hardlink to the directory '\(target)'")
            }
            try clearSlot(parent, name, keepDirectory: false, entry: entry)
            // Flags 0: a symlink target is linked itself, never followed.
            guard linkat(targetDir, targetName, parent, name, 0) == 0 else { throw fail(entry, "link: \(errnoText())") }
        case .characterDevice(let major, let minor), .blockDevice(let major, let minor):
            try clearSlot(parent, name, keepDirectory: false, entry: entry)
            let type: mode_t =
                entry.kind == .characterDevice(major: major, minor: minor) ? FileType.character : FileType.block
            guard mknodat(parent, name, type | 0o600, makeDevice(major, minor)) == 0 else {
                throw fail(entry, "mknod (device files need root): \(errnoText())")
            }
            try setOwnerAndTimes(parent, name, entry, mode: entry.mode)
        case .fifo:
            try clearSlot(parent, name, keepDirectory: false, entry: entry)
            guard mknodat(parent, name, FileType.fifo | 0o600, 0) == 0 else {
                throw fail(entry, "mkfifo: \(errnoText())")
            }
            try setOwnerAndTimes(parent, name, entry, mode: entry.mode)
        }
    }

    // MARK: - Path resolution inside the root

    /// Opens the directory at `components` below the root. Symlinks along the way are followed
    /// inside the root only; missing directories are created when `create` is set.
    private func openDirectory(_ components: [String], create: Bool, entry: String) throws(ArchiveError) -> Int32 {
        guard let fd = try resolve(components, create: create, entry: entry) else {
            throw .extractFailed(
                entry, layer: layer.path,
                reason: "its parent directory '\(components.joined(separator: "/"))' does not exist")
        }
        return fd
    }

    private func openDirectoryIfPresent(_ components: [String], entry: String) throws(ArchiveError) -> Int32? {
        try resolve(components, create: false, entry: entry)
    }

    private func resolve(_ components: [String], create: Bool, entry: String) throws(ArchiveError) -> Int32? {
        var stack: [Int32] = [dup(rootFD)]
        var remaining = Array(components.reversed())
        var followed = 0
        func closeAll() { stack.forEach { close($0) } }
        while let component = remaining.popLast() {
            if component.isEmpty || component == "." { continue }
            if component == ".." {
                if stack.count > 1 { close(stack.removeLast()) }
                continue
            }
            let current = stack[stack.count - 1]
            var fd = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 && errno == ENOENT {
                if !create { closeAll(); return nil }
                if mkdirat(current, component, 0o755) != 0 && errno != EEXIST {
                    let reason = errnoText()
                    closeAll()
                    throw .extractFailed(
                        entry, layer: layer.path, reason: "cannot create directory '\(component)': \(reason)")
                }
                fd = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            if fd >= 0 {
                stack.append(fd)
                continue
            }
            let code = errno
            var st = stat()
            if fstatat(current, component, &st, AT_SYMLINK_NOFOLLOW) == 0,
                (st.st_mode & FileType.mask) == FileType.symlink
            {
                followed += 1
                guard followed <= Self.maxSymlinks else {
                    closeAll()
                    throw .unsafeEntry(
                        entry, layer: layer.path,
                        reason:
                            "too many levels of symbolic links under '\(components.joined(separator: "/"))' (a symlink loop)"
                    )
                }
                guard let target = readLink(current, component) else {
                    closeAll()
                    throw .extractFailed(entry, layer: layer.path, reason: "cannot read symlink '\(component)'")
                }
                if target.hasPrefix("/") {
                    // Absolute targets mean the image's root, not the host's.
                    while stack.count > 1 { close(stack.removeLast()) }
                }
                remaining.append(contentsOf: target.split(separator: "/").map(String.init).reversed())
                continue
            }
            closeAll()
            throw .extractFailed(
                entry, layer: layer.path,
                reason: "'\(component)' on its path is not a directory (\(errnoText(code)))")
        }
        let result = stack.removeLast()
        stack.forEach { close($0) }
        return result
    }

    private func readLink(_ dir: Int32, _ name: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlinkat(dir, name, &buffer, buffer.count - 1)
        guard n >= 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: - Replacing and removing

    /// Makes room for a new entry `name` in `dir`: removes what is there unless it is a
    /// directory that the new entry (also a directory) merges into.
    private func clearSlot(_ dir: Int32, _ name: String, keepDirectory: Bool, entry: LayerEntry) throws(ArchiveError) {
        var st = stat()
        guard fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return }
        if (st.st_mode & FileType.mask) == FileType.directory {
            if keepDirectory { return }
            try removeTree(dir, name, entry: entry)
        } else if unlinkat(dir, name, 0) != 0 {
            throw fail(entry, "cannot replace the existing file: \(errnoText())")
        }
    }

    /// Removes `name` in `dir` and, for a directory, everything below it; never follows symlinks.
    private func removeTree(_ dir: Int32, _ name: String, entry: LayerEntry) throws(ArchiveError) {
        var st = stat()
        guard fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return }
        if (st.st_mode & FileType.mask) == FileType.directory {
            let fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw fail(entry, "cannot open '\(name)' to remove it: \(errnoText())") }
            defer { close(fd) }
            let names: [String]
            do { names = try listDirectory(fd: dup(fd)) } catch {
                throw fail(entry, "cannot list '\(name)': \(error.reason)")
            }
            for child in names { try removeTree(fd, child, entry: entry) }
            guard unlinkat(dir, name, AT_REMOVEDIR) == 0 else {
                throw fail(entry, "cannot remove '\(name)': \(errnoText())")
            }
        } else {
            guard unlinkat(dir, name, 0) == 0 || errno == ENOENT else {
                throw fail(entry, "cannot remove '\(name)': \(errnoText())")
            }
        }
    }

    /// An opaque marker: remove what lower layers put in the directory, keep this layer's entries.
    private func emptyDirectory(_ dir: Int32, path: String, entry: LayerEntry) throws(ArchiveError) {
        let names: [String]
        do { names = try listDirectory(fd: dup(dir)) } catch {
            throw fail(entry, "cannot list the directory: \(error.reason)")
        }
        for name in names {
            let childPath = path.isEmpty ? name : path + "/" + name
            if created.contains(childPath) { continue }
            try removeTree(dir, name, entry: entry)
        }
    }

    // MARK: - Attributes

    private func setAttributes(fd: Int32, _ entry: LayerEntry) throws(ArchiveError) {
        if options.preserveOwnership, fchown(fd, entry.uid, entry.gid) != 0 {
            throw fail(entry, "chown \(entry.uid):\(entry.gid): \(errnoText())")
        }
        // After chown, which clears setuid/setgid bits.
        guard fchmod(fd, mode_t(entry.mode & 0o7777)) == 0 else { throw fail(entry, "chmod: \(errnoText())") }
        if options.xattrs {
            for (name, value) in entry.xattrs.sorted(by: { $0.key < $1.key }) where isPortableXattr(name) {
                if let code = setXattr(fd: fd, name: name, value: value) {
                    throw fail(entry, "cannot set xattr \(name): \(errnoText(code))")
                }
            }
        }
        var times = [timespec(tv_sec: Int(entry.mtime), tv_nsec: 0), timespec(tv_sec: Int(entry.mtime), tv_nsec: 0)]
        guard futimens(fd, &times) == 0 else { throw fail(entry, "cannot set times: \(errnoText())") }
    }

    /// Owner, mode (when given) and times of a non-regular entry, without following it.
    private func setOwnerAndTimes(_ dir: Int32, _ name: String, _ entry: LayerEntry, mode: UInt32?) throws(ArchiveError)
    {
        if options.preserveOwnership, fchownat(dir, name, entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW) != 0 {
            throw fail(entry, "lchown \(entry.uid):\(entry.gid): \(errnoText())")
        }
        // The entry was created just now by this process and is not a symlink, so 0 flags are safe.
        if let mode, fchmodat(dir, name, mode_t(mode & 0o7777), 0) != 0 {
            throw fail(entry, "chmod: \(errnoText())")
        }
        var times = [timespec(tv_sec: Int(entry.mtime), tv_nsec: 0), timespec(tv_sec: Int(entry.mtime), tv_nsec: 0)]
        guard utimensat(dir, name, &times, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw fail(entry, "cannot set times: \(errnoText())")
        }
    }

    private func finishDirectory(_ components: [String], _ entry: LayerEntry) throws(ArchiveError) {
        let fd: Int32
        if components.isEmpty {
            fd = dup(rootFD)
        } else {
            let parent = try openDirectory(Array(components.dropLast()), create: false, entry: entry.path)
            defer { close(parent) }
            fd = openat(parent, components[components.count - 1], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            // Replaced by a later entry of the same layer: nothing left to set.
            if fd < 0 { return }
        }
        defer { close(fd) }
        try setAttributes(fd: fd, entry)
    }

    private func fail(_ entry: LayerEntry, _ reason: String) -> ArchiveError {
        .extractFailed(entry.path, layer: layer.path, reason: reason)
    }
}
