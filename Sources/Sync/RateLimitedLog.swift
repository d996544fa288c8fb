import Logging
import MeshStore
import Synchronization

/// Warnings about what peers send (refused answers, refused changes) at a bounded rate: at most
/// one line per kind per interval, saying how many were held back. A peer that sends garbage
/// every 50 ms must not fill the disk with logs; the counters in /metrics keep the full count.
final class RateLimitedLog: Sendable {
    /// The kinds of warning, a fixed set: the state below cannot grow with what peers send.
    enum Kind: CaseIterable, Sendable { case answer, change, request }

    private struct Slot {
        var last: ContinuousClock.Instant?
        var held = 0
    }

    private let slots = Mutex<[Kind: Slot]>([:])
    let interval: Duration
    let logger: Logger

    init(logger: Logger, interval: Duration = .seconds(10)) {
        self.logger = logger
        self.interval = interval
    }

    func warning(_ kind: Kind, _ message: @autoclosure () -> String, metadata: Logger.Metadata = [:]) {
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

    /// One line for the changes a batch from `peer` had refused, if any.
    func refusals(_ result: ApplyResult, from peer: String) {
        guard let first = result.refusals.first else { return }
        let reasons = result.refused.map { "\($0.key.rawValue)=\($0.value)" }.sorted().joined(separator: ",")
        warning(.change, "refused \(result.refusedCount) change(s) from a peer [\(reasons)], first: \(first)", metadata: ["peer": .string(peer)])
    }
}
