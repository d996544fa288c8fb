import GRDB
import MeshCore

/// What one replicated column may hold: its storage type, whether it may be null, and its range.
///
/// Every change and snapshot row received from a peer is checked against its table's rules
/// before anything is written or the version vector moves (see ``ReplicationGate``). The ranges
/// are chosen so that no value that passes can make a later local operation trap or stall:
/// timestamps cannot be negative or far in the future, counts stay far below `Int64.max` (so
/// sums and `now - t` fit), reals are finite (SQLite would store NaN as NULL and break a NOT NULL
/// column, failing the whole transaction), enums hold a value the records can decode, and JSON
/// columns parse into the arrays the records expect.
///
/// Local writes are not checked (their values come from this node's own code and a refused local
/// write would break a service); the rules are generous enough for everything the node writes,
/// and ``ReplicatedRecord/replicationProblem(now:)`` lets input paths refuse early what peers
/// would refuse.
public struct ColumnRule: Sendable {
    enum Kind: Sendable {
        /// An integer within the range.
        case integer(ClosedRange<Int64>)
        /// One of a few integers (a rollup's resolution).
        case integerIn(Set<Int64>)
        /// Milliseconds since 1970, from 0 up to the receiver's clock plus the allowed skew.
        case timestamp
        /// A finite real within the range (integers are accepted: SQLite stores them as reals).
        case real(ClosedRange<Double>)
        /// 0 or 1.
        case flag
        /// UTF-8 text of `bytes` length, without control characters (newlines and tabs allowed
        /// when `multiline`, for error messages).
        case text(ClosedRange<Int>, multiline: Bool)
        /// A ``MeshName``: node ids and agent names.
        case name
        /// One of the strings a record's enum decodes.
        case oneOf(Set<String>)
        /// An `http://` or `https://` URL.
        case url
        /// A JSON array of at most `maxItems` strings, each valid for `item`.
        case list(maxItems: Int, item: ListItem)
    }

    enum ListItem: Sendable {
        case text(maxBytes: Int)
        case name
    }

    let kind: Kind
    let nullable: Bool

    // MARK: Building rules

    public static let name = ColumnRule(kind: .name, nullable: false)
    public static let timestamp = ColumnRule(kind: .timestamp, nullable: false)
    public static let flag = ColumnRule(kind: .flag, nullable: false)
    public static let url = ColumnRule(kind: .url, nullable: false)
    /// A count of things (requests, tokens, samples): never negative, never near overflow.
    public static let count = ColumnRule(kind: .integer(0...ColumnRule.maxCount), nullable: false)
    /// Tokens of one request: the bound the router clamps reported counts to.
    public static let tokens = ColumnRule(kind: .integer(0...(1 << 40)), nullable: false)
    /// A size in bytes, up to an exbibyte.
    public static let bytes = ColumnRule(kind: .integer(0...(1 << 60)), nullable: false)
    /// Any finite real of a magnitude arithmetic on it cannot overflow to infinity.
    public static let finite = ColumnRule(kind: .real(-1e300...1e300), nullable: false)

    public static func integer(_ range: ClosedRange<Int64>) -> ColumnRule { ColumnRule(kind: .integer(range), nullable: false) }
    public static func integer(in values: Set<Int64>) -> ColumnRule { ColumnRule(kind: .integerIn(values), nullable: false) }
    public static func real(_ range: ClosedRange<Double>) -> ColumnRule { ColumnRule(kind: .real(range), nullable: false) }
    /// Single-line text of at most `maxBytes` UTF-8 bytes (at least one for key columns).
    public static func text(_ maxBytes: Int, nonEmpty: Bool = false) -> ColumnRule {
        ColumnRule(kind: .text((nonEmpty ? 1 : 0)...maxBytes, multiline: false), nullable: false)
    }
    /// Text that may span lines (error output).
    public static func paragraph(_ maxBytes: Int) -> ColumnRule { ColumnRule(kind: .text(0...maxBytes, multiline: true), nullable: false) }
    public static func oneOf<E: RawRepresentable & CaseIterable>(_: E.Type) -> ColumnRule where E.RawValue == String {
        ColumnRule(kind: .oneOf(Set(E.allCases.map(\.rawValue))), nullable: false)
    }
    public static func texts(max items: Int, bytes: Int) -> ColumnRule {
        ColumnRule(kind: .list(maxItems: items, item: .text(maxBytes: bytes)), nullable: false)
    }
    public static func names(max items: Int) -> ColumnRule { ColumnRule(kind: .list(maxItems: items, item: .name), nullable: false) }

    /// The same rule, also accepting null.
    public var orNull: ColumnRule { ColumnRule(kind: kind, nullable: true) }

    /// Counts and sequence-like integers stop here: exact as doubles (JSON), and any sum of a
    /// few thousand of them still fits in 64 bits.
    public static let maxCount: Int64 = 1 << 52

    // MARK: Checking

    /// Why `value` does not fit, or nil when it does. `latest` is the newest timestamp accepted
    /// (the receiver's clock plus the allowed skew).
    func problem(_ value: DatabaseValue, latest: Int64) -> String? {
        if value.isNull { return nullable ? nil : "null where a value is required" }
        switch (kind, value.storage) {
        case (.integer(let range), .int64(let i)):
            return range.contains(i) ? nil : "\(i) outside \(range.lowerBound)...\(range.upperBound)"
        case (.integerIn(let values), .int64(let i)):
            return values.contains(i) ? nil : "\(i) is not one of \(values.sorted())"
        case (.timestamp, .int64(let ms)):
            return (0...max(0, latest)).contains(ms) ? nil : "timestamp \(ms) outside 0...\(latest) (negative or in the future)"
        case (.real(let range), .double(let d)):
            return d.isFinite && range.contains(d) ? nil : "\(d) outside \(range.lowerBound)...\(range.upperBound)"
        case (.real(let range), .int64(let i)):
            return range.contains(Double(i)) ? nil : "\(i) outside \(range.lowerBound)...\(range.upperBound)"
        case (.flag, .int64(let i)):
            return i == 0 || i == 1 ? nil : "\(i) is not a flag (0 or 1)"
        case (.text(let length, let multiline), .string(let s)):
            guard length.contains(s.utf8.count) else { return "text of \(s.utf8.count) bytes outside \(length.lowerBound)...\(length.upperBound)" }
            return Self.isPrintable(s, multiline: multiline) ? nil : "control characters in text"
        case (.name, .string(let s)):
            return MeshName.isValid(s) ? nil : "\(Self.quoted(s)) is not a valid node or agent name"
        case (.oneOf(let allowed), .string(let s)):
            return allowed.contains(s) ? nil : "\(Self.quoted(s)) is not one of \(allowed.sorted())"
        case (.url, .string(let s)):
            return s.utf8.count <= 2048 && HTTPURL(parsing: s) != nil ? nil : "not an http(s) URL"
        case (.list(let maxItems, let item), .string(let s)):
            return Self.listProblem(s, maxItems: maxItems, item: item)
        default:
            return "a value of the wrong type (\(value.storage.typeName))"
        }
    }

    /// A peer's text for a log line: shortened, quoted, control characters escaped.
    static func quoted(_ text: String) -> String { String(text.prefix(80)).debugDescription }

    private static func isPrintable(_ s: String, multiline: Bool) -> Bool {
        s.utf8.allSatisfy { byte in
            if byte >= 0x20 { return byte != 0x7f }
            return multiline && (byte == 0x0a || byte == 0x09 || byte == 0x0d)
        }
    }

    private static func listProblem(_ json: String, maxItems: Int, item: ListItem) -> String? {
        // Bound the document before parsing it: each item at most its length escaped (six
        // bytes per byte as \u00XX), two quotes and a comma.
        let itemBytes: Int
        switch item {
        case .name: itemBytes = MeshName.maxLength
        case .text(let maxBytes): itemBytes = maxBytes * 6
        }
        guard json.utf8.count <= maxItems * (itemBytes + 3) + 2, let items = (try? JSONValue.parse(Array(json.utf8)))?.arrayValue else {
            return "not a JSON list of strings"
        }
        guard items.count <= maxItems else { return "\(items.count) items, over \(maxItems)" }
        for value in items {
            guard let text = value.stringValue else { return "a list item that is not a string" }
            switch item {
            case .name where !MeshName.isValid(text): return "\(quoted(text)) is not a valid node or agent name"
            case .text(let maxBytes) where text.utf8.count > maxBytes || !isPrintable(text, multiline: false):
                return "a list item longer than \(maxBytes) bytes or with control characters"
            default: continue
            }
        }
        return nil
    }
}

extension DatabaseValue.Storage {
    var typeName: String {
        switch self {
        case .null: return "null"
        case .int64: return "integer"
        case .double: return "real"
        case .string: return "text"
        case .blob: return "blob"
        }
    }
}
