import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Linux's O_PATH (glibc exports it only with _GNU_SOURCE): a descriptor that names a file without opening it.
private let O_PATH: Int32 = 0o10000000

/// A path resolved inside a root directory the way `securejoin` does: component by component,
/// symlinks read and followed relative to the root, `..` never above it. Each component is opened
/// with O_NOFOLLOW from the descriptor of the one before and `..` pops that chain instead of asking
/// the kernel, so a symlink swapped in while resolving cannot lead out of the root either.
/// Everything a Dockerfile, a build context or an image names goes through here: COPY sources,
/// RUN bind-mount sources, mount points and directories made in a rootfs, files read from one.
public final class RootedPath: @unchecked Sendable {
    /// What a symlink that is absolute or climbs above the root means.
    public enum Escapes: Sendable {
        /// As inside a container (chroot): absolute targets start at the root and `..` stops there.
        /// For image and stage filesystems (`/lib -> usr/lib`, `/data -> /srv/data`).
        case clamp
        /// An error: in a build context such a link names a host path.
        case reject
    }

    /// Missing components are created (directories, 0755; with `.file` the last one as an empty file).
    public enum Create: Sendable { case none, directories, file }

    public let root: URL
    /// Relative to the root, without a leading "/" ("" is the root itself); free of symlinks.
    public let relative: String
    /// An O_PATH descriptor of what was resolved; open while this value lives.
    public let descriptor: Int32
    /// Components created while resolving, as relative paths, parents first.
    public let created: [String]
    public let status: stat

    public var isDirectory: Bool { (status.st_mode & FileType.mask) == FileType.directory }
    public var url: URL { relative.isEmpty ? root : root.appendingPathComponent(relative) }
    /// A path naming exactly the resolved file, for mount(2) and open(2) in this process.
    public var descriptorPath: String { "/proc/self/fd/\(descriptor)" }

    private init(root: URL, relative: String, descriptor: Int32, created: [String], status: stat) {
        self.root = root
        self.relative = relative
        self.descriptor = descriptor
        self.created = created
        self.status = status
    }

    deinit { close(descriptor) }

    /// Resolves `path` (absolute or relative, both taken from the root) inside `root`; the final
    /// component is followed too when it is a symlink.
    public static func resolve(
        _ path: String, in root: URL, escapes: Escapes, create: Create = .none
    ) throws(RootedPathError) -> RootedPath {
        let rootFD = open(root.path, O_PATH | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw .failed(path: root.path, reason: errnoText()) }
        var chain: [(fd: Int32, name: String)] = []
        var done = false
        defer {
            if !done {
                chain.forEach { close($0.fd) }
                close(rootFD)
            }
        }
        var pending = Array(components(path).reversed())
        var created: [String] = []
        var links = 0
        func here() -> String { chain.map(\.name).joined(separator: "/") }
        while let name = pending.popLast() {
            if name == ".." {
                if let top = chain.popLast() {
                    close(top.fd)
                } else if escapes == .reject {
                    throw .escapes(path: path, link: nil, target: nil)
                }
                continue
            }
            let parent = chain.last?.fd ?? rootFD
            var fd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 && errno == ENOENT && create != .none {
                let made: Int32
                if create == .file && pending.isEmpty {
                    let file = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
                    if file >= 0 { close(file) }
                    made = file >= 0 ? 0 : -1
                } else {
                    made = mkdirat(parent, name, 0o755)
                }
                if made != 0 && errno != EEXIST {
                    throw .failed(path: join(here(), name), reason: "cannot create: \(errnoText())")
                }
                if made == 0 { created.append(join(here(), name)) }
                fd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)
            }
            guard fd >= 0 else {
                let code = errno
                if code == ENOENT { throw .missing(path: path, component: join(here(), name)) }
                if code == ENOTDIR { throw .notDirectory(path: path, component: here()) }
                throw .failed(path: join(here(), name), reason: errnoText(code))
            }
            var st = stat()
            guard fstat(fd, &st) == 0 else { close(fd); throw .failed(path: join(here(), name), reason: errnoText()) }
            if (st.st_mode & FileType.mask) == FileType.symlink {
                let target = readLink(fd)
                close(fd)
                links += 1
                guard let target, links <= 40 else { throw .tooManyLinks(path: path) }
                if target.hasPrefix("/") {
                    if escapes == .reject { throw .escapes(path: path, link: join(here(), name), target: target) }
                    chain.forEach { close($0.fd) }
                    chain.removeAll()
                } else if escapes == .reject, climbsOutOfRoot(join(here(), target)) {
                    throw .escapes(path: path, link: join(here(), name), target: target)
                }
                pending.append(contentsOf: components(target).reversed())
                continue
            }
            if !pending.isEmpty, (st.st_mode & FileType.mask) != FileType.directory,
                pending.contains(where: { $0 != ".." })
            {
                close(fd)
                throw .notDirectory(path: path, component: join(here(), name))
            }
            chain.append((fd, name))
        }
        let descriptor = chain.last?.fd ?? rootFD
        var st = stat()
        guard fstat(descriptor, &st) == 0 else { throw .failed(path: path, reason: errnoText()) }
        done = true
        chain.dropLast().forEach { close($0.fd) }
        if !chain.isEmpty { close(rootFD) }
        return RootedPath(root: root, relative: here(), descriptor: descriptor, created: created, status: st)
    }

    /// Opens the resolved file for reading (a file or a directory); the caller closes it.
    public func openForReading() -> Int32 {
        open(descriptorPath, O_RDONLY | O_CLOEXEC)
    }

    /// The contents of a small file inside a root (/etc/passwd of an image), or nil when it is
    /// missing, unreadable or not a regular file.
    public static func contents(of path: String, in root: URL) -> Data? {
        guard let file = try? resolve(path, in: root, escapes: .clamp), !file.isDirectory else { return nil }
        let fd = file.openForReading()
        guard fd >= 0 else { return nil }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        return try? handle.readToEnd() ?? Data()
    }

    /// `lstat` of a relative path whose parents must all be real directories (no symlink is
    /// followed anywhere); nil when it or a parent is missing or not a directory.
    public static func status(of relative: String, in root: URL) -> stat? {
        let parts = components(relative)
        guard !parts.contains("..") else { return nil }
        guard let last = parts.last else {
            var st = stat()
            return stat(root.path, &st) == 0 ? st : nil
        }
        return Directory(parts.dropLast().joined(separator: "/"), under: root)?.status(last)
    }

    /// Opens `relative` below `root` for reading without following a symlink anywhere on the way:
    /// a directory swapped for a symlink meanwhile makes it fail instead of leading out (-1, errno set).
    public static func openFile(_ relative: String, under root: URL) -> Int32 {
        let parts = components(relative)
        guard let last = parts.last, !parts.contains("..") else { errno = EINVAL; return -1 }
        guard let directory = Directory(parts.dropLast().joined(separator: "/"), under: root) else {
            if errno == 0 { errno = ENOENT }
            return -1
        }
        return directory.openFile(last)
    }

    /// The names in a directory given as a relative path of real directories (no symlink followed).
    public static func names(in relative: String, under root: URL) -> [String]? {
        Directory(relative, under: root)?.names()
    }

    /// An open directory whose entries are looked at and entered without following any symlink:
    /// a walk through it stays below where it started, whatever is renamed meanwhile.
    public final class Directory: @unchecked Sendable {
        private let fd: Int32

        private init(fd: Int32) { self.fd = fd }
        deinit { close(fd) }

        /// The directory at `relative` below `root`, every component a real directory.
        public convenience init?(_ relative: String, under root: URL) {
            var fd = open(root.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            for name in RootedPath.components(relative) {
                let next = name == ".." ? -1 : openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                close(fd)
                guard next >= 0 else { return nil }
                fd = next
            }
            self.init(fd: fd)
        }

        public func names() -> [String]? {
            let fresh = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fresh >= 0 else { return nil }
            return try? listDirectory(fd: fresh)
        }

        /// `lstat` of an entry.
        public func status(_ name: String) -> stat? {
            var st = stat()
            return fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st : nil
        }

        /// Opens an entry for reading, refusing a symlink (-1 with errno set, like open).
        public func openFile(_ name: String) -> Int32 {
            openat(fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        }

        /// An entry that is a real directory (nil for a symlink to one).
        public func child(_ name: String) -> Directory? {
            let next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            return next >= 0 ? Directory(fd: next) : nil
        }
    }

    /// True when `..` components climb above the start of a relative path (`../x`, `a/../../x`).
    public static func climbsOutOfRoot(_ path: String) -> Bool {
        var depth = 0
        for component in path.split(separator: "/") {
            if component == ".." { depth -= 1; if depth < 0 { return true } } else if component != "." { depth += 1 }
        }
        return false
    }

    fileprivate static func components(_ path: String) -> [String] {
        path.split(separator: "/").map(String.init).filter { $0 != "." }
    }

    private static func join(_ base: String, _ name: String) -> String { base.isEmpty ? name : base + "/" + name }

    private static func readLink(_ fd: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlinkat(fd, "", &buffer, buffer.count - 1)
        guard n >= 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Why a path could not be resolved inside its root. Messages are fragments: callers add where
/// the path came from (the Dockerfile line) and what to do.
public enum RootedPathError: Error, CustomStringConvertible, Sendable, Equatable {
    /// An absolute or climbing symlink (or, with `link == nil`, a `..`) leads out of a root that rejects that.
    case escapes(path: String, link: String?, target: String?)
    case missing(path: String, component: String)
    case notDirectory(path: String, component: String)
    case tooManyLinks(path: String)
    case failed(path: String, reason: String)

    public var description: String {
        switch self {
        case .escapes(let path, let link?, let target?):
            let what = "\(link) is a symlink to \(target), outside its root"
            return path == link || path == "/" + link
                ? what : "\(path) leads outside its root: \(link) is a symlink to \(target)"
        case .escapes(let path, _, _):
            return "\(path) leads outside its root with '..'"
        case .missing(let path, let component):
            return component == path || "/" + component == path
                ? "\(path) does not exist" : "\(path) does not exist (\(component) is missing)"
        case .notDirectory(let path, let component):
            return "\(path): \(component) is not a directory"
        case .tooManyLinks(let path):
            return "\(path): too many levels of symbolic links"
        case .failed(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
