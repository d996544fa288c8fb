import Foundation
import Logging
import MeshCore
import MeshStore
import Synchronization

/// The router's in-memory view of where every model can run. Requests read it without touching
/// SQLite.
///
/// It changes only when something routing reads changes: a commit to the model, agent or
/// assignment tables re-reads those; a commit to the node table (a heartbeat, mostly) re-reads
/// only the node rows; and a node that stops beating drops out when its liveness runs out —
/// computed from the time of its last heartbeat, with a timer, not by re-reading rows. An idle
/// mesh therefore costs the catalog nothing between heartbeats.
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
        /// The agents as their tiers make them (limits, cloud), by name.
        var agents: [String: AgentRecord] = [:]
        /// Their call policies (priority, min_interval, prompt_cache), read once per change.
        var policies: [String: CallPolicy] = [:]
        var tiers: [String: TierConfig] = [:]
        /// Per agent: its preferred nodes, then its assigned nodes by priority.
        var preferences: [String: [String]] = [:]
        /// Every name a request may use (aliases, Swapper names, models, cloud models), sorted.
        var names: [String] = []
        /// The cloud providers with keys, and the cloud models agents may name.
        var cloud = CloudProviders.none
        /// A peer is late with its heartbeats (for up to thirty intervals, five minutes by default;
        /// after that it counts as gone): what it uses now is unknown here.
        var partitioned = false
        /// Requests each of this node's models answers at once, by name (1 when not known).
        var localSlots: [String: Int] = [:]
        /// The loads nodes published, by candidate key (`node/source/model`).
        var loads: [String: ModelLoadRecord] = [:]
        /// How much faster a peer must be expected to be for a request to go there (0.2: 20 %).
        var spillMargin = 0.2
    }

    let store: MeshStore
    let aliases: [String: [String]]
    let swapperNames: SwapperNames
    let ollamaURL: String?
    let cloud: CloudProviders
    let tiers: [String: TierConfig]
    /// Slots the config declares for this node's models, by name.
    let localSlots: [String: Int]
    /// Slots this node's model servers reported themselves (read as each model's row changes);
    /// the fewer of these and the declared ones count.
    let reportedSlots: @Sendable () -> [String: Int]
    let spillMargin: Double
    private let snapshot = Mutex(Snapshot())
    /// The rows the snapshot was built from, and the online set it assumed.
    private let rows = Mutex<(rows: RoutingRows, online: Set<String>)?>(nil)

    public init(store: MeshStore, aliases: [String: [String]], swapperNames: SwapperNames, ollamaURL: String?, cloud: CloudProviders = .none,
        tiers: [String: TierConfig] = [:], localSlots: [String: Int] = [:], reportedSlots: @escaping @Sendable () -> [String: Int] = { [:] },
        spillMargin: Double = 0.2
    ) {
        self.tiers = tiers
        self.localSlots = localSlots
        self.reportedSlots = reportedSlots
        self.spillMargin = spillMargin
        self.store = store
        self.aliases = aliases
        self.swapperNames = swapperNames
        self.ollamaURL = ollamaURL
        self.cloud = cloud
    }

    var current: Snapshot { snapshot.withLock { $0 } }

    /// Re-reads everything routing needs and rebuilds.
    public func refresh() async throws {
        let fresh = try await store.routingRows()
        rebuild(fresh, now: store.clock.wallMilliseconds(), force: true)
    }

    /// Re-reads the loads peers published (they change many times a minute under load; nothing
    /// else is read for them).
    func refreshLoads() async throws {
        var loads: [String: ModelLoadRecord] = [:]
        let now = store.clock.wallMilliseconds()
        let previous = snapshot.withLock { $0.loads }
        for var load in try await store.peerModelLoads() {
            let key = Candidate.key(node: load.nodeID, source: load.source, model: load.name)
            // A peer's clock ahead of ours would date its counts after requests sent since: they
            // are dated no later than their first reading here (kept while the row is the same).
            if let seen = previous[key], seen.hlc == load.hlc { load.at = seen.at } else { load.at = min(load.at, now) }
            loads[key] = load
        }
        snapshot.withLock { $0.loads = loads }
    }

    /// Re-reads the node rows only; rebuilds when which nodes are online, or where they are,
    /// changed.
    func refreshNodes() async throws {
        let nodes = try await store.nodes()
        guard var held = rows.withLock({ $0?.rows }) else { return try await refresh() }
        held.nodes = nodes
        rebuild(held, now: store.clock.wallMilliseconds(), force: false)
    }

    /// Recomputes liveness from the rows held, at `now`.
    func recomputeLiveness() {
        guard let held = rows.withLock({ $0?.rows }) else { return }
        rebuild(held, now: store.clock.wallMilliseconds(), force: false)
    }

    private func rebuild(_ fresh: RoutingRows, now: Int64, force: Bool) {
        let local = store.nodeID
        var online: Set<String> = [local]
        var urls: [String: String] = [:]
        for node in fresh.nodes {
            urls[node.id] = node.apiURL
            if node.liveness(now: now) == .online { online.insert(node.id) }
        }
        let unchanged = rows.withLock { held -> Bool in
            let same = !force && held?.online == online && held.map { Dictionary(uniqueKeysWithValues: $0.rows.nodes.map { ($0.id, $0.apiURL) }) } == urls
            held = (fresh, online)
            return same
        }
        guard !unchanged else { return }
        var next = Snapshot()
        next.localNode = local
        next.ollamaURL = ollamaURL
        next.swapperNames = swapperNames
        next.aliases = aliases
        next.cloud = cloud
        next.nodeURLs = urls
        next.partitioned = fresh.nodes.contains { $0.id != local && $0.liveness(now: now) == .stale }
        for model in fresh.models where online.contains(model.nodeID) && model.reachable {
            next.models[model.name, default: []].append(model)
        }
        next.tiers = tiers
        for agent in fresh.agents {
            var policy = CallPolicy(json: agent.callPolicy)
            var effective = tiers[agent.tier]?.applied(to: agent, policy: &policy) ?? agent
            // Low priority stays on the mesh.
            if policy.priority == .low { effective.allowCloud = false }
            next.agents[agent.name] = effective
            next.policies[agent.name] = policy
        }
        for agent in fresh.agents {
            let assigned = fresh.assignments.filter { $0.agent == agent.name }.sorted { $0.priority < $1.priority }.map(\.nodeID)
            next.preferences[agent.name] = agent.preferNodes + assigned.filter { !agent.preferNodes.contains($0) }
        }
        next.names = Array(Set(aliases.keys).union(swapperNames.keys).union(next.models.keys).union(cloud.models.keys)).sorted()
        // A server that says it has fewer slots than its config allows has that many.
        next.localSlots = reportedSlots().merging(localSlots) { reported, declared in min(reported, declared) }
        next.spillMargin = spillMargin
        snapshot.withLock { current in
            next.loads = current.loads
            current = next
        }
    }

    /// When the next online peer runs out of heartbeat, if one is online.
    private func nextExpiry() -> Int64? {
        rows.withLock { held in
            guard let held else { return nil }
            return held.rows.nodes.filter { $0.id != store.nodeID && held.online.contains($0.id) }.compactMap(\.onlineUntil).min()
        }
    }

    /// Keeps the snapshot current until cancelled: woken by commits to the tables routing
    /// reads, and by the next liveness expiry.
    func maintain(logger: Logger) async {
        let wakeup = Wakeup()
        let touched = Mutex<Set<ReplicatedTable>>([])
        let observer = store.addObserver { tables in
            let relevant = tables.intersection([.model, .modelLoad, .node, .agent, .assignment])
            guard !relevant.isEmpty else { return }
            touched.withLock { $0.formUnion(relevant) }
            wakeup.signal()
        }
        defer { store.removeObserver(observer) }
        while !Task.isCancelled {
            let tables = touched.withLock { tables in defer { tables.removeAll() }; return tables }
            do {
                if tables.contains(.modelLoad) { try await refreshLoads() }
                if !tables.isDisjoint(with: [.model, .agent, .assignment]) {
                    try await refresh()
                } else if tables.contains(.node) {
                    try await refreshNodes()
                } else if !tables.contains(.modelLoad) {
                    recomputeLiveness()
                }
            } catch {
                logger.error("catalog refresh failed: \(error)")
            }
            let wait = nextExpiry().map { Duration.milliseconds(max(10, min($0 &- store.clock.wallMilliseconds() &+ 1, 3_600_000))) } ?? .seconds(3600)
            await wakeup.wait(upTo: wait)
        }
    }
}
