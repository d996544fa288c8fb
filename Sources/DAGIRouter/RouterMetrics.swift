import MeshCore
import MeshHTTP
import Prometheus
import Synchronization

/// The router's Prometheus metrics: requests, errors, latency and time to first token by model
/// and route, tokens in and out, failovers and cooldowns. Label sets are cached so a request
/// costs a dictionary lookup, not a registry call.
final class RouterMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let failovers: Counter
    let cooldowns: Counter
    private let counters = Mutex<[String: Counter]>([:])
    private let histograms = Mutex<[String: DurationHistogram]>([:])
    static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
    ]

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        failovers = registry.counter("router_failovers", help: "Requests moved to the next candidate after a failure")
        cooldowns = registry.counter("router_cooldowns", help: "Candidates put into cooldown after repeated failures")
    }

    private func counter(_ name: String, help: String, _ labels: [(String, String)]) -> Counter {
        let key = name + "|" + labels.map { $0.0 + "=" + $0.1 }.joined(separator: ",")
        return counters.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = registry.counter(name, help: help, labels: labels)
            cache[key] = counter
            return counter
        }
    }

    private func histogram(_ name: String, help: String, _ labels: [(String, String)]) -> DurationHistogram {
        let key = name + "|" + labels.map { $0.0 + "=" + $0.1 }.joined(separator: ",")
        return histograms.withLock { cache in
            if let histogram = cache[key] { return histogram }
            let histogram = registry.durationHistogram(name, help: help, labels: labels, buckets: Self.buckets)
            cache[key] = histogram
            return histogram
        }
    }

    func finished(model: String, route: String, status: Int, latency: Duration, firstByte: Duration?, tokensIn: Int64, tokensOut: Int64, costUSD: Double) {
        let labels = [("model", model), ("route", route)]
        counter("router_requests", help: "Requests answered, by model, route and status", labels + [("status", String(status))]).increment()
        if status >= 400 { counter("router_errors", help: "Requests answered with an error", labels).increment() }
        histogram("router_request_duration", help: "Time to the last byte", labels).record(latency)
        if let firstByte { histogram("router_ttft", help: "Time to the first byte (first token for streams)", labels).record(firstByte) }
        if tokensIn > 0 { counter("router_tokens_in", help: "Prompt tokens", labels).increment(by: tokensIn) }
        if tokensOut > 0 { counter("router_tokens_out", help: "Completion tokens", labels).increment(by: tokensOut) }
        // Micro-dollars, so the counter stays an integer.
        if costUSD > 0, let micros = Int64(scaling: costUSD, by: 1_000_000) {
            counter("router_cost_microdollars", help: "Cost of answers, in millionths of a US dollar", labels).increment(by: micros)
        }
    }

    /// A cacheable request: answered from the cache, by another's call, or calling itself.
    func cache(_ outcome: RequestRouter.CacheMetricOutcome) {
        counter("router_cache", help: "Cacheable requests, by outcome: hit, coalesced (answered by an identical request's call) or miss", [("outcome", outcome.rawValue)]).increment()
    }

    /// A request this node could have served itself sent to a peer expected to answer sooner
    /// (node ids are few and replicated names; the label set stays small).
    func spilled(to peer: String) {
        counter("router_spills", help: "Requests sent to a peer expected to answer sooner than this node, by peer", [("peer", peer)]).increment()
    }

    /// A write of this node's model loads to the store (for peers): none at idle, at most two a
    /// second under load.
    func loadPublished() {
        counter("router_load_publications", help: "Writes of this node's model loads to the store, for peers to route by", []).increment()
    }

    func rejected(status: Int, code: String) {
        counter("router_rejected", help: "Requests refused before routing, by status and code", [("status", String(status)), ("code", code)]).increment()
    }
}
