/// One key of a config section as `node-guardian config reference` prints it. Each section's
/// list is an exhaustive `switch` over its `CodingKeys`, so a key cannot be added to a config
/// type without saying what it means, and defaults are read from the type's own default value.
public struct ConfigKeyDoc: Sendable, Equatable {
    public let key: String
    /// The value used when the key is absent, or nil when absence means "none"/"off".
    public let defaultValue: String?
    public let meaning: String

    public init(_ key: String, _ defaultValue: String?, _ meaning: String) {
        self.key = key
        self.defaultValue = defaultValue
        self.meaning = meaning
    }
}

/// A config section that documents its keys.
public protocol ConfigDocumented {
    static var configKeys: [ConfigKeyDoc] { get }
}

/// The CodingKeys of a documented section: listing them all is what makes the docs complete.
public protocol DocumentedKey: CodingKey, CaseIterable {
    var doc: (default: String?, meaning: String) { get }
}

extension DocumentedKey {
    public static var docs: [ConfigKeyDoc] { allCases.map { ConfigKeyDoc($0.stringValue, $0.doc.default, $0.doc.meaning) } }
}
