import Foundation

/// A duration written in configuration as a string: `500ms`, `10s`, `5m`, `1h30m`, `2d`.
///
/// A bare number means seconds. Parsing lives here and only here, so every duration in every
/// config section accepts the same spellings and reports the same error.
public struct ConfigDuration: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The duration in milliseconds.
    public let milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public static func seconds(_ s: Int64) -> ConfigDuration { .init(milliseconds: s * 1000) }
    public static func minutes(_ m: Int64) -> ConfigDuration { .init(milliseconds: m * 60_000) }
    public static func hours(_ h: Int64) -> ConfigDuration { .init(milliseconds: h * 3_600_000) }
    public static func days(_ d: Int64) -> ConfigDuration { .init(milliseconds: d * 86_400_000) }

    /// The duration as a Swift `Duration`.
    public var duration: Duration { .milliseconds(milliseconds) }
    /// The duration in (fractional) seconds.
    public var seconds: Double { Double(milliseconds) / 1000 }

    /// Parses `text`; returns nil when it is not a duration.
    public init?(parsing text: String) {
        let s = text.trimmingCharacters(in: .whitespaces)
        guard !s.isEmpty else { return nil }
        if let plain = Double(s) {
            guard plain >= 0, plain.isFinite, plain * 1000 < Double(Int64.max) else { return nil }
            self.milliseconds = Int64(plain * 1000)
            return
        }
        var total: Double = 0
        var rest = Substring(s)
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ms": scale = 1
            case "s": scale = 1000
            case "m": scale = 60_000
            case "h": scale = 3_600_000
            case "d": scale = 86_400_000
            default: return nil
            }
            total += value * scale
        }
        guard total.isFinite, total < Double(Int64.max) else { return nil }
        self.milliseconds = Int64(total)
    }

    public static func < (lhs: ConfigDuration, rhs: ConfigDuration) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// The shortest exact spelling: `90s` prints as `90s`, `3600000ms` as `1h`.
    public var description: String {
        let units: [(Int64, String)] = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1000, "s")]
        for (scale, name) in units where milliseconds >= scale && milliseconds % scale == 0 {
            return "\(milliseconds / scale)\(name)"
        }
        return "\(milliseconds)ms"
    }
}

extension ConfigDuration: ConfigScalar {
    public static var expectedForm: String { "duration (use e.g. 500ms, 10s, 5m, 1h, 30d)" }
}

