import Foundation
import OCI

extension UserDatabase {
    /// Reads /etc/passwd and /etc/group under a root filesystem. Either file (or /etc) being a
    /// symlink counts as missing: an image must not make the build read a file of the host.
    init(rootfs: URL) {
        func read(_ name: String) -> String? {
            let etc = rootfs.appendingPathComponent("etc")
            var st = stat()
            guard lstat(etc.path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { return nil }
            let fd = open(etc.appendingPathComponent(name).path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, let data = try? handle.readToEnd() ?? Data() else { return nil }
            return String(decoding: data, as: UTF8.self)
        }
        self.init(passwd: read("passwd"), group: read("group"))
    }

    /// `USER` for a build step; an unresolvable one is a build error naming the file to fix.
    func identity(for spec: String) throws(BuildError) -> Identity {
        switch resolve(spec) {
        case .success(let identity): return identity
        case .failure(.noPasswd(let user)): throw .unknownUser(user, reason: "the image has no /etc/passwd to look the name up in")
        case .failure(.unknownUser(let user)): throw .unknownUser(user, reason: "no such user in the image's /etc/passwd")
        case .failure(.unknownGroup(let group)): throw .unknownUser(spec, reason: "no group '\(group)' in the image's /etc/group")
        }
    }
}
