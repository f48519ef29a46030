import Archive
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An overlayfs mount: read-only lower layers, one writable upper directory.
/// After a RUN the upper directory holds exactly what changed: that is the new layer.
/// Also the handle of the bind mounts a RUN makes of its bind-mount sources (no lowers then).
public struct OverlayMount: Sendable {
    public let lowerDirectories: [URL]  // topmost first, as overlayfs wants them
    public let upperDirectory: URL?
    public let workDirectory: URL?
    public let target: URL

    /// Mounts read-write (with upper) or read-only (lowers only; needs at least two lowers, so an empty one is added when needed).
    public static func mount(
        lowers: [URL], upper: URL?, work: URL?, at target: URL, scratch: URL
    ) throws(BuildError) -> OverlayMount {
        var lowers = lowers
        if lowers.isEmpty || (upper == nil && lowers.count < 2) {
            let empty = scratch.appendingPathComponent("empty-lower")
            try? FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
            lowers.append(empty)
        }
        var options = "lowerdir=" + lowers.map { Self.escape($0.path) }.joined(separator: ":")
        if let upper, let work {
            options += ",upperdir=\(Self.escape(upper.path)),workdir=\(Self.escape(work.path))"
        }
        // Plain copy-up semantics: no redirects or metacopy, so the upper dir is a self-contained diff.
        options += ",redirect_dir=off,metacopy=off,index=off"
        guard options.utf8.count < 4000 else {
            throw .mountFailed(
                target: target.path,
                reason: "too many layers for one overlay mount (\(lowers.count)); squash the base image")
        }
        let flags: UInt = upper == nil ? UInt(MS_RDONLY) : 0
        if Glibc.mount("overlay", target.path, "overlay", flags, options) != 0 {
            let code = errno
            throw .mountFailed(
                target: target.path,
                reason: "\(String(cString: strerror(code))) (imagekit needs root and a kernel with overlayfs)")
        }
        return OverlayMount(lowerDirectories: lowers, upperDirectory: upper, workDirectory: work, target: target)
    }

    /// A bind mount of `source` (a path or a /proc/self/fd/N of a resolved file) at `target`; it is
    /// made read-only when asked, so that nothing can write through it into the source.
    public static func bind(_ source: String, at target: URL, readOnly: Bool) throws(BuildError) -> OverlayMount {
        guard Glibc.mount(source, target.path, nil, UInt(MS_BIND), nil) == 0 else {
            throw .mountFailed(
                target: target.path, reason: "cannot bind \(source): \(String(cString: strerror(errno)))")
        }
        let mount = OverlayMount(lowerDirectories: [], upperDirectory: nil, workDirectory: nil, target: target)
        if readOnly,
            Glibc.mount("none", target.path, nil, UInt(MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV), nil)
                != 0
        {
            let code = errno
            try? mount.unmount()
            throw .mountFailed(
                target: target.path, reason: "cannot make it read-only: \(String(cString: strerror(code)))")
        }
        return mount
    }

    /// A tmpfs private to root (0700, nosuid, nodev, noexec) of at most `size` bytes: what is
    /// written there never reaches a disk (secrets a RUN step mounts are copied there).
    public static func tmpfs(at target: URL, size: Int) throws(BuildError) -> OverlayMount {
        let flags = UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC)
        guard Glibc.mount("tmpfs", target.path, "tmpfs", flags, "mode=0700,size=\(size)") == 0 else {
            throw .mountFailed(target: target.path, reason: "cannot mount a tmpfs: \(String(cString: strerror(errno)))")
        }
        return OverlayMount(lowerDirectories: [], upperDirectory: nil, workDirectory: nil, target: target)
    }

    /// Detaches the mount; retried because a process that just exited may still hold it for a moment.
    public func unmount() throws(BuildError) {
        for attempt in 0..<50 {
            if umount2(target.path, 0) == 0 { return }
            if errno == EINVAL || errno == ENOENT { return }  // not mounted
            if attempt == 49 { break }
            usleep(20_000)
        }
        if umount2(target.path, Int32(MNT_DETACH)) != 0 && errno != EINVAL {
            throw .mountFailed(target: target.path, reason: "cannot unmount: \(String(cString: strerror(errno)))")
        }
    }

    /// Commas and colons separate overlay options; escape them in paths.
    static func escape(_ path: String) -> String {
        path.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: ",", with: "\\,")
            .replacingOccurrences(of: ":", with: "\\:")
    }

    /// True when `path` is a mount point listed in /proc/self/mounts (used by tests and cleanup).
    public static func isMounted(_ path: String) -> Bool {
        mountedTargets().contains(path)
    }

    /// Every mount point in /proc/self/mounts, unescaped (it writes space, tab, newline and
    /// backslash in octal).
    static func mountedTargets() -> [String] {
        guard let text = KernelFile.read("/proc/self/mounts") else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 1 else { return nil }
            return String(fields[1]).replacingOccurrences(of: "\\040", with: " ").replacingOccurrences(
                of: "\\011", with: "\t"
            )
            .replacingOccurrences(of: "\\012", with: "\n").replacingOccurrences(of: "\\134", with: "\\")
        }
    }
}
