import Foundation

/// One configured model's live state. Owned by the ``Swapper`` actor and only touched on it.
///
/// The phases are llama-swap's, each transition made by one actor method and never across an
/// `await`, so no caller can see a half-made change:
///
///     available → launching → starting → ready → stopping → available
///                     │           │                  ↑
///                     └───────────┴── (failed) ──────┘
///
/// Nothing here holds a task to be awaited: whoever waits registers in ``waiters`` with a
/// deadline and is woken by the next change.
final class ModelRuntime {
    enum Phase {
        case available
        /// The spawn thread is starting the process (its generation).
        case launching(generation: Int)
        /// The process runs; its health check decides.
        case starting(ModelProcess)
        /// Healthy. The gate admits requests once its row is written (`open`).
        case ready(ModelProcess, open: Bool)
        /// SIGTERM sent; waiting for the exit.
        case stopping(ModelProcess)
    }

    let config: SwapperModelConfig
    var name: String { config.name }
    /// Facts about its model file, read once at registration.
    var fileSize: Int64?
    var quantization: String?
    var phase: Phase = .available
    /// Counts runs, so late reports about an earlier run are ignored.
    var generation = 0
    /// Requests waiting for this model (not yet holding a lease).
    var waiting = 0
    /// Stop the run being launched as soon as its process exists (it was unloaded meanwhile).
    var stopWhenLaunched: String?
    /// Why the current run is being stopped.
    var stopReason = "stopped"
    /// Set while its turn ends so another model can take its place.
    var turn: SwapTurn?
    /// The last failure its waiters must hear about, numbered: a waiter fails with it only if it
    /// came after the waiter arrived.
    var failure: (number: Int, error: SwapperError)?
    var failures = 0
    var starts = 0
    var lastError: String?
    /// Resident size of its process as last measured.
    var measuredBytes: Int64?
    var lastUsedRecorded: Int64?
    /// The output of its last run, for `/swapper/logs` once the process is gone.
    var lastOutput: OutputBuffer?
    var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]

    init(config: SwapperModelConfig) {
        self.config = config
    }

    var process: ModelProcess? {
        switch phase {
        case .available, .launching: return nil
        case .starting(let process), .ready(let process, _), .stopping(let process): return process
        }
    }

    /// Loaded or loading: what `unload` stops. (Placement counts a stopping model too: it holds
    /// its memory and its place in its groups until its process is gone.)
    var isLoadedOrLoading: Bool {
        switch phase {
        case .launching, .starting, .ready: return true
        case .available, .stopping: return false
        }
    }

    var isAvailable: Bool {
        if case .available = phase { return true }
        return false
    }

    /// Bytes charged against the memory budget: the larger of the estimate and the measured size.
    var chargedBytes: Int64 { max(config.memory?.bytes ?? 0, measuredBytes ?? 0) }

    /// What `/swapper/running` calls the phase.
    var stateName: String {
        switch phase {
        case .available: return "available"
        case .launching, .starting: return "loading"
        case .ready(_, let open): return open ? "loaded" : "loading"
        case .stopping: return "stopping"
        }
    }

    /// Resumes every waiter: something changed, each looks again.
    func notify() {
        let current = waiters
        waiters.removeAll()
        current.values.forEach { $0.resume() }
    }
}
