import DAGIRouter
import Foundation
import Hummingbird
import MeshStore
import MeshCore
import MeshHTTP
import MeshViews
import NIOCore
import Prometheus

/// The guardian's own HTTP endpoints: health (open), the node and mesh views and Prometheus
/// metrics (information), agent edits (administration), and agents' heartbeats (the agent's
/// own key, or this machine).
struct GuardianAPI {
    let store: MeshStore
    let presence: PresenceRecorder
    let registry: PrometheusCollectorRegistry
    let audience: Audience
    let keys: AgentKeys
    /// This run's boot id, which peers sign their requests for (nil without a mesh secret).
    let boot: String?

    func register(on router: Router<MeshRequestContext>) {
        router.get("/health") { _, _ in
            var health: [String: JSONValue] = ["status": "ok", "node": .string(store.nodeID), "version": .string(DAGIVersion.current)]
            if let boot { health["boot"] = .string(boot) }
            return JSONResponse.make(.object(health))
        }
        router.get("/v1/node") { request, context in
            try await audience.requireInfo(request, context)
            let report = try await report()
            guard let local = report.nodes.first(where: \.local) else {
                throw APIError(status: .serviceUnavailable, code: "starting", message: "the node has not written its first heartbeat yet")
            }
            return try JSONResponse.make(local)
        }
        router.get("/v1/nodes") { request, context in
            try await audience.requireInfo(request, context)
            return try JSONResponse.make(NodesDocument(nodes: try await report().nodes))
        }
        router.get("/v1/agents") { request, context in
            try await audience.requireInfo(request, context)
            return try JSONResponse.make(AgentsDocument(agents: try await report().agents))
        }
        router.post("/v1/agents/{name}/heartbeat") { request, context in
            let name = try context.parameters.require("name")
            // Only the agent itself (its key) or this machine may say the agent is alive.
            guard context.isLocal(request) || request.headers[.authorization].flatMap(BearerToken.parse).flatMap(keys.agent(forKey:)) == name else {
                throw APIError(status: .unauthorized, code: "invalid_api_key", message: "a heartbeat needs the agent's own API key (or comes from the node itself)")
            }
            guard try await store.agent(named: name) != nil else {
                throw APIError.notFound("no agent named \"\(name)\"", code: "agent_not_found")
            }
            // However often heartbeats come, presence is written at most once a second.
            try await presence.touch(name)
            guard let view = try await report().agents.first(where: { $0.name == name }) else {
                throw APIError.notFound("no agent named \"\(name)\"", code: "agent_not_found")
            }
            return try JSONResponse.make(view)
        }
        // `/policy` names the same edit: an agent's policy is its record.
        router.put("/v1/agents/{name}") { request, context in try await putAgent(request, context) }
        router.put("/v1/agents/{name}/policy") { request, context in try await putAgent(request, context) }
        router.delete("/v1/agents/{name}") { request, context in
            let name = try context.parameters.require("name")
            try audience.requireAdmin(request, context)
            guard var agent = try await store.agent(named: name) else {
                throw APIError.notFound("no agent named \"\(name)\"", code: "agent_not_found")
            }
            agent.deleted = true
            let tombstone = agent
            try await store.write { try $0.put(tombstone) }
            return Response(status: .noContent)
        }
        router.get("/metrics") { request, context in
            try await audience.requireInfo(request, context)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
    }

    /// `PUT /v1/agents/{name}` (and `/policy`): the agent's policy, written so it replicates and
    /// every node applies it.
    private func putAgent(_ request: Request, _ context: MeshRequestContext) async throws -> Response {
        let name = try context.parameters.require("name")
        try audience.requireAdmin(request, context)
        guard MeshName.isValid(name) else { throw APIError.badRequest("invalid agent name \"\(name)\"", code: "invalid_name") }
        let edit = try await AgentEdit.parse(request)
        let existing = try await store.agent(named: name)
        let state = try await store.state()
        let record = edit.applied(to: existing ?? AgentRecord(name: name))
        let assignments = (edit.assign ?? []).enumerated().map { AssignmentRecord(agent: name, nodeID: $1, priority: $0) }
        // What peers would refuse to replicate is refused here, with the reason.
        let now = store.clock.wallMilliseconds()
        if let problem = record.replicationProblem(now: now) ?? assignments.lazy.compactMap({ $0.replicationProblem(now: now) }).first {
            throw APIError.badRequest("the agent cannot be saved: \(problem)", code: "invalid_field")
        }
        try await store.write { writer in
            try writer.put(record)
            if let nodes = edit.assign {
                for assignment in assignments { try writer.putIfChanged(assignment) }
                for old in state.assignments where old.agent == name && !nodes.contains(old.nodeID) {
                    var tombstone = old
                    tombstone.deleted = true
                    try writer.put(tombstone)
                }
            }
        }
        guard let view = try await report().agents.first(where: { $0.name == name }) else {
            throw APIError(status: .internalServerError, code: "internal_error", message: "agent vanished")
        }
        return try JSONResponse.make(view)
    }

    private func report() async throws -> StatusReport {
        StatusReport(try await store.state(), now: store.clock.wallMilliseconds(), spentToday: try await store.spentToday())
    }
}

struct NodesDocument: Encodable { var nodes: [NodeView] }
struct AgentsDocument: Encodable { var agents: [AgentView] }
