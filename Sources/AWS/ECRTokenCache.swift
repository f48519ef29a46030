import Foundation

/// Caches authorization tokens until five minutes before they expire (they last 12 hours),
/// and lets concurrent callers share one in-flight request.
actor ECRTokenCache {
    private enum Entry {
        case ready([ECRAuthorization])
        case pending(Task<[ECRAuthorization], Error>)
    }

    static let refreshMargin: TimeInterval = 5 * 60
    private var entries: [String: Entry] = [:]

    func authorizations(
        key: String, now: Date,
        fetch: @escaping @Sendable () async throws -> [ECRAuthorization]
    ) async throws -> [ECRAuthorization] {
        switch entries[key] {
        case .ready(let cached)?
        where !cached.isEmpty
            && cached.allSatisfy({ $0.expiresAt.timeIntervalSince(now) > Self.refreshMargin }):
            return cached
        case .pending(let task)?:
            return try await task.value
        default:
            break
        }
        let task = Task { try await fetch() }
        entries[key] = .pending(task)
        do {
            let fresh = try await task.value
            entries[key] = .ready(fresh)
            return fresh
        } catch {
            entries[key] = nil
            throw error
        }
    }

    func removeAll() { entries.removeAll() }
}
