import DAGIRouter
import Hummingbird
import MeshStore
import MeshCore
import MeshHTTP

/// The body of `PUT /v1/agents/{name}`: the fields to change; absent ones keep their value.
struct AgentEdit {
    var tier: String?
    var allowCloud: Bool?
    var models: [String]?
    var preferNodes: [String]?
    var staleAfterMs: Int64?
    var budgetDailyUSD: JSONValue?
    var budgetMonthlyUSD: JSONValue?
    var assign: [String]?
    var rpm: JSONValue?
    var tpm: JSONValue?
    var onExceed: JSONValue?
    /// `.some(nil)` clears it (the tier's applies again).
    var priority: RequestPriority??
    /// `min_interval` in milliseconds; `.some(nil)` removes it.
    var minIntervalMs: Int64??
    var promptCache: Bool?

    static let fields: Set<String> = [
        "tier", "allow_cloud", "models", "prefer_nodes", "stale_after_ms", "budget_daily_usd", "budget_monthly_usd", "assign", "rpm", "tpm", "on_exceed",
        "priority", "min_interval", "prompt_cache",
    ]

    static func parse(_ request: Request) async throws -> AgentEdit {
        var request = request
        let body = try await request.collectBody(upTo: 64 << 10)
        let document: JSONValue
        do { document = try JSONValue.parse(body.readableBytesView) } catch {
            throw APIError.badRequest("body is not valid JSON: \(error)", code: "invalid_json")
        }
        guard let object = document.objectValue else { throw APIError.badRequest("body must be a JSON object", code: "invalid_json") }
        if let unknown = object.keys.first(where: { !fields.contains($0) }) {
            throw APIError.badRequest("unknown field \"\(unknown)\"", code: "unknown_field", param: unknown)
        }
        func strings(_ key: String) throws -> [String]? {
            guard let value = object[key] else { return nil }
            guard let items = value.arrayValue?.compactMap(\.stringValue), items.count == value.arrayValue?.count else {
                throw APIError.badRequest("\(key) must be a list of strings", code: "invalid_field", param: key)
            }
            return items
        }
        // USD: 0 (nothing may be spent), or a millionth of a dollar up to a billion.
        func number(_ key: String) throws -> JSONValue? {
            guard let value = object[key] else { return nil }
            guard value == .null || value.doubleValue.map({ $0 == 0 || (1e-6...1e9).contains($0) }) == true else {
                throw APIError.badRequest("\(key) must be 0, a number from 0.000001 to 1000000000, or null", code: "invalid_field", param: key)
            }
            return value
        }
        var edit = AgentEdit()
        if let tier = object["tier"] {
            guard let text = tier.stringValue else { throw APIError.badRequest("tier must be a string", code: "invalid_field", param: "tier") }
            edit.tier = text
        }
        if let cloud = object["allow_cloud"] {
            guard let flag = cloud.boolValue else { throw APIError.badRequest("allow_cloud must be true or false", code: "invalid_field", param: "allow_cloud") }
            edit.allowCloud = flag
        }
        edit.models = try strings("models")
        edit.preferNodes = try strings("prefer_nodes")
        edit.assign = try strings("assign")
        if let stale = object["stale_after_ms"] {
            guard let ms = stale.intValue, ms > 0 else { throw APIError.badRequest("stale_after_ms must be a positive integer", code: "invalid_field", param: "stale_after_ms") }
            edit.staleAfterMs = ms
        }
        edit.budgetDailyUSD = try number("budget_daily_usd")
        edit.budgetMonthlyUSD = try number("budget_monthly_usd")
        func limit(_ key: String, max: Int64) throws -> JSONValue? {
            guard let value = object[key] else { return nil }
            guard value == .null || (1...max).contains(value.intValue ?? 0) else {
                throw APIError.badRequest("\(key) must be an integer from 1 to \(max), or null", code: "invalid_field", param: key)
            }
            return value
        }
        edit.rpm = try limit("rpm", max: 1_000_000_000)
        edit.tpm = try limit("tpm", max: 1_000_000_000_000)
        if let action = object["on_exceed"] {
            guard action == .null || action.stringValue.flatMap(BudgetAction.init) != nil else {
                throw APIError.badRequest("on_exceed must be downgrade, block or null", code: "invalid_field", param: "on_exceed")
            }
            edit.onExceed = action
        }
        if let value = object["priority"] {
            let priority = value.stringValue.flatMap(RequestPriority.init(name:))
            guard value == .null || priority != nil else {
                throw APIError.badRequest("priority must be low, normal, high or null", code: "invalid_field", param: "priority")
            }
            edit.priority = .some(priority)
        }
        if let value = object["min_interval"] {
            // A duration ("30s", "5m") or milliseconds; null removes it.
            let ms = value.intValue ?? value.stringValue.flatMap(ConfigDuration.init(parsing:))?.milliseconds
            guard value == .null || ms.map(CallPolicy.minIntervalRange.contains) == true else {
                throw APIError.badRequest("min_interval must be a duration from 1s to 1d (\"30s\", or milliseconds), or null", code: "invalid_field", param: "min_interval")
            }
            edit.minIntervalMs = .some(value == .null ? nil : ms)
        }
        if let value = object["prompt_cache"] {
            guard let mode = value.stringValue, mode == "auto" || mode == "off" else {
                throw APIError.badRequest("prompt_cache must be auto or off", code: "invalid_field", param: "prompt_cache")
            }
            edit.promptCache = mode == "auto"
        }
        return edit
    }

    func applied(to agent: AgentRecord) -> AgentRecord {
        var agent = agent
        agent.deleted = false
        if let tier { agent.tier = tier }
        if let allowCloud { agent.allowCloud = allowCloud }
        if let models { agent.allowedModels = models }
        if let preferNodes { agent.preferNodes = preferNodes }
        if let staleAfterMs { agent.staleAfterMs = staleAfterMs }
        if let budgetDailyUSD { agent.budgetDailyUSD = budgetDailyUSD.doubleValue }
        if let budgetMonthlyUSD { agent.budgetMonthlyUSD = budgetMonthlyUSD.doubleValue }
        if let rpm { agent.rpm = rpm.intValue.map(Int.init) }
        if let tpm { agent.tpm = tpm.intValue.map(Int.init) }
        if let onExceed { agent.onExceed = onExceed.stringValue }
        if priority != nil || minIntervalMs != nil || promptCache != nil {
            var policy = CallPolicy(json: agent.callPolicy)
            // What is set here replaces whatever a newer node wrote under the same key.
            if let priority {
                policy.priority = priority
                policy.others["priority"] = nil
            }
            if let minIntervalMs { policy.minIntervalMs = minIntervalMs }
            if let promptCache {
                policy.promptCache = promptCache
                policy.others["prompt_cache"] = nil
            }
            agent.callPolicy = policy.json
        }
        return agent
    }
}
