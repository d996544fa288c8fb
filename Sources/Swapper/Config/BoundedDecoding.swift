import MeshCore

/// Config numbers, durations and sizes decoded with their allowed range, so a value that would
/// overflow later arithmetic (a port past 65535, a deadline past the clock's range, a sum of
/// sizes past `Int64`) is a configuration error with its line, never a trap at run time.
extension KeyedDecodingContainer {
    func decode(_ key: Key, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
        let value = try decode(key, default: fallback)
        guard range.contains(value) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "\(key.stringValue) must be \(range.lowerBound)...\(range.upperBound)"
            )
        }
        return value
    }

    func decodeIfPresent(_ key: Key, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = try decodeIfPresent(Int.self, forKey: key) else { return nil }
        return try decode(key, default: value, in: range)
    }

    func decodeIfPresent(_ key: Key, in range: ClosedRange<ConfigDuration>) throws -> ConfigDuration? {
        guard let value = try decodeIfPresent(ConfigDuration.self, forKey: key) else { return nil }
        guard range.contains(value) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "\(key.stringValue) must be between \(range.lowerBound) and \(range.upperBound)"
            )
        }
        return value
    }

    func decode(_ key: Key, default fallback: ConfigDuration, in range: ClosedRange<ConfigDuration>) throws -> ConfigDuration {
        try decodeIfPresent(key, in: range) ?? fallback
    }

    func decodeIfPresent(_ key: Key, in range: ClosedRange<ByteSize>) throws -> ByteSize? {
        guard let value = try decodeIfPresent(ByteSize.self, forKey: key) else { return nil }
        guard range.contains(value) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "\(key.stringValue) must be between \(range.lowerBound) and \(range.upperBound)"
            )
        }
        return value
    }
}

/// The ranges the Swapper accepts.
enum ConfigBounds {
    static let port = 1024...65000
    static let queueLimit = 1...100_000
    static let logLines = 1...100_000
    static let concurrency = 1...100_000
    static let waitTimeout = ConfigDuration(milliseconds: 0)...ConfigDuration.hours(1)
    static let healthCheckTimeout = ConfigDuration(milliseconds: 100)...ConfigDuration.hours(1)
    static let stopTimeout = ConfigDuration(milliseconds: 0)...ConfigDuration.minutes(10)
    static let swapLinger = ConfigDuration(milliseconds: 0)...ConfigDuration.minutes(1)
    static let ttl = ConfigDuration(milliseconds: 0)...ConfigDuration.days(365)
    static let memory = ByteSize(bytes: 1)...ByteSize(bytes: 1 << 50)
}
