import HTTPTypes
import MeshHTTP
import MeshStore
import Testing
@testable import DAGIRouter

/// Requests and tokens per minute across the mesh: this node's own and the other nodes' rows,
/// a sliding minute, a share while partitioned, and OpenAI's headers.
@Suite struct RateLimiterTests {
    let t0: Int64 = 1_800_000_000_000

    func refusal(_ body: () throws -> HTTPFields?) -> APIError? {
        do {
            _ = try body()
            return nil
        } catch {
            return error as? APIError
        }
    }

    @Test func theMinuteSlides() {
        var counts = MinuteCounts()
        counts.add(second: 100, requests: 2, tokens: 30)
        counts.add(second: 130, requests: 1)
        #expect(counts.totals(at: 130) == .init(requests: 3, tokens: 30, oldestRequest: 100, oldestTokens: 100))
        #expect(counts.totals(at: 159).requests == 3)
        #expect(counts.totals(at: 160) == .init(requests: 1, tokens: 0, oldestRequest: 130, oldestTokens: nil), "second 100 left the minute")
        // A slot is reused a minute later, not added to.
        counts.add(second: 160, requests: 5)
        #expect(counts.totals(at: 160).requests == 6)
        #expect(counts.isEmpty(at: 300))
    }

    @Test func ownAndPeersRequestsShareTheLimit() throws {
        let limiter = RateLimiter(partitionShare: 0.5)
        let limits = RateLimiter.Limits(rpm: 10, tpm: nil)
        limiter.peersUsed([PeerUsageSecond(agent: "atlas", second: t0 / 1000 - 10, requests: 4, tokens: 0)])
        var last = HTTPFields()
        for i in 0..<6 { last = try #require(try limiter.admit("atlas", limits: limits, partitioned: false, now: t0 + Int64(i) * 1000)) }
        #expect(last[HTTPField.Name("x-ratelimit-limit-requests")!] == "10")
        #expect(last[HTTPField.Name("x-ratelimit-remaining-requests")!] == "0")
        #expect(last[HTTPField.Name("x-ratelimit-reset-requests")!] == "45s", "the peer's second leaves the minute 45 s after the last request")
        let refused = try #require(refusal { try limiter.admit("atlas", limits: limits, partitioned: false, now: t0 + 6000) })
        #expect(refused.status == .tooManyRequests && refused.code == "rate_limit_exceeded")
        #expect(refused.headers[.retryAfter] == "44")
        // Another agent is not affected; an agent without limits gets no headers.
        #expect(try limiter.admit("other", limits: limits, partitioned: false, now: t0 + 6000)?[HTTPField.Name("x-ratelimit-limit-requests")!] == "10")
        #expect(try limiter.admit("free", limits: .init(rpm: nil, tpm: nil), partitioned: false, now: t0) == nil)
        // A minute after the peer's requests, room again.
        _ = try limiter.admit("atlas", limits: limits, partitioned: false, now: t0 + 51_000)
    }

    @Test func tokensAreCountedWhenAnswersEnd() throws {
        let limiter = RateLimiter(partitionShare: 0.5)
        let limits = RateLimiter.Limits(rpm: nil, tpm: 100)
        _ = try limiter.admit("atlas", limits: limits, partitioned: false, now: t0)
        limiter.used("atlas", tokens: 60, now: t0 + 500)
        let headers = try limiter.admit("atlas", limits: limits, partitioned: false, now: t0 + 1000)
        #expect(headers?[HTTPField.Name("x-ratelimit-remaining-tokens")!] == "40")
        limiter.peersUsed([PeerUsageSecond(agent: "atlas", second: t0 / 1000, requests: 1, tokens: 40)])
        let refused = try #require(refusal { try limiter.admit("atlas", limits: limits, partitioned: false, now: t0 + 2000) })
        #expect(refused.message.contains("100 tokens per minute"), "\(refused.message)")
        #expect(refused.headers[.retryAfter] == "58")
    }

    @Test func partitionedANodeUsesItsShareAlone() throws {
        let limiter = RateLimiter(partitionShare: 0.5)
        let limits = RateLimiter.Limits(rpm: 10, tpm: nil)
        for i in 0..<5 { _ = try limiter.admit("atlas", limits: limits, partitioned: true, now: t0 + Int64(i)) }
        let refused = try #require(refusal { try limiter.admit("atlas", limits: limits, partitioned: true, now: t0 + 10) })
        #expect(refused.message.contains("50% on this node"), "\(refused.message)")
        // The peer back: the whole limit again.
        _ = try limiter.admit("atlas", limits: limits, partitioned: false, now: t0 + 20)
    }
}
