import GRDB

/// How one replicated table's rows are laid out in change payloads, written by SQL, and checked
/// when they arrive from a peer.
///
/// Each column is declared with its ``ColumnRule``, right here, so the range a column may hold
/// is read where the column is. The column names must match the migrations (a test checks it).
public struct TableSchema: Sendable {
    public let table: ReplicatedTable
    /// The SQL table name.
    public let name: String
    /// Replicated data columns in payload order: primary key columns first. Excludes the
    /// `origin` and `hlc` stamps, which travel in each change's header.
    public let columns: [String]
    /// What each of `columns` may hold, in the same order.
    public let rules: [ColumnRule]
    /// How many leading `columns` form the primary key.
    public let primaryKeyCount: Int
    /// Index in `columns` of the column naming the owning node; nil for shared tables.
    public let ownerColumn: Int?

    /// The last-writer-wins upsert: inserts the row, or replaces it only when the incoming
    /// `(hlc, origin)` is greater than the stored one. `changes()` tells whether it won.
    let upsertSQL: String

    init(_ table: ReplicatedTable, _ name: String, key: [(String, ColumnRule)], values: [(String, ColumnRule)], owner: String?) {
        self.table = table
        self.name = name
        self.columns = (key + values).map(\.0)
        self.rules = (key + values).map(\.1)
        self.primaryKeyCount = key.count
        let keyNames = key.map(\.0), valueNames = values.map(\.0)
        self.ownerColumn = owner.flatMap { keyNames.firstIndex(of: $0) }
        let all = columns + ["origin", "hlc"]
        let placeholders = Array(repeating: "?", count: all.count).joined(separator: ",")
        let updates = (valueNames + ["origin", "hlc"]).map { "\($0)=excluded.\($0)" }.joined(separator: ",")
        upsertSQL = """
            INSERT INTO \(name) (\(all.joined(separator: ","))) VALUES (\(placeholders)) \
            ON CONFLICT(\(keyNames.joined(separator: ","))) DO UPDATE SET \(updates) \
            WHERE excluded.hlc > \(name).hlc OR (excluded.hlc = \(name).hlc AND excluded.origin > \(name).origin)
            """
    }

    /// The first column of `values` (in ``columns`` order) that breaks its rule, and why; nil
    /// when the row is acceptable. `latest` is the newest timestamp accepted, in milliseconds.
    func problem(in values: [DatabaseValue], latest: Int64) -> String? {
        guard values.count == rules.count else { return "\(values.count) columns, the table has \(rules.count)" }
        for index in rules.indices {
            if let problem = rules[index].problem(values[index], latest: latest) { return "\(name).\(columns[index]): \(problem)" }
        }
        return nil
    }

    // Bounds shared by several tables.
    private static let modelName = ColumnRule.text(512, nonEmpty: true)
    private static let metricName = ColumnRule.text(128, nonEmpty: true)
    private static let shortText = ColumnRule.text(256)
    private static let percent = ColumnRule.real(0...1000)
    private static let money = ColumnRule.real(0...1e12)

    static let all: [TableSchema] = [
        TableSchema(
            .node, "node", key: [("id", .name)],
            values: [
                ("hostname", shortText), ("api_url", .url), ("version", .text(64)), ("os", .text(64)), ("arch", .text(64)),
                ("cpu_count", .integer(0...(1 << 20))), ("mem_total", .bytes), ("disk_total", .bytes),
                ("started_at", .timestamp), ("heartbeat_at", .timestamp),
                // Up to a year; liveness arithmetic saturates anyway.
                ("heartbeat_interval_ms", .integer(1...31_536_000_000)),
                ("state", .oneOf(NodeRecord.State.self)), ("cpu_percent", percent.orNull), ("mem_used", ColumnRule.bytes.orNull),
                ("disk_used", ColumnRule.bytes.orNull), ("load1", ColumnRule.real(0...1e6).orNull), ("gpu_count", .integer(0...1024)),
                ("gpu_util", percent.orNull), ("vram_total", ColumnRule.bytes.orNull), ("vram_used", ColumnRule.bytes.orNull),
            ],
            owner: "id"
        ),
        TableSchema(
            .model, "model", key: [("node_id", .name), ("source", .oneOf(ModelRecord.Source.self)), ("name", modelName)],
            values: [
                ("family", shortText.orNull), ("size_bytes", ColumnRule.bytes.orNull), ("quantization", shortText.orNull),
                ("parameter_size", shortText.orNull), ("state", .oneOf(ModelRecord.State.self)), ("reachable", .flag),
                ("ram_bytes", ColumnRule.bytes.orNull), ("vram_bytes", ColumnRule.bytes.orNull), ("last_used", ColumnRule.timestamp.orNull),
                // A pid the Swapper may signal after a reset: never 0 or 1 (a process group, init).
                ("pid", ColumnRule.integer(2...Int64(Int32.max)).orNull), ("port", ColumnRule.integer(1...65535).orNull),
                ("state_since", ColumnRule.timestamp.orNull), ("error", ColumnRule.paragraph(16 << 10).orNull), ("deleted", .flag),
            ],
            owner: "node_id"
        ),
        TableSchema(
            .agent, "agent", key: [("name", .name)],
            values: [
                ("tier", shortText), ("allowed_models", .texts(max: 1024, bytes: 512)), ("allow_cloud", .flag),
                ("prefer_nodes", .names(max: 256)), ("stale_after_ms", .integer(0...(10 * 31_536_000_000))),
                ("budget_daily_usd", ColumnRule.real(0...1e12).orNull), ("budget_monthly_usd", ColumnRule.real(0...1e12).orNull),
                ("deleted", .flag), ("rpm", ColumnRule.integer(0...1_000_000_000).orNull), ("tpm", ColumnRule.integer(0...1_000_000_000_000).orNull),
                ("on_exceed", ColumnRule.text(16).orNull), ("call_policy", ColumnRule.text(CallPolicy.maxStoredBytes).orNull),
            ],
            owner: nil
        ),
        TableSchema(
            .assignment, "assignment", key: [("agent", .name), ("node_id", .name)],
            values: [("priority", .integer(-1_000_000...1_000_000)), ("deleted", .flag)], owner: nil
        ),
        TableSchema(
            .agentPresence, "agent_presence", key: [("agent", .name), ("node_id", .name)],
            values: [("last_seen", .timestamp), ("requests", .count)], owner: "node_id"
        ),
        TableSchema(
            .metricSample, "metric_sample", key: [("node_id", .name), ("metric", metricName), ("ts", .timestamp)],
            values: [("value", .finite)], owner: "node_id"
        ),
        TableSchema(
            .metricRollup, "metric_rollup",
            key: [
                ("node_id", .name), ("metric", metricName),
                ("resolution", .integer(in: [Int64(MetricRollup.minute), Int64(MetricRollup.hour)])), ("bucket", .timestamp),
            ],
            values: [("count", .count), ("sum", .finite), ("min", .finite), ("max", .finite)], owner: "node_id"
        ),
        TableSchema(
            .usage, "usage", key: [("node_id", .name), ("id", .integer(0...Int64.max))],
            values: [
                ("ts", .timestamp), ("request_id", shortText), ("agent", .name), ("model", modelName), ("physical_model", modelName),
                ("route", .text(128)), ("provider", ColumnRule.name.orNull), ("served_by", .name), ("prompt_tokens", .tokens),
                ("cached_tokens", .tokens), ("cache_write_tokens", .tokens), ("completion_tokens", .tokens), ("reasoning_tokens", .tokens),
                ("latency_ms", .real(0...1e15)), ("ttft_ms", ColumnRule.real(0...1e15).orNull), ("cost_usd", money),
                ("saving_usd", .real(-1e12...1e12)), ("cache_hit", .flag), ("status", .integer(0...999)), ("estimated", .flag),
            ],
            owner: "node_id"
        ),
        TableSchema(
            .usageRollup, "usage_rollup",
            key: [("node_id", .name), ("hour", .timestamp), ("agent", .name), ("model", modelName), ("route", .text(128))],
            values: [
                ("requests", .count), ("errors", .count), ("prompt_tokens", .count), ("cached_tokens", .count), ("completion_tokens", .count),
                ("reasoning_tokens", .count), ("cost_usd", money), ("saving_usd", .real(-1e12...1e12)), ("latency_ms", .real(0...1e18)),
            ],
            owner: "node_id"
        ),
        TableSchema(
            .modelLoad, "model_load", key: [("node_id", .name), ("source", .oneOf(ModelRecord.Source.self)), ("name", modelName)],
            values: [
                ("slots", .integer(Int64(ModelLoadRecord.slotRange.lowerBound)...Int64(ModelLoadRecord.slotRange.upperBound))), ("inflight", .integer(0...1_000_000)), ("queued", .integer(0...1_000_000)),
                ("service_ms", ColumnRule.real(0...86_400_000).orNull), ("at", .timestamp),
            ],
            owner: "node_id"
        ),
    ]
}
