import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Replaces a file's content atomically: temp file in the same directory, fsync, rename, fsync of the directory.
/// The new file keeps the old one's permission bits (and owner, when allowed). A symlink is followed,
/// so the link stays and its target changes.
enum AtomicFile {
    /// Points where a test can make the write fail, to check that nothing is left behind.
    enum Stage: Sendable { case afterTempWrite }

    static func load(_ path: String) throws -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DeployError.read(file: path, detail: "permission denied or not a regular file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DeployError.read(file: path, detail: "not valid UTF-8 text")
        }
        return text
    }

    static func save(_ text: String, to path: String, fault: ((Stage) throws -> Void)? = nil) throws {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let directory = (target as NSString).deletingLastPathComponent
        let name = (target as NSString).lastPathComponent
        var mode: mode_t = 0o644
        var owner: (uid_t, gid_t)?
        var info = stat()
        if stat(target, &info) == 0 {
            mode = info.st_mode & 0o7777
            owner = (info.st_uid, info.st_gid)
        }

        let tempPath = (directory.isEmpty ? "." : directory) + "/.\(name).\(UUID().uuidString.prefix(8)).tmp"
        let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw DeployError.write(file: path, detail: "cannot create \(tempPath): \(errnoText())") }
        var committed = false
        defer {
            if !committed { unlink(tempPath) }
        }
        do {
            defer { close(fd) }
            let bytes = Array(text.utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if written < 0 {
                    if errno == EINTR { continue }
                    throw DeployError.write(file: path, detail: errnoText())
                }
                offset += written
            }
            // open() applied the umask; set the original bits exactly.
            _ = fchmod(fd, mode)
            if let owner { _ = fchown(fd, owner.0, owner.1) }
            guard fsync(fd) == 0 else { throw DeployError.write(file: path, detail: "fsync: \(errnoText())") }
        }
        try fault?(.afterTempWrite)
        guard rename(tempPath, target) == 0 else {
            throw DeployError.write(file: path, detail: "rename: \(errnoText())")
        }
        committed = true
        let dirfd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
