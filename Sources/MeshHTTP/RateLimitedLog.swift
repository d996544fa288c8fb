import Logging
import Synchronization

/// Warnings about what the network sends (refused requests, answers, changes, connections) at a
/// bounded rate: at most one line per kind per interval, saying how many were held back. A
/// client or peer that sends garbage every 50 ms must not fill the disk with logs; the counters
/// in /metrics keep the full count. `Kind` is a fixed set (an enum), so the state cannot grow
/// with what the network sends.
public final class RateLimitedLog<Kind: Hashable & Sendable>: Sendable {
    private struct Slot {
        var last: ContinuousClock.Instant?
        var held = 0
    }

    private let slots = Mutex<[Kind: Slot]>([:])
    public let interval: Duration
    public let logger: Logger

    public init(logger: Logger, interval: Duration = .seconds(10)) {
        self.logger = logger
        self.interval = interval
    }

    public func warning(_ kind: Kind, _ message: @autoclosure () -> String, metadata: Logger.Metadata = [:]) {
        let now = ContinuousClock.now
        let held: Int? = slots.withLock { slots in
            var slot = slots[kind] ?? Slot()
            defer { slots[kind] = slot }
            if let last = slot.last, now - last < interval {
                slot.held += 1
                return nil
            }
            defer { slot = Slot(last: now, held: 0) }
            return slot.held
        }
        guard let held else { return }
        let suffix = held > 0 ? " (and \(held) more since the last report)" : ""
        logger.warning("\(message())\(suffix)", metadata: metadata)
    }
}
