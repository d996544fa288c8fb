import Foundation
import Synchronization

/// What the router has seen of each candidate: success rate and latency (EWMAs), requests in
/// flight, and a cooldown after repeated failures. Feeds the ranking within a rank.
public final class HealthTracker: Sendable {
    public struct Stats: Sendable, Equatable {
        public var successRate = 1.0
        /// Seconds; time to first byte for streams, whole answer otherwise.
        public var latency: Double?
        public var inflight = 0
        public var consecutiveFailures = 0
        public var cooldownUntil: ContinuousClock.Instant?
        /// Set by a provider's `Retry-After`: the candidate is not called before then.
        public var restUntil: ContinuousClock.Instant?
        public var lastError: String?
    }

    private let stats = Mutex<[String: Stats]>([:])
    let cooldownAfter: Int
    let cooldown: Duration
    static let alpha = 0.2

    public init(cooldownAfter: Int, cooldown: Duration) {
        self.cooldownAfter = cooldownAfter
        self.cooldown = cooldown
    }

    public func stats(_ key: String) -> Stats { stats.withLock { $0[key] ?? Stats() } }

    /// The statistics of every candidate whose key starts with `prefix` (a provider's models).
    func stats(withPrefix prefix: String) -> [Stats] { stats.withLock { $0.filter { $0.key.hasPrefix(prefix) }.map(\.value) } }

    func begin(_ key: String) { stats.withLock { $0[key, default: Stats()].inflight += 1 } }

    func end(_ key: String) { stats.withLock { $0[key, default: Stats()].inflight = max(0, ($0[key]?.inflight ?? 1) - 1) } }

    func succeeded(_ key: String, latency: Duration) {
        let seconds = latency.inSeconds
        stats.withLock { all in
            var s = all[key] ?? Stats()
            s.successRate = s.successRate * (1 - Self.alpha) + Self.alpha
            s.latency = s.latency.map { $0 * (1 - Self.alpha) + seconds * Self.alpha } ?? seconds
            s.consecutiveFailures = 0
            s.cooldownUntil = nil
            all[key] = s
        }
    }

    /// Records a failure; returns true when it put the candidate into cooldown.
    @discardableResult
    func failed(_ key: String, reason: String) -> Bool {
        stats.withLock { all in
            var s = all[key] ?? Stats()
            s.successRate *= (1 - Self.alpha)
            s.consecutiveFailures += 1
            s.lastError = reason
            var cooled = false
            if s.consecutiveFailures >= cooldownAfter, s.cooldownUntil == nil || s.cooldownUntil! < .now {
                s.cooldownUntil = .now + cooldown
                cooled = true
            }
            all[key] = s
            return cooled
        }
    }

    /// The upstream asked to be left alone for `duration` (a 429 with `Retry-After`).
    func rest(_ key: String, for duration: Duration) {
        stats.withLock { $0[key, default: Stats()].restUntil = .now + min(duration, .seconds(3600)) }
    }

    /// Until when the candidate rests, if it does now.
    func restingUntil(_ key: String) -> ContinuousClock.Instant? {
        stats.withLock { all in
            guard let until = all[key]?.restUntil else { return nil }
            return until > .now ? until : nil
        }
    }

    func isCoolingDown(_ key: String) -> Bool {
        stats.withLock { $0[key]?.cooldownUntil.map { $0 > .now } ?? false }
    }

    /// Higher is better: success rate, discounted by latency and by requests in flight.
    func score(_ key: String) -> Double {
        let s = stats(key)
        let latency = s.latency ?? 0.5
        return s.successRate / (1 + latency) / (1 + 0.25 * Double(s.inflight))
    }
}
