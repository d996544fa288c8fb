import HTTPTypes
import MeshHTTP
import MeshStore

/// Who reads a compatibility API's documents (models, usage, providers, costs).
public enum CompatReader: Sendable, Equatable {
    /// A caller with the internal secret (or, on the provider service's paths, this machine
    /// when `router.open_localhost` is on).
    case service
    /// An agent by its key: it reads its own usage only.
    case agent(String)
}

extension RequestRouter {
    /// Which compatibility APIs this node serves.
    public var compatConfig: CompatConfig { compat }

    /// The caller of a compatibility API's document, as its completion endpoint would admit it.
    public func compatReader(_ head: HTTPRequest, api: CompatAPI, loopback: Bool) async throws -> CompatReader {
        var verdict = admission.compatHead(head, api: api, loopback: loopback, keysReloaded: false)
        if case .unknownKey = verdict {
            await refreshCredentials()
            verdict = admission.compatHead(head, api: api, loopback: loopback, keysReloaded: true)
        }
        switch verdict {
        case .admitted(.service): return .service
        case .admitted(.agent(let agent)): return .agent(agent)
        case .refused(let error): throw error
        case .admitted(.hop), .admitted(.operator), .unknownKey: throw Admission.unauthorized("the API key is not valid for any agent of this node")
        }
    }

    /// Creates the agent a compatibility caller named (`compat.auto_agents`), so its policy,
    /// limits and ledger rows have an owner on every node, then reloads the catalog. Not on the
    /// hot path: once per new agent.
    func createCompatAgent(_ name: String) async throws {
        if catalog.current.agents[name] != nil { return }
        guard catalog.current.agents.count < compat.maxAutoAgents else {
            throw APIError(
                status: .forbidden, code: "agent_limit_reached",
                message: "agent \(name) does not exist and the mesh already has compat.max_auto_agents (\(compat.maxAutoAgents)) agents"
            )
        }
        // A deleted agent stays deleted: its owner meant it.
        if let existing = try await store.agent(named: name), existing.deleted {
            throw APIError(status: .forbidden, code: "agent_deleted", message: "agent \(name) was deleted; recreate it with `dagi keys create \(name)`")
        }
        let record = AgentRecord(name: name, allowCloud: compat.autoAgentAllowCloud, rpm: compat.autoAgentRPM)
        try await store.write { try $0.putIfChanged(record) }
        try await catalog.refresh()
        logger.notice("created agent \(name) for a compatibility caller (compat.auto_agents)")
    }
}
