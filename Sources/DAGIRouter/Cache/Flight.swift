import HTTPTypes
import MeshHTTP
import NIOCore
import Synchronization

/// One upstream call for a cacheable request, and everything its answer is needed for: the
/// identical requests that arrived while it was on its way (coalescing) get every part of it as
/// it comes, and once it has ended well it is kept in the cache.
///
/// The leader's ``ClientWriter`` records each part it writes here (on the leader's loop); each
/// follower is written to on its own loop, the parts so far first. Past `max_entry_size` the
/// parts are no longer held: no one joins after that and the answer is not kept, but the
/// followers already in get the rest as it comes.
final class Flight: Sendable {
    /// What the leader's writer wrote, as it wrote it (before its own request's headers).
    enum Part: Sendable {
        case head(HTTPResponse, route: Candidate?)
        case body(ByteBuffer)
        case end(trailers: HTTPFields?, closing: Bool, settled: Settled?)
        case error(APIError, route: Candidate?)
        case abort

        var isLast: Bool {
            switch self {
            case .head, .body: return false
            case .end, .error, .abort: return true
            }
        }
    }

    /// What the answer used and cost, and where it ran: known just before its end.
    struct Settled: Sendable {
        let metered: Metered
        let candidate: Candidate
    }

    let key: CacheKey
    /// When it took off: a flight older than any request may last is not joined (a safety net;
    /// every way an exchange ends records its end here).
    let started = ContinuousClock.now
    /// Whether the answer may be kept (no `Cache-Control: no-store`).
    private let keep: Bool
    private let streamed: Bool
    private let limit: Int
    private let ttlMilliseconds: Int64
    private let now: @Sendable () -> Int64
    /// Told once, at the end: the flight is over (and the answer to keep, if any).
    private let ended: @Sendable (Flight, CachedAnswer?) -> Void

    private struct State: ~Copyable {
        var parts: [Part] = []
        var bytes = 0
        /// The parts so far are all held: a follower may still join, the answer may be kept.
        var whole = true
        var over = false
        var followers: [FlightFollower] = []
        var settled: Settled?
        /// The leader's client left: how to stop its call once no follower is left either.
        var stopLeader: (@Sendable () -> Void)?
        /// Tells the leader its answer became shared, or no longer is (it reads the upstream
        /// at its own client's pace only while it is not).
        var sharingChanged: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    /// Followers of one flight at most; more call upstream themselves.
    static let maxFollowers = 256

    init(
        directive: CacheDirective, streamed: Bool, config: CacheConfig, now: @escaping @Sendable () -> Int64,
        ended: @escaping @Sendable (Flight, CachedAnswer?) -> Void
    ) {
        self.key = directive.key
        self.keep = directive.keep
        self.streamed = streamed
        self.limit = Int(config.maxEntrySize.bytes)
        self.ttlMilliseconds = directive.keepMs
        self.now = now
        self.ended = ended
    }

    /// Adds a follower, which is sent the parts so far at once; false when the flight is over
    /// or no longer holds its parts. Called on the follower's loop.
    func join(_ follower: FlightFollower) -> Bool {
        let (joined, first): (Bool, (@Sendable () -> Void)?) = state.withLock { state in
            guard !state.over, state.whole, state.followers.count < Self.maxFollowers else { return (false, nil) }
            state.followers.append(follower)
            // Sent under the lock: every later part reaches this follower after these.
            if !state.parts.isEmpty { follower.send(state.parts, catchingUp: true) }
            return (true, state.followers.count == 1 ? state.sharingChanged : nil)
        }
        first?()
        return joined
    }

    /// How the leader learns that its answer became shared or no longer is.
    func onSharingChanged(_ tell: @escaping @Sendable () -> Void) {
        state.withLock { $0.sharingChanged = tell }
    }

    var hasFollowers: Bool { state.withLock { !$0.followers.isEmpty } }

    /// A follower's client left: it no longer keeps the flight going. The last one to leave
    /// after the leader's client stops the call.
    func leave(_ follower: FlightFollower) {
        let (stop, last): ((@Sendable () -> Void)?, (@Sendable () -> Void)?) = state.withLock { state in
            let before = state.followers.count
            state.followers.removeAll { $0 === follower }
            guard !state.over, state.followers.isEmpty else { return (nil, nil) }
            guard let stop = state.stopLeader else { return (nil, before > 0 ? state.sharingChanged : nil) }
            state.over = true
            state.parts = []
            state.stopLeader = nil
            state.sharingChanged = nil
            return (stop, nil)
        }
        last?()
        guard let stop else { return }
        ended(self, nil)
        stop()
    }

    /// The leader's client left. With no one waiting the flight ends here (true: the leader
    /// stops its call now); else it goes on for its followers (false), and `stop` is called when
    /// the last of them leaves too. One step, so no follower joins a flight that is dropped.
    func leaderLeft(stop: @escaping @Sendable () -> Void) -> Bool {
        let (alone, endsNow) = state.withLock { state -> (Bool, Bool) in
            guard !state.over else { return (true, false) }
            guard state.followers.isEmpty else {
                state.stopLeader = stop
                return (false, false)
            }
            state.over = true
            state.parts = []
            state.sharingChanged = nil
            return (true, true)
        }
        if endsNow { ended(self, nil) }
        return alone
    }

    /// The answer's usage and place, recorded just before its end.
    func settle(_ settled: Settled) {
        state.withLock { $0.settled = settled }
    }

    /// A part the leader wrote: held, and sent to every follower.
    func record(_ part: Part) {
        var part = part
        let (followers, kept): ([FlightFollower], [Part]??) = state.withLock { state in
            guard !state.over else { return ([], nil) }
            if case .end(let trailers, let closing, nil) = part { part = .end(trailers: trailers, closing: closing, settled: state.settled) }
            if state.whole {
                if case .body(let chunk) = part { state.bytes += chunk.readableBytes }
                if state.bytes > limit {
                    state.whole = false
                    state.parts = []
                } else if case .body(let chunk) = part {
                    // A copy: a slice would pin the (larger) buffer it was read into.
                    state.parts.append(.body(ByteBuffer(bytes: chunk.readableBytesView)))
                } else {
                    state.parts.append(part)
                }
            }
            guard part.isLast else { return (state.followers, nil) }
            state.over = true
            let parts = state.whole && keep ? state.parts : nil
            state.parts = []
            state.stopLeader = nil
            state.sharingChanged = nil
            // Each follower's writer refers back to it: the flight lets go of them when it ends.
            let followers = state.followers
            state.followers = []
            return (followers, .some(parts))
        }
        for follower in followers { follower.send([part]) }
        // The answer is put together outside the lock (joiners would wait on it, under the flights' lock).
        if let kept { ended(self, kept.flatMap { Self.answer($0, key: key, streamed: streamed, now: now(), ttl: ttlMilliseconds) }) }
    }

    /// The answer to keep from a flight's parts: a 200 that ended cleanly with its usage known.
    private static func answer(_ parts: [Part], key: CacheKey, streamed: Bool, now: Int64, ttl: Int64) -> CachedAnswer? {
        guard case .head(let head, _)? = parts.first, head.status == .ok,
              case .end(_, false, let settled?)? = parts.last
        else { return nil }
        var body = ByteBuffer()
        for case .body(var chunk) in parts { body.writeBuffer(&chunk) }
        let candidate = settled.candidate
        return CachedAnswer(
            key: key, contentType: head.headerFields[.contentType] ?? "application/json", streamed: streamed, body: body, model: candidate.model,
            servedBy: candidate.node, provider: candidate.provider, usage: settled.metered.usage, costUSD: settled.metered.costUSD,
            savingUSD: settled.metered.savingUSD, createdAt: now, expiresAt: now.saturatingPlus(ttl)
        )
    }
}
