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
/// - *Owned* tables (``node``, ``model``, ``modelLoad``, ``agentPresence``, ``metricSample``,
///   ``metricRollup``, ``usage``) have an owner column holding a node id. Only that node writes those rows: a local
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
    case usageRollup = 9
    case modelLoad = 10

    public var description: String { schema.name }

    /// The table's replication schema.
    public var schema: TableSchema { TableSchema.all[Int(rawValue) - 1] }
}
