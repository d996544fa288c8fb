import Foundation
import Synchronization

/// A hybrid logical clock timestamp: wall-clock milliseconds in the high 48 bits, a logical
/// counter in the low 16.
///
/// Ordering timestamps orders events causally across the mesh while staying close to real time,
/// so "last writer wins" means what a person expects even when clocks disagree a little.
/// Stored in SQLite as one INTEGER (positive until the year 10889).
public struct HLCTimestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(milliseconds: Int64, logical: UInt16 = 0) {
        rawValue = UInt64(max(0, milliseconds)) << 16 | UInt64(logical)
    }

    /// The wall-clock part, in milliseconds since 1970.
    public var milliseconds: Int64 { Int64(rawValue >> 16) }
    /// The logical counter that orders events within one millisecond.
    public var logical: UInt16 { UInt16(truncatingIfNeeded: rawValue) }

    /// The value as stored in SQLite.
    public var storedValue: Int64 { Int64(bitPattern: rawValue) }
    public init(storedValue: Int64) { rawValue = UInt64(bitPattern: storedValue) }

    public static let zero = HLCTimestamp(rawValue: 0)

    public static func < (lhs: HLCTimestamp, rhs: HLCTimestamp) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "\(milliseconds).\(logical)" }
}

/// The node's hybrid logical clock.
///
/// `now()` is strictly monotonic even when the wall clock steps backwards; `observe(_:)` moves
/// it past every timestamp received from a peer, so a local write after applying a remote one
/// always wins over it. The wall clock is injected so tests can make time go backwards.
public final class HybridLogicalClock: Sendable {
    /// Milliseconds since 1970.
    public typealias WallClock = @Sendable () -> Int64

    private let last: Mutex<UInt64>
    private let wallClock: WallClock

    public init(wallClock: @escaping WallClock = HybridLogicalClock.systemMilliseconds, after start: HLCTimestamp = .zero) {
        self.wallClock = wallClock
        self.last = Mutex(start.rawValue)
    }

    /// The system wall clock in milliseconds.
    @Sendable public static func systemMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// The wall clock this HLC reads, for callers that want "now" consistent with it.
    public func wallMilliseconds() -> Int64 { wallClock() }

    /// A new timestamp, greater than every timestamp issued or observed before.
    public func now() -> HLCTimestamp {
        let physical = UInt64(max(0, wallClock())) << 16
        return last.withLock { last in
            // Either the wall clock moved ahead of us (logical resets to 0), or we bump the
            // counter; a counter overflow carries into the millisecond part, which is harmless.
            last = max(last &+ 1, physical)
            return HLCTimestamp(rawValue: last)
        }
    }

    /// Advances the clock past `remote` (a timestamp received from a peer).
    public func observe(_ remote: HLCTimestamp) {
        last.withLock { last in last = max(last, remote.rawValue) }
    }

    /// The latest timestamp issued or observed.
    public var latest: HLCTimestamp { HLCTimestamp(rawValue: last.withLock { $0 }) }
}
