import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Small POSIX helpers: the store's durability rests on write-to-temp, fsync, rename, fsync(dir).
public enum FileOps {
    /// Writes `data` to `url` atomically: readers see the old file or the new one, never a part.
    public static func atomicWrite(_ data: Data, to url: URL, mode: mode_t = 0o644) throws(StoreError) {
        let dir = url.deletingLastPathComponent()
        let temp = dir.appendingPathComponent(
            ".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
        let fd = open(temp.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .io(path: temp.path, operation: "creating", errno: errno) }
        var ok = false
        defer {
            if !ok { unlink(temp.path) }
        }
        let failure: Int32? = data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) -> Int32? in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += n
            }
            return fsync(fd) == 0 ? nil : errno
        }
        if let failure {
            close(fd)
            throw .io(path: temp.path, operation: "writing", errno: failure)
        }
        close(fd)
        guard rename(temp.path, url.path) == 0 else {
            throw .io(path: url.path, operation: "renaming into", errno: errno)
        }
        ok = true
        syncDirectory(dir)
    }

    /// Moves a finished temp file into place and makes the rename durable.
    public static func moveIntoPlace(_ temp: URL, _ destination: URL) throws(StoreError) {
        guard rename(temp.path, destination.path) == 0 else {
            throw .io(path: destination.path, operation: "renaming into", errno: errno)
        }
        syncDirectory(destination.deletingLastPathComponent())
    }

    public static func syncDirectory(_ dir: URL) {
        let fd = open(dir.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    public static func fsyncFile(_ url: URL) throws(StoreError) {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: url.path, operation: "opening", errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io(path: url.path, operation: "syncing", errno: errno) }
    }

    public static func makeDirectory(_ url: URL) throws(StoreError) {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw .cannotCreate(path: url.path, reason: (error as NSError).localizedDescription)
        }
    }

    /// Removes a directory tree like `rm -rf --one-file-system`: symlinks are removed, never
    /// followed; a mount point is not entered (what is mounted there is not the tree's to delete);
    /// entries that vanish meanwhile are skipped, so two removers racing (an interrupt handler and
    /// the step it interrupted) cannot leave the tree half removed. Returns whether it is gone.
    @discardableResult
    public static func removeTree(_ url: URL) -> Bool {
        func remove(_ path: String, device: dev_t?) {
            var st = stat()
            guard lstat(path, &st) == 0 else { return }
            if st.st_mode & S_IFMT == S_IFDIR {
                guard device == nil || st.st_dev == device else { return }
                for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                    remove(path + "/" + name, device: st.st_dev)
                }
                rmdir(path)
            } else {
                unlink(path)
            }
        }
        // A second pass covers entries created while the first one ran.
        for _ in 0..<2 {
            remove(url.path, device: nil)
            var st = stat()
            if lstat(url.path, &st) != 0 && errno == ENOENT { return true }
        }
        return false
    }

    public static func fileSize(_ url: URL) -> Int64? {
        var st = stat()
        guard stat(url.path, &st) == 0 else { return nil }
        return Int64(st.st_size)
    }

    /// Reads a whole small file (manifests, configs, index.json).
    public static func read(_ url: URL) throws(StoreError) -> Data {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw .io(path: url.path, operation: "opening", errno: errno == 0 ? ENOENT : errno)
        }
        defer { try? handle.close() }
        do { return try handle.readToEnd() ?? Data() } catch {
            throw .io(path: url.path, operation: "reading", errno: EIO)
        }
    }
}
