import MeshCore

/// An agent's call policies beyond its limits: its priority, the interval within which an
/// identical request is answered from the cache, and whether prompts sent to Anthropic get
/// cache breakpoints.
///
/// Stored in the agent row as one JSON object (`call_policy`), so a policy added later needs no
/// schema change: a node reads the keys it knows and ignores the others, and a value out of
/// range (a replicated row is untrusted) reads as the default.
public struct CallPolicy: Sendable, Equatable {
    public var priority: RequestPriority
    /// An identical request within this many milliseconds is answered from the cache, sampled
    /// or not (periodic sampling of the same prompt).
    public var minIntervalMs: Int64?
    /// `prompt_cache: auto`: stable system prompts and tools sent to Anthropic get
    /// `cache_control` breakpoints.
    public var promptCache: Bool

    public init(priority: RequestPriority = .normal, minIntervalMs: Int64? = nil, promptCache: Bool = false) {
        self.priority = priority
        self.minIntervalMs = minIntervalMs
        self.promptCache = promptCache
    }

    /// The longest `min_interval`: a day.
    public static let minIntervalRange: ClosedRange<Int64> = 1_000...86_400_000

    /// Reads the stored JSON (nil or unreadable: the defaults).
    public init(json: String?) {
        self.init()
        guard let json, json.utf8.count <= Self.maxStoredBytes, case .object(let object)? = try? JSONValue.parse(Array(json.utf8)) else { return }
        if let name = object["priority"]?.stringValue, let priority = RequestPriority(name: name) { self.priority = priority }
        if let ms = object["min_interval_ms"]?.intValue, Self.minIntervalRange.contains(ms) { minIntervalMs = ms }
        promptCache = object["prompt_cache"]?.stringValue == "auto"
    }

    /// The JSON stored in the agent row: only what differs from the defaults; nil when nothing does.
    public var json: String? {
        var object: [String: JSONValue] = [:]
        if priority != .normal { object["priority"] = .string(priority.description) }
        if let minIntervalMs { object["min_interval_ms"] = .int(minIntervalMs) }
        if promptCache { object["prompt_cache"] = "auto" }
        return object.isEmpty ? nil : JSONValue.object(object).jsonString
    }

    /// The column's bound (the schema refuses longer values from peers).
    public static let maxStoredBytes = 1_024
}
