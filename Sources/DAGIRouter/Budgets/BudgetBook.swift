import Logging
import MeshCore
import MeshHTTP
import MeshStore
import Synchronization

/// Whose spend a budget limits.
public enum BudgetScope: Hashable, Sendable, CustomStringConvertible {
    case agent(String)
    case global
    case provider(String)

    public var description: String {
        switch self {
        case .agent(let name): return "agent:\(name)"
        case .global: return "global"
        case .provider(let name): return "provider:\(name)"
        }
    }
}

public enum BudgetPeriod: String, Sendable, Codable { case daily, monthly }

/// Spend against budgets, mesh-wide: this node's own at once (each answer's cost as it ends,
/// plus the worst-case cost of cloud requests in flight, reserved before they are sent), the
/// other nodes' from their ledger rows as sync brings them.
///
/// A cloud request is sent only if its reservation fits every budget it counts against (its
/// agent's, the global one, its provider's): N concurrent requests near a limit overspend it by
/// at most one reservation. While a peer is silent, this node spends at most `partitionShare` of
/// what remained when the silence began.
final class BudgetBook: Sendable {
    struct Key: Hashable, Sendable {
        let scope: BudgetScope
        let period: BudgetPeriod
    }

    /// One limit a request counts against.
    struct Limit: Sendable {
        let key: Key
        let usd: Double
        let action: BudgetAction
    }

    /// Money set aside for a cloud request in flight; settled when it ends.
    struct Reservation: Sendable {
        let keys: [Key]
        let usd: Double

        /// Nothing set aside (no budget applies).
        static let nothing = Reservation(keys: [], usd: 0)
    }

    /// A budget past its limit, for the refusal.
    struct Exceeded: Sendable {
        let limit: Limit
        let resetsAt: Int64
    }

    /// What happened when a reservation was asked for.
    enum Reserved: Sendable {
        case reserved(Reservation)
        case refused(Exceeded)
    }

    private struct State {
        /// The current UTC day and month, and when each ends (the calendar is asked only then).
        var day: Int64 = 0
        var month: Int64 = 0
        var dayEnd: Int64 = .min
        var monthEnd: Int64 = .min
        var own: [Key: Double] = [:]
        var peers: [Key: Double] = [:]
        var reserved: [Key: Double] = [:]
        /// Alerts sent this period: warnings, and limits reached.
        var warned: Set<Key> = []
        var reached: Set<Key> = []
        /// What each budget stood at when a peer fell silent.
        var partitionBase: [Key: Double] = [:]
    }

    let config: BudgetsConfig
    let partitionShare: Double
    private let state = Mutex(State())
    /// Alerts for the webhook (each is logged as it happens, whatever becomes of it there).
    let alerts: AsyncStream<BudgetAlert>
    private let alertSink: AsyncStream<BudgetAlert>.Continuation
    let logger: Logger

    init(config: BudgetsConfig, partitionShare: Double, logger: Logger = Logger(label: "dagi.budgets")) {
        self.config = config
        self.partitionShare = partitionShare
        self.logger = logger
        (alerts, alertSink) = AsyncStream.makeStream(of: BudgetAlert.self, bufferingPolicy: .bufferingNewest(256))
    }

    /// Ends the alert stream (at shutdown; tests read it to its end).
    func closeAlerts() { alertSink.finish() }

    /// The limits a request of `agent` counts against (to `provider`, a cloud one).
    func limits(agent: AgentRecord?, provider: String?) -> [Limit] {
        var limits: [Limit] = []
        func add(_ scope: BudgetScope, daily: Double?, monthly: Double?, action: BudgetAction) {
            if let daily { limits.append(Limit(key: Key(scope: scope, period: .daily), usd: daily, action: action)) }
            if let monthly { limits.append(Limit(key: Key(scope: scope, period: .monthly), usd: monthly, action: action)) }
        }
        if let agent {
            add(.agent(agent.name), daily: agent.budgetDailyUSD, monthly: agent.budgetMonthlyUSD, action: agent.onExceed.flatMap(BudgetAction.init) ?? .downgrade)
        }
        if let global = config.global { add(.global, daily: global.daily, monthly: global.monthly, action: global.onExceed) }
        if let provider, let budget = config.providers[provider] {
            add(.provider(provider), daily: budget.daily, monthly: budget.monthly, action: budget.onExceed)
        }
        return limits
    }

    /// The first of `limits` without room for `usd` more (beside what is reserved), if any.
    func exceeded(_ limits: [Limit], usd: Double = 0, now: Int64, partitioned: Bool) -> Exceeded? {
        guard !limits.isEmpty else { return nil }
        return state.withLock { state in
            roll(&state, now)
            for limit in limits where spent(state, limit.key) + (state.reserved[limit.key] ?? 0) + usd > cap(&state, limit, partitioned)
                || spent(state, limit.key) >= cap(&state, limit, partitioned) {
                return Exceeded(limit: limit, resetsAt: resetsAt(state, limit.key.period))
            }
            return nil
        }
    }

    /// Sets `usd` aside against every limit, if it fits them all (atomically: concurrent
    /// requests cannot all take the last room).
    func reserve(_ limits: [Limit], usd: Double, now: Int64, partitioned: Bool) -> Reserved {
        guard !limits.isEmpty else { return .reserved(.nothing) }
        return state.withLock { state in
            roll(&state, now)
            for limit in limits where spent(state, limit.key) + (state.reserved[limit.key] ?? 0) + usd > cap(&state, limit, partitioned) {
                return .refused(Exceeded(limit: limit, resetsAt: resetsAt(state, limit.key.period)))
            }
            for limit in limits { state.reserved[limit.key, default: 0] += usd }
            return .reserved(Reservation(keys: limits.map(\.key), usd: usd))
        }
    }

    /// An answer ended: its reservation is given back and what it cost is spent — under its
    /// agent, the mesh and its provider, budgeted now or not (a budget set later counts what
    /// came before it, as it does for the peers' rows) — alerting on the budgets it took past
    /// their warning or their limit.
    func settle(_ reservation: Reservation?, spent usd: Double, agent: String, provider: String?, limits: [Limit], now: Int64) {
        guard reservation?.keys.isEmpty == false || usd > 0 else { return }
        let crossed: [BudgetAlert] = state.withLock { state in
            roll(&state, now)
            if let reservation {
                for key in reservation.keys { state.reserved[key] = max(0, (state.reserved[key] ?? 0) - reservation.usd) }
            }
            guard usd > 0, usd.isFinite else { return [] }
            let before = Dictionary(limits.map { ($0.key, spent(state, $0.key)) }) { first, _ in first }
            for key in Self.keys(agent: agent, provider: provider) { state.own[key, default: 0] += usd }
            var crossed: [BudgetAlert] = []
            for limit in limits {
                let before = before[limit.key] ?? 0
                let after = spent(state, limit.key)
                // Only the node whose own spend crosses a line alerts: one alert for the mesh.
                if after >= limit.usd, before < limit.usd, state.reached.insert(limit.key).inserted {
                    crossed.append(alert(.reached, limit, spent: after, state))
                } else if after >= limit.usd * config.warnAt, before < limit.usd * config.warnAt, state.warned.insert(limit.key).inserted {
                    crossed.append(alert(.warning, limit, spent: after, state))
                }
            }
            return crossed
        }
        for alert in crossed {
            logger.warning("\(alert.text)")
            alertSink.yield(alert)
        }
    }

    /// The keys a request's spend counts under: its agent's, the mesh's and its provider's, by day and month.
    private static func keys(agent: String, provider: String?) -> [Key] {
        var scopes: [BudgetScope] = [.agent(agent), .global]
        if let provider, !provider.isEmpty { scopes.append(.provider(provider)) }
        return scopes.flatMap { [Key(scope: $0, period: .daily), Key(scope: $0, period: .monthly)] }
    }

    /// Replaces what the other nodes spent this day and month, by agent and provider.
    func peersSpent(_ rows: [SpendByAgent], now: Int64) {
        state.withLock { state in
            roll(&state, now)
            state.peers = totals(rows)
        }
    }

    /// Sets this node's own spend of this day and month (at start, from its ledger rows).
    func ownSpent(_ rows: [SpendByAgent], now: Int64) {
        state.withLock { state in
            roll(&state, now)
            state.own = totals(rows)
        }
    }

    /// Every budget's standing, for `GET /v1/budgets`.
    func standings(agents: [AgentRecord], now: Int64, partitioned: Bool) -> [BudgetStanding] {
        var all = agents.flatMap { limits(agent: $0, provider: nil) }
        all += limits(agent: nil, provider: nil)
        for provider in config.providers.keys.sorted() {
            all += limits(agent: nil, provider: provider).filter { $0.key.scope == .provider(provider) }
        }
        return state.withLock { state in
            roll(&state, now)
            return all.map { limit in
                let spent = spent(state, limit.key)
                let reserved = state.reserved[limit.key] ?? 0
                let cap = cap(&state, limit, partitioned)
                let condition = spent >= cap ? "exceeded" : spent >= limit.usd * config.warnAt ? "warning" : "ok"
                // Clamped: JSON has no infinity (a tiny budget, an absurd replicated spend).
                let percent = limit.usd > 0 ? min((spent / limit.usd * 1000).rounded() / 10, 1e9) : (spent > 0 ? 100 : 0)
                return BudgetStanding(
                    scope: limit.key.scope.description, period: limit.key.period.rawValue, limitUSD: limit.usd, spentUSD: spent, reservedUSD: reserved,
                    percent: percent.isFinite ? percent : 1e9, state: condition,
                    onExceed: limit.action.rawValue, resetsAt: UTCPeriods.iso8601(resetsAt(state, limit.key.period)),
                    nodeCapUSD: partitioned ? cap : nil
                )
            }
        }
    }

    // MARK: - Arithmetic

    private func spent(_ state: State, _ key: Key) -> Double { (state.own[key] ?? 0) + (state.peers[key] ?? 0) }

    /// What this node may let a budget reach: its limit, or while a peer is silent, what it stood
    /// at then plus this node's share of what remained.
    private func cap(_ state: inout State, _ limit: Limit, _ partitioned: Bool) -> Double {
        guard partitioned else {
            if !state.partitionBase.isEmpty { state.partitionBase = [:] }
            return limit.usd
        }
        let base = state.partitionBase[limit.key] ?? spent(state, limit.key)
        state.partitionBase[limit.key] = base
        return base + partitionShare * max(0, limit.usd - base)
    }

    /// A new day (or month) starts its budgets at nothing, and a partition that spans it starts
    /// again from what the new period holds.
    private func roll(_ state: inout State, _ now: Int64) {
        guard now < state.day || now >= state.dayEnd else { return }
        let (day, month) = UTCPeriods.dayAndMonthStart(now)
        (state.dayEnd, state.monthEnd) = UTCPeriods.dayAndMonthEnd(now)
        state.partitionBase = [:]
        let periods: Set<BudgetPeriod> = month != state.month ? [.daily, .monthly] : [.daily]
        state.day = day
        state.month = month
        for key in Array(state.own.keys) where periods.contains(key.period) { state.own[key] = nil }
        for key in Array(state.peers.keys) where periods.contains(key.period) { state.peers[key] = nil }
        state.warned = state.warned.filter { !periods.contains($0.period) }
        state.reached = state.reached.filter { !periods.contains($0.period) }
    }

    private func resetsAt(_ state: State, _ period: BudgetPeriod) -> Int64 { period == .daily ? state.dayEnd : state.monthEnd }

    private func alert(_ kind: BudgetAlert.Kind, _ limit: Limit, spent: Double, _ state: State) -> BudgetAlert {
        BudgetAlert(
            kind: kind, scope: limit.key.scope.description, period: limit.key.period, spentUSD: spent, limitUSD: limit.usd,
            action: limit.action, resetsAt: resetsAt(state, limit.key.period)
        )
    }

    /// Day and month totals by budget key, from per-agent-and-provider rows (providers with a
    /// budget only: the names come from peers' rows).
    private func totals(_ rows: [SpendByAgent]) -> [Key: Double] {
        var totals: [Key: Double] = [:]
        for row in rows {
            var scopes: [BudgetScope] = [.agent(row.agent), .global]
            if config.providers[row.provider] != nil { scopes.append(.provider(row.provider)) }
            for scope in scopes {
                totals[Key(scope: scope, period: .daily), default: 0] += row.todayUSD
                totals[Key(scope: scope, period: .monthly), default: 0] += row.monthUSD
            }
        }
        return totals
    }
}

/// A budget crossing its warning line or its limit.
public struct BudgetAlert: Sendable, Equatable {
    public enum Kind: String, Sendable { case warning, reached }
    public let kind: Kind
    public let scope: String
    public let period: BudgetPeriod
    public let spentUSD: Double
    public let limitUSD: Double
    public let action: BudgetAction
    /// ms since 1970.
    public let resetsAt: Int64

    public var percent: Double { limitUSD > 0 ? (spentUSD / limitUSD * 1000).rounded() / 10 : 100 }

    /// The line a chat webhook shows.
    public var text: String {
        let what = kind == .warning ? "has used \(percent)% of" : "has reached"
        return "DAGI Mesh budget: \(scope) \(what) its \(period.rawValue) budget ($\(Self.usd(spentUSD)) of $\(Self.usd(limitUSD)))"
            + (kind == .reached ? "; cloud requests are now \(action == .block ? "refused" : "left out")" : "")
            + " until \(UTCPeriods.iso8601(resetsAt))."
    }

    static func usd(_ value: Double) -> String { String(format: "%.2f", value) }
}

/// One budget's standing, as `GET /v1/budgets` lists it.
public struct BudgetStanding: Sendable, Codable, Equatable {
    public var scope: String
    public var period: String
    public var limitUSD: Double
    public var spentUSD: Double
    public var reservedUSD: Double
    public var percent: Double
    /// `ok`, `warning` (past `warn_at`) or `exceeded`.
    public var state: String
    public var onExceed: String
    public var resetsAt: String
    /// While a peer is silent: what this node lets the budget reach.
    public var nodeCapUSD: Double?

    enum CodingKeys: String, CodingKey {
        case scope, period, limitUSD = "limit_usd", spentUSD = "spent_usd", reservedUSD = "reserved_usd", percent, state
        case onExceed = "on_exceed", resetsAt = "resets_at", nodeCapUSD = "node_cap_usd"
    }
}
