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
    public var why: String

    enum CodingKeys: String, CodingKey {
        case candidate, rank, aliasIndex = "alias_index", preference, score, coolingDown = "cooling_down", why
    }
}

/// Why no candidate list could be made.
enum PlanError: Error {
    case unknownModel(String, suggestions: [String])
    case notAllowed(String, agent: String, allowed: [String])
    case unavailable(String)
}

extension ModelCatalog.Snapshot {
    /// The ordered candidates for `requested`:
    /// loaded here > loaded on a healthy peer > startable here > startable on a peer; then the
    /// alias's order of preference; then the agent's preferred and assigned nodes; then the
    /// health score (success rate, latency, requests in flight). Candidates cooling down after
    /// repeated failures go last.
    ///
    /// - Parameters:
    ///   - forced: a physical model chosen by the node that forwarded the request (a hop).
    ///   - localOnly: only this node's models (a hop is never forwarded again).
    /// - Parameter explain: fill in each candidate's `why` (for people; requests skip the cost).
    ///   - swapperOnly: only this node's Swapper models (the Swapper's own endpoint).
    func plan(
        _ requested: String, agent: String?, forced: String? = nil, localOnly: Bool = false, swapperOnly: Bool = false, health: HealthTracker,
        explain: Bool = false
    ) throws(PlanError) -> [RankedCandidate] {
        if let agent, let policy = agents[agent], !policy.allowedModels.isEmpty, forced == nil,
           !policy.allowedModels.contains(requested)
        {
            throw .notAllowed(requested, agent: agent, allowed: policy.allowedModels)
        }
        let names = forced.map { [$0] } ?? aliases[requested] ?? [requested]
        var seen = Set<String>()
        var candidates: [(Candidate, Int)] = []
        func add(_ candidate: Candidate, _ index: Int) {
            if seen.insert(candidate.key).inserted { candidates.append((candidate, index)) }
        }
        for (index, name) in names.enumerated() {
            if let canonical = swapperNames[name] {
                let row = models[canonical]?.first { $0.nodeID == localNode && $0.source == .swapper }
                add(Candidate(node: localNode, place: .swapper, model: canonical, source: .swapper, loaded: row?.state == .loaded, baseURL: ""), index)
            }
            for row in models[name] ?? [] where !swapperOnly {
                if row.nodeID == localNode {
                    if row.source == .ollama, let ollamaURL {
                        add(Candidate(node: localNode, place: .ollama, model: row.name, source: .ollama, loaded: row.state == .loaded, baseURL: ollamaURL), index)
                    }
                } else if !localOnly, let url = nodeURLs[row.nodeID], !url.isEmpty {
                    add(Candidate(node: row.nodeID, place: .remote, model: row.name, source: row.source, loaded: row.state == .loaded, baseURL: url), index)
                }
            }
        }
        guard !candidates.isEmpty else {
            if aliases[requested] != nil || forced != nil {
                throw .unavailable(requested)
            }
            throw .unknownModel(requested, suggestions: suggestions(for: requested))
        }
        let preferred = agent.flatMap { preferences[$0] } ?? []
        let ranked = candidates.map { candidate, index -> RankedCandidate in
            let cooling = health.isCoolingDown(candidate.key)
            let preference = preferred.firstIndex(of: candidate.node)
            let score = health.score(candidate.key)
            guard explain else {
                return RankedCandidate(candidate: candidate, rank: candidate.rank, aliasIndex: index, preference: preference, score: score, coolingDown: cooling, why: "")
            }
            let stats = health.stats(candidate.key)
            var why = [rankReason(candidate)]
            if index > 0 { why.append("alias choice #\(index + 1)") }
            if let preference { why.append("agent's node #\(preference + 1)") }
            why.append(String(format: "score %.2f (success %.0f%%, latency %@, %d in flight)", health.score(candidate.key),
                              stats.successRate * 100, stats.latency.map { String(format: "%.0f ms", $0 * 1000) } ?? "unknown", stats.inflight))
            if cooling { why.append("cooling down after \(stats.consecutiveFailures) failures (\(stats.lastError ?? "?"))") }
            return RankedCandidate(
                candidate: candidate, rank: candidate.rank, aliasIndex: index, preference: preference,
                score: score, coolingDown: cooling, why: why.joined(separator: "; ")
            )
        }
        return ranked.sorted { a, b in
            (a.coolingDown ? 1 : 0, a.rank, a.aliasIndex, a.preference ?? Int.max, -a.score)
                < (b.coolingDown ? 1 : 0, b.rank, b.aliasIndex, b.preference ?? Int.max, -b.score)
        }
    }

    private func rankReason(_ candidate: Candidate) -> String {
        switch candidate.rank {
        case 0: return "loaded here"
        case 1: return "loaded on \(candidate.node)"
        case 2: return "startable here"
        default: return "startable on \(candidate.node)"
        }
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

enum EditDistance {
    static func between(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
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
