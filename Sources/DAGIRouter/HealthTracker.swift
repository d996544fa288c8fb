import Foundation
import MeshCore
import Synchronization

/// What the router has seen of each candidate: success rate and latency (EWMAs), requests in
/// flight, the time one request takes there and the hop to it (EWMAs, for the expected wait),
/// and a cooldown after repeated failures.
public final class HealthTracker: Sendable {
    public struct Stats: Sendable, Equatable {
        public var successRate = 1.0
        /// Seconds; time to first byte for streams, whole answer otherwise.
        public var latency: Double?
        public var inflight = 0
        /// When each request in flight to a peer was sent (ms since 1970): its published load is
        /// corrected by the requests sent to it since. Empty for other candidates.
        public var sentAt: [Int64] = []
        /// Seconds one request occupies a slot there (a wait observed with others ahead is
        /// divided among them); a peer's includes the hop.
        public var service: Double?
        /// Seconds a peer's answers take beyond its own published service time, and when that
        /// was last measured.
        public var hop: Double?
        public var hopMeasured: ContinuousClock.Instant?

        public var isCoolingDown: Bool { cooldownUntil.map { $0 > .now } ?? false }

        /// The hop, fading by half every minute since it was measured: a peer once slow (a cold
        /// start, a busy machine) is tried again instead of being shunned for good.
        public func hop(at now: ContinuousClock.Instant) -> Double? {
            guard let hop, let measured = hopMeasured else { return hop }
            return hop * pow(0.5, (now - measured).inSeconds / 60)
        }
        public var consecutiveFailures = 0
        public var cooldownUntil: ContinuousClock.Instant?
        /// Set by a provider's `Retry-After`: the candidate is not called before then.
        public var restUntil: ContinuousClock.Instant?
        public var lastError: String?
    }

    private let stats = Mutex<[String: Stats]>([:])
    /// Signalled when a request to one of this node's models begins or ends: the load
    /// publisher's cue (its only waiter).
    let loadChanged = Wakeup()
    let cooldownAfter: Int
    let cooldown: Duration
    static let alpha = 0.2

    public init(cooldownAfter: Int, cooldown: Duration) {
        self.cooldownAfter = cooldownAfter
        self.cooldown = cooldown
    }

    public func stats(_ key: String) -> Stats { stats.withLock { $0[key] ?? Stats() } }

    /// The statistics of every candidate whose key starts with `prefix` (a provider's models,
    /// this node's own).
    func stats(withPrefix prefix: String) -> [String: Stats] { stats.withLock { $0.filter { $0.key.hasPrefix(prefix) } } }

    /// A request sent to `candidate` at `now` (ms since 1970). A peer's send times are kept up
    /// to a bound: past it its correction counts only what was kept (the connection limit
    /// bounds them anyway).
    func begin(_ candidate: Candidate, now: Int64) {
        let key = candidate.key, remote = candidate.place == .remote
        stats.withLock { all in
            // In place: a copy of the stats would copy `sentAt` on every request.
            all[key, default: Stats()].inflight += 1
            if remote, all[key, default: Stats()].sentAt.count < Self.maxSentTimes { all[key, default: Stats()].sentAt.append(now) }
        }
        if candidate.isLocal, !candidate.isCloud { loadChanged.signal() }
    }

    static let maxSentTimes = 4096

    /// The request sent to `candidate` at `sentAt` ended.
    func end(_ candidate: Candidate, sentAt: Int64) {
        let key = candidate.key
        stats.withLock { all in
            guard let inflight = all[key]?.inflight else { return }
            all[key, default: Stats()].inflight = max(0, inflight - 1)
            if candidate.place == .remote, let index = all[key]?.sentAt.firstIndex(of: sentAt) {
                all[key, default: Stats()].sentAt.remove(at: index)
            }
        }
        if candidate.isLocal, !candidate.isCloud { loadChanged.signal() }
    }

    /// A request's whole answer took `seconds` with `wait` expected before it: the candidate's
    /// service time, and a peer's hop beyond the service time it published, move toward it.
    /// One answer moves the estimate by at most a factor of four either way, so a client's
    /// odd request (one token, a stream read slowly) cannot set it alone.
    func served(_ key: String, seconds: Double, wait: ExpectedWait) {
        guard seconds.isFinite, seconds >= 0 else { return }
        // A request with k requests' worth of work ahead took about k + 1 service times.
        let sample = seconds / (1 + wait.ahead)
        stats.withLock { all in
            var s = all[key] ?? Stats()
            let perRequest = s.service.map { min(max(sample, $0 / 4), $0 * 4) } ?? sample
            s.service = s.service.map { $0 * (1 - Self.alpha) + perRequest * Self.alpha } ?? perRequest
            if wait.serviceSource == .peer {
                let now = ContinuousClock.now
                let beyond = max(0, perRequest - wait.serviceSeconds)
                s.hop = s.hop(at: now).map { $0 * (1 - Self.alpha) + beyond * Self.alpha } ?? beyond
                s.hopMeasured = now
            }
            all[key] = s
        }
    }

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

    /// Higher is better: success rate, discounted by latency and by requests in flight.
    static func score(_ s: Stats) -> Double {
        let latency = s.latency ?? 0.5
        return s.successRate / (1 + latency) / (1 + 0.25 * Double(s.inflight))
    }
}
