import OCI

extension UserDatabase {
    /// The image's /etc/passwd and /etc/group, as the final layer left them.
    init(index: FileIndex) {
        func text(_ path: String) -> String? { index.captured[path].map { String(decoding: $0, as: UTF8.self) } }
        self.init(passwd: text("etc/passwd"), group: text("etc/group"))
    }
}

/// A USER value resolved with the same resolver the build runs RUN steps with.
struct ResolvedUser {
    var spec: String
    var identity: UserDatabase.Identity

    var uid: UInt32 { identity.uid }
    var gid: UInt32 { identity.gid }
    var name: String? { identity.name }

    var display: String {
        identity.fromPasswd ? "\(spec) (UID \(uid) in /etc/passwd)" : spec
    }

    static func resolve(_ spec: String, in db: UserDatabase) -> Result<ResolvedUser, Finding> {
        switch db.resolve(spec) {
        case .success(let identity):
            return .success(ResolvedUser(spec: spec, identity: identity))
        case .failure(.noPasswd(let user)):
            return .failure(
                Finding(
                    "USER '\(user)' is a name but the image has no /etc/passwd to resolve it; use a numeric UID",
                    path: "/etc/passwd"))
        case .failure(.unknownUser(let user)):
            return .failure(
                Finding(
                    "USER '\(user)' is not in the image's /etc/passwd, so the container cannot start; add the user or use a numeric UID",
                    path: "/etc/passwd"))
        case .failure(.unknownGroup(let group)):
            return .failure(
                Finding("group '\(group)' of USER \(spec) is not in the image's /etc/group", path: "/etc/group"))
        }
    }

    /// Whether this user may execute a file with this owner and mode (root: any x bit).
    func canExecute(_ node: FileNode) -> Bool {
        if uid == 0 { return node.mode & 0o111 != 0 }
        if node.uid == uid { return node.mode & 0o100 != 0 }
        if node.gid == gid || identity.additionalGids.contains(node.gid) { return node.mode & 0o010 != 0 }
        return node.mode & 0o001 != 0
    }
}
