import Synchronization

/// The hot path of model leases, outside the ``Swapper`` actor: which models are ready to
/// take requests, how many each serves now, and when each was last used.
///
/// A request for a loaded model takes its lease here with one lock — no actor hop — which is
/// what lets the router answer in the time of a relay. The actor stays in charge of every
/// state change (start, drain, stop) and opens and closes the gate accordingly; a release
/// that can end a wait (a drain reaching zero, a slot freeing under a concurrency limit) tells
/// the actor.
final class ModelGate: Sendable {
    struct Entry {
        /// Set while the model is ready.
        var baseURL: String?
        /// False while it drains for an eviction: only already-queued requests get in.
        var admitting = false
        var inflight = 0
        var limit: Int?
        var lastUsed = ContinuousClock.now
        var lastUsedWall: Int64?
    }

    private let entries = Mutex<[String: Entry]>([:])

    init(models: [String: Int?]) {
        entries.withLock { entries in
            for (name, limit) in models { entries[name] = Entry(limit: limit) }
        }
    }

    /// The model is ready at `baseURL`.
    func open(_ name: String, baseURL: String) {
        entries.withLock {
            $0[name]?.baseURL = baseURL
            $0[name]?.admitting = true
        }
    }

    /// The model is no longer ready.
    func close(_ name: String) {
        entries.withLock {
            $0[name]?.baseURL = nil
            $0[name]?.admitting = false
        }
    }

    func setAdmitting(_ name: String, _ admitting: Bool) {
        entries.withLock { $0[name]?.admitting = admitting }
    }

    /// A new request's lease: only while the model is ready, admitting, and under its limit.
    func tryAcquire(_ name: String, wall: Int64) -> String? {
        acquire(name, wall: wall, ignoringDrain: false)
    }

    /// A lease for a request queued before a drain began (the drain serves it first).
    func acquireQueued(_ name: String, wall: Int64) -> String? {
        acquire(name, wall: wall, ignoringDrain: true)
    }

    private func acquire(_ name: String, wall: Int64, ignoringDrain: Bool) -> String? {
        entries.withLock { entries in
            guard var entry = entries[name], let url = entry.baseURL, entry.admitting || ignoringDrain else { return nil }
            if let limit = entry.limit, entry.inflight >= limit { return nil }
            entry.inflight += 1
            entry.lastUsed = .now
            entry.lastUsedWall = wall
            entries[name] = entry
            return url
        }
    }

    /// Ends a lease; returns whether the actor should look (a drain may be done, a slot freed).
    func release(_ name: String, wall: Int64) -> Bool {
        entries.withLock { entries in
            guard var entry = entries[name] else { return false }
            entry.inflight = max(0, entry.inflight - 1)
            entry.lastUsed = .now
            entry.lastUsedWall = wall
            entries[name] = entry
            return (!entry.admitting && entry.inflight == 0) || (entry.limit.map { entry.inflight == $0 - 1 } ?? false)
        }
    }

    func inflight(_ name: String) -> Int { entries.withLock { $0[name]?.inflight ?? 0 } }
    func lastUsed(_ name: String) -> ContinuousClock.Instant { entries.withLock { $0[name]?.lastUsed ?? .now } }
    func lastUsedWall(_ name: String) -> Int64? { entries.withLock { $0[name]?.lastUsedWall } }
}
