import Foundation

/// Work done once per key however many concurrent stages ask for it (two stages FROM the same
/// base need its image resolved and its layers unpacked): the first caller does it, the others
/// wait for its answer. A failure is not kept: the next caller tries again (and reports its own
/// error).
actor SingleFlight<Key: Hashable & Sendable, Value: Sendable> {
    private var flights: [Key: Task<Value, Error>] = [:]

    func value(for key: Key, _ make: @escaping @Sendable () async throws -> Value) async throws -> Value {
        if let flight = flights[key] { return try await flight.value }
        let flight = Task { try await make() }
        flights[key] = flight
        do {
            return try await flight.value
        } catch {
            flights[key] = nil
            throw error
        }
    }
}
