import MeshCore

/// One entry of `swapper.groups`.
public struct SwapperGroupConfig: Sendable, Decodable {
    public var members: [String]
    /// Members are mutually exclusive: loading one unloads the others.
    public var exclusive: Bool
    /// Members are never evicted to make room for other models (TTL still applies).
    public var persistent: Bool

    enum CodingKeys: String, CodingKey, CaseIterable { case members, exclusive, persistent }

    public init(members: [String], exclusive: Bool = false, persistent: Bool = false) {
        self.members = members
        self.exclusive = exclusive
        self.persistent = persistent
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        members = try c.decode([String].self, forKey: .members)
        exclusive = try c.decode(.exclusive, default: false)
        persistent = try c.decode(.persistent, default: false)
    }
}

/// A coding key for mappings whose keys are names (models, groups).
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
