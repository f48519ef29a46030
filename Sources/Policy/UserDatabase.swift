/// The image's /etc/passwd and /etc/group, as the final layer left them.
struct UserDatabase {
    struct User { var name: String; var uid: UInt32; var gid: UInt32 }
    struct Group { var name: String; var gid: UInt32; var members: [String] }

    var users: [User] = []
    var groups: [Group] = []
    var hasPasswd: Bool

    init(index: FileIndex) {
        let passwd = index.captured["etc/passwd"]
        hasPasswd = passwd != nil
        for line in Self.lines(passwd) {
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 4, let uid = UInt32(f[2]), let gid = UInt32(f[3]) else { continue }
            users.append(User(name: String(f[0]), uid: uid, gid: gid))
        }
        for line in Self.lines(index.captured["etc/group"]) {
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 3, let gid = UInt32(f[2]) else { continue }
            let members = f.count > 3 ? f[3].split(separator: ",").map(String.init) : []
            groups.append(Group(name: String(f[0]), gid: gid, members: members))
        }
    }

    private static func lines(_ bytes: [UInt8]?) -> [Substring] {
        guard let bytes else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("#") }
    }
}

/// A USER value resolved the way a container runtime does.
struct ResolvedUser {
    var spec: String
    var uid: UInt32
    var gid: UInt32
    var name: String?
    var supplementary: [UInt32]
    /// How the uid was found ("numeric", "/etc/passwd").
    var via: String

    var display: String {
        via == "/etc/passwd" ? "\(spec) (UID \(uid) in /etc/passwd)" : spec
    }

    /// `USER name[:group]` or `uid[:gid]`; a name must be in /etc/passwd, as runc requires.
    static func resolve(_ spec: String, in db: UserDatabase) -> Result<ResolvedUser, Finding> {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let userPart = parts[0]
        var uid: UInt32
        var gid: UInt32 = 0
        var name: String?
        var via = "numeric"
        if let number = UInt32(userPart) {
            uid = number
            if let entry = db.users.first(where: { $0.uid == number }) { gid = entry.gid; name = entry.name }
        } else {
            guard db.hasPasswd else {
                return .failure(Finding("USER '\(userPart)' is a name but the image has no /etc/passwd to resolve it; use a numeric UID", path: "/etc/passwd"))
            }
            guard let entry = db.users.first(where: { $0.name == userPart }) else {
                return .failure(Finding("USER '\(userPart)' is not in the image's /etc/passwd, so the container cannot start; add the user or use a numeric UID", path: "/etc/passwd"))
            }
            uid = entry.uid
            gid = entry.gid
            name = entry.name
            via = "/etc/passwd"
        }
        if parts.count == 2 {
            if let number = UInt32(parts[1]) { gid = number } else if let group = db.groups.first(where: { $0.name == parts[1] }) {
                gid = group.gid
            } else {
                return .failure(Finding("group '\(parts[1])' of USER \(spec) is not in the image's /etc/group", path: "/etc/group"))
            }
        }
        let supplementary = name.map { n in db.groups.filter { $0.members.contains(n) }.map(\.gid) } ?? []
        return .success(ResolvedUser(spec: spec, uid: uid, gid: gid, name: name, supplementary: supplementary, via: via))
    }

    /// Whether this user may execute a file with this owner and mode (root: any x bit).
    func canExecute(_ node: FileNode) -> Bool {
        if uid == 0 { return node.mode & 0o111 != 0 }
        if node.uid == uid { return node.mode & 0o100 != 0 }
        if node.gid == gid || supplementary.contains(node.gid) { return node.mode & 0o010 != 0 }
        return node.mode & 0o001 != 0
    }
}
