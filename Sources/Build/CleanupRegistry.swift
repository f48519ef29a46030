import Foundation
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
    private var interrupting = false

    public func addContainer(id: String, runner: RuncRunner) { lock.withLock { containers[id] = runner } }
    public func removeContainer(id: String) { lock.withLock { _ = containers.removeValue(forKey: id) } }
    public func addMount(_ mount: OverlayMount) { lock.withLock { mounts[mount.target.path] = mount } }
    public func removeMount(_ mount: OverlayMount) { lock.withLock { _ = mounts.removeValue(forKey: mount.target.path) } }
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
        let (c, m, d) = lock.withLock { () -> ([String: RuncRunner], [OverlayMount], [String]) in
            defer { containers = [:]; mounts = [:]; directories = [] }
            return (containers, Array(mounts.values), directories)
        }
        for (id, runner) in c { runner.forceDelete(id: id) }
        for mount in m { try? mount.unmount() }
        for dir in d.reversed() { try? FileManager.default.removeItem(atPath: dir) }
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
}
