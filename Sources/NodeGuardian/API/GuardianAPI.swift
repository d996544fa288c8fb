import Foundation
import Hummingbird
import MeshStore
import MeshCore
import MeshHTTP
import MeshViews
import NIOCore
import Prometheus

/// The guardian's own HTTP endpoints: health, the node and mesh views, agents and their
/// heartbeats, and Prometheus metrics.
struct GuardianAPI {
    let store: MeshStore
    let presence: PresenceRecorder
    let registry: PrometheusCollectorRegistry
    /// This run's boot id, which peers sign their requests for (nil without a mesh secret).
    let boot: String?

    func register(on router: Router<MeshRequestContext>) {
        router.get("/health") { _, _ in
            var health: [String: JSONValue] = ["status": "ok", "node": .string(store.nodeID), "version": .string(DAGIVersion.current)]
            if let boot { health["boot"] = .string(boot) }
            return JSONResponse.make(.object(health))
        }
        router.get("/v1/node") { _, _ in
            let report = try await report()
            guard let local = report.nodes.first(where: \.local) else {
                throw APIError(status: .serviceUnavailable, code: "starting", message: "the node has not written its first heartbeat yet")
            }
            return try JSONResponse.make(local)
        }
        router.get("/v1/nodes") { _, _ in
            try JSONResponse.make(NodesDocument(nodes: try await report().nodes))
        }
        router.get("/v1/agents") { _, _ in
            try JSONResponse.make(AgentsDocument(agents: try await report().agents))
        }
        router.post("/v1/agents/{name}/heartbeat") { request, context in
            let name = try context.parameters.require("name")
            guard try await store.agent(named: name) != nil else {
                throw APIError.notFound("no agent named \"\(name)\"", code: "agent_not_found")
            }
            try await requireAgentKey(name, request: request)
            try await presence.touch(name)
            guard let view = try await report().agents.first(where: { $0.name == name }) else {
                throw APIError.notFound("no agent named \"\(name)\"", code: "agent_not_found")
            }
            return try JSONResponse.make(view)
        }
        router.put("/v1/agents/{name}") { request, context in
            let name = try context.parameters.require("name")
            try requireLoopback(context)
            guard MeshName.isValid(name) else { throw APIError.badRequest("invalid agent name \"\(name)\"", code: "invalid_name") }
            let edit = try await AgentEdit.parse(request)
            let existing = try await store.agent(named: name)
            let state = try await store.state()
            try await store.write { writer in
                try writer.put(edit.applied(to: existing ?? AgentRecord(name: name)))
                if let nodes = edit.assign {
                    for (priority, node) in nodes.enumerated() {
                        try writer.putIfChanged(AssignmentRecord(agent: name, nodeID: node, priority: priority))
                    }
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
        router.delete("/v1/agents/{name}") { _, context in
            let name = try context.parameters.require("name")
            try requireLoopback(context)
            guard var agent = try await store.agent(named: name) else {
                throw APIError.notFound("no agent named \"\(name)\"", code: "agent_not_found")
            }
            agent.deleted = true
            let tombstone = agent
            try await store.write { try $0.put(tombstone) }
            return Response(status: .noContent)
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
    }

    private func report() async throws -> StatusReport {
        StatusReport(try await store.state(), now: store.clock.wallMilliseconds())
    }

    /// Edits of shared rows are an operator's act: only from this machine.
    private func requireLoopback(_ context: MeshRequestContext) throws {
        guard context.isLoopback else {
            throw APIError(status: .forbidden, code: "forbidden", message: "agents can only be edited from the node itself")
        }
    }

    /// An agent with a registered key must present it; agents without one are open.
    private func requireAgentKey(_ agent: String, request: Request) async throws {
        let keys = try await store.agentKeyHashes()
        guard keys.values.contains(agent) else { return }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
              keys[Hashing.sha256Hex(String(header.dropFirst(7)))] == agent
        else {
            throw APIError(status: .unauthorized, code: "invalid_api_key", message: "a valid API key for agent \"\(agent)\" is required")
        }
    }
}

struct NodesDocument: Encodable { var nodes: [NodeView] }
struct AgentsDocument: Encodable { var agents: [AgentView] }
