/// How an agent's requests stand against others' for a busy model: `low` waits behind the rest
/// (and stays on the mesh, off the cloud), `high` goes first.
public enum RequestPriority: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    case low = 0
    case normal = 1
    case high = 2

    public init?(name: String) {
        switch name {
        case "low": self = .low
        case "normal": self = .normal
        case "high": self = .high
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .low: return "low"
        case .normal: return "normal"
        case .high: return "high"
        }
    }

    public static func < (a: RequestPriority, b: RequestPriority) -> Bool { a.rawValue < b.rawValue }
}
