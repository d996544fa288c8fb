/// The end of a loaded model's turn, once another model needs its place.
///
/// Swapping costs seconds (a model server loads its weights), serving a request far less. So a
/// model being swapped out first finishes its *run*: it keeps taking every request — those
/// already waiting and those that keep arriving — while it stays in use. Two agents on two
/// exclusive models then alternate in runs, not one swap per request.
///
/// - The run ends when the model has been idle (nothing in flight, nothing waiting) for
///   `linger` — long enough for an agent's next request to arrive — or `swapTimeout` after the
///   swap was asked for, whichever comes first. The model then takes no new request (those keep
///   waiting for its next turn).
/// - Once the requests in flight are done, it is stopped. If they are not done `swapTimeout`
///   after the run ended, the swap is given up: the newcomer's requests get a clear error and
///   the model serves again. So a swap waits at most twice `swapTimeout`, never forever.
///
/// Pure: the caller passes the time and the model's load, so every rule is unit-tested.
struct SwapTurn: Sendable, Equatable {
    /// When the model's turn began to end: the swap's request, or the model becoming ready if
    /// that came later (a model is not asked to leave before it has served anyone).
    let since: ContinuousClock.Instant
    let linger: Duration
    let swapTimeout: Duration
    /// When the run ended and the model stopped taking requests.
    private(set) var closedAt: ContinuousClock.Instant?

    init(since: ContinuousClock.Instant, linger: Duration, swapTimeout: Duration) {
        self.since = since
        self.linger = linger
        self.swapTimeout = swapTimeout
    }

    /// The model's load as the turn sees it.
    struct Load: Sendable, Equatable {
        var inflight: Int
        var waiting: Int
        var lastUsed: ContinuousClock.Instant
    }

    enum Step: Equatable {
        /// Keep taking requests; look again at this instant (or at the next change).
        case serve(until: ContinuousClock.Instant)
        /// The run is over: stop admitting requests, then ask again with the load read after.
        case close
        /// Closed; waiting for the requests in flight until this instant.
        case drain(until: ContinuousClock.Instant)
        /// Closed and drained: stop the model.
        case stop
        /// Still busy after `swapTimeout` more: give the swap up.
        case giveUp
    }

    var isClosed: Bool { closedAt != nil }

    mutating func step(now: ContinuousClock.Instant, load: Load) -> Step {
        if let closedAt {
            if load.inflight == 0 { return .stop }
            let limit = closedAt + swapTimeout
            return now >= limit ? .giveUp : .drain(until: limit)
        }
        let runLimit = since + swapTimeout
        let idle = load.inflight == 0 && load.waiting == 0
        let lingerEnd = load.lastUsed + linger
        if now >= runLimit || (idle && now >= lingerEnd) {
            closedAt = now
            return .close
        }
        return .serve(until: idle ? min(lingerEnd, runLimit) : runLimit)
    }
}
