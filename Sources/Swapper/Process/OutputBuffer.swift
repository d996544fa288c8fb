import Foundation
import Synchronization

/// The last lines a process printed (stdout and stderr together), bounded in lines and in
/// bytes per line, for `/swapper/logs/{model}` and start-failure messages.
final class OutputBuffer: Sendable {
    private struct State {
        var lines: [String] = []
        var partial: [UInt8] = []
        var dropped = 0
        /// The pipe reached end of file: every byte the process wrote is here.
        var finished = false
    }

    private let state = Mutex(State())
    /// Signals `finished`; waited on only by a process's own wait thread.
    private let finishedSignal = NSCondition()
    let capacity: Int
    static let maxLineBytes = 4096

    /// `capacity` lines are kept (at least one).
    init(capacity: Int) { self.capacity = max(1, capacity) }

    func append(_ bytes: ArraySlice<UInt8>) {
        state.withLock { state in
            for byte in bytes {
                if byte == 0x0a {
                    push(&state)
                } else if state.partial.count < Self.maxLineBytes {
                    state.partial.append(byte)
                }
            }
        }
    }

    func finish() {
        state.withLock { state in
            if !state.partial.isEmpty { push(&state) }
            state.finished = true
        }
        finishedSignal.lock()
        finishedSignal.broadcast()
        finishedSignal.unlock()
    }

    /// Blocks until the output is finished or `deadline`: a process's exit is reported with its
    /// last words, not before the reader got them. A helper that keeps the pipe open holds this
    /// up to the deadline only. Blocking: call it from a dedicated thread.
    func waitUntilFinished(before deadline: Date) {
        finishedSignal.lock()
        defer { finishedSignal.unlock() }
        while !state.withLock({ $0.finished }) {
            guard finishedSignal.wait(until: deadline) else { return }
        }
    }

    private func push(_ state: inout State) {
        state.lines.append(String(decoding: state.partial, as: UTF8.self))
        state.partial.removeAll(keepingCapacity: true)
        if state.lines.count > capacity {
            state.lines.removeFirst(state.lines.count - capacity)
            state.dropped += 1
        }
    }

    /// The last `count` lines (all kept lines by default; a negative count is none, not a trap).
    func tail(_ count: Int? = nil) -> [String] {
        state.withLock { state in
            var lines = state.lines
            if !state.partial.isEmpty { lines.append(String(decoding: state.partial, as: UTF8.self)) }
            return Array(lines.suffix(max(0, count ?? lines.count)))
        }
    }
}
