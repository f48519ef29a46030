import Foundation
import TestSupport
import Testing

@testable import Build

#if canImport(Glibc)
import Glibc
#endif

/// `sharing=` is a lock on a file beside the cache directory, shared by every build using the
/// store; the kernel's flock semantics are what the tests observe (no timing involved).
struct CacheMountTests {
    /// Whether another process-level user could take the lock the way `operation` asks, right now.
    static func canLock(_ path: String, _ operation: Int32) throws -> Bool {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        try #require(fd >= 0, "cannot open \(path)")
        defer { close(fd) }
        if flock(fd, operation | LOCK_NB) == 0 { return true }
        #expect(errno == EWOULDBLOCK)
        return false
    }

    static func lockFile(of mount: CacheMount) -> String { mount.directory.path + ".lock" }

    @Test func lockedExcludesEveryOtherUserUntilReleased() async throws {
        let store = try TemporaryDirectory(), scratch = try TemporaryDirectory()
        let held = try await CacheMount.acquire(
            id: "/root/.cache/pip", seed: nil, sharing: .locked, storeRoot: store.url, scratch: scratch.url)
        #expect(FileManager.default.fileExists(atPath: held.directory.path))
        #expect(try !Self.canLock(Self.lockFile(of: held), LOCK_SH))
        // A private step does not wait: it gets a directory of its own.
        let own = try await CacheMount.acquire(
            id: "/root/.cache/pip", seed: nil, sharing: .private, storeRoot: store.url, scratch: scratch.url)
        #expect(own.directory != held.directory)
        #expect(own.directory.path.hasPrefix(scratch.path))
        own.release()
        held.release()
        #expect(try Self.canLock(Self.lockFile(of: held), LOCK_EX))
    }

    @Test func sharedStepsUseOneDirectoryTogether() async throws {
        let store = try TemporaryDirectory(), scratch = try TemporaryDirectory()
        let first = try await CacheMount.acquire(
            id: "c", seed: nil, sharing: .shared, storeRoot: store.url, scratch: scratch.url)
        let second = try await CacheMount.acquire(
            id: "c", seed: nil, sharing: .shared, storeRoot: store.url, scratch: scratch.url)
        #expect(first.directory == second.directory)
        // Held shared: a locked step would wait, a private one would get its own directory.
        #expect(try !Self.canLock(Self.lockFile(of: first), LOCK_EX))
        #expect(try Self.canLock(Self.lockFile(of: first), LOCK_SH))
        first.release()
        second.release()
        let alone = try await CacheMount.acquire(
            id: "c", seed: nil, sharing: .private, storeRoot: store.url, scratch: scratch.url)
        #expect(alone.directory == first.directory)
        alone.release()
        // Another id is another directory.
        let other = try await CacheMount.acquire(
            id: "d", seed: nil, sharing: .shared, storeRoot: store.url, scratch: scratch.url)
        #expect(other.directory != first.directory)
        other.release()
    }

    @Test func aSeedIsCopiedOnceWithOwnersModesAndSymlinks() async throws {
        let store = try TemporaryDirectory(), scratch = try TemporaryDirectory(), source = try TemporaryDirectory()
        try writeFile("seeded\n", to: source.appending("sub/file"), mode: 0o640)
        #expect(chown(source.path("sub/file"), 1234, 5678) == 0)
        try FileManager.default.createSymbolicLink(atPath: source.path("link"), withDestinationPath: "sub/file")
        let seeded = try await CacheMount.acquire(
            id: "c", seed: ("stage-a\n/", source.url), sharing: .shared, storeRoot: store.url, scratch: scratch.url)
        let copy = seeded.directory.appendingPathComponent("sub/file").path
        #expect(try String(contentsOfFile: copy, encoding: .utf8) == "seeded\n")
        var st = stat()
        #expect(stat(copy, &st) == 0 && st.st_uid == 1234 && st.st_gid == 5678 && st.st_mode & 0o7777 == 0o640)
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: seeded.directory.path + "/link") == "sub/file")
        // What a step writes stays: the same seed is not copied again.
        try writeFile("later\n", to: seeded.directory.appendingPathComponent("sub/file"), mode: 0o640)
        seeded.release()
        let again = try await CacheMount.acquire(
            id: "c", seed: ("stage-a\n/", source.url), sharing: .shared, storeRoot: store.url, scratch: scratch.url)
        #expect(again.directory == seeded.directory)
        #expect(try String(contentsOfFile: copy, encoding: .utf8) == "later\n")
        again.release()
        // Another seed (another stage result) is another cache; no seed is another again.
        let otherSeed = try await CacheMount.acquire(
            id: "c", seed: ("stage-b\n/", source.url), sharing: .shared, storeRoot: store.url, scratch: scratch.url)
        let unseeded = try await CacheMount.acquire(
            id: "c", seed: nil, sharing: .shared, storeRoot: store.url, scratch: scratch.url)
        #expect(Set([seeded.directory, otherSeed.directory, unseeded.directory]).count == 3)
        #expect(try FileManager.default.contentsOfDirectory(atPath: unseeded.directory.path).isEmpty)
        otherSeed.release()
        unseeded.release()
    }

    @Test func aStepTakesOneLockPerCacheWithTheStrictestSharing() async throws {
        let store = try TemporaryDirectory(), scratch = try TemporaryDirectory()
        let requests = [
            CacheMount.Request(index: 0, id: "x", seed: nil, sharing: .shared),
            CacheMount.Request(index: 2, id: "x", seed: nil, sharing: .locked),
            CacheMount.Request(index: 3, id: "y", seed: nil, sharing: .private),
        ]
        // Returns at all: a second exclusive lock on "x" from the same step would never be granted.
        let mounts = try await CacheMount.acquire(requests, storeRoot: store.url, scratch: scratch.url)
        let x = try #require(mounts[0]), y = try #require(mounts[3])
        #expect(mounts[2]?.directory == x.directory && mounts[1] == nil)
        #expect(y.directory != x.directory)
        #expect(try !Self.canLock(Self.lockFile(of: x), LOCK_SH), "x is held exclusively (locked wins)")
        #expect(try !Self.canLock(Self.lockFile(of: y), LOCK_SH), "y, private and free, is held exclusively")
        mounts.release()
        #expect(try Self.canLock(Self.lockFile(of: x), LOCK_EX) && Self.canLock(Self.lockFile(of: y), LOCK_EX))
    }
}
