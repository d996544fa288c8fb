import MeshCore

/// Requests and tokens over the last minute, in one-second slots: a sliding window that costs
/// the same whatever the traffic, and forgets by itself.
struct MinuteCounts: Sendable {
    private struct Slot {
        var second: Int64 = .min
        var requests: Int64 = 0
        var tokens: Int64 = 0
    }

    struct Totals: Equatable {
        var requests: Int64 = 0
        var tokens: Int64 = 0
        /// The earliest second with requests (`requests`), with tokens (`tokens`), still counted.
        var oldestRequest: Int64?
        var oldestTokens: Int64?
    }

    static let window: Int64 = 60
    private var slots = [Slot](repeating: Slot(), count: Int(window))

    /// Adds to `second`'s slot (a second that left the window long ago takes its place).
    mutating func add(second: Int64, requests: Int64 = 0, tokens: Int64 = 0) {
        let index = Int(((second % Self.window) + Self.window) % Self.window)
        if slots[index].second != second { slots[index] = Slot(second: second) }
        slots[index].requests = slots[index].requests.saturatingPlus(max(0, requests))
        slots[index].tokens = slots[index].tokens.saturatingPlus(max(0, tokens))
    }

    /// What the minute up to `second` (included) holds.
    func totals(at second: Int64) -> Totals {
        var totals = Totals()
        for slot in slots where slot.second <= second && slot.second > second.saturatingMinus(Self.window) {
            totals.requests = totals.requests.saturatingPlus(slot.requests)
            totals.tokens = totals.tokens.saturatingPlus(slot.tokens)
            if slot.requests > 0 { totals.oldestRequest = min(totals.oldestRequest ?? slot.second, slot.second) }
            if slot.tokens > 0 { totals.oldestTokens = min(totals.oldestTokens ?? slot.second, slot.second) }
        }
        return totals
    }

    /// Whether nothing in the minute up to `second` is counted (the slots can be dropped).
    func isEmpty(at second: Int64) -> Bool { totals(at: second) == Totals() }
}
