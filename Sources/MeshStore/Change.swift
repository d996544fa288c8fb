import GRDB
import MeshCore

/// One replicated change: the winning write of one row, as stored in the change log and sent
/// to peers. `originSeq` numbers the origin's changes 1, 2, 3…; a version vector entry
/// `origin: n` means "I hold everything of origin's up to n".
public struct Change: Sendable, Equatable {
    public var origin: String
    public var originSeq: Int64
    public var hlc: HLCTimestamp
    public var table: ReplicatedTable
    /// The row's data columns, encoded in ``TableSchema/columns`` order.
    public var payload: [UInt8]

    public init(origin: String, originSeq: Int64, hlc: HLCTimestamp, table: ReplicatedTable, payload: [UInt8]) {
        self.origin = origin
        self.originSeq = originSeq
        self.hlc = hlc
        self.table = table
        self.payload = payload
    }

    /// Decodes and checks the payload against the table schema.
    func decoded() throws -> DecodedChange {
        let schema = table.schema
        let (values, keyLength) = try ValueCodec.decode(payload, count: schema.columns.count, keyCount: schema.primaryKeyCount)
        for index in 0..<schema.primaryKeyCount where values[index].isNull {
            throw BinaryFormatError("\(schema.name): null primary key column \(schema.columns[index])")
        }
        return DecodedChange(change: self, values: values, keyLength: keyLength)
    }
}

/// A change whose payload has been validated and decoded, ready to bind.
struct DecodedChange {
    let change: Change
    let values: [DatabaseValue]
    let keyLength: Int

    var key: ArraySlice<UInt8> { change.payload[0..<keyLength] }

    /// Whether the row's owner column (if any) names the change's origin.
    var respectsOwnership: Bool {
        guard let owner = change.table.schema.ownerColumn else { return true }
        return values[owner] == change.origin.databaseValue
    }
}

/// A row as carried by a snapshot: its table, stamps and payload, without a change sequence.
public struct SnapshotRow: Sendable, Equatable {
    public var table: ReplicatedTable
    public var origin: String
    public var hlc: HLCTimestamp
    public var payload: [UInt8]

    public init(table: ReplicatedTable, origin: String, hlc: HLCTimestamp, payload: [UInt8]) {
        self.table = table
        self.origin = origin
        self.hlc = hlc
        self.payload = payload
    }
}

/// A consistent copy of every replicated row plus the version vector it corresponds to.
public struct Snapshot: Sendable {
    public var vector: [String: Int64]
    public var rows: [SnapshotRow]

    public init(vector: [String: Int64], rows: [SnapshotRow]) {
        self.vector = vector
        self.rows = rows
    }
}

/// What the store answered to a pull: changes the requester lacks, in per-origin order.
public struct ChangeBatch: Sendable {
    public var changes: [Change]
    /// More changes are waiting: pull again with the advanced vector.
    public var hasMore: Bool
    /// The requester is behind this node's compacted history (or far behind) and must
    /// bootstrap from a snapshot instead.
    public var snapshotRequired: Bool
    /// This node's version vector when the batch was read.
    public var vector: [String: Int64]
}

/// The outcome of applying a batch of changes.
public struct ApplyResult: Sendable, Equatable {
    /// Changes that won last-writer-wins and were written.
    public var applied = 0
    /// Changes already held (sequence not above the version vector).
    public var duplicates = 0
    /// Changes that lost to a newer write of the same row.
    public var superseded = 0
    /// Changes refused, by reason (see ``ReplicationGate`` for what each does to the vector).
    public var refused: [Refusal.Reason: Int] = [:]
    /// The first few refusals, for a log line; bounded whatever the batch holds.
    public var refusals: [Refusal] = []

    public init() {}

    /// How many changes were refused, for any reason.
    public var refusedCount: Int { refused.values.reduce(0, +) }

    static let keptRefusals = 8

    mutating func refuse(_ refusal: Refusal) {
        refused[refusal.reason, default: 0] += 1
        if refusals.count < Self.keptRefusals { refusals.append(refusal) }
    }
}
