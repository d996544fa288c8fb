import Foundation
import Hummingbird
import MeshStore
import MeshSupport
import NIOCore
import Prometheus

/// The guardian's own HTTP endpoints: health, the node and mesh views, agents and their
/// heartbeats, and Prometheus metrics.
struct GuardianAPI {
    let store: MeshStore
    let presence: PresenceRecorder
    let registry: PrometheusCollectorRegistry

    func register(on router: Router<MeshRequestContext>) {
        router.get("/health") { _, _ in
            JSONResponse.make(["status": "ok", "node": .string(store.nodeID), "version": .string(DAGIVersion.current)])
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
            try await presence.touch(name, flush: true)
            guard let view = try await report().agents.first(where: { $0.name == name }) else {
                throw APIError.notFound("no agent named \"\(name)\"", code: "agent_not_found")
            }
            return try JSONResponse.make(view)
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
