import Foundation

/// The UTC day and month a moment falls in, as budgets and reports count them: their starts,
/// and when they end (what a budget's `resets_at` says). Moments are ms since 1970.
public enum UTCPeriods {
    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    public static func dayAndMonthStart(_ now: Int64) -> (day: Int64, month: Int64) {
        let date = Date(timeIntervalSince1970: Double(now) / 1000)
        let day = calendar.startOfDay(for: date)
        let month = calendar.date(from: calendar.dateComponents([.year, .month], from: date)) ?? day
        return (Int64(day.timeIntervalSince1970 * 1000), Int64(month.timeIntervalSince1970 * 1000))
    }

    /// When the day and the month of `now` end.
    public static func dayAndMonthEnd(_ now: Int64) -> (day: Int64, month: Int64) {
        let (day, month) = dayAndMonthStart(now)
        let monthStart = Date(timeIntervalSince1970: Double(month) / 1000)
        let next = calendar.date(byAdding: .month, value: 1, to: monthStart) ?? monthStart
        return (day + 86_400_000, Int64(next.timeIntervalSince1970 * 1000))
    }

    /// A moment as ISO 8601 with milliseconds, UTC (`2026-12-03T18:05:55.849Z`).
    public static func iso8601(_ ms: Int64) -> String {
        Date(timeIntervalSince1970: Double(ms) / 1000).formatted(iso8601Style)
    }

    /// One style for every row (a formatter per row was most of a large CSV's cost).
    private static let iso8601Style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
