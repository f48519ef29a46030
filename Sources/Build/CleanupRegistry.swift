import Foundation
import Store

#if canImport(Glibc)
import Glibc
#endif

/// Everything a build has set up that must not outlive it: runc containers, overlay mounts,
/// temporary directories. The interrupt handler (Ctrl-C) and normal exits both drain it.
public final class CleanupRegistry: @unchecked Sendable {
    public static let shared = CleanupRegistry()

    private let lock = NSLock()
    private var containers: [String: RuncRunner] = [:]
    private var mounts: [String: OverlayMount] = [:]
    private var directories: [String] = []
    private var claims: [String] = []
    private var interrupting = false

    public func addContainer(id: String, runner: RuncRunner) { lock.withLock { containers[id] = runner } }
    public func removeContainer(id: String) { lock.withLock { _ = containers.removeValue(forKey: id) } }
    public func addMount(_ mount: OverlayMount) { lock.withLock { mounts[mount.target.path] = mount } }
    public func removeMount(_ mount: OverlayMount) {
        lock.withLock { _ = mounts.removeValue(forKey: mount.target.path) }
    }
    public func addDirectory(_ url: URL) { lock.withLock { directories.append(url.path) } }
    public func removeDirectory(_ url: URL) { lock.withLock { directories.removeAll { $0 == url.path } } }

    /// Unmounts what is still mounted below `directory` (a build's work root), newest first.
    public func drainMounts(under directory: URL) {
        let prefix = directory.path + "/"
        let victims = lock.withLock { () -> [OverlayMount] in
            let found = mounts.values.filter { $0.target.path.hasPrefix(prefix) }
            found.forEach { mounts.removeValue(forKey: $0.target.path) }
            return found
        }
        for mount in victims.sorted(by: { $0.target.path > $1.target.path }) { try? mount.unmount() }
    }

    /// Kills containers, unmounts, removes directories; safe to call more than once.
    public func drain() {
        let (c, m, d, o) = lock.withLock { () -> ([String: RuncRunner], [OverlayMount], [String], [String]) in
            defer { containers = [:]; mounts = [:]; directories = []; claims = [] }
            return (containers, Array(mounts.values), directories, claims)
        }
        for (id, runner) in c { runner.forceDelete(id: id) }
        for mount in m { try? mount.unmount() }
        for dir in d.reversed() { FileOps.removeTree(URL(fileURLWithPath: dir)) }
        for path in o { unlink(path) }  // after the directories: a claim outlives its directory
    }

    /// A build step that fails because the interrupt handler killed its container or unmounted its
    /// filesystem must not report that failure (exit 1): it waits here while the handler finishes
    /// cleaning up and exits with 130. Returns at once when no interrupt is in progress.
    public func waitIfInterrupted() {
        while lock.withLock({ interrupting }) { sleep(1) }
    }

    private var signalSources: [DispatchSourceSignal] = []

    /// On SIGINT/SIGTERM: clean up, then exit 130 (or 143), as shells expect.
    public func installSignalHandlers() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                lock.withLock { interrupting = true }
                FileHandle.standardError.write(Data("\ninterrupted: cleaning up containers and mounts\n".utf8))
                drain()
                exit(128 + sig)
            }
            source.resume()
            lock.withLock { signalSources.append(source) }
        }
    }

    // MARK: What killed builds leave behind

    /// A build's claim on its work directory: an flock held while the process lives, on a file made
    /// before the directory and removed after it. SIGKILL cannot be handled, but it releases the
    /// lock, so the next build or `prune` can tell a dead build's leftovers from a running one's.
    public final class Claim: @unchecked Sendable {
        private let lock: FileLock
        private let path: String

        init(lock: FileLock, path: String) {
            self.lock = lock
            self.path = path
        }

        /// Call after the work directory is gone.
        public func release() {
            unlink(path)
            lock.unlock()
            CleanupRegistry.shared.lock.withLock { CleanupRegistry.shared.claims.removeAll { $0 == path } }
        }
    }

    static let workPrefix = "build-"
    static let claimSuffix = ".owner"

    /// Claims `workRoot` (a `build-*` directory not created yet) for this process.
    public static func claim(_ workRoot: URL) throws -> Claim {
        let path = workRoot.path + claimSuffix
        try FileManager.default.createDirectory(
            at: workRoot.deletingLastPathComponent(), withIntermediateDirectories: true)
        let lock = try FileLock(path: path)
        guard lock.tryLock(exclusive: true) else {
            throw BuildError.internalState("\(path) is held by another process")
        }
        shared.lock.withLock { shared.claims.append(path) }
        return Claim(lock: lock, path: path)
    }

    public struct Reaped: Sendable, Equatable {
        public var containers = 0
        public var mounts = 0
        public var directories = 0
        public var isEmpty: Bool { containers == 0 && mounts == 0 && directories == 0 }
    }

    /// Removes what builds killed with SIGKILL left under `parent` (a store's tmp directory): their
    /// runc containers, overlay and bind mounts, and work directories. Builds whose process still
    /// holds its claim are left alone: several builds may share a store.
    public static func reapStale(in parent: URL, runcStateRoot: URL) -> Reaped {
        var reaped = Reaped()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent.path)) ?? []
        var stale: [(URL, FileLock?)] = []
        for name in names where name.hasPrefix(workPrefix) && !name.hasSuffix(claimSuffix) {
            let dir = parent.appendingPathComponent(name)
            let claimPath = dir.path + claimSuffix
            if FileManager.default.fileExists(atPath: claimPath) {
                guard let lock = try? FileLock(path: claimPath), lock.tryLock(exclusive: true) else { continue }
                stale.append((dir, lock))
            } else {
                stale.append((dir, nil))  // the claim is made before the directory and removed after it
            }
        }
        for name in names where name.hasPrefix(workPrefix) && name.hasSuffix(claimSuffix) {
            // A claim whose directory is gone (killed between the two removals).
            let dir = parent.appendingPathComponent(String(name.dropLast(claimSuffix.count)))
            guard !FileManager.default.fileExists(atPath: dir.path),
                let lock = try? FileLock(path: dir.path + claimSuffix),
                lock.tryLock(exclusive: true)
            else { continue }
            unlink(dir.path + claimSuffix)
            lock.unlock()
        }
        guard !stale.isEmpty else { return reaped }
        let runner = try? RuncRunner(stateRoot: runcStateRoot)
        let containers = runner?.listContainerBundles() ?? [:]
        for (dir, lock) in stale {
            let prefix = dir.path + "/"
            for (id, bundle) in containers where bundle.hasPrefix(prefix) {
                runner?.forceDelete(id: id)
                reaped.containers += 1
            }
            for target in mountPoints(under: dir).sorted(by: { $0.count > $1.count }) {
                try? OverlayMount(
                    lowerDirectories: [], upperDirectory: nil, workDirectory: nil, target: URL(fileURLWithPath: target)
                ).unmount()
                reaped.mounts += 1
            }
            // Never remove through a mount: that would delete a bound source's files.
            if mountPoints(under: dir).isEmpty, (try? FileManager.default.removeItem(at: dir)) != nil {
                reaped.directories += 1
                if let lock { unlink(dir.path + claimSuffix); lock.unlock() }
            }
        }
        return reaped
    }

    /// Mount points at or below `directory`.
    static func mountPoints(under directory: URL) -> [String] {
        let prefix = directory.path + "/"
        return OverlayMount.mountedTargets().filter { $0.hasPrefix(prefix) || $0 == directory.path }
    }
}
