import Archive
import Foundation
import OCI

extension UserDatabase {
    /// Reads /etc/passwd and /etc/group under a root filesystem, resolved inside it (an image's
    /// /etc/passwd may be a symlink to a host path); a missing file is a missing database.
    init(rootfs: URL) {
        func read(_ path: String) -> String? {
            RootedPath.contents(of: path, in: rootfs).map { String(decoding: $0, as: UTF8.self) }
        }
        self.init(passwd: read("etc/passwd"), group: read("etc/group"))
    }

    /// `USER` for a build step; an unresolvable one is a build error naming the file to fix.
    func identity(for spec: String) throws(BuildError) -> Identity {
        switch resolve(spec) {
        case .success(let identity): return identity
        case .failure(.noPasswd(let user)):
            throw .unknownUser(user, reason: "the image has no /etc/passwd to look the name up in")
        case .failure(.unknownUser(let user)):
            throw .unknownUser(user, reason: "no such user in the image's /etc/passwd")
        case .failure(.unknownGroup(let group)):
            throw .unknownUser(spec, reason: "no group '\(group)' in the image's /etc/group")
        }
    }
}
