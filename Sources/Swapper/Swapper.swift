import AsyncHTTPClient
import Foundation
import Logging
import MeshCore
import MeshStore
import Prometheus
import Synchronization

/// Starts, swaps and stops local model-server processes on demand (what llama-swap does).
///
/// - The first request for a model starts its process (in its own process group, with a clean
///   environment) and polls its health endpoint; requests arriving meanwhile wait in a bounded
///   queue for that one start.
/// - Loads are placed one at a time (`Swapper+Placement.swift`): the ``PlacementPlanner`` says
///   which models must go (exclusive groups, the memory budget), and each of them first finishes
///   its run (``SwapTurn``) before it is stopped.
/// - Process supervision (`Swapper+Supervision.swift`): launch, health, exit, stop. A process
///   that dies is noticed at once and the next request starts it again; a failed start fails its
///   waiters with the process's last output.
/// - Idle models unload after their TTL. Every state change is written to the store's model rows,
///   so peers see it.
///
/// The actor only decides: every transition is made in one synchronous step, and anything slow
/// (forking, health checks, waiting for exits, SQLite, reading `/proc`) runs elsewhere and
/// reports back. Every wait has a deadline and ends in a lease or a ``SwapperError``.
public actor Swapper {
    public nonisolated let config: SwapperConfig
    let store: MeshStore
    let http: HTTPClient
    let logger: Logger
    let metrics: SwapperMetrics
    let gate: ModelGate
    let planner: PlacementPlanner
    let launcher: ProcessLauncher
    let ledger: ProcessLedger
    let recorder: ModelStateRecorder
    var runtimes: [String: ModelRuntime] = [:]
    /// Models waiting to be placed, first come first served.
    var pendingLoads: [String] = []
    /// The model being placed now: the others wait their turn.
    var placing: String?
    /// The next instant the placement must be looked at again (the end of a linger, a timeout).
    var wake: (at: ContinuousClock.Instant, task: Task<Void, Never>)?
    var history = ProcessHistory()
    var shuttingDown = false
    /// The slots each model's server said it has (llama-server's `/props`): the router ranks
    /// by the fewer of these and the config's.
    private let servedSlots = Mutex<[String: Int]>([:])

    /// Requests each loaded model's server answers at once, where it said so itself.
    public nonisolated var reportedSlots: [String: Int] { servedSlots.withLock { $0 } }

    func serverReported(slots: Int, for name: String) { servedSlots.withLock { $0[name] = slots } }

    /// - Parameter dataDirectory: where the ledger of started processes lives
    ///   (`swapper-processes.json`), so a crashed node's orphans can be stopped at the next start.
    public init(
        config: SwapperConfig, store: MeshStore, http: HTTPClient, dataDirectory: String, registry: PrometheusCollectorRegistry,
        logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.config = config
        self.store = store
        self.http = http
        var logger = logger
        logger[metadataKey: "component"] = "swapper"
        self.logger = logger
        self.metrics = SwapperMetrics(registry: registry)
        self.gate = ModelGate(models: config.models.mapValues { $0.concurrency })
        self.planner = PlacementPlanner(config: config)
        let ledger = ProcessLedger(directory: dataDirectory)
        self.ledger = ledger
        self.launcher = ProcessLauncher(
            globalMacros: config.macros, ports: config.ports, logLines: config.logLines, ledger: ledger, guardianEnvironment: environment
        )
        self.recorder = ModelStateRecorder(store: store, logger: logger)
        for (name, model) in config.models { runtimes[name] = ModelRuntime(config: model) }
    }

    /// The configured models' names.
    public var modelNames: [String] { runtimes.keys.sorted() }

    /// The configured model behind a name or alias.
    public nonisolated func resolve(_ name: String) -> String? { config.model(named: name)?.name }

    // MARK: - Leases

    /// Returns a lease on `requested` (a name or alias) once its process is ready, starting it
    /// (and swapping others out) if needed. Waits at most `timeout`; while it waits, requests of
    /// a lower `priority` take no lease on the model.
    public func acquire(_ requested: String, timeout: Duration, priority: RequestPriority = .normal) async throws -> ModelLease {
        guard let name = resolve(requested), let runtime = runtimes[name] else {
            throw SwapperError.unknownModel(requested, known: modelNames)
        }
        guard !shuttingDown else { throw SwapperError.shuttingDown }
        if let lease = tryLease(name, priority) { return lease }
        guard runtime.waiting < config.queueLimit else {
            metrics.queueFull(name)
            throw SwapperError.queueFull(name, limit: config.queueLimit)
        }
        runtime.waiting += 1
        gate.waiting(name, priority, 1)
        let arrival = runtime.failures
        defer {
            runtime.waiting -= 1
            // Requests of lower priority held back by this one look again.
            if gate.waiting(name, priority, -1) { runtime.notify() }
            // One fewer waiter can end a run, or leave nobody for a pending load.
            reconcile()
        }
        let deadline = ContinuousClock.now + min(max(timeout, .zero), .seconds(86_400))
        while true {
            try Task.checkCancellation()
            guard !shuttingDown else { throw SwapperError.shuttingDown }
            if let failure = runtime.failure, failure.number > arrival { throw failure.error }
            if let lease = tryLease(name, priority) { return lease }
            if runtime.isAvailable {
                requestLoad(runtime)
                // Placing it may have failed at once (it cannot fit): no change would wake us.
                if let failure = runtime.failure, failure.number > arrival { throw failure.error }
            }
            let what = waitingFor(runtime)
            if await !waitForChange(runtime, until: deadline) {
                if let lease = tryLease(name, priority) { return lease }
                throw SwapperError.timedOut(name, waitingFor: what)
            }
        }
    }

    /// A lease on a loaded model taken without waiting (and without the actor), or nil when
    /// the model is not ready, its turn is over, or it is at its concurrency limit: then
    /// ``acquire(_:timeout:)``.
    public nonisolated func tryAcquireNow(_ requested: String, priority: RequestPriority = .normal) -> ModelLease? {
        guard let name = resolve(requested) else { return nil }
        return tryLease(name, priority)
    }

    private nonisolated func tryLease(_ name: String, _ priority: RequestPriority = .normal) -> ModelLease? {
        guard let baseURL = gate.tryAcquire(name, wall: store.clock.wallMilliseconds(), priority: priority) else { return nil }
        return ModelLease(model: name, baseURL: baseURL, swapper: self)
    }

    nonisolated func releaseLease(_ name: String) {
        if gate.release(name, wall: store.clock.wallMilliseconds()) {
            Task { await self.released(name) }
        }
    }

    private func released(_ name: String) {
        runtimes[name]?.notify()
        reconcile()
    }

    private func waitingFor(_ runtime: ModelRuntime) -> String {
        switch runtime.phase {
        case .available, .launching, .starting: return "the model to load"
        case .ready(_, let open): return !open ? "the model to load" : runtime.turn?.isClosed == true ? "the swap" : "a free slot"
        case .stopping: return "the model to stop"
        }
    }

    // MARK: - Unloading and shutdown

    /// Unloads one model (name or alias) or, with nil, all; returns the names unloaded once
    /// their processes are gone.
    @discardableResult
    public func unload(_ requested: String?) async throws -> [String] {
        let targets: [ModelRuntime]
        if let requested {
            guard let name = resolve(requested), let runtime = runtimes[name] else {
                throw SwapperError.unknownModel(requested, known: modelNames)
            }
            targets = [runtime]
        } else {
            targets = Array(runtimes.values)
        }
        var stopped: [(ModelRuntime, generation: Int)] = []
        for runtime in targets where runtime.isLoadedOrLoading {
            stop(runtime, reason: "unloaded")
            stopped.append((runtime, runtime.generation))
        }
        await waitUntilGone(stopped)
        return stopped.map(\.0.name).sorted()
    }

    /// Stops every process and refuses new requests: the guardian is shutting down.
    public func shutdown() async {
        shuttingDown = true
        wake?.task.cancel()
        wake = nil
        pendingLoads.removeAll()
        placing = nil
        var stopped: [(ModelRuntime, generation: Int)] = []
        for runtime in runtimes.values {
            runtime.notify()
            guard !runtime.isAvailable else { continue }
            // A model already stopping (evicted, unloaded) is waited for too: nothing outlives us.
            stop(runtime, reason: "shutdown")
            stopped.append((runtime, runtime.generation))
        }
        await waitUntilGone(stopped)
        await recorder.flush()
    }

    /// Waits until each run is over (the model available, or started again since), at most
    /// until its stop could take.
    private func waitUntilGone(_ runs: [(ModelRuntime, generation: Int)]) async {
        let deadline = ContinuousClock.now + config.stopTimeout.duration + .seconds(10)
        for (runtime, generation) in runs {
            while runtime.generation == generation, !runtime.isAvailable {
                guard await waitForChange(runtime, until: deadline) else { break }
            }
        }
    }

    // MARK: - Waiting

    /// Waits for the next change of `runtime`; false at the deadline. Never longer: a timer
    /// resumes the wait even if nothing changes, and cancellation resumes it at once.
    func waitForChange(_ runtime: ModelRuntime, until deadline: ContinuousClock.Instant) async -> Bool {
        guard ContinuousClock.now < deadline else { return false }
        let id = UUID()
        let name = runtime.name
        let timer = Task { [weak self] in
            try? await Task.sleep(until: deadline)
            await self?.wakeWaiter(name, id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { runtime.waiters[id] = $0 }
        } onCancel: {
            Task { await self.wakeWaiter(name, id) }
        }
        timer.cancel()
        return ContinuousClock.now < deadline
    }

    private func wakeWaiter(_ name: String, _ id: UUID) {
        runtimes[name]?.waiters.removeValue(forKey: id)?.resume()
    }
}
