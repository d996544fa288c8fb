import Foundation
import Logging
import MeshStore
import MeshCore
import MeshHTTP

/// Writes the agents of the node's config into the store: their policy rows, their node
/// assignments (in priority order), and their API key hashes (local only).
///
/// Rows are written only when they differ, so restarting a node with an unchanged config adds
/// nothing to the change log, and the latest edit made anywhere in the mesh stands until the
/// config itself changes.
public struct AgentRegistrar: Sendable {
    let store: MeshStore
    let logger: Logger

    public init(store: MeshStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public func register(_ agents: [AgentConfig], environment: [String: String] = ProcessInfo.processInfo.environment) async throws {
        let existing = try await store.state().assignments
        try await store.write { writer in
            for agent in agents {
                try writer.putIfChanged(AgentRecord(
                    name: agent.name, tier: agent.tier, allowedModels: agent.models, allowCloud: agent.allowCloud,
                    preferNodes: agent.preferNodes, staleAfterMs: agent.staleAfter.milliseconds,
                    budgetDailyUSD: agent.budgetDailyUSD, budgetMonthlyUSD: agent.budgetMonthlyUSD, rpm: agent.rpm, tpm: agent.tpm,
                    onExceed: agent.onExceed?.rawValue, callPolicy: agent.callPolicy
                ))
                for (priority, node) in agent.assign.enumerated() {
                    try writer.putIfChanged(AssignmentRecord(agent: agent.name, nodeID: node, priority: priority))
                }
                // The config is the truth for this agent's assignments: drop the ones it no longer lists.
                for old in existing where old.agent == agent.name && !agent.assign.contains(old.nodeID) {
                    var tombstone = old
                    tombstone.deleted = true
                    try writer.putIfChanged(tombstone)
                }
            }
        }
        for agent in agents {
            if let hash = agent.keySHA256 {
                try await store.setAgentKey(agent: agent.name, sha256Hex: hash)
            } else if let variable = agent.keyEnv {
                if let key = try Secrets.token(variable, purpose: "agents.\(agent.name).key_env", environment: environment) {
                    try await store.setAgentKey(agent: agent.name, sha256Hex: Hashing.sha256Hex(key))
                } else {
                    logger.warning("agent \(agent.name): environment variable \(variable) is not set; the agent cannot authenticate")
                }
            }
        }
    }
}
