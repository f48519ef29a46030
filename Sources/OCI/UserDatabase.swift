/// An image's /etc/passwd and /etc/group, and `USER name[:group]` resolved the way runc resolves
/// it (libcontainer's GetExecUser). Build uses it to run RUN steps, verify to judge USER: both
/// must agree, so there is exactly one parser and one resolver.
public struct UserDatabase: Sendable, Equatable {
    public struct Account: Sendable, Equatable {
        public var name: String
        public var uid: UInt32
        public var gid: UInt32
        public var home: String
    }

    public struct Group: Sendable, Equatable {
        public var name: String
        public var gid: UInt32
        public var members: [String]
    }

    public var accounts: [Account]
    public var groups: [Group]
    /// Whether the image has an /etc/passwd at all (a name cannot be resolved without one).
    public var hasPasswd: Bool

    public init(accounts: [Account] = [], groups: [Group] = [], hasPasswd: Bool? = nil) {
        self.accounts = accounts
        self.groups = groups
        self.hasPasswd = hasPasswd ?? !accounts.isEmpty
    }

    /// Parses the files' contents; `nil` means the file does not exist. As runc does: blank lines
    /// and `#` comments are skipped, short lines leave the missing fields empty (a group line
    /// without a member list is a group with no members), and a line whose id is not a number
    /// is skipped rather than read as 0.
    public init(passwd: String?, group: String?) {
        accounts = Self.records(passwd).compactMap { f in
            guard f.count >= 3, let uid = UInt32(f[2]) else { return nil }
            let gid = f.count > 3 ? UInt32(f[3]) : 0
            guard let gid else { return nil }
            return Account(name: String(f[0]), uid: uid, gid: gid, home: f.count > 5 ? String(f[5]) : "")
        }
        groups = Self.records(group).compactMap { f in
            guard f.count >= 3, let gid = UInt32(f[2]) else { return nil }
            let members = f.count > 3 ? f[3].split(separator: ",").map { String($0).trimmed } : []
            return Group(name: String(f[0]), gid: gid, members: members.filter { !$0.isEmpty })
        }
        hasPasswd = passwd != nil
    }

    private static func records(_ text: String?) -> [[Substring]] {
        guard let text else { return [] }
        return text.split(separator: "\n").compactMap { raw in
            let line = raw.drop { $0 == " " || $0 == "\t" }
            guard !line.isEmpty, !line.hasPrefix("#") else { return nil }
            return line.split(separator: ":", omittingEmptySubsequences: false)
        }
    }

    /// A USER value resolved: the ids runc will run with, and where they came from.
    public struct Identity: Sendable, Equatable {
        public var uid: UInt32
        public var gid: UInt32
        /// Supplementary groups: the groups listing the user by name, unless USER names a group.
        public var additionalGids: [UInt32]
        /// The passwd entry's name, when there is one.
        public var name: String?
        /// The passwd entry's home directory, `/` without one (as runc sets HOME).
        public var home: String
        /// Whether a name was looked up in /etc/passwd (rather than a number taken as is).
        public var fromPasswd: Bool
    }

    public enum LookupError: Error, Sendable, Equatable {
        /// A user name with no /etc/passwd to look it up in.
        case noPasswd(user: String)
        case unknownUser(String)
        case unknownGroup(String)
    }

    /// `""` is root. A numeric user needs no passwd entry (its group is then the entry's, or 0);
    /// a name must be in /etc/passwd, as runc requires.
    public func resolve(_ spec: String) -> Result<Identity, LookupError> {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
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
            guard hasPasswd else { return .failure(.noPasswd(user: userPart)) }
            guard let found = accounts.first(where: { $0.name == userPart }) else {
                return .failure(.unknownUser(userPart))
            }
            account = found
            uid = found.uid
        }
        var gid = account?.gid ?? 0
        var additional: [UInt32] = []
        if parts.count == 2, !parts[1].isEmpty {
            if let numeric = UInt32(parts[1]) {
                gid = numeric
            } else if let group = groups.first(where: { $0.name == parts[1] }) {
                gid = group.gid
            } else {
                return .failure(.unknownGroup(parts[1]))
            }
        } else if let name = account?.name {
            // runc adds supplementary groups only when USER names no group.
            for group in groups
            where group.members.contains(name) && group.gid != gid && !additional.contains(group.gid) {
                additional.append(group.gid)
            }
        }
        let home = account.map { $0.home.isEmpty ? "/" : $0.home } ?? "/"
        return .success(
            Identity(
                uid: uid, gid: gid, additionalGids: additional, name: account?.name, home: home,
                fromPasswd: UInt32(userPart) == nil && !userPart.isEmpty))
    }

    /// The uid of a user name, for comparisons ("is USER the expected user?").
    public func uid(ofName name: String) -> UInt32? { accounts.first { $0.name == name }?.uid }
    /// The gid of a group name.
    public func gid(ofGroup name: String) -> UInt32? { groups.first { $0.name == name }?.gid }
}

private extension String {
    var trimmed: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" || c == "\r" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s.removeLast() }
        return String(s)
    }
}
