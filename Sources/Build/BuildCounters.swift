import Foundation
import OCI
import Store

/// Mutable counters shared by the steps of one build.
final class BuildCounters: @unchecked Sendable {
    private let lock = NSLock()
    private var _steps = 0, _cached = 0, _remoteHits = 0
    private var _warnings: [String] = []
    private var _records: [CacheRecord] = []
    private var _recorded = Set<Digest>()
    var steps: Int { lock.withLock { _steps } }
    var cached: Int { lock.withLock { _cached } }
    var remoteHits: Int { lock.withLock { _remoteHits } }
    var warnings: [String] { lock.withLock { _warnings } }
    /// Every step result of every stage, in build order: what `--cache-to` exports.
    var records: [CacheRecord] { lock.withLock { _records } }
    func step() { lock.withLock { _steps += 1 } }
    func hit(remote: Bool = false) {
        lock.withLock {
            _cached += 1; if remote { _remoteHits += 1 }
        }
    }
    func warn(_ text: String) { lock.withLock { _warnings.append(text) } }
    func record(_ key: Digest, _ entry: CacheEntry) {
        lock.withLock { if _recorded.insert(key).inserted { _records.append(CacheRecord(key: key, entry: entry)) } }
    }
}
