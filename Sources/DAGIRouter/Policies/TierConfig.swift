import MeshCore
import MeshStore

/// `tiers:` — what an agent's tier allows (a gateway's free, pro and enterprise plans): the
/// models, the limits an agent of the tier has unless it has its own, whether the cloud is
/// open, and the priority. Agents name their tier (`tier:` in config, `PUT /v1/agents/{name}`,
/// `dagi agents policy NAME --tier`); a tier no node config lists restricts nothing. Give every
/// node the same `tiers:`.
///
///     tiers:
///       free: { models: [smollm2], rpm: 10, tpm: 20000, allow_cloud: false, priority: low }
///       pro: { rpm: 600 }
public struct TierConfig: Sendable, Decodable, Equatable {
    /// The model names an agent of the tier may call (as well as its own list allows); empty: all.
    public var models: [String]
    public var rpm: Int?
    public var tpm: Int?
    /// False: no cloud models, whatever the agent's own `allow_cloud`.
    public var allowCloud: Bool?
    /// The priority of an agent of the tier that has none of its own.
    public var priority: RequestPriority?

    public init(models: [String] = [], rpm: Int? = nil, tpm: Int? = nil, allowCloud: Bool? = nil, priority: RequestPriority? = nil) {
        self.models = models
        self.rpm = rpm
        self.tpm = tpm
        self.allowCloud = allowCloud
        self.priority = priority
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case models, rpm, tpm, allowCloud = "allow_cloud", priority }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        models = try c.decode(.models, default: [])
        rpm = try c.decodeIfPresent(Int.self, forKey: .rpm)
        tpm = try c.decodeIfPresent(Int.self, forKey: .tpm)
        allowCloud = try c.decodeIfPresent(Bool.self, forKey: .allowCloud)
        if let name = try c.decodeIfPresent(String.self, forKey: .priority) {
            guard let priority = RequestPriority(name: name) else {
                throw DecodingError.dataCorruptedError(forKey: .priority, in: c, debugDescription: "priority must be low, normal or high")
            }
            self.priority = priority
        }
        if let rpm, !(1...1_000_000_000).contains(rpm) {
            throw DecodingError.dataCorruptedError(forKey: .rpm, in: c, debugDescription: "rpm must be 1...1000000000")
        }
        if let tpm, !(1...1_000_000_000_000).contains(tpm) {
            throw DecodingError.dataCorruptedError(forKey: .tpm, in: c, debugDescription: "tpm must be 1...1000000000000")
        }
    }

    /// The agent as its tier makes it: the tier's limits where it has none of its own, no cloud
    /// where the tier or a low priority forbids it.
    func applied(to agent: AgentRecord, policy: inout CallPolicy) -> AgentRecord {
        var agent = agent
        agent.rpm = agent.rpm ?? rpm
        agent.tpm = agent.tpm ?? tpm
        if allowCloud == false { agent.allowCloud = false }
        if policy.priority == nil { policy.priority = priority }
        return agent
    }
}

extension TierConfig: ConfigDocumented {
    public static var configKeys: [ConfigKeyDoc] { CodingKeys.docs }
}

extension TierConfig.CodingKeys: DocumentedKey {
    var doc: (default: String?, meaning: String) {
        switch self {
        case .models: return ("[]", "model names an agent of the tier may call (within its own list, if it has one); empty: all")
        case .rpm: return (nil, "requests per minute of an agent of the tier without its own rpm")
        case .tpm: return (nil, "tokens per minute of an agent of the tier without its own tpm")
        case .allowCloud: return (nil, "false: no cloud models for the tier's agents, whatever their own allow_cloud")
        case .priority: return (nil, "low, normal or high: the priority of the tier's agents that have none of their own")
        }
    }
}
