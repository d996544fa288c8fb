import GRDB

/// How records name their columns: snake_case in SQL, camelCase in Swift, acronyms in capitals
/// as Swift spells them (`node_id` ↔ `nodeID`, `cost_usd` ↔ `costUSD`, `api_url` ↔ `apiURL`).
///
/// Encoding needs nothing of ours (GRDB's `convertToSnakeCase` already writes `nodeID` as
/// `node_id`); decoding does, since the plain conversion back gives `nodeId`.
enum ColumnNaming {
    /// Words Swift capitalises whole.
    static let acronyms: Set<String> = ["id", "url", "usd", "ttft", "hlc", "gpu", "cpu", "ram", "vram"]

    static let decoding = DatabaseColumnDecodingStrategy.custom { column in ColumnKey(stringValue: property(for: column)) }

    /// `node_id` → `nodeID`; the first word stays lower case.
    static func property(for column: String) -> String {
        let words = column.split(separator: "_")
        guard let first = words.first else { return column }
        return String(first) + words.dropFirst().map { word in
            acronyms.contains(String(word)) ? word.uppercased() : word.prefix(1).uppercased() + word.dropFirst()
        }.joined()
    }

    struct ColumnKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

/// Records whose columns follow ``ColumnNaming``: no hand-written `CodingKeys`.
public protocol SnakeCaseColumns: FetchableRecord, PersistableRecord {}

extension SnakeCaseColumns {
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { ColumnNaming.decoding }
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
}
