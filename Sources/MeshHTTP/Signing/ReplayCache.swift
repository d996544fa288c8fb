import NIOCore
import Synchronization

/// The nonces of signed requests seen inside the clock-skew window, each remembered until its
/// request would be refused as too old anyway.
///
/// Every operation is O(1): a set answers "seen?", a queue in arrival order says what to
/// forget (arrival order is expiry order up to the senders' clock differences, so an entry may
/// linger a little past its expiry; it is never dropped before it). When the window holds
/// `capacity` live nonces, new requests are refused rather than old nonces forgotten early:
/// only requests with valid signatures get this far, so nobody without the secret can fill it.
final class ReplayCache: Sendable {
    /// A 128-bit nonce, kept as two words instead of a string.
    struct Nonce: Hashable {
        let high: UInt64
        let low: UInt64

        init?(hex: String) {
            let utf8 = hex.utf8
            guard utf8.count == 32, let high = UInt64(hex.prefix(16), radix: 16), let low = UInt64(hex.suffix(16), radix: 16) else {
                return nil
            }
            self.high = high
            self.low = low
        }
    }

    enum Outcome { case inserted, seen, full }

    private struct State {
        var seen = Set<Nonce>()
        var order = CircularBuffer<(nonce: Nonce, expiry: Int64)>()
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    func insert(_ hex: String, expiresAt: Int64, now: Int64) -> Outcome {
        guard let nonce = Nonce(hex: hex) else { return .seen }
        return state.withLock { state in
            while let oldest = state.order.first, oldest.expiry < now {
                state.order.removeFirst()
                state.seen.remove(oldest.nonce)
            }
            guard !state.seen.contains(nonce) else { return .seen }
            guard state.order.count < capacity else { return .full }
            state.seen.insert(nonce)
            state.order.append((nonce, expiresAt))
            return .inserted
        }
    }

    var count: Int { state.withLock { $0.order.count } }
}
