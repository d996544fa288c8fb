import Foundation

extension JSONValue {
    /// A moment as seconds since 1970 to the millisecond: the `timestamp` Python services write
    /// (`time.time()`), which the compatibility APIs keep.
    public static func unixTime(_ date: Date = Date()) -> JSONValue {
        .number((date.timeIntervalSince1970 * 1000).rounded() / 1000)
    }
}
