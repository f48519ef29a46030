import Dockerfile
import Foundation

/// Builds the stages of one build concurrently. Every stage starts at once and waits, at the
/// instruction that needs it, for the result of a stage it uses (its base, `COPY --from`,
/// `RUN --mount from=`), as BuildKit does: a runtime stage's `RUN useradd` runs while a builder
/// stage's `RUN pip install` does. The expensive parts (RUN containers, layer writers) share
/// `JobSlots`, so at most `jobs` run at once. What a stage produces depends only on its
/// instructions and the results of the stages it uses, never on which finished first, so image
/// digests do not depend on scheduling.
///
/// The first stage to fail ends the build: the others are cancelled (a running container is
/// killed, a waiting stage stops waiting) and awaited, so their mounts and scratch directories
/// are gone before the failing stage's error reaches the caller.
struct StageScheduler: Sendable {
    let stages: [Stage]

    /// Runs `build` for every stage; returns the results by stage index.
    func run(
        _ build: @escaping @Sendable (Stage, StageResults) async throws -> StageResult
    ) async throws -> [Int: StageResult] {
        let shared = StageResults(building: Set(stages.map(\.index)))
        var results: [Int: StageResult] = [:]
        try await withThrowingTaskGroup(of: (Int, StageResult).self) { group in
            for stage in stages {
                group.addTask {
                    let result = try await build(stage, shared)
                    await shared.publish(result, of: stage.index)
                    return (stage.index, result)
                }
            }
            while let (index, result) = try await group.next() { results[index] = result }
        }
        return results
    }
}

/// The results of the stages of one build, as they finish; a stage asks for another's and waits.
actor StageResults {
    private let building: Set<Int>
    private var done: [Int: StageResult] = [:]
    private var waiters: [Int: [(id: Int, continuation: CheckedContinuation<StageResult, Error>)]] = [:]
    private var nextID = 0

    init(building: Set<Int>) { self.building = building }

    /// Results known before the build (tests), by stage index.
    init(finished: [Int: StageResult]) {
        building = Set(finished.keys)
        done = finished
    }

    func publish(_ result: StageResult, of index: Int) {
        done[index] = result
        for waiter in waiters.removeValue(forKey: index) ?? [] { waiter.continuation.resume(returning: result) }
    }

    /// The result of stage `index`, once it is built. Throws CancellationError when the waiting
    /// task is cancelled (another stage failed).
    func result(of index: Int) async throws -> StageResult {
        if let result = done[index] { return result }
        guard building.contains(index) else {
            throw BuildError.internalState("stage \(index) is not part of this build but a stage uses it")
        }
        try Task.checkCancellation()
        let id = nextID
        nextID += 1
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiters[index, default: []].append((id, continuation))
            }
        } onCancel: {
            Task { await self.stopWaiting(id) }
        }
    }

    private func stopWaiting(_ id: Int) {
        for (index, list) in waiters {
            guard let position = list.firstIndex(where: { $0.id == id }) else { continue }
            waiters[index]!.remove(at: position).continuation.resume(throwing: CancellationError())
            return
        }
    }
}

/// At most `count` expensive jobs (RUN containers, layer writers) at once; waiters are served in
/// the order they asked. A slot is never held while waiting for another stage, so stages cannot
/// deadlock on slots.
actor JobSlots {
    private var free: Int
    private var waiters: [(id: Int, continuation: CheckedContinuation<Void, Error>)] = []
    private var nextID = 0

    init(_ count: Int) { free = max(1, count) }

    /// Runs `body` holding a slot.
    nonisolated func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        do {
            let value = try await body()
            await release()
            return value
        } catch {
            await release()
            throw error
        }
    }

    private func acquire() async throws {
        try Task.checkCancellation()
        if free > 0 {
            free -= 1
            return
        }
        let id = nextID
        nextID += 1
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in waiters.append((id, continuation)) }
        } onCancel: {
            Task { await self.stopWaiting(id) }
        }
    }

    private func release() {
        if waiters.isEmpty {
            free += 1
        } else {
            waiters.removeFirst().continuation.resume()  // the slot passes to the next waiter
        }
    }

    private func stopWaiting(_ id: Int) {
        guard let position = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: position).continuation.resume(throwing: CancellationError())
    }
}
