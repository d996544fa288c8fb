import Foundation

/// One configured model's live state. Owned by the ``Swapper`` actor and only touched on it.
///
/// The phases are llama-swap's: `available → starting → ready → stopping → available`, with
/// every caller awaiting the one start task instead of starting its own.
final class ModelRuntime {
    enum Phase {
        case available
        case starting(Task<Void, any Error>)
        case ready(ChildProcess, port: Int, baseURL: String)
        case stopping(Task<Void, Never>)
    }

    let config: SwapperModelConfig
    var name: String { config.name }
    var phase: Phase = .available
    /// The process of the current start or run (set before it is ready).
    var process: ChildProcess?
    var port: Int?
    /// Requests being served now and last use live in the ``ModelGate``, where leases are
    /// taken without the actor.
    let gate: ModelGate
    /// Tickets of requests waiting for this model; lower tickets arrived earlier.
    var waiting: Set<Int> = []
    var nextTicket = 0
    /// While set, requests with a ticket at or above it wait: the model is being evicted after
    /// serving what was already queued.
    var drainTicket: Int?
    var lastUsedRecorded: Int64?
    var starts = 0
    var lastError: String?
    /// Resident size of the running process as last measured.
    var measuredBytes: Int64?
    var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]

    init(config: SwapperModelConfig, gate: ModelGate) {
        self.config = config
        self.gate = gate
    }

    var inflight: Int { gate.inflight(name) }
    var lastUsed: ContinuousClock.Instant { gate.lastUsed(name) }
    var lastUsedWall: Int64? { gate.lastUsedWall(name) }

    var isLoadedOrStarting: Bool {
        switch phase {
        case .ready, .starting: return true
        case .available, .stopping: return false
        }
    }

    var isIdle: Bool { inflight == 0 && waiting.isEmpty }

    /// Bytes this model holds (or will hold) for the memory budget: the larger of the estimate
    /// and the measured size, so a model bigger than its estimate is charged what it really uses.
    var chargedBytes: Int64 { max(config.memory?.bytes ?? 0, measuredBytes ?? 0) }

    /// Whether a request holding `ticket` may take a lease now.
    func admits(_ ticket: Int) -> Bool {
        guard let drainTicket else { return true }
        return ticket < drainTicket
    }

    /// Drained: nothing in flight and nobody queued from before the drain began.
    var isDrained: Bool {
        guard let drainTicket else { return inflight == 0 }
        return inflight == 0 && !waiting.contains { $0 < drainTicket }
    }
}
