import Foundation

/// Walks a directory into the entries of a layer, in the order the writer needs.
public struct TreeScanner {
    public struct Options: Sendable {
        /// Prepended to every entry path ("app" -> "app/main.py").
        public var pathPrefix: String = ""
        /// Treat the tree as an overlayfs upperdir: char devices 0/0 become ".wh.NAME" entries and
        /// directories with `trusted.overlay.opaque=y` get a ".wh..wh..opq" entry inside them.
        public var overlayWhiteouts: Bool = false
        /// Relative path (without the prefix) -> skip it (and everything below when it is a directory).
        public var exclude: @Sendable (String) -> Bool = { _ in false }
        /// Emit an entry for the scanned directory itself (path = the prefix, or ".").
        public var includeRoot: Bool = false
        /// Keep `security.capability` and `user.*` xattrs (never `trusted.*` nor `security.selinux`).
        public var xattrs: Bool = true

        public init(
            pathPrefix: String = "", overlayWhiteouts: Bool = false,
            exclude: @escaping @Sendable (String) -> Bool = { _ in false },
            includeRoot: Bool = false, xattrs: Bool = true
        ) {
            self.pathPrefix = pathPrefix
            self.overlayWhiteouts = overlayWhiteouts
            self.exclude = exclude
            self.includeRoot = includeRoot
            self.xattrs = xattrs
        }
    }

    private struct Found {
        var entry: LayerEntry
        var device: UInt64
        var inode: UInt64
        var linkable: Bool
    }

    /// Entries sorted byte-wise by path (so parents come first); hardlinks are detected by
    /// (device, inode): the first path in that order is the file, later ones are `.hardlink`.
    public static func scan(_ directory: URL, options: Options = .init()) throws(ArchiveError) -> [LayerEntry] {
        let root = directory.path
        var st = stat()
        if lstat(root, &st) != 0 {
            let code = errno
            if code == ENOENT { throw .missingPath(root, what: "directory") }
            throw .scanFailed(root, reason: errnoText(code))
        }
        guard (st.st_mode & FileType.mask) == FileType.directory else {
            throw .scanFailed(root, reason: "it is not a directory")
        }
        // A leading "/" is allowed in the prefix (a COPY destination like "/app/").
        var rawPrefix = Substring(options.pathPrefix)
        while rawPrefix.hasPrefix("/") { rawPrefix = rawPrefix.dropFirst() }
        guard let prefixParts = safeComponents(String(rawPrefix)) else {
            throw .invalidEntry(
                options.pathPrefix, reason: "the path prefix must be relative and must not contain '..'")
        }
        let prefix = prefixParts.joined(separator: "/")

        var found: [Found] = []
        if options.includeRoot {
            var rootEntry = try describe(path: root, relative: "", st: st, options: options)
            rootEntry.path = prefix.isEmpty ? "." : prefix
            found.append(Found(entry: rootEntry, device: 0, inode: 0, linkable: false))
            if options.overlayWhiteouts, isOpaque(root) {
                found.append(opaqueMarker(in: rootEntry.path == "." ? "" : rootEntry.path, like: rootEntry))
            }
        }
        try walk(root, relative: "", prefix: prefix, options: options, into: &found)

        found.sort { $0.entry.path.utf8.lexicographicallyPrecedes($1.entry.path.utf8) }
        var firstPath: [[UInt64]: String] = [:]
        for index in found.indices where found[index].linkable {
            let key = [found[index].device, found[index].inode]
            if let target = firstPath[key] {
                found[index].entry.kind = .hardlink(target: target)
                found[index].entry.xattrs = [:]
            } else {
                firstPath[key] = found[index].entry.path
            }
        }
        return found.map(\.entry)
    }

    private static func walk(
        _ directory: String, relative: String, prefix: String, options: Options,
        into found: inout [Found]
    ) throws(ArchiveError) {
        let names: [String]
        do { names = try listDirectory(atPath: directory) } catch { throw .scanFailed(directory, reason: error.reason) }
        for name in names {
            let rel = relative.isEmpty ? name : relative + "/" + name
            if options.exclude(rel) { continue }
            let full = directory + "/" + name
            var st = stat()
            guard lstat(full, &st) == 0 else { throw .scanFailed(full, reason: errnoText()) }
            let type = st.st_mode & FileType.mask
            if type == FileType.socket { continue }  // tar cannot carry sockets; they are runtime state anyway
            let path = prefix.isEmpty ? rel : prefix + "/" + rel
            if options.overlayWhiteouts, type == FileType.character, st.st_rdev == 0 {
                let whiteout = LayerEntry(
                    path: whiteoutPath(path, name: name), kind: .regular(source: nil, size: 0),
                    mode: 0, uid: st.st_uid, gid: st.st_gid, mtime: Int64(st.st_mtim.tv_sec))
                found.append(Found(entry: whiteout, device: 0, inode: 0, linkable: false))
                continue
            }
            var entry = try describe(path: full, relative: rel, st: st, options: options)
            entry.path = path
            found.append(
                Found(
                    entry: entry, device: UInt64(st.st_dev), inode: UInt64(st.st_ino),
                    linkable: type != FileType.directory && st.st_nlink > 1))
            if type == FileType.directory {
                if options.overlayWhiteouts, isOpaque(full) {
                    found.append(opaqueMarker(in: path, like: entry))
                }
                try walk(full, relative: rel, prefix: prefix, options: options, into: &found)
            }
        }
    }

    private static func whiteoutPath(_ path: String, name: String) -> String {
        let parent = path.dropLast(name.count)
        return parent + ".wh." + name
    }

    private static func opaqueMarker(in directory: String, like dir: LayerEntry) -> Found {
        let path = directory.isEmpty ? ".wh..wh..opq" : directory + "/.wh..wh..opq"
        let entry = LayerEntry(
            path: path, kind: .regular(source: nil, size: 0), mode: 0,
            uid: dir.uid, gid: dir.gid, mtime: dir.mtime)
        return Found(entry: entry, device: 0, inode: 0, linkable: false)
    }

    private static func isOpaque(_ path: String) -> Bool { OverlayOpaque.isOpaque(path) == true }

    private static func describe(
        path: String, relative: String, st: stat, options: Options
    ) throws(ArchiveError) -> LayerEntry {
        let kind: EntryKind
        switch st.st_mode & FileType.mask {
        case FileType.regular: kind = .regular(source: URL(fileURLWithPath: path), size: Int64(st.st_size))
        case FileType.directory: kind = .directory
        case FileType.symlink:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(path, &buffer, buffer.count - 1)
            guard n >= 0 else { throw .scanFailed(path, reason: "readlink: \(errnoText())") }
            kind = .symlink(target: String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))
        case FileType.character: kind = .characterDevice(major: major(st.st_rdev), minor: minor(st.st_rdev))
        case FileType.block: kind = .blockDevice(major: major(st.st_rdev), minor: minor(st.st_rdev))
        case FileType.fifo: kind = .fifo
        default:
            throw .scanFailed(path, reason: "unsupported file type \(String(st.st_mode & FileType.mask, radix: 8))")
        }
        var xattrs: [String: [UInt8]] = [:]
        if options.xattrs {
            for name in listXattrs(path: path) where isPortableXattr(name) {
                if let value = readXattr(path: path, name: name) { xattrs[name] = value }
            }
        }
        return LayerEntry(
            path: relative, kind: kind, mode: UInt32(st.st_mode & 0o7777), uid: st.st_uid,
            gid: st.st_gid, mtime: Int64(st.st_mtim.tv_sec), xattrs: xattrs)
    }
}

// MARK: - Small POSIX helpers shared with the extractor

struct POSIXFailure: Error {
    let code: Int32
    var reason: String { errnoText(code) }
}

func major(_ dev: dev_t) -> UInt32 {
    UInt32(truncatingIfNeeded: ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0000_0fff))
}
func minor(_ dev: dev_t) -> UInt32 { UInt32(truncatingIfNeeded: ((dev >> 12) & 0xffff_ff00) | (dev & 0x0000_00ff)) }
func makeDevice(_ major: UInt32, _ minor: UInt32) -> dev_t {
    let ma = dev_t(major), mi = dev_t(minor)
    return ((ma & 0x0000_0fff) << 8) | ((ma & 0xffff_f000) << 32) | (mi & 0x0000_00ff) | ((mi & 0xffff_ff00) << 12)
}

/// Names in a directory (without "." and ".."), read through an open descriptor which is consumed.
func listDirectory(fd: Int32) throws(POSIXFailure) -> [String] {
    guard let dir = fdopendir(fd) else {
        let code = errno
        close(fd)
        throw POSIXFailure(code: code)
    }
    defer { closedir(dir) }
    var names: [String] = []
    while true {
        errno = 0
        guard let ent = readdir(dir) else {
            if errno != 0 { throw POSIXFailure(code: errno) }
            break
        }
        let name = withUnsafePointer(to: &ent.pointee.d_name) {
            String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

func listDirectory(atPath path: String) throws(POSIXFailure) -> [String] {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
    guard fd >= 0 else { throw POSIXFailure(code: errno) }
    return try listDirectory(fd: fd)
}
