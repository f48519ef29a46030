import Foundation

/// Permission bits (setuid, setgid and sticky included) and owner of a directory that exists in
/// the layers below a step. A COPY, ADD or WORKDIR layer gives the existing directories above
/// what it adds these attributes, as BuildKit's layers carry them: an entry with any others
/// would hide them in the overlay of every later step.
public struct DirectoryAttributes: Sendable, Hashable {
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32

    public init(mode: UInt32, uid: UInt32, gid: UInt32) {
        self.mode = mode & 0o7777
        self.uid = uid
        self.gid = gid
    }

    init(_ status: stat) {
        self.init(mode: UInt32(status.st_mode), uid: status.st_uid, gid: status.st_gid)
    }
}

/// A path as a layer's entries list it: a directory with its attributes, or anything else
/// (a file, a symlink, a whiteout marker...).
public enum ListedPath: Sendable, Hashable {
    case directory(DirectoryAttributes)
    case other
}

/// What a path is in a filesystem state, as `BuildSession.lookUp` tells it.
enum PathKind: Equatable {
    case missing
    case directory(DirectoryAttributes)
    case other

    var exists: Bool { self != .missing }
}
