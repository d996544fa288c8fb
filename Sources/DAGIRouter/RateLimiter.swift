import MeshCore
import MeshHTTP
import Synchronization

/// Per-agent requests-per-minute limits, as token buckets refilled continuously. A refused
/// request learns when to retry (`Retry-After`).
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let buckets = Mutex<[String: Bucket]>([:])

    /// Takes one token for `agent` at `rpm`; throws a 429 when none is left.
    func admit(_ agent: String, rpm: Int?) throws {
        guard let rpm, rpm > 0 else { return }
        let perSecond = Double(rpm) / 60
        let now = ContinuousClock.now
        let wait: Double? = buckets.withLock { buckets in
            var bucket = buckets[agent] ?? Bucket(tokens: Double(rpm), updated: now)
            let elapsed = now - bucket.updated
            let seconds = elapsed.inSeconds
            bucket.tokens = min(Double(rpm), bucket.tokens + seconds * perSecond)
            bucket.updated = now
            defer { buckets[agent] = bucket }
            guard bucket.tokens >= 1 else { return (1 - bucket.tokens) / perSecond }
            bucket.tokens -= 1
            return nil
        }
        if let wait {
            let retry = max(1, Int(wait.rounded(.up)))
            throw APIError(
                status: .tooManyRequests, code: "rate_limit_exceeded",
                message: "agent \(agent) is limited to \(rpm) requests per minute; retry in \(retry)s",
                headers: [.retryAfter: String(retry)]
            )
        }
    }
}
