extension Int64 {
    /// `self - other`, clamped to the bounds of `Int64` instead of trapping: for differences of
    /// values that came from outside (replicated timestamps, upstream counts).
    public func saturatingMinus(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return difference }
        return other < 0 ? .max : .min
    }

    /// `self + other`, clamped to the bounds of `Int64` instead of trapping: for sums of
    /// counts that came from outside (replicated ledger rows).
    public func saturatingPlus(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }

    /// A floating-point quantity scaled to a whole number, or nil when it is not finite or does
    /// not fit (milliseconds from an upstream's JSON turned into nanoseconds, say).
    public init?(scaling value: Double, by factor: Double) {
        let scaled = value * factor
        guard scaled.isFinite, scaled > -9.2e18, scaled < 9.2e18 else { return nil }
        self.init(scaled)
    }
}
