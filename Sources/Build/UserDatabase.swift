import Archive
import Foundation

/// Resolves `USER name[:group]` through the image's /etc/passwd and /etc/group, as Docker does.
public struct UserDatabase: Sendable {
    public struct Account: Sendable, Equatable { public var name: String; public var uid: UInt32; public var gid: UInt32; public var home: String }
    public struct Group: Sendable, Equatable { public var name: String; public var gid: UInt32; public var members: [String] }

    public var accounts: [Account]
    public var groups: [Group]

    public init(accounts: [Account] = [], groups: [Group] = []) {
        self.accounts = accounts
        self.groups = groups
    }

    /// Reads the files under a root filesystem, resolved inside it (an image's /etc/passwd may be a
    /// symlink to a host path); missing files mean an empty database.
    public init(rootfs: URL) {
        let passwd = RootedPath.contents(of: "etc/passwd", in: rootfs).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let group = RootedPath.contents(of: "etc/group", in: rootfs).map { String(decoding: $0, as: UTF8.self) } ?? ""
        self.init(passwd: passwd, group: group)
    }

    public init(passwd: String, group: String) {
        accounts = passwd.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 7, let uid = UInt32(f[2]), let gid = UInt32(f[3]) else { return nil }
            return Account(name: String(f[0]), uid: uid, gid: gid, home: String(f[5]))
        }
        groups = group.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 4, let gid = UInt32(f[2]) else { return nil }
            return Group(name: String(f[0]), gid: gid, members: f[3].split(separator: ",").map(String.init))
        }
    }

    public struct Identity: Sendable, Equatable {
        public var uid: UInt32
        public var gid: UInt32
        public var additionalGids: [UInt32]
        public var home: String
    }

    /// `""` is root. Numeric users need no passwd entry (gid then defaults to the entry's or 0).
    public func resolve(_ spec: String) throws(BuildError) -> Identity {
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        let userPart = parts.first ?? ""
        let account: Account?
        let uid: UInt32
        if userPart.isEmpty {
            account = accounts.first { $0.uid == 0 }
            uid = 0
        } else if let numeric = UInt32(userPart) {
            account = accounts.first { $0.uid == numeric }
            uid = numeric
        } else {
            guard let found = accounts.first(where: { $0.name == userPart }) else {
                throw .unknownUser(userPart, reason: "no such user in the image's /etc/passwd")
            }
            account = found
            uid = found.uid
        }
        var gid = account?.gid ?? 0
        if parts.count == 2 {
            if let numeric = UInt32(parts[1]) {
                gid = numeric
            } else if let group = groups.first(where: { $0.name == parts[1] }) {
                gid = group.gid
            } else {
                throw .unknownUser(spec, reason: "no group '\(parts[1])' in the image's /etc/group")
            }
        }
        let name = account?.name
        let extra = parts.count == 2 ? [] : groups.filter { group in name.map { group.members.contains($0) } ?? false }.map(\.gid).filter { $0 != gid }
        return Identity(uid: uid, gid: gid, additionalGids: extra, home: account?.home ?? "/")
    }
}
