/// The tables whose rows replicate across the mesh, and how each one replicates.
///
/// # Replication and ownership rules
///
/// Every replicated row carries `origin` (the node that last wrote it) and `hlc` (the hybrid
/// logical clock timestamp of that write). Every write through ``MeshStore`` stamps both and
/// appends a change to the change log in the same transaction; no other module can reach the
/// database, so no write escapes the log.
///
/// Conflicts resolve per row, last writer wins, ordered by `(hlc, origin)`.
///
/// Ownership decides who may write a row at all:
/// - *Owned* tables (``node``, ``model``, ``agentPresence``, ``metricSample``, ``metricRollup``,
///   ``usage``) have an owner column holding a node id. Only that node writes those rows: a local
///   write for another node's row is refused, and a change received from a peer is ignored
///   unless its origin is the row's owner. So a peer can never overwrite another node's view of
///   itself, whatever it relays.
/// - *Shared* tables (``agent``, ``assignment``) may be written on any node; the latest
///   `(hlc, origin)` wins everywhere.
///
/// The numeric raw values are part of the wire format: never renumber a case.
public enum ReplicatedTable: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case node = 1
    case model = 2
    case agent = 3
    case assignment = 4
    case agentPresence = 5
    case metricSample = 6
    case metricRollup = 7
    case usage = 8

    public var description: String { schema.name }

    /// The table's replication schema.
    public var schema: TableSchema { TableSchema.all[Int(rawValue) - 1] }
}

/// How one replicated table's rows are laid out in change payloads and written by SQL.
public struct TableSchema: Sendable {
    public let table: ReplicatedTable
    /// The SQL table name.
    public let name: String
    /// Replicated data columns in payload order: primary key columns first. Excludes the
    /// `origin` and `hlc` stamps, which travel in each change's header.
    public let columns: [String]
    /// How many leading `columns` form the primary key.
    public let primaryKeyCount: Int
    /// Index in `columns` of the column naming the owning node; nil for shared tables.
    public let ownerColumn: Int?

    /// The last-writer-wins upsert: inserts the row, or replaces it only when the incoming
    /// `(hlc, origin)` is greater than the stored one. `changes()` tells whether it won.
    let upsertSQL: String

    init(_ table: ReplicatedTable, _ name: String, key: [String], values: [String], owner: String?) {
        self.table = table
        self.name = name
        self.columns = key + values
        self.primaryKeyCount = key.count
        self.ownerColumn = owner.flatMap { key.firstIndex(of: $0) }
        let all = columns + ["origin", "hlc"]
        let placeholders = Array(repeating: "?", count: all.count).joined(separator: ",")
        let updates = (values + ["origin", "hlc"]).map { "\($0)=excluded.\($0)" }.joined(separator: ",")
        upsertSQL = """
            INSERT INTO \(name) (\(all.joined(separator: ","))) VALUES (\(placeholders)) \
            ON CONFLICT(\(key.joined(separator: ","))) DO UPDATE SET \(updates) \
            WHERE excluded.hlc > \(name).hlc OR (excluded.hlc = \(name).hlc AND excluded.origin > \(name).origin)
            """
    }

    static let all: [TableSchema] = [
        TableSchema(
            .node, "node", key: ["id"],
            values: [
                "hostname", "api_url", "version", "os", "arch", "cpu_count", "mem_total", "disk_total",
                "started_at", "heartbeat_at", "heartbeat_interval_ms", "state", "cpu_percent", "mem_used",
                "disk_used", "load1", "gpu_count", "gpu_util", "vram_total", "vram_used",
            ],
            owner: "id"
        ),
        TableSchema(
            .model, "model", key: ["node_id", "source", "name"],
            values: [
                "family", "size_bytes", "quantization", "parameter_size", "state", "reachable", "ram_bytes",
                "vram_bytes", "last_used", "pid", "port", "state_since", "error", "deleted",
            ],
            owner: "node_id"
        ),
        TableSchema(
            .agent, "agent", key: ["name"],
            values: [
                "tier", "allowed_models", "allow_cloud", "prefer_nodes", "stale_after_ms", "budget_daily_usd",
                "budget_monthly_usd", "deleted", "rpm",
            ],
            owner: nil
        ),
        TableSchema(.assignment, "assignment", key: ["agent", "node_id"], values: ["priority", "deleted"], owner: nil),
        TableSchema(
            .agentPresence, "agent_presence", key: ["agent", "node_id"], values: ["last_seen", "requests"],
            owner: "node_id"
        ),
        TableSchema(.metricSample, "metric_sample", key: ["node_id", "metric", "ts"], values: ["value"], owner: "node_id"),
        TableSchema(
            .metricRollup, "metric_rollup", key: ["node_id", "metric", "resolution", "bucket"],
            values: ["count", "sum", "min", "max"], owner: "node_id"
        ),
        TableSchema(
            .usage, "usage", key: ["node_id", "id"],
            values: [
                "ts", "agent", "model", "route", "status", "tokens_in", "tokens_out", "cost_usd", "latency_ms",
                "request_id", "requests",
            ],
            owner: "node_id"
        ),
    ]
}
