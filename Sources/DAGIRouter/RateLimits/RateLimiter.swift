import HTTPTypes
import MeshCore
import MeshHTTP
import MeshStore
import Synchronization

/// Per-agent requests and tokens per minute, counted across the mesh: this node's own at once
/// (a request when admitted, its tokens when it ends), the other nodes' from their ledger rows
/// as sync brings them. While a peer is offline its newest use is unknown, so this node alone
/// may use only `partitionShare` of each limit.
///
/// Admitted answers and refusals carry OpenAI's `x-ratelimit-*` headers; a refusal is a 429
/// with `Retry-After` (the seconds until the oldest counted use leaves the minute).
final class RateLimiter: Sendable {
    struct Limits: Sendable {
        var rpm: Int?
        var tpm: Int?
        var isEmpty: Bool { rpm == nil && tpm == nil }
    }

    private let own = Mutex<[String: MinuteCounts]>([:])
    private let peers = Mutex<[String: MinuteCounts]>([:])
    let partitionShare: Double

    init(partitionShare: Double) { self.partitionShare = partitionShare }

    /// Counts one request for `agent` at `now` (wall ms), or throws a 429. Returns the headers
    /// its answer carries (none for an agent without limits).
    func admit(_ agent: String, limits: Limits, partitioned: Bool, now: Int64) throws -> HTTPFields? {
        guard !limits.isEmpty else { return nil }
        let second = now / 1000
        let theirs = peers.withLock { $0[agent]?.totals(at: second) } ?? MinuteCounts.Totals()
        return try own.withLock { own in
            let mine = own[agent]?.totals(at: second) ?? MinuteCounts.Totals()
            var headers = HTTPFields()
            var refusal: (what: String, limit: Int, oldest: Int64?)?
            if let rpm = limits.rpm {
                let used = mine.requests.saturatingPlus(theirs.requests)
                if used >= rpm || mine.requests >= cap(rpm, partitioned) {
                    refusal = ("requests", rpm, [mine.oldestRequest, theirs.oldestRequest].compactMap { $0 }.min())
                }
                headers.append(contentsOf: Self.headers(Self.requestHeaders, limit: rpm, used: used.saturatingPlus(1), oldest: min(mine.oldestRequest ?? second, theirs.oldestRequest ?? second), now: second))
            }
            if let tpm = limits.tpm {
                let used = mine.tokens.saturatingPlus(theirs.tokens)
                if refusal == nil, used >= tpm || mine.tokens >= cap(tpm, partitioned) {
                    refusal = ("tokens", tpm, [mine.oldestTokens, theirs.oldestTokens].compactMap { $0 }.min())
                }
                headers.append(contentsOf: Self.headers(Self.tokenHeaders, limit: tpm, used: used, oldest: min(mine.oldestTokens ?? second, theirs.oldestTokens ?? second), now: second))
            }
            if let refusal {
                let retry = max(1, (refusal.oldest ?? second) + MinuteCounts.window - second)
                headers[.retryAfter] = String(retry)
                throw APIError(
                    status: .tooManyRequests, code: "rate_limit_exceeded",
                    message: "agent \(agent) is limited to \(refusal.limit) \(refusal.what) per minute across the mesh"
                        + (partitioned ? " (\(Int(partitionShare * 100))% on this node while a peer is silent)" : "") + "; retry in \(retry)s",
                    headers: headers
                )
            }
            // In place: the slots are not copied per request.
            own[agent, default: MinuteCounts()].add(second: second, requests: 1)
            return headers
        }
    }

    /// Counts the tokens of `agent`'s answer, at its end.
    func used(_ agent: String, tokens: Int64, now: Int64) {
        own.withLock { own in own[agent, default: MinuteCounts()].add(second: now / 1000, tokens: tokens) }
    }

    /// This node's part of a limit while a peer is silent (at least one).
    private func cap(_ limit: Int, _ partitioned: Bool) -> Int64 {
        partitioned ? max(1, Int64((Double(limit) * partitionShare).rounded(.down))) : Int64(limit)
    }

    /// OpenAI's `x-ratelimit-limit-*`, `-remaining-*` and `-reset-*` (when the minute that began
    /// with the oldest counted use ends).
    private static func headers(_ names: (limit: HTTPField.Name, remaining: HTTPField.Name, reset: HTTPField.Name), limit: Int, used: Int64, oldest: Int64, now: Int64) -> [HTTPField] {
        let reset = max(0, oldest + MinuteCounts.window - now)
        return [
            HTTPField(name: names.limit, value: String(limit)),
            HTTPField(name: names.remaining, value: String(max(0, Int64(limit) - used))),
            HTTPField(name: names.reset, value: "\(reset)s"),
        ]
    }

    private static let requestHeaders = (
        limit: HTTPField.Name("x-ratelimit-limit-requests")!, remaining: HTTPField.Name("x-ratelimit-remaining-requests")!,
        reset: HTTPField.Name("x-ratelimit-reset-requests")!
    )
    private static let tokenHeaders = (
        limit: HTTPField.Name("x-ratelimit-limit-tokens")!, remaining: HTTPField.Name("x-ratelimit-remaining-tokens")!,
        reset: HTTPField.Name("x-ratelimit-reset-tokens")!
    )

    // MARK: - The rest of the mesh

    /// Replaces what the other nodes used in the last minute.
    func peersUsed(_ rows: [PeerUsageSecond]) {
        var fresh: [String: MinuteCounts] = [:]
        for row in rows { fresh[row.agent, default: MinuteCounts()].add(second: row.second, requests: row.requests, tokens: row.tokens) }
        peers.withLock { $0 = fresh }
    }

    /// Forgets the agents with nothing in the minute up to `now`.
    func forgetIdle(now: Int64) {
        let second = now / 1000
        own.withLock { own in own = own.filter { !$0.value.isEmpty(at: second) } }
    }
}
