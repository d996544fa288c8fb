import Foundation

/// A size written in configuration as a string: `300MiB`, `8GiB`, `1.5GB`, `4096` (bytes).
///
/// Binary (`KiB`, `MiB`, `GiB`, `TiB`) and decimal (`KB`, `MB`, `GB`, `TB`) units are both
/// accepted because model cards use both; `K`, `M`, `G` alone are read as binary.
public struct ByteSize: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let bytes: Int64

    public init(bytes: Int64) { self.bytes = bytes }
    public static func mebibytes(_ n: Int64) -> ByteSize { .init(bytes: n << 20) }
    public static func gibibytes(_ n: Int64) -> ByteSize { .init(bytes: n << 30) }

    /// Parses `text`; returns nil when it is not a size.
    public init?(parsing text: String) {
        let s = text.trimmingCharacters(in: .whitespaces)
        let number = s.prefix { $0.isNumber || $0 == "." }
        guard !number.isEmpty, let value = Double(number), value >= 0 else { return nil }
        let unit = s.dropFirst(number.count).trimmingCharacters(in: .whitespaces).lowercased()
        let scale: Double
        switch unit {
        case "", "b": scale = 1
        case "k", "kib": scale = 1024
        case "m", "mib": scale = 1_048_576
        case "g", "gib": scale = 1_073_741_824
        case "t", "tib": scale = 1_099_511_627_776
        case "kb": scale = 1e3
        case "mb": scale = 1e6
        case "gb": scale = 1e9
        case "tb": scale = 1e12
        default: return nil
        }
        let total = value * scale
        guard total.isFinite, total < Double(Int64.max) else { return nil }
        self.bytes = Int64(total)
    }

    public static func < (lhs: ByteSize, rhs: ByteSize) -> Bool { lhs.bytes < rhs.bytes }

    /// A human spelling with binary units, e.g. `300.0MiB`; exact values print without decimals.
    public var description: String { ByteSize.format(bytes) }

    /// Formats a byte count for people: `98.4MiB`, `2GiB`, `512B`.
    public static func format(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var index = 0
        while abs(value) >= 1024, index < units.count - 1 {
            value /= 1024
            index += 1
        }
        if index == 0 || value == value.rounded() { return "\(Int64(value.rounded()))\(units[index])" }
        return String(format: "%.1f%@", value, units[index])
    }
}

extension ByteSize: ConfigScalar {
    public static var expectedForm: String { "size (use e.g. 300MiB, 8GiB, 1.5GB)" }
}
