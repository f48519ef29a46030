import Foundation
import OCI

/// The owner BuildKit gives the directories WORKDIR creates: the stage's USER. A numeric user
/// without a group is `uid:uid` (BuildKit's by-id chown); names are looked up in the image's
/// /etc/passwd and /etc/group.
enum WorkdirOwner {
    /// True when no passwd or group file needs to be read for `user`.
    static func isNumeric(_ user: String) -> Bool {
        user.split(separator: ":", omittingEmptySubsequences: false).allSatisfy { UInt32($0) != nil }
    }

    static func resolve(_ user: String, rootfs: URL?) throws(BuildError) -> (uid: UInt32, gid: UInt32) {
        let parts = user.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        if let uid = UInt32(parts[0]) {
            if parts.count == 1 { return (uid, uid) }
            if let gid = UInt32(parts[1]) { return (uid, gid) }
        }
        let identity = try (rootfs.map { UserDatabase(rootfs: $0) } ?? UserDatabase()).identity(for: user)
        return (identity.uid, identity.gid)
    }
}
