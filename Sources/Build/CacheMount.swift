import Dockerfile
import Foundation
import OCI

#if canImport(Glibc)
import Glibc
#endif

/// The directory a `RUN --mount=type=cache` step gets, kept under the store across builds, and
/// the lock that gives `sharing=` its meaning between every build that uses the store:
/// - `shared` (the default): any number of steps at once (a shared lock);
/// - `locked`: one step at a time; the next waits until it is done (an exclusive lock);
/// - `private`: the shared directory when no other step uses it, else a fresh one of its own,
///   discarded after the step.
/// A cache seeded `from=` a stage starts as a copy of that stage's `source` path; its identity
/// includes what it was seeded from, as in BuildKit, so another seed never meets its contents.
struct CacheMount {
    let directory: URL
    private let lock: Int32

    /// Releases the lock; the directory stays for the next build.
    func release() { if lock >= 0 { close(lock) } }

    /// One cache mount of a RUN step.
    struct Request {
        var index: Int
        var id: String
        var seed: (key: String, source: URL)?
        var sharing: RunMount.Sharing

        /// The cache's directory name: its id and what it was seeded from.
        var name: String {
            var identity = id
            if let seed { identity += "\n" + seed.key }
            return String(SHA256Hasher.hash(Data(identity.utf8)).encoded.prefix(32))
        }
    }

    /// Every cache mount of a step, by mount index. Locks are taken one per cache (mounts of the
    /// same cache share it, with the strictest sharing asked) and in one order for every step, so
    /// steps that each want several locked caches cannot wait on each other forever. On a throw,
    /// what was taken is released.
    static func acquire(_ requests: [Request], storeRoot: URL, scratch: URL) async throws -> CacheMounts {
        let byName = Dictionary(grouping: requests, by: \.name)
        var taken: [String: CacheMount] = [:]
        do {
            for name in byName.keys.sorted() {
                let group = byName[name]!
                let sharing: RunMount.Sharing =
                    group.contains { $0.sharing == .locked }
                    ? .locked : group.allSatisfy { $0.sharing == .private } ? .private : .shared
                taken[name] = try await acquire(
                    id: group[0].id, seed: group[0].seed, sharing: sharing, storeRoot: storeRoot, scratch: scratch)
            }
        } catch {
            taken.values.forEach { $0.release() }
            throw error
        }
        var byIndex: [Int: CacheMount] = [:]
        for request in requests { byIndex[request.index] = taken[request.name] }
        return CacheMounts(byIndex: byIndex, held: Array(taken.values))
    }

    static func acquire(
        id: String, seed: (key: String, source: URL)?, sharing: RunMount.Sharing, storeRoot: URL, scratch: URL
    ) async throws -> CacheMount {
        let name = Request(index: 0, id: id, seed: seed, sharing: sharing).name
        let parent = storeRoot.appendingPathComponent("cache-mounts")
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        let shared = parent.appendingPathComponent(name, isDirectory: true)
        let lockPath = parent.appendingPathComponent(name + ".lock").path
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw BuildError.runFailed(reason: "cannot open \(lockPath): \(String(cString: strerror(errno)))")
        }
        let directory: URL
        switch sharing {
        case .shared, .locked:
            let operation = sharing == .locked ? LOCK_EX : LOCK_SH
            // flock blocks its thread: wait on a thread of our own, not the cooperative pool.
            let status = try await Blocking.run { flock(fd, operation) == 0 ? 0 : errno }
            guard status == 0 else {
                close(fd)
                throw BuildError.runFailed(reason: "cannot lock \(lockPath): \(String(cString: strerror(status)))")
            }
            directory = shared
        case .private:
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                directory = shared
            } else {
                close(fd)
                let own = scratch.appendingPathComponent("cache-\(name)-private", isDirectory: true)
                try FileManager.default.createDirectory(at: own, withIntermediateDirectories: true)
                if let seed { try copyTree(seed.source, into: own) }
                return CacheMount(directory: own, lock: -1)
            }
        }
        do {
            try create(shared, seededFrom: seed?.source, scratch: scratch)
        } catch {
            close(fd)
            throw error
        }
        return CacheMount(directory: directory, lock: fd)
    }

    /// Makes the shared directory when it is missing: seeded in a temporary directory, then renamed
    /// into place, so a concurrent step (shared locks) never sees a half-made seed.
    private static func create(_ directory: URL, seededFrom source: URL?, scratch: URL) throws {
        if FileManager.default.fileExists(atPath: directory.path) { return }
        let temporary = directory.deletingLastPathComponent().appendingPathComponent(
            ".new-\(UUID().uuidString.lowercased().prefix(12))")
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: false)
        if let source {
            do { try copyTree(source, into: temporary) } catch {
                try? FileManager.default.removeItem(at: temporary)
                throw error
            }
        }
        if rename(temporary.path, directory.path) != 0 {
            // Another step made it first: use theirs.
            try? FileManager.default.removeItem(at: temporary)
        }
    }

    /// Copies the contents of `source` (a read-only pinned bind of the resolved path) with owners,
    /// modes and symlinks as they are.
    private static func copyTree(_ source: URL, into destination: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/cp")
        process.arguments = ["-a", "--no-target-directory", source.path, destination.path]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BuildError.runFailed(
                reason:
                    "cannot seed the cache mount from \(source.path): \(message.trimmingCharacters(in: .whitespacesAndNewlines))"
            )
        }
    }
}

/// A RUN step's cache mounts, by mount index, and the locks they hold.
struct CacheMounts {
    let byIndex: [Int: CacheMount]
    fileprivate let held: [CacheMount]

    subscript(index: Int) -> CacheMount? { byIndex[index] }

    /// Releases every lock once, however many mounts share it.
    func release() { held.forEach { $0.release() } }
}
