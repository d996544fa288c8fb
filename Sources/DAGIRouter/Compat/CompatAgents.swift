import MeshHTTP
import MeshStore

extension RequestRouter {
    /// Creates the agent a compatibility caller named (`compat.auto_agents`), so its policy,
    /// limits and ledger rows have an owner on every node, then reloads the catalog. Once per new
    /// agent, never on the hot path. An agent that exists (this node's catalog may not have it
    /// yet) is left as its owner set it; a deleted one stays deleted.
    func createCompatAgent(_ name: String) async throws {
        let record = AgentRecord(name: name, allowCloud: compat.autoAgentAllowCloud, rpm: compat.autoAgentRPM)
        switch try await store.createAgentIfAbsent(record, limit: compat.maxAutoAgents) {
        case .created:
            logger.notice("created agent \(name) for a compatibility caller (compat.auto_agents)")
        case .exists:
            break
        case .deleted:
            throw APIError(status: .forbidden, code: "agent_deleted", message: "agent \(name) was deleted; recreate it with `dagi keys create \(name)`")
        case .limitReached:
            throw APIError(
                status: .forbidden, code: "agent_limit_reached",
                message: "agent \(name) does not exist and the mesh already has compat.max_auto_agents (\(compat.maxAutoAgents)) agents"
            )
        }
        try await catalog.refresh()
    }
}
