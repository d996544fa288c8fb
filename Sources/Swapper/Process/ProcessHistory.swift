import MeshCore

/// The lifetimes of the last model processes, and how many swaps there were, for
/// `GET /swapper/running`.
///
/// Each run's start is taken just before its fork and its end just after its exit was reaped, so
/// the process's real life lies within those bounds: two runs whose bounds do not overlap never
/// ran at once. That is how the tests prove an exclusive group never had two members alive,
/// without sampling the process table and hoping not to miss a moment.
struct ProcessHistory: Sendable {
    struct Run: Sendable, Encodable, Equatable {
        var model: String
        var pid: Int32
        /// Nanoseconds since the Swapper was created, on the monotonic clock.
        var startedNs: Int64
        var exitedNs: Int64?

        enum CodingKeys: String, CodingKey {
            case model, pid, startedNs = "started_ns", exitedNs = "exited_ns"
        }
    }

    static let capacity = 256
    let origin: ContinuousClock.Instant
    private(set) var runs: [Run] = []
    /// Models stopped to make room for another.
    private(set) var swaps = 0

    init(origin: ContinuousClock.Instant = .now) { self.origin = origin }

    mutating func started(_ model: String, pid: Int32, at instant: ContinuousClock.Instant) {
        runs.append(Run(model: model, pid: pid, startedNs: (instant - origin).inNanoseconds))
        if runs.count > Self.capacity { runs.removeFirst(runs.count - Self.capacity) }
    }

    mutating func exited(_ model: String, pid: Int32, at instant: ContinuousClock.Instant) {
        guard let index = runs.lastIndex(where: { $0.model == model && $0.pid == pid && $0.exitedNs == nil }) else { return }
        runs[index].exitedNs = (instant - origin).inNanoseconds
    }

    mutating func swapped() { swaps += 1 }
}
