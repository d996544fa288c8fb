import MeshCore

/// A provider's health as `GET /v1/providers` and `dagi status` show it: passive, from the
/// router's own traffic to it.
public struct ProviderView: Codable, Sendable, Equatable {
    public var name: String
    public var kind: String
    public var baseURL: String
    /// `ok`, `untried`, `cooling` (after repeated failures), `resting` (a 429's Retry-After) or
    /// `off` (no key).
    public var state: String
    public var reason: String?
    public var models: [String]
    public var successRate: Double?
    public var latencyMs: Double?
    /// success · 0.4 + speed · 0.3 + 0.3 when not cooling or resting (the provider service's
    /// formula); speed falls from 1 at no latency to 0 at 10 s.
    public var score: Double?
    public var inflight: Int

    enum CodingKeys: String, CodingKey {
        case name, kind, baseURL = "base_url", state, reason, models, successRate = "success_rate", latencyMs = "latency_ms", score, inflight
    }
}

extension RequestRouter {
    /// Every configured provider, with its health.
    public func providerViews() -> [ProviderView] {
        let cloud = catalog.cloud
        var views: [ProviderView] = []
        for provider in cloud.providers.values {
            let stats = health.stats(withPrefix: "cloud/\(provider.name)/").map(\.value)
            let models = cloud.models.values.filter { $0.provider == provider.name }.map(\.name).sorted()
            let resting = stats.contains { ($0.restUntil ?? .now) > .now }
            let cooling = stats.contains { ($0.cooldownUntil ?? .now) > .now }
            let seen = stats.filter { $0.latency != nil || $0.consecutiveFailures > 0 || $0.successRate < 1 }
            let success = seen.isEmpty ? nil : seen.map(\.successRate).reduce(0, +) / Double(seen.count)
            let latencies = seen.compactMap(\.latency)
            let latency = latencies.isEmpty ? nil : latencies.reduce(0, +) / Double(latencies.count)
            let speed = latency.map { max(0, 1 - $0 / 10) }
            let score = success.map { $0 * 0.4 + (speed ?? 0.5) * 0.3 + (resting || cooling ? 0 : 0.3) }
            views.append(ProviderView(
                name: provider.name, kind: provider.kind.rawValue, baseURL: provider.baseURL,
                state: resting ? "resting" : cooling ? "cooling" : seen.isEmpty ? "untried" : "ok",
                reason: stats.compactMap(\.lastError).first.map { String($0.prefix(200)) }, models: models, successRate: success,
                latencyMs: latency.map { $0 * 1000 }, score: score, inflight: stats.map(\.inflight).reduce(0, +)
            ))
        }
        for (name, reason) in cloud.disabled {
            views.append(ProviderView(
                name: name, kind: "", baseURL: "", state: "off", reason: reason,
                models: cloud.models.values.filter { $0.provider == name }.map(\.name).sorted(), successRate: nil, latencyMs: nil, score: nil, inflight: 0
            ))
        }
        return views.sorted { $0.name < $1.name }
    }
}
