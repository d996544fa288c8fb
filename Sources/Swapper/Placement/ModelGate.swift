import MeshCore
import Synchronization

/// The hot path of model leases, outside the ``Swapper`` actor: which models take requests now,
/// how many each serves, and when each was last used.
///
/// A request for a loaded model takes its lease here with one lock — no actor hop — which is
/// what lets the router answer in the time of a relay. The actor stays in charge of every state
/// change (start, end of a turn, stop) and opens and closes the gate accordingly; a release
/// that can matter to it (a model it watches going idle, a slot freeing under a concurrency
/// limit) tells it.
final class ModelGate: Sendable {
    struct Entry {
        /// Set while the model is ready.
        var baseURL: String?
        /// False when its turn is over (another model waits for its place): no new lease.
        var admitting = false
        var inflight = 0
        var limit: Int?
        var lastUsed = ContinuousClock.now
        var lastUsedWall: Int64?
        /// The actor wants to hear when the model goes idle (its turn is ending).
        var watched = false
        /// Requests waiting for it, by priority: a lease is not taken past one of higher
        /// priority. Three counts, not an array: the entry is copied on every lease.
        var waitingLow = 0, waitingNormal = 0, waitingHigh = 0

        func waiting(_ priority: RequestPriority) -> Int {
            switch priority {
            case .low: return waitingLow
            case .normal: return waitingNormal
            case .high: return waitingHigh
            }
        }

        mutating func addWaiting(_ priority: RequestPriority, _ delta: Int) {
            switch priority {
            case .low: waitingLow += delta
            case .normal: waitingNormal += delta
            case .high: waitingHigh += delta
            }
        }

        func outranked(_ priority: RequestPriority) -> Bool {
            switch priority {
            case .low: return waitingNormal > 0 || waitingHigh > 0
            case .normal: return waitingHigh > 0
            case .high: return false
            }
        }

        /// Whether requests of lower priority than `priority` wait.
        func lowerWaiting(_ priority: RequestPriority) -> Bool {
            switch priority {
            case .low: return false
            case .normal: return waitingLow > 0
            case .high: return waitingLow > 0 || waitingNormal > 0
            }
        }
    }

    /// A model's load, read in one lock.
    struct Load {
        var inflight: Int
        var lastUsed: ContinuousClock.Instant
        var lastUsedWall: Int64?
    }

    private let entries = Mutex<[String: Entry]>([:])

    init(models: [String: Int?]) {
        entries.withLock { entries in
            for (name, limit) in models { entries[name] = Entry(limit: limit) }
        }
    }

    /// The model is ready at `baseURL`.
    func open(_ name: String, baseURL: String, admitting: Bool) {
        entries.withLock {
            $0[name]?.baseURL = baseURL
            $0[name]?.admitting = admitting
        }
    }

    /// The model is no longer ready.
    func close(_ name: String) {
        entries.withLock {
            $0[name]?.baseURL = nil
            $0[name]?.admitting = false
            $0[name]?.watched = false
        }
    }

    func setAdmitting(_ name: String, _ admitting: Bool) {
        entries.withLock { $0[name]?.admitting = admitting }
    }

    func setWatched(_ name: String, _ watched: Bool) {
        entries.withLock { $0[name]?.watched = watched }
    }

    /// A lease: only while the model is ready, admitting, and under its limit, and no request
    /// of a higher priority waits for it.
    func tryAcquire(_ name: String, wall: Int64, priority: RequestPriority = .normal) -> String? {
        entries.withLock { entries in
            guard var entry = entries[name], let url = entry.baseURL, entry.admitting else { return nil }
            if let limit = entry.limit, entry.inflight >= limit { return nil }
            if entry.outranked(priority) { return nil }
            entry.inflight += 1
            entry.lastUsed = .now
            entry.lastUsedWall = wall
            entries[name] = entry
            return url
        }
    }

    /// Ends a lease; returns whether the actor should look (a watched model went idle, a slot
    /// freed under a limit).
    func release(_ name: String, wall: Int64) -> Bool {
        entries.withLock { entries in
            guard var entry = entries[name] else { return false }
            entry.inflight = max(0, entry.inflight - 1)
            entry.lastUsed = .now
            entry.lastUsedWall = wall
            entries[name] = entry
            let idle = entry.inflight == 0 && (entry.watched || !entry.admitting)
            let slotFreed = entry.limit.map { entry.inflight == $0 - 1 } ?? false
            return idle || slotFreed
        }
    }

    /// A request of `priority` starts (`delta` 1) or stops (-1) waiting for the model; returns
    /// whether requests of lower priority were held back by it alone (and should look again).
    @discardableResult
    func waiting(_ name: String, _ priority: RequestPriority, _ delta: Int) -> Bool {
        entries.withLock { entries in
            guard var entry = entries[name] else { return false }
            entry.addWaiting(priority, delta)
            entries[name] = entry
            return delta < 0 && !entry.outranked(priority) && entry.waiting(priority) == 0 && entry.lowerWaiting(priority)
        }
    }

    func load(_ name: String) -> Load {
        entries.withLock {
            let entry = $0[name]
            return Load(inflight: entry?.inflight ?? 0, lastUsed: entry?.lastUsed ?? .now, lastUsedWall: entry?.lastUsedWall)
        }
    }
}
