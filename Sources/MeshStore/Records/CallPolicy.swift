import MeshCore

/// An agent's call policies beyond its limits: its priority, the interval within which an
/// identical request is answered from the cache, and whether prompts sent to Anthropic get
/// cache breakpoints.
///
/// Stored in the agent row as one JSON object (`call_policy`), so a policy added later needs no
/// schema change: a node reads the keys it knows, carries the others through its own edits
/// unchanged, and reads a value out of range (a replicated row is untrusted) as unset.
public struct CallPolicy: Sendable, Equatable {
    /// Nil: unset (the tier's, else normal).
    public var priority: RequestPriority?
    /// An identical request within this many milliseconds is answered from the cache, sampled
    /// or not (periodic sampling of the same prompt).
    public var minIntervalMs: Int64?
    /// `prompt_cache: auto`: stable system prompts and tools sent to Anthropic get
    /// `cache_control` breakpoints.
    public var promptCache: Bool
    /// Keys this node does not know (a newer node's policies), kept as they came.
    public var others: [String: JSONValue] = [:]

    public init(priority: RequestPriority? = nil, minIntervalMs: Int64? = nil, promptCache: Bool = false) {
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
        priority = object["priority"]?.stringValue.flatMap(RequestPriority.init(name:))
        if let ms = object["min_interval_ms"]?.intValue, Self.minIntervalRange.contains(ms) { minIntervalMs = ms }
        promptCache = object["prompt_cache"]?.stringValue == "auto"
        // A value of a known key this node cannot read (a newer node's priority) is carried too.
        others = object.filter { key, _ in
            switch key {
            case "priority": return priority == nil
            case "prompt_cache": return !promptCache && object[key]?.stringValue != "off"
            case "min_interval_ms": return false
            default: return true
            }
        }
    }

    /// The JSON stored in the agent row: what is set, and the keys of others; nil when nothing
    /// is. Keys of others that would not fit the column are dropped first.
    public var json: String? {
        var object: [String: JSONValue] = [:]
        if let priority { object["priority"] = .string(priority.description) }
        if let minIntervalMs { object["min_interval_ms"] = .int(minIntervalMs) }
        if promptCache { object["prompt_cache"] = "auto" }
        if !others.isEmpty {
            let merged = object.merging(others) { ours, _ in ours }
            let text = JSONValue.object(merged).jsonString
            if text.utf8.count <= Self.maxStoredBytes { return text }
        }
        return object.isEmpty ? nil : JSONValue.object(object).jsonString
    }

    /// The column's bound (the schema refuses longer values from peers).
    public static let maxStoredBytes = 1_024
}
