import GRDB
import Synchronization

/// How records name their columns: snake_case in SQL, camelCase in Swift, acronyms in capitals
/// as Swift spells them (`node_id` ↔ `nodeID`, `cost_usd` ↔ `costUSD`, `api_url` ↔ `apiURL`).
///
/// Both directions are ours: the plain conversion back gives `nodeId`, and GRDB's
/// `convertToSnakeCase` re-derives every column name of every record it encodes through
/// Foundation's character sets — at a busy router's ledger (2,700 rows a second, 22 columns
/// each) that was about half of what writing the ledger cost. Names are converted once and
/// remembered.
enum ColumnNaming {
    /// Words Swift capitalises whole.
    static let acronyms: Set<String> = ["id", "url", "usd", "ttft", "hlc", "gpu", "cpu", "ram", "vram"]

    static let decoding = DatabaseColumnDecodingStrategy.custom { column in ColumnKey(stringValue: property(for: column)) }

    static let encoding = DatabaseColumnEncodingStrategy.custom { key in column(for: key.stringValue) }

    /// Column names by property name; bounded by the properties of the records (keys come
    /// from the code, never from data).
    private static let columns = Mutex<[String: String]>([:])

    /// `nodeID` → `node_id`, `costUSD` → `cost_usd`, `heartbeatAt` → `heartbeat_at`.
    static func column(for property: String) -> String {
        if let known = columns.withLock({ $0[property] }) { return known }
        let characters = Array(property)
        var column = ""
        for (index, character) in characters.enumerated() {
            if character.isUppercase, index > 0 {
                let afterLower = !characters[index - 1].isUppercase
                let startsWord = characters[index - 1].isUppercase && index + 1 < characters.count && characters[index + 1].isLowercase
                if afterLower || startsWord { column.append("_") }
            }
            column += character.lowercased()
        }
        columns.withLock { $0[property] = column }
        return column
    }

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
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { ColumnNaming.encoding }
}
