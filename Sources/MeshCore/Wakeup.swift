import Synchronization

/// A one-slot signal for a loop that sleeps until there is work: `signal()` wakes the current
/// `wait(upTo:)` or, if nobody waits, makes the next wait return at once; many signals while
/// the loop is busy collapse into one wake-up. Signalling is synchronous and lock-only, so a
/// store observer can call it on every commit.
public final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    public func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns on a signal, after `timeout`, or when the task is cancelled (callers check).
    public func wait(upTo timeout: Duration) async {
        if state.withLock({ state in defer { state.pending = false }; return state.pending }) { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.nextSignal() }
            await group.next()
            group.cancelAll()
        }
    }

    private func nextSignal() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if now {
                    continuation.resume()
                } else if Task.isCancelled {
                    // Cancelled before the continuation was stored: the handler found nothing.
                    takeWaiter()?.resume()
                }
            }
        } onCancel: {
            takeWaiter()?.resume()
        }
    }

    private func takeWaiter() -> CheckedContinuation<Void, Never>? {
        state.withLock { state in
            defer { state.waiter = nil }
            return state.waiter
        }
    }
}
