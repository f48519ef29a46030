import Foundation
import OCI
import Store

/// Mutable counters shared by the steps of one build (its stages run concurrently).
final class BuildCounters: @unchecked Sendable {
    private let lock = NSLock()
    private var _steps = 0, _cached = 0, _remoteHits = 0
    private var _warnings: [String] = []
    private var _records: [(stage: Int, sequence: Int, record: CacheRecord)] = []
    private var _localHits = Set<Digest>()
    var steps: Int { lock.withLock { _steps } }
    var cached: Int { lock.withLock { _cached } }
    var remoteHits: Int { lock.withLock { _remoteHits } }
    var warnings: [String] { lock.withLock { _warnings } }
    /// Every step result of every stage, each key once, in stage order and step order within a
    /// stage (whatever order concurrent stages finished in): what `--cache-to` exports.
    var records: [CacheRecord] {
        let all = lock.withLock { _records }.sorted { ($0.stage, $0.sequence) < ($1.stage, $1.sequence) }
        var seen = Set<Digest>()
        return all.map(\.record).filter { seen.insert($0.key).inserted }
    }
    func step() { lock.withLock { _steps += 1 } }
    /// A step answered by the store's own cache: its record and its layer's facts are there already.
    func localHit(_ key: Digest) { lock.withLock { _ = _localHits.insert(key) } }
    func isLocalHit(_ key: Digest) -> Bool { lock.withLock { _localHits.contains(key) } }
    func hit(remote: Bool = false) {
        lock.withLock {
            _cached += 1; if remote { _remoteHits += 1 }
        }
    }
    func warn(_ text: String) { lock.withLock { _warnings.append(text) } }
    func record(_ key: Digest, _ entry: CacheEntry, stage: Int) {
        lock.withLock {
            _records.append((stage, _records.count, CacheRecord(key: key, entry: entry)))
        }
    }
}
