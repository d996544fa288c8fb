import Foundation
import GRDB

/// Which ledger rows a question is about. Every field narrows; nil means any.
public struct UsageFilter: Sendable, Equatable {
    public var agent: String?
    public var model: String?
    public var provider: String?
    /// The node that served the request (`served_by`).
    public var node: String?
    public var route: String?
    /// From this time (ms since 1970, inclusive) …
    public var since: Int64?
    /// … until this one (exclusive).
    public var until: Int64?

    public init(
        agent: String? = nil, model: String? = nil, provider: String? = nil, node: String? = nil, route: String? = nil, since: Int64? = nil,
        until: Int64? = nil
    ) {
        self.agent = agent
        self.model = model
        self.provider = provider
        self.node = node
        self.route = route
        self.since = since
        self.until = until
    }
}

/// What a ledger question may group by.
public enum UsageGrouping: String, Sendable, CaseIterable {
    case agent, model, physicalModel = "physical_model", provider, node, route, status, day, hour

    /// What a `group_by` list may hold, and why one was refused.
    public struct ListError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// A comma-separated list (`agent, model`): known names, each once, at most four — every
    /// term is an expression SQLite evaluates for every ledger row.
    public static func list(_ text: String) throws(ListError) -> [UsageGrouping] {
        var groups: [UsageGrouping] = []
        for name in text.split(separator: ",") {
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard let grouping = UsageGrouping(rawValue: trimmed) else {
                throw ListError(description: "group_by takes \(allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if !groups.contains(grouping) { groups.append(grouping) }
        }
        guard groups.count <= 4 else { throw ListError(description: "group_by takes at most 4 groupings") }
        return groups
    }

    /// The SQL expression of the group: a fixed column or a bucket of `ts`, never caller text.
    var expression: String {
        switch self {
        case .agent: return "agent"
        case .model: return "model"
        case .physicalModel: return "physical_model"
        case .provider: return "coalesce(provider, '')"
        case .node: return "served_by"
        case .route: return "route"
        case .status: return "CAST(status AS TEXT)"
        case .day: return "CAST((ts / 86400000) * 86400000 AS TEXT)"
        case .hour: return "CAST((ts / 3600000) * 3600000 AS TEXT)"
        }
    }
}

/// A group's totals.
public struct UsageTotals: Sendable, Equatable {
    /// The group's values, in the order asked (`day`/`hour` as their start in ms).
    public var group: [String]
    public var requests: Int64
    public var errors: Int64
    public var promptTokens: Int64
    public var cachedTokens: Int64
    public var completionTokens: Int64
    public var reasoningTokens: Int64
    public var costUSD: Double
    public var savingUSD: Double
    public var averageLatencyMs: Double
}

/// The usage ledger: one row per request, mesh-wide, and hourly rollups.
extension MeshStore {
    /// Ledger rows, newest first, at most `limit`.
    public func usage(_ filter: UsageFilter = UsageFilter(), limit: Int = 1000) async throws -> [UsageRecord] {
        try await pool.read { db in
            try Self.filtered(UsageRecord.all(), filter).order(Column("ts").desc).limit(max(0, min(limit, 100_000))).fetchAll(db)
        }
    }

    /// Totals per group (no grouping: one total), biggest cost first.
    public func usageTotals(_ filter: UsageFilter = UsageFilter(), groupBy groups: [UsageGrouping] = []) async throws -> [UsageTotals] {
        try await pool.read { db in
            var conditions: [String] = []
            var arguments: [any DatabaseValueConvertible] = []
            func add(_ column: String, _ value: (any DatabaseValueConvertible)?, _ op: String = "=") {
                guard let value else { return }
                conditions.append("\(column) \(op) ?")
                arguments.append(value)
            }
            add("agent", filter.agent)
            add("model", filter.model)
            add("provider", filter.provider)
            add("served_by", filter.node)
            add("route", filter.route)
            add("ts", filter.since, ">=")
            add("ts", filter.until, "<")
            let keys = groups.map(\.expression)
            let sql = """
                SELECT \((keys + ["''"]).joined(separator: ", ")), count(*), sum(status >= 400), \(Self.sum("prompt_tokens")),
                  \(Self.sum("cached_tokens")), \(Self.sum("completion_tokens")), \(Self.sum("reasoning_tokens")), total(cost_usd),
                  total(saving_usd), avg(latency_ms)
                FROM usage \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
                \(keys.isEmpty ? "" : "GROUP BY " + keys.joined(separator: ", "))
                ORDER BY total(cost_usd) DESC, count(*) DESC
                """
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).compactMap { row in
                let n = keys.count + 1
                let requests: Int64 = row[n]
                guard requests > 0 else { return nil }
                return UsageTotals(
                    group: (0..<keys.count).map { (row[$0] as String?) ?? "" }, requests: requests, errors: row[n + 1] ?? 0,
                    promptTokens: row[n + 2] ?? 0, cachedTokens: row[n + 3] ?? 0, completionTokens: row[n + 4] ?? 0,
                    reasoningTokens: row[n + 5] ?? 0, costUSD: row[n + 6], savingUSD: row[n + 7], averageLatencyMs: row[n + 8] ?? 0
                )
            }
        }
    }

    private static func filtered(_ request: QueryInterfaceRequest<UsageRecord>, _ filter: UsageFilter) -> QueryInterfaceRequest<UsageRecord> {
        var request = request
        if let agent = filter.agent { request = request.filter(Column("agent") == agent) }
        if let model = filter.model { request = request.filter(Column("model") == model) }
        if let provider = filter.provider { request = request.filter(Column("provider") == provider) }
        if let node = filter.node { request = request.filter(Column("served_by") == node) }
        if let route = filter.route { request = request.filter(Column("route") == route) }
        if let since = filter.since { request = request.filter(Column("ts") >= since) }
        if let until = filter.until { request = request.filter(Column("ts") < until) }
        return request
    }

    /// Sums this node's complete hours of ledger rows into rollup rows (replicated like any
    /// owned row). Idempotent: progress is remembered, and an hour is rolled up once it ended.
    @discardableResult
    public func rollUpUsage(now: Int64) async throws -> Int {
        try await write { writer in try writer.rollUpUsage(now: now) }
    }
}

extension MeshStore {
    /// A column's sum that cannot overflow: SQLite's `sum()` of integers fails the whole query
    /// past Int64 (rows from peers are bounded one by one, not in total), `total()` is a double;
    /// capped, it converts back to an integer safely.
    static func sum(_ column: String) -> String { "CAST(min(total(\(column)), 9e18) AS INTEGER)" }

    /// A ledger row counts toward budgets for at most this much: no single request costs more,
    /// and a peer's absurd row cannot spend every budget of the month.
    static let maxRowCostUSD = 1000.0
    /// Rows dated further ahead than this (a peer's clock, or a lie) are not counted yet.
    static let futureSlackMs: Int64 = 60_000

    /// What each agent of the mesh (a live agent row) spent through each provider since
    /// `dayStart` and since `monthStart`, by this node's own rows (`own`) or the other nodes':
    /// what budgets count.
    public func spendByAgent(dayStart: Int64, monthStart: Int64, own: Bool) async throws -> [SpendByAgent] {
        let until = clock.wallMilliseconds() &+ Self.futureSlackMs
        return try await pool.read { db in
            let cost = "min(cost_usd, \(Self.maxRowCostUSD))"
            return try Row.fetchAll(db, sql: """
                SELECT agent, coalesce(provider, ''), total(CASE WHEN ts >= ? THEN \(cost) ELSE 0 END), total(\(cost))
                FROM usage INDEXED BY usage_costly_ts WHERE ts >= ? AND ts < ? AND cost_usd > 0 AND \(own ? "node_id = ?" : "node_id != ?")
                  AND agent IN (SELECT name FROM agent WHERE deleted = 0)
                GROUP BY agent, provider
                """, arguments: [dayStart, monthStart, until, self.nodeID]).map {
                SpendByAgent(agent: $0[0], provider: $0[1], todayUSD: $0[2], monthUSD: $0[3])
            }
        }
    }

    /// Requests and tokens (prompt and completion) per second of the rows other nodes recorded
    /// with `ts` in `since..<until`, for each agent with a rate limit: what the rest of the mesh
    /// used, for limits counted across it. (A peer's clock may run ahead: `until` keeps its
    /// future rows out.)
    public func peerUsagePerSecond(since: Int64, until: Int64) async throws -> [PeerUsageSecond] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT agent, ts / 1000, count(*), \(Self.sum("prompt_tokens + completion_tokens"))
                FROM usage INDEXED BY usage_agent_ts
                WHERE agent IN (SELECT name FROM agent WHERE deleted = 0 AND (rpm IS NOT NULL OR tpm IS NOT NULL)) AND ts >= ? AND ts < ? AND node_id != ?
                GROUP BY agent, ts / 1000
                """, arguments: [since, until, nodeID]).map { PeerUsageSecond(agent: $0[0], second: $0[1], requests: $0[2], tokens: $0[3]) }
        }
    }
}

/// What one agent spent through one provider (empty: the mesh's own models) this day and month.
public struct SpendByAgent: Sendable, Equatable {
    public var agent: String
    public var provider: String
    public var todayUSD: Double
    public var monthUSD: Double

    public init(agent: String, provider: String, todayUSD: Double, monthUSD: Double) {
        self.agent = agent
        self.provider = provider
        self.todayUSD = todayUSD
        self.monthUSD = monthUSD
    }
}

/// What other nodes' rows say one agent used in one second.
public struct PeerUsageSecond: Sendable, Equatable {
    public var agent: String
    /// Seconds since 1970.
    public var second: Int64
    public var requests: Int64
    public var tokens: Int64

    public init(agent: String, second: Int64, requests: Int64, tokens: Int64) {
        self.agent = agent
        self.second = second
        self.requests = requests
        self.tokens = tokens
    }
}

extension LocalWriter {
    mutating func rollUpUsage(now: Int64) throws -> Int {
        let hour: Int64 = 3_600_000
        let through = try Int64.fetchOne(db, sql: "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'usage_rollup_through'") ?? 0
        let end = now / hour * hour
        guard end > through else { return 0 }
        // Rows reach the ledger up to a flush after their request ended, later after a failed
        // flush: the two hours before the watermark are summed again (the rollup is an upsert).
        let from = max(0, through - 2 * hour)
        let rows = try Row.fetchAll(db, sql: """
            SELECT (ts / 3600000) * 3600000 AS bucket, agent, model, route, count(*), sum(status >= 400), \(MeshStore.sum("prompt_tokens")),
              \(MeshStore.sum("cached_tokens")), \(MeshStore.sum("completion_tokens")), \(MeshStore.sum("reasoning_tokens")), total(cost_usd),
              total(saving_usd), total(latency_ms)
            FROM usage WHERE node_id = ? AND ts >= ? AND ts < ?
            GROUP BY bucket, agent, model, route
            """, arguments: [nodeID, from, end])
        for row in rows {
            try put(UsageRollupRecord(
                nodeID: nodeID, hour: row[0], agent: row[1], model: row[2], route: row[3], requests: row[4], errors: row[5],
                promptTokens: row[6], cachedTokens: row[7], completionTokens: row[8], reasoningTokens: row[9], costUSD: row[10],
                savingUSD: row[11], latencyMs: row[12]
            ))
        }
        try db.execute(
            sql: "INSERT INTO meta (key, value) VALUES ('usage_rollup_through', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            arguments: [String(end)]
        )
        return rows.count
    }
}
