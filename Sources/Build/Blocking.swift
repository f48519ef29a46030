import Foundation

/// Work that blocks a thread for long (a RUN container, which runc runs to its end) runs on a
/// thread of its own, so it never holds one of the few threads that run Swift tasks: the other
/// stages, and the cancellation of this one, go on meanwhile.
enum Blocking {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }
}
