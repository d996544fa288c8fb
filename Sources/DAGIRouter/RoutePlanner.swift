import Foundation
import MeshStore

/// A candidate with the reasons for its place in the order (what `dagi route --explain` shows).
public struct RankedCandidate: Sendable, Codable {
    public var candidate: Candidate
    public var rank: Int
    /// Position of the model in the alias's list (0 for a direct name).
    public var aliasIndex: Int
    /// Position of the node in the agent's preferred/assigned nodes, if listed.
    public var preference: Int?
    public var score: Double
    public var coolingDown: Bool
    /// The expected wait before the answer starts (mesh candidates).
    public var wait: ExpectedWait?
    public var why: String
    /// Cloud models the alias lists before this candidate's own entry: mesh candidates rank
    /// before cloud ones unless the alias puts a cloud model first.
    var cloudBefore = 0
    /// The expected wait in milliseconds, a peer's raised by the spill margin: a request leaves
    /// this node only when a peer is expected to be faster by that much.
    var cost = 0
    /// Whether some candidate of this alias entry (this model) is loaded somewhere: entries
    /// with a loaded model rank before those that would have to start one.
    var entryLoaded = false

    /// The ranking, most significant first; the health score breaks what is left of a tie.
    ///
    /// Between models (alias entries) the order is as it always was: one loaded somewhere before
    /// one that must start, then the alias's order. Among the places of one model, the expected
    /// wait decides, then this node, loaded before startable, the agent's nodes. So a busy peer
    /// never makes a node start (and perhaps evict for) another model of the alias.
    func precedes(_ other: RankedCandidate) -> Bool {
        let mine = (coolingDown ? 1 : 0, cloudBefore, candidate.isCloud ? 1 : 0, entryLoaded ? 0 : 1, aliasIndex)
        let theirs = (other.coolingDown ? 1 : 0, other.cloudBefore, other.candidate.isCloud ? 1 : 0, other.entryLoaded ? 0 : 1, other.aliasIndex)
        if mine != theirs { return mine < theirs }
        let among = (cost, candidate.isLocal ? 0 : 1, rank, preference ?? Int.max)
        let otherAmong = (other.cost, other.candidate.isLocal ? 0 : 1, other.rank, other.preference ?? Int.max)
        if among != otherAmong { return among < otherAmong }
        return score > other.score
    }

    enum CodingKeys: String, CodingKey {
        case candidate, rank, aliasIndex = "alias_index", preference, score, coolingDown = "cooling_down", wait = "expected_wait", why
    }
}

/// Why no candidate list could be made.
enum PlanError: Error {
    case unknownModel(String, suggestions: [String])
    case notAllowed(String, agent: String, allowed: [String])
    case unavailable(String)
    /// Only cloud models could serve it and the agent may not use them.
    case cloudNotAllowed(String, agent: String)
    /// Only cloud models could serve it, and each is waiting out its provider's `Retry-After`.
    case providersResting(String, until: ContinuousClock.Instant)
}

extension ModelCatalog.Snapshot {
    /// The ordered candidates for `requested`: mesh candidates before a cloud provider (unless
    /// the alias lists the cloud model first); a model loaded somewhere before one that must
    /// start, then the alias's order; among the places of one model, the expected wait (a
    /// peer's raised by the spill margin, so here wins ties and near-ties), then this node,
    /// loaded before startable, the agent's preferred and assigned nodes, and the health score.
    /// Candidates cooling down after repeated failures go last; a provider resting after a 429
    /// is left out.
    ///
    /// `provider/model` pins a provider, `node/model` a node.
    ///
    /// - Parameters:
    ///   - forced: a physical model chosen by the node that forwarded the request (a hop).
    ///   - localOnly: only this node's models (a hop is never forwarded again, nor sent to a cloud).
    ///   - swapperOnly: only this node's Swapper models (the Swapper's own endpoint).
    ///   - explain: fill in each candidate's `why` (for people; requests skip the cost).
    func plan(
        _ requested: String, agent: String?, forced: String? = nil, localOnly: Bool = false, swapperOnly: Bool = false, health: HealthTracker,
        explain: Bool = false
    ) throws(PlanError) -> [RankedCandidate] {
        let policy = agent.flatMap { agents[$0] }
        if let policy, !policy.allowedModels.isEmpty, forced == nil, !policy.allowedModels.contains(requested) {
            throw .notAllowed(requested, agent: policy.name, allowed: policy.allowedModels)
        }
        if let policy, forced == nil, let tier = tiers[policy.tier], !tier.models.isEmpty, !tier.models.contains(requested) {
            throw .notAllowed(requested, agent: policy.name, allowed: tier.models)
        }
        var candidates = CandidateList()
        if forced == nil, let (prefix, rest) = Self.pin(requested), !localOnly {
            if let model = cloud.pinned(provider: prefix, model: rest) {
                candidates.add(cloudCandidate(model), index: 0)
            } else if prefix == localNode || nodeURLs[prefix] != nil {
                collectMesh(rest, index: 0, localOnly: false, swapperOnly: false, into: &candidates)
                candidates.keep { $0.node == prefix }
            }
        }
        let names = candidates.isEmpty ? forced.map { [$0] } ?? aliases[requested] ?? [requested] : []
        var cloudSeen = 0
        for (index, name) in names.enumerated() {
            collectMesh(name, index: index, localOnly: localOnly, swapperOnly: swapperOnly, into: &candidates, cloudBefore: cloudSeen)
            if !localOnly, !swapperOnly, let model = cloud.models[name] {
                candidates.add(cloudCandidate(model), index: index, cloudBefore: cloudSeen)
                cloudSeen += 1
            }
        }
        guard !candidates.isEmpty else {
            if aliases[requested] != nil || forced != nil { throw .unavailable(requested) }
            throw .unknownModel(requested, suggestions: suggestions(for: requested))
        }
        // An agent whose record is gone (deleted on some node) has no rights, cloud included.
        if let agent, policy?.allowCloud != true {
            candidates.keep { !$0.isCloud }
            if candidates.isEmpty { throw .cloudNotAllowed(requested, agent: agent) }
        }
        // A provider that asked us to wait (429 with Retry-After) is not called until then.
        let resting = candidates.entries.compactMap { entry in entry.0.isCloud ? health.restingUntil(entry.0.key) : nil }
        candidates.keep { !$0.isCloud || health.restingUntil($0.key) == nil }
        if candidates.isEmpty, let until = resting.min() { throw .providersResting(requested, until: until) }

        let preferred = agent.flatMap { preferences[$0] } ?? []
        // Each candidate's statistics, read once (one lock each).
        let allStats = candidates.entries.map { health.stats($0.0.key) }
        var loadedEntries = Set<Int>()
        for ((candidate, index, _), stats) in zip(candidates.entries, allStats) where candidate.loaded && !candidate.isCloud && !stats.isCoolingDown {
            loadedEntries.insert(index)
        }
        let ranked = zip(candidates.entries, allStats).map { entry, stats -> RankedCandidate in
            let (candidate, index, cloudBefore) = entry
            let cooling = stats.isCoolingDown
            let preference = candidate.isCloud ? nil : preferred.firstIndex(of: candidate.node)
            let score = HealthTracker.score(stats)
            let wait = candidate.isCloud ? nil : expectedWait(candidate, stats: stats, health: health)
            var ranked = RankedCandidate(
                candidate: candidate, rank: candidate.rank, aliasIndex: index, preference: preference, score: score, coolingDown: cooling, wait: wait,
                why: "", cloudBefore: cloudBefore
            )
            ranked.entryLoaded = loadedEntries.contains(index)
            if let wait {
                let raised = wait.seconds * (candidate.isLocal ? 1 : 1 + spillMargin) * 1000
                ranked.cost = raised.isFinite ? Int(min(raised, 1e12).rounded()) : Int.max
            }
            if explain { ranked.why = why(ranked, stats: stats) }
            return ranked
        }
        return ranked.sorted { $0.precedes($1) }
    }

    /// The mesh candidates for one model name: this node's Swapper and Ollama, online peers.
    private func collectMesh(
        _ name: String, index: Int, localOnly: Bool, swapperOnly: Bool, into candidates: inout CandidateList, cloudBefore: Int = 0
    ) {
        if let canonical = swapperNames[name] {
            let row = models[canonical]?.first { $0.nodeID == localNode && $0.source == .swapper }
            let candidate = Candidate(node: localNode, place: .swapper, model: canonical, source: .swapper, loaded: row?.state == .loaded, baseURL: "")
            candidates.add(candidate, index: index, cloudBefore: cloudBefore)
        }
        guard !swapperOnly else { return }
        for row in models[name] ?? [] {
            if row.nodeID == localNode {
                if row.source == .ollama, let ollamaURL {
                    let candidate = Candidate(node: localNode, place: .ollama, model: row.name, source: .ollama, loaded: row.state == .loaded, baseURL: ollamaURL)
                    candidates.add(candidate, index: index, cloudBefore: cloudBefore)
                }
            } else if !localOnly, let url = nodeURLs[row.nodeID], !url.isEmpty {
                let candidate = Candidate(node: row.nodeID, place: .remote, model: row.name, source: row.source, loaded: row.state == .loaded, baseURL: url)
                candidates.add(candidate, index: index, cloudBefore: cloudBefore)
            }
        }
    }

    private func cloudCandidate(_ model: CloudProviders.Model) -> Candidate {
        Candidate(
            node: localNode, place: .provider, model: model.id, source: .swapper, loaded: true,
            baseURL: cloud.providers[model.provider]?.baseURL ?? "", provider: model.provider
        )
    }

    /// `prefix/rest` of a pinned name, when there is a slash with text on both sides.
    static func pin(_ name: String) -> (String, String)? {
        guard let slash = name.firstIndex(of: "/"), slash != name.startIndex, name.index(after: slash) != name.endIndex else { return nil }
        return (String(name[..<slash]), String(name[name.index(after: slash)...]))
    }

    private func why(_ ranked: RankedCandidate, stats: HealthTracker.Stats) -> String {
        let candidate = ranked.candidate
        var why = [rankReason(candidate)]
        if let wait = ranked.wait {
            why.append(wait.explanation + (candidate.isLocal || spillMargin == 0 ? "" : String(format: ", +%.0f%% spill margin", spillMargin * 100)))
        }
        if ranked.aliasIndex > 0 { why.append("alias choice #\(ranked.aliasIndex + 1)") }
        if let preference = ranked.preference { why.append("agent's node #\(preference + 1)") }
        why.append(String(format: "score %.2f (success %.0f%%, latency %@, %d in flight)", ranked.score,
                          stats.successRate * 100, stats.latency.map { String(format: "%.0f ms", $0 * 1000) } ?? "unknown", stats.inflight))
        if ranked.coolingDown { why.append("cooling down after \(stats.consecutiveFailures) failures (\(stats.lastError ?? "?"))") }
        return why.joined(separator: "; ")
    }

    private func rankReason(_ candidate: Candidate) -> String {
        switch candidate.rank {
        case 0: return "loaded here"
        case 1: return "loaded on \(candidate.node)"
        case 2: return "startable here"
        case 3: return "startable on \(candidate.node)"
        default: return "cloud: \(candidate.provider ?? "?")"
        }
    }

    /// The cloud models an `allow_cloud: false` agent was kept from for `requested`: what the
    /// error says when every mesh candidate failed (read on that error path only).
    func cloudWithheld(_ requested: String, agent: String?) -> [String] {
        guard let agent, agents[agent]?.allowCloud != true else { return [] }
        return (aliases[requested] ?? [requested]).filter { cloud.models[$0] != nil }
    }

    /// Known names close to `name` (edit distance), for a helpful 404.
    func suggestions(for name: String) -> [String] {
        let limit = max(2, name.count / 3)
        let lowered = name.lowercased()
        return names
            .map { ($0, EditDistance.between(lowered, $0.lowercased())) }
            .filter { $0.1 <= limit || $0.0.lowercased().hasPrefix(lowered) || lowered.hasPrefix($0.0.lowercased()) }
            .sorted { ($0.1, $0.0) < ($1.1, $1.0) }
            .prefix(3).map(\.0)
    }
}

/// Candidates in the order they were found, each once.
struct CandidateList {
    private(set) var entries: [(Candidate, Int, Int)] = []
    private var seen = Set<String>()

    var isEmpty: Bool { entries.isEmpty }

    mutating func add(_ candidate: Candidate, index: Int, cloudBefore: Int = 0) {
        if seen.insert(candidate.key).inserted { entries.append((candidate, index, cloudBefore)) }
    }

    mutating func keep(_ predicate: (Candidate) -> Bool) { entries.removeAll { !predicate($0.0) } }
}

enum EditDistance {
    static func between(_ a: String, _ b: String) -> Int {
        let a = Array(a.prefix(256)), b = Array(b.prefix(256))
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
