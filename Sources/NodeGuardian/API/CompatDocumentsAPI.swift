import DAGIRouter
import Foundation
import Hummingbird
import MeshCore
import MeshHTTP
import MeshStore
import MeshViews

/// The documents of the services DAGI Mesh replaces (their completion endpoints are the
/// router's, see `CompatRoute`), answered from the mesh's catalog, provider health and the
/// mesh-wide ledger, in those services' shapes. Registered only for the APIs `compat:` turns on.
///
/// - LLM proxy: `GET /internal/llm/models`, `GET /internal/llm/usage?agent_id=agent:sofia`.
/// - AI provider service: `GET /api/v1/models`, `/api/v1/providers`,
///   `/api/v1/providers/{name}/health`, `/api/v1/metrics`, `/api/v1/analytics/costs`.
///
/// Callers show the `X-Internal-Secret` or an agent's key (which reads its own usage and costs only).
struct CompatDocumentsAPI {
    let router: RequestRouter
    let store: MeshStore

    func register(on routes: Router<MeshRequestContext>) {
        let config = router.compat
        if config.llmProxy {
            routes.get("/internal/llm/models") { request, context in
                _ = try await reader(request, context, .llmProxy)
                return JSONResponse.make(["models": .array(router.catalogEntries().map(Self.proxyModel))])
            }
            routes.get("/internal/llm/usage") { request, context in
                let agent = try await agentFilter(request, context, .llmProxy, query: "agent_id")
                let totals = try await store.usageTotals(UsageFilter(agent: agent)).first
                return JSONResponse.make(Self.usage(totals, agent: agent))
            }
        }
        if config.providerService {
            routes.get("/api/v1/models") { request, context in
                _ = try await reader(request, context, .providerService)
                let models = router.catalogEntries().map(Self.serviceModel)
                return JSONResponse.make(["models": .array(models), "total": .int(Int64(models.count))])
            }
            routes.get("/api/v1/providers") { request, context in
                _ = try await reader(request, context, .providerService)
                let views = router.providerViews()
                // Provider names are unique (configured and disabled ones are disjoint).
                return JSONResponse.make([
                    "providers": .object(Dictionary(views.map { ($0.name, JSONValue.object(Self.health($0))) }) { first, _ in first }),
                    "total": .int(Int64(views.count)), "timestamp": .unixTime(),
                ])
            }
            routes.get("/api/v1/providers/{name}/health") { request, context in
                _ = try await reader(request, context, .providerService)
                let name = try context.parameters.require("name")
                guard let view = router.providerViews().first(where: { $0.name == name }) else {
                    throw APIError.notFound("no provider named \(name.prefix(64)) (see GET /api/v1/providers)", code: "provider_not_found")
                }
                var health = Self.health(view)
                health["provider"] = .string(view.name)
                health["timestamp"] = .unixTime()
                return JSONResponse.make(.object(health))
            }
            routes.get("/api/v1/metrics") { request, context in
                let agent = try await agentFilter(request, context, .providerService, query: nil)
                return JSONResponse.make(try await metrics(agent: agent))
            }
            routes.get("/api/v1/analytics/costs") { request, context in
                let agent = try await agentFilter(request, context, .providerService, query: "agent_id")
                return JSONResponse.make(try await costs(agent: agent))
            }
        }
    }

    private func reader(_ request: Request, _ context: MeshRequestContext, _ api: CompatAPI) async throws -> CompatReader {
        try await router.compatReader(request.head, api: api, loopback: context.isLocal(request))
    }

    /// The agent a document is narrowed to: the one the query names (`agent:sofia` or `sofia`),
    /// and an agent's key reads its own only.
    private func agentFilter(_ request: Request, _ context: MeshRequestContext, _ api: CompatAPI, query: String?) async throws -> String? {
        let caller = try await reader(request, context, api)
        var agent: String?
        if let query, let id = request.uri.queryParameters.get(query) {
            guard let name = CompatAgentID.name(id) else {
                throw APIError.badRequest("\(query) must be an agent id such as agent:sofia", code: "invalid_agent", param: query)
            }
            agent = name
        }
        if case .agent(let own) = caller {
            guard agent == nil || agent == own else {
                throw APIError(status: .forbidden, code: "forbidden", message: "an agent's key reads that agent's usage only")
            }
            agent = own
        }
        return agent
    }

    // MARK: - Shapes

    static func proxyModel(_ entry: CatalogEntry) -> JSONValue {
        [
            "name": .string(entry.name), "provider": .string(entry.provider), "physical_name": .string(entry.physicalName),
            "max_tokens": entry.maxTokens.map { .int(Int64($0)) } ?? .null,
        ]
    }

    static func serviceModel(_ entry: CatalogEntry) -> JSONValue {
        [
            "id": .string(entry.name), "name": .string(entry.name), "provider": .string(entry.provider),
            "physical_name": .string(entry.physicalName), "type": .string(entry.kind.rawValue),
            "loaded": .bool(entry.loaded), "max_tokens": entry.maxTokens.map { .int(Int64($0)) } ?? .null,
        ]
    }

    /// Ledger totals in the replaced services' words (no totals: no requests).
    struct Figures {
        let requests: Int64
        let failed: Int64
        let tokens: Int64
        let latencyMs: Double
        let costUSD: Double

        init(_ totals: UsageTotals?) {
            requests = totals?.requests ?? 0
            failed = min(requests, totals?.errors ?? 0)
            tokens = (totals?.promptTokens ?? 0).saturatingPlus(totals?.completionTokens ?? 0)
            latencyMs = ((totals?.averageLatencyMs ?? 0) * 10).rounded() / 10
            costUSD = totals?.costUSD ?? 0
        }

        var successRate: Double { requests == 0 ? 1 : Double(requests - failed) / Double(requests) }

        /// The provider service's `/metrics` figures.
        var service: [String: JSONValue] {
            [
                "total_requests": .int(requests), "successful_requests": .int(requests - failed), "failed_requests": .int(failed),
                "success_rate": .number(successRate), "avg_response_time_ms": .number(latencyMs), "total_tokens": .int(tokens),
                "total_cost": .number(costUSD),
            ]
        }
    }

    /// `/internal/llm/usage`: the ledger's totals for the agent (or the whole mesh).
    static func usage(_ totals: UsageTotals?, agent: String?) -> JSONValue {
        let figures = Figures(totals)
        return [
            "agent_id": agent.map { .string("agent:" + $0) } ?? .null, "total_requests": .int(figures.requests), "total_tokens": .int(figures.tokens),
            "avg_latency_ms": .number(figures.latencyMs), "success_rate": .number(figures.successRate), "total_cost_usd": .number(figures.costUSD),
        ]
    }

    /// A provider's health in the provider service's words.
    static func health(_ view: ProviderView) -> [String: JSONValue] {
        let status: String
        switch view.state {
        case "ok", "untried": status = "healthy"
        case "off": status = "disabled"
        default: status = "degraded"
        }
        return [
            "status": .string(status), "state": .string(view.state), "kind": .string(view.kind), "healthy": .bool(status == "healthy"),
            "success_rate": view.successRate.map(JSONValue.number) ?? .null, "avg_response_time_ms": view.latencyMs.map(JSONValue.number) ?? .null,
            "score": view.score.map(JSONValue.number) ?? .null, "inflight": .int(Int64(view.inflight)),
            "models": .array(view.models.map(JSONValue.string)), "reason": view.reason.map(JSONValue.string) ?? .null,
        ]
    }

    /// `/api/v1/metrics`: the ledger's totals, all of them and per provider (`mesh` for the
    /// mesh's own models).
    private func metrics(agent: String?) async throws -> JSONValue {
        let filter = UsageFilter(agent: agent)
        let total = try await store.usageTotals(filter).first
        let byProvider = try await store.usageTotals(filter, groupBy: [.provider])
        var document = Figures(total).service
        document["service"] = "dagi-mesh"
        document["node"] = .string(store.nodeID)
        // The mesh's own rows have no provider: they are `mesh`. A provider of that name (one a
        // peer's rows may carry) is listed under its own name only if it does not collide.
        let providers = byProvider.map { (($0.group.first ?? "").isEmpty ? "mesh" : $0.group[0], JSONValue.object(Figures($0).service)) }
        document["providers"] = .object(Dictionary(providers) { first, _ in first })
        document["timestamp"] = .unixTime()
        return .object(document)
    }

    /// `/api/v1/analytics/costs`: this month's costs by provider, model and agent, today's and
    /// the saving, from the mesh-wide ledger (the same report as `GET /v1/costs`).
    private func costs(agent: String?) async throws -> JSONValue {
        let report = try await CostsReport.load(store, now: store.clock.wallMilliseconds(), agent: agent)
        // A breakdown as name → cost; names that collide (a provider a peer calls `mesh`) add up.
        func byName(_ lines: [CostsReport.Line]) -> JSONValue { .object(Dictionary(lines.map { ($0.name, JSONValue.number($0.costUSD)) }) { .number(($0.doubleValue ?? 0) + ($1.doubleValue ?? 0)) }) }
        guard case .object(var document) = try JSONValue.parse(Array(JSONResponse.encoder.encode(report))) else {
            throw APIError(status: .internalServerError, code: "internal_error", message: "the costs report could not be written")
        }
        document["total_cost"] = .number(report.month.costUSD)
        document["total_requests"] = .int(report.month.requests)
        document["cost_by_provider"] = byName(report.byProvider)
        document["cost_by_model"] = byName(report.byModel)
        document["cost_by_agent"] = byName(report.byAgent)
        document["period"] = "month"
        document["timestamp"] = .unixTime()
        return .object(document)
    }
}
