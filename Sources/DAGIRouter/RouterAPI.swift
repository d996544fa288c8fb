import Foundation
import Hummingbird
import MeshStore
import MeshCore
import MeshHTTP
import NIOCore

/// The router's documents on the guardian's port (its inference endpoints are served by the
/// ``InferenceHandler`` in each connection's pipeline):
///
/// - OpenAI: `GET /v1/models`, `/v1/models/{id}`.
/// - Ollama: `GET /api/tags`, `/api/ps`, `/api/version`.
/// - `GET /v1/routes/{model}?agent=A`: the ranked candidates and why (for `dagi route --explain`).
public struct RouterAPI: Sendable {
    let router: RequestRouter
    let audience: Audience

    public init(router: RequestRouter, audience: Audience) {
        self.router = router
        self.audience = audience
    }

    public func register(on routes: Router<MeshRequestContext>) {
        routes.get("/v1/models") { request, context in
            _ = try await router.authenticate(request.head, loopback: context.isLocal(request))
            return JSONResponse.make(["object": "list", "data": .array(modelObjects())])
        }
        routes.get("/v1/models/**") { request, context in
            _ = try await router.authenticate(request.head, loopback: context.isLocal(request))
            let id = String(request.uri.path.dropFirst("/v1/models/".count)).removingPercentEncoding ?? ""
            guard let object = modelObjects().first(where: { $0["id"]?.stringValue == id }) else {
                throw RequestRouter.apiError(for: .unknownModel(id, suggestions: router.catalog.current.suggestions(for: id)))
            }
            return JSONResponse.make(object)
        }
        routes.get("/api/tags") { request, context in
            _ = try await router.authenticate(request.head, loopback: context.isLocal(request))
            return JSONResponse.make(["models": .array(ollamaModels(loadedOnly: false))])
        }
        routes.get("/api/ps") { request, context in
            _ = try await router.authenticate(request.head, loopback: context.isLocal(request))
            return JSONResponse.make(["models": .array(ollamaModels(loadedOnly: true))])
        }
        routes.get("/v1/providers") { request, context in
            try await audience.requireInfo(request, context)
            return try JSONResponse.make(ProvidersDocument(data: router.providerViews()))
        }
        routes.get("/v1/budgets") { request, context in
            // The operator and peers read every budget; an agent its own and the shared ones;
            // anyone (node.public_info) the shared ones only.
            let reader = try await audience.requireInfo(request, context)
            let standings = router.budgetStandings().filter { standing in
                guard standing.scope.hasPrefix("agent:") else { return true }
                switch reader {
                case .operatorOrPeer: return true
                case .agent(let agent): return standing.scope == "agent:\(agent)"
                case .anyone: return false
                }
            }
            return try JSONResponse.make(BudgetsDocument(data: standings))
        }
        routes.get("/api/version") { _, _ in JSONResponse.make(JSONValue.object(["version": "0.6.0"])) }
        routes.get("/v1/routes/{model}") { request, context in
            try audience.requireAdmin(request, context)
            let model = try context.parameters.require("model")
            let agent = request.uri.queryParameters.get("agent")
            do {
                let plan = try router.catalog.current.plan(model, agent: agent, health: router.health, explain: true)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                let data = try encoder.encode(RouteExplanation(model: model, agent: agent, candidates: plan))
                return JSONResponse.make(bytes: ByteBuffer(bytes: data))
            } catch let error as PlanError {
                throw RequestRouter.apiError(for: error)
            }
        }
    }

    /// OpenAI model objects for every name requests may use.
    func modelObjects() -> [JSONValue] {
        let snapshot = router.catalog.current
        return snapshot.names.map { name in
            let owner: String
            if snapshot.aliases[name] != nil {
                owner = "dagi-alias"
            } else if snapshot.swapperNames[name] != nil || snapshot.models[name]?.contains(where: { $0.nodeID == snapshot.localNode }) == true {
                owner = snapshot.localNode
            } else {
                owner = snapshot.models[name]?.first?.nodeID ?? "dagi"
            }
            return ["id": .string(name), "object": "model", "created": 0, "owned_by": .string(owner)]
        }
    }

    /// Ollama's `/api/tags` and `/api/ps` entries.
    func ollamaModels(loadedOnly: Bool) -> [JSONValue] {
        let snapshot = router.catalog.current
        var entries: [JSONValue] = []
        for name in snapshot.names {
            let rows = snapshot.models[snapshot.swapperNames[name] ?? name] ?? []
            if loadedOnly, !rows.contains(where: { $0.state == .loaded }) { continue }
            let row = rows.first { $0.state == .loaded } ?? rows.first
            var entry: [String: JSONValue] = [
                "name": .string(name), "model": .string(name),
                "modified_at": .string(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(row?.stateSince ?? 0) / 1000))),
                "size": .int(row?.sizeBytes ?? 0), "digest": .string(Hashing.sha256Hex(name)),
                "details": [
                    "parent_model": "", "format": "gguf", "family": .string(row?.family ?? ""),
                    "families": row?.family.map { [.string($0)] } ?? .null,
                    "parameter_size": .string(row?.parameterSize ?? ""), "quantization_level": .string(row?.quantization ?? ""),
                ],
            ]
            if loadedOnly {
                entry["size_vram"] = .int(row?.vramBytes ?? 0)
                entry["expires_at"] = "2099-01-01T00:00:00Z"
            }
            entries.append(.object(entry))
        }
        return entries
    }
}

/// The body of `GET /v1/routes/{model}`.
public struct RouteExplanation: Codable, Sendable {
    public var model: String
    public var agent: String?
    public var candidates: [RankedCandidate]
}

struct BudgetsDocument: Encodable {
    var object = "list"
    var data: [BudgetStanding]
}

struct ProvidersDocument: Encodable {
    var object = "list"
    var data: [ProviderView]
}
