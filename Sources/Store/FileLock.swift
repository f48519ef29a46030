import Foundation
import Glibc

/// An advisory file lock (flock) shared by every imagekit process using one store.
public final class FileLock: @unchecked Sendable {
    private let fd: Int32
    public let path: String

    public init(path: String) throws(StoreError) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: path, operation: "opening lock", errno: errno) }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Runs `body` holding the lock; blocks until other processes release it.
    public func withLock<T>(exclusive: Bool = true, _ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try lock(exclusive: exclusive)
        defer { unlock() }
        return try body()
    }

    public func lock(exclusive: Bool) throws(StoreError) {
        while flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0 {
            if errno == EINTR { continue }
            throw .io(path: path, operation: "locking", errno: errno)
        }
    }

    /// Tries to take the lock without waiting; false when another process holds it.
    public func tryLock(exclusive: Bool) -> Bool {
        flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0
    }

    public func unlock() { flock(fd, LOCK_UN) }
}
