import MeshCore

/// What a budget does once spent.
public enum BudgetAction: String, Sendable, Codable, CaseIterable {
    /// Cloud candidates are left out; the mesh's own (free) models keep serving.
    case downgrade
    /// A request whose first choice is a cloud model is refused (429 `budget_exceeded`); the
    /// mesh's own models keep serving.
    case block
}

/// A daily and a monthly limit in USD (UTC days and months), and what happens past them:
/// `{ daily: 5, monthly: 100, on_exceed: downgrade|block }`.
public struct BudgetLimit: Sendable, Decodable, Equatable {
    public var daily: Double?
    public var monthly: Double?
    public var onExceed: BudgetAction

    public init(daily: Double? = nil, monthly: Double? = nil, onExceed: BudgetAction = .downgrade) {
        self.daily = daily
        self.monthly = monthly
        self.onExceed = onExceed
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case daily, monthly, onExceed = "on_exceed" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        daily = try c.decodeIfPresent(Double.self, forKey: .daily)
        monthly = try c.decodeIfPresent(Double.self, forKey: .monthly)
        onExceed = try c.decode(.onExceed, default: .downgrade)
        for (value, key) in [(daily, CodingKeys.daily), (monthly, .monthly)] {
            if let value, !(value == 0 || (1e-6...1e9).contains(value)) {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "\(key.stringValue) must be 0, or 0.000001...1000000000 USD")
            }
        }
        guard daily != nil || monthly != nil else {
            throw DecodingError.dataCorruptedError(forKey: .daily, in: c, debugDescription: "a budget needs daily:, monthly: or both")
        }
    }
}

/// `budgets:` — limits on spend beyond the agents' own, and when to warn.
///
///     budgets:
///       warn_at: 0.8                      # alert at 80 % of any budget
///       global: { monthly: 500 }          # every agent together
///       providers:
///         anthropic: { daily: 20, on_exceed: block }
public struct BudgetsConfig: Sendable, Decodable {
    /// The share of a budget at which an alert goes out (once per budget and period).
    public var warnAt: Double
    public var global: BudgetLimit?
    public var providers: [String: BudgetLimit]

    public init(warnAt: Double = 0.8, global: BudgetLimit? = nil, providers: [String: BudgetLimit] = [:]) {
        self.warnAt = warnAt
        self.global = global
        self.providers = providers
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case warnAt = "warn_at", global, providers }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = BudgetsConfig()
        warnAt = try c.decode(.warnAt, default: d.warnAt)
        global = try c.decodeIfPresent(BudgetLimit.self, forKey: .global)
        providers = try c.decode(.providers, default: [:])
        guard warnAt.isFinite, warnAt > 0, warnAt <= 1 else {
            throw DecodingError.dataCorruptedError(forKey: .warnAt, in: c, debugDescription: "warn_at must be more than 0 and at most 1")
        }
    }
}

/// `alerts:` — where budget alerts go besides the log and `GET /v1/budgets`.
public struct AlertsConfig: Sendable, Decodable {
    /// The environment variable holding a webhook URL: alerts are POSTed there as JSON with a
    /// `text` field (Slack-style and chat-bot webhooks take it as it is).
    public var webhookURLEnv: String?

    public init(webhookURLEnv: String? = nil) { self.webhookURLEnv = webhookURLEnv }

    enum CodingKeys: String, CodingKey, CaseIterable { case webhookURLEnv = "webhook_url_env" }
}

extension BudgetLimit: ConfigDocumented {
    public static var configKeys: [ConfigKeyDoc] { CodingKeys.docs }
}

extension BudgetLimit.CodingKeys: DocumentedKey {
    var doc: (default: String?, meaning: String) {
        switch self {
        case .daily: return (nil, "USD per UTC day")
        case .monthly: return (nil, "USD per UTC month")
        case .onExceed: return (BudgetAction.downgrade.rawValue, "past it: downgrade (cloud models left out) or block (requests for cloud models refused)")
        }
    }
}

extension BudgetsConfig: ConfigDocumented {
    public static var configKeys: [ConfigKeyDoc] { CodingKeys.docs }
}

extension BudgetsConfig.CodingKeys: DocumentedKey {
    var doc: (default: String?, meaning: String) {
        switch self {
        case .warnAt: return ("\(BudgetsConfig().warnAt)", "the share of a budget at which an alert goes out, once per budget and period")
        case .global: return (nil, "a budget of every agent together (see budgets.global:)")
        case .providers: return ("{}", "a budget per cloud provider (see budgets.providers.NAME:)")
        }
    }
}

extension AlertsConfig: ConfigDocumented {
    public static var configKeys: [ConfigKeyDoc] { CodingKeys.docs }
}

extension AlertsConfig.CodingKeys: DocumentedKey {
    var doc: (default: String?, meaning: String) {
        switch self {
        case .webhookURLEnv: return (nil, "environment variable holding a webhook URL that budget alerts are POSTed to ({\"text\": ...})")
        }
    }
}
