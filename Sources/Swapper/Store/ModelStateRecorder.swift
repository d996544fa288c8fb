import Foundation
import Logging
import MeshStore
import Synchronization

/// Writes the Swapper's model rows to the store in the order their states change, without the
/// actor waiting for SQLite.
///
/// Each transition queues its row; only a model's latest row is kept (so the queue is bounded by
/// the number of models), and one writer task at a time commits everything queued in one
/// transaction. Rows carry increasing sequence numbers, and ``written(through:)`` waits until a
/// row is committed: the Swapper opens a model to requests only once peers can see it loaded.
final class ModelStateRecorder: Sendable {
    private struct State {
        var pending: [String: (record: ModelRecord, sequence: UInt64)] = [:]
        var nextSequence: UInt64 = 0
        var writtenThrough: UInt64 = 0
        var writing = false
        var waiters: [UUID: (sequence: UInt64, continuation: CheckedContinuation<Void, Never>)] = [:]
    }

    private let store: MeshStore
    private let logger: Logger
    private let state = Mutex(State())

    init(store: MeshStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Queues `record`; returns its sequence number.
    @discardableResult
    func record(_ record: ModelRecord) -> UInt64 {
        let (sequence, startWriter) = state.withLock { state in
            state.nextSequence += 1
            state.pending[record.name] = (record, state.nextSequence)
            defer { state.writing = true }
            return (state.nextSequence, !state.writing)
        }
        if startWriter { Task { await self.drain() } }
        return sequence
    }

    /// Returns once the row with `sequence` (and every earlier one) is committed or failed, or
    /// after `timeout` (a store that hangs must not hang a model's start or the shutdown).
    func written(through sequence: UInt64, timeout: Duration = .seconds(30)) async {
        let id = UUID()
        let deadline = ContinuousClock.now + timeout
        let timer = Task { [self] in
            try? await Task.sleep(until: deadline)
            state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume()
        }
        defer { timer.cancel() }
        await withCheckedContinuation { continuation in
            // Registered under the lock the timer takes: a timer that fired first is seen here.
            let done = state.withLock { state in
                if state.writtenThrough >= sequence || ContinuousClock.now >= deadline { return true }
                state.waiters[id] = (sequence, continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Returns once everything queued so far is committed (or after `timeout`).
    func flush(timeout: Duration = .seconds(30)) async {
        await written(through: state.withLock { $0.nextSequence }, timeout: timeout)
    }

    private func drain() async {
        while true {
            let batch: [(record: ModelRecord, sequence: UInt64)] = state.withLock { state in
                let batch = Array(state.pending.values)
                state.pending.removeAll()
                if batch.isEmpty { state.writing = false }
                return batch
            }
            guard let highest = batch.map(\.sequence).max() else { return }
            let records = batch.map(\.record)
            do {
                try await store.write { writer in
                    for record in records { try writer.put(record) }
                }
            } catch {
                logger.error("cannot record model state: \(error)")
            }
            let ready = state.withLock { state in
                state.writtenThrough = max(state.writtenThrough, highest)
                let through = state.writtenThrough
                let ready = state.waiters.filter { $0.value.sequence <= through }
                for id in ready.keys { state.waiters.removeValue(forKey: id) }
                return ready.values
            }
            ready.forEach { $0.continuation.resume() }
        }
    }
}
