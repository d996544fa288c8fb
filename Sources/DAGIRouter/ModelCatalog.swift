import Foundation
import Logging
import MeshStore
import Synchronization

/// The router's in-memory view of where every model can run, rebuilt from the replicated store
/// when it changes (and every second, as node liveness ages without writes). Requests read it
/// without touching SQLite.
public final class ModelCatalog: Sendable {
    /// What the Swapper of this node can serve: name or alias → configured name.
    public typealias SwapperNames = [String: String]

    struct Snapshot: Sendable {
        var localNode = ""
        var ollamaURL: String?
        var swapperNames: SwapperNames = [:]
        var aliases: [String: [String]] = [:]
        /// Usable model rows by name: this node's, and those of online peers.
        var models: [String: [ModelRecord]] = [:]
        var nodeURLs: [String: String] = [:]
        var agents: [String: AgentRecord] = [:]
        /// Per agent: its preferred nodes, then its assigned nodes by priority.
        var preferences: [String: [String]] = [:]
        /// Every name a request may use (aliases, Swapper names, models), sorted.
        var names: [String] = []
    }

    let store: MeshStore
    let aliases: [String: [String]]
    let swapperNames: SwapperNames
    let ollamaURL: String?
    private let snapshot = Mutex(Snapshot())

    public init(store: MeshStore, aliases: [String: [String]], swapperNames: SwapperNames, ollamaURL: String?) {
        self.store = store
        self.aliases = aliases
        self.swapperNames = swapperNames
        self.ollamaURL = ollamaURL
    }

    var current: Snapshot { snapshot.withLock { $0 } }

    /// Rebuilds the snapshot from the store.
    public func refresh() async throws {
        let state = try await store.state()
        let now = store.clock.wallMilliseconds()
        var next = Snapshot()
        next.localNode = state.localNodeID
        next.ollamaURL = ollamaURL
        next.swapperNames = swapperNames
        next.aliases = aliases
        var online = Set<String>()
        for node in state.nodes {
            next.nodeURLs[node.id] = node.apiURL
            if node.id == state.localNodeID || node.liveness(now: now) == .online { online.insert(node.id) }
        }
        online.insert(state.localNodeID)
        for model in state.models where online.contains(model.nodeID) && model.reachable {
            next.models[model.name, default: []].append(model)
        }
        for agent in state.agents { next.agents[agent.name] = agent }
        for agent in state.agents {
            let assigned = state.assignments.filter { $0.agent == agent.name }.sorted { $0.priority < $1.priority }.map(\.nodeID)
            next.preferences[agent.name] = agent.preferNodes + assigned.filter { !agent.preferNodes.contains($0) }
        }
        next.names = Array(Set(aliases.keys).union(swapperNames.keys).union(next.models.keys)).sorted()
        snapshot.withLock { $0 = next }
    }

    /// Keeps the snapshot fresh until cancelled: on every commit touching what routing reads,
    /// and every second.
    func maintain(logger: Logger) async {
        let dirty = Mutex(true)
        let observer = store.addObserver { tables in
            if !tables.isDisjoint(with: [.model, .node, .agent, .assignment]) { dirty.withLock { $0 = true } }
        }
        defer { store.removeObserver(observer) }
        var lastFull = ContinuousClock.now
        while !Task.isCancelled {
            let due = dirty.withLock { flag in defer { flag = false }; return flag } || ContinuousClock.now - lastFull >= .seconds(1)
            if due {
                do {
                    try await refresh()
                    lastFull = .now
                } catch {
                    logger.error("catalog refresh failed: \(error)")
                }
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
