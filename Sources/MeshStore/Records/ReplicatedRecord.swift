import GRDB

/// A row of a replicated table.
///
/// Records are plain values; ``MeshStore`` stamps `origin` and `hlc` when it writes them, so
/// whatever a caller puts there is overwritten.
public protocol ReplicatedRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    static var replicatedTable: ReplicatedTable { get }
    /// The node that last wrote the row.
    var origin: String { get set }
    /// When it was written, on that node's hybrid logical clock.
    var hlc: HLCTimestamp { get set }
}

extension ReplicatedRecord {
    public static var databaseTableName: String { replicatedTable.schema.name }

    /// Why peers would refuse this row (a column outside its ``ColumnRule``), or nil. `now` is
    /// the wall clock in milliseconds. For input paths that want to refuse early what the
    /// mesh would refuse later.
    public func replicationProblem(now: Int64) -> String? {
        let schema = Self.replicatedTable.schema
        guard let values = try? LocalWriter.values(of: self, schema: schema) else { return "the row cannot be encoded" }
        return schema.problem(in: values, latest: now)
    }
}

extension HLCTimestamp: Codable, DatabaseValueConvertible {
    public init(from decoder: any Decoder) throws {
        self.init(storedValue: try decoder.singleValueContainer().decode(Int64.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(storedValue)
    }

    public var databaseValue: DatabaseValue { storedValue.databaseValue }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> HLCTimestamp? {
        Int64.fromDatabaseValue(dbValue).map(HLCTimestamp.init(storedValue:))
    }
}
