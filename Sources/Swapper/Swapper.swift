import AsyncHTTPClient
import Foundation
import Logging
import MeshStore
import MeshCore
import MeshHTTP
import NIOCore
import Prometheus

/// Starts, swaps and stops local model-server processes on demand (what llama-swap does).
///
/// - The first request for a model starts its process (in its own process group) and polls its
///   health endpoint; every request arriving meanwhile waits in a bounded queue for that one
///   start.
/// - To make room (exclusive groups, the memory budget), idle models are evicted first, least
///   recently used first; a busy one is drained — what was already queued for it is served,
///   newer requests wait — before it is stopped, within `swap_timeout`.
/// - Idle models unload after their TTL. A process that dies is noticed at once; the next
///   request starts it again. A failed start fails its waiters with the process's last output
///   and leaves the model ready to be tried again.
/// - Every state change is written to the store's model rows, so peers see it.
public actor Swapper {
    public nonisolated let config: SwapperConfig
    let store: MeshStore
    let http: HTTPClient
    let logger: Logger
    let metrics: SwapperMetrics
    private var runtimes: [String: ModelRuntime] = [:]
    let gate: ModelGate
    private let swapLock = AsyncLock()
    private var nextPort: Int
    private var shuttingDown = false

    public init(config: SwapperConfig, store: MeshStore, http: HTTPClient, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.config = config
        self.store = store
        self.http = http
        var logger = logger
        logger[metadataKey: "component"] = "swapper"
        self.logger = logger
        self.metrics = SwapperMetrics(registry: registry)
        self.nextPort = config.startPort
        let gate = ModelGate(models: config.models.mapValues { $0.concurrency })
        self.gate = gate
        for (name, model) in config.models { runtimes[name] = ModelRuntime(config: model, gate: gate) }
    }

    /// The configured models' names.
    public var modelNames: [String] { runtimes.keys.sorted() }

    /// The configured model behind a name or alias.
    public nonisolated func resolve(_ name: String) -> String? { config.model(named: name)?.name }

    // MARK: - Leases

    /// Returns a lease on `requested` (a name or alias) once its process is ready, starting it
    /// (and evicting others) if needed. Waits at most `timeout`.
    public func acquire(_ requested: String, timeout: Duration) async throws -> ModelLease {
        guard let name = resolve(requested), let runtime = runtimes[name] else {
            throw SwapperError.unknownModel(requested, known: modelNames)
        }
        guard !shuttingDown else { throw SwapperError.shuttingDown }
        guard runtime.waiting.count < config.queueLimit else { throw SwapperError.queueFull(name, limit: config.queueLimit) }
        let ticket = runtime.nextTicket
        runtime.nextTicket += 1
        runtime.waiting.insert(ticket)
        defer {
            runtime.waiting.remove(ticket)
            notify(runtime)
        }
        let deadline = ContinuousClock.now + timeout
        while true {
            try Task.checkCancellation()
            guard !shuttingDown else { throw SwapperError.shuttingDown }
            switch runtime.phase {
            case .ready where runtime.admits(ticket):
                guard let baseURL = gate.acquireQueued(name, wall: store.clock.wallMilliseconds()) else {
                    try await waitForChange(runtime, until: deadline, what: "a free slot")
                    continue
                }
                return ModelLease(model: name, baseURL: baseURL, swapper: self)
            case .ready:
                try await waitForChange(runtime, until: deadline, what: "the swap")
            case .starting(let task):
                try await waitFor(task, until: deadline, name: name)
            case .stopping(let task):
                await task.value
            case .available:
                let task = Task { try await self.start(runtime) }
                runtime.phase = .starting(task)
            }
        }
    }

    /// A lease on a loaded model taken without waiting (and without the actor), or nil when
    /// the model is not ready, is draining, or is at its concurrency limit: then ``acquire(_:timeout:)``.
    public nonisolated func tryAcquireNow(_ requested: String) -> ModelLease? {
        guard let name = resolve(requested), let baseURL = gate.tryAcquire(name, wall: store.clock.wallMilliseconds()) else { return nil }
        return ModelLease(model: name, baseURL: baseURL, swapper: self)
    }

    nonisolated func releaseLease(_ name: String) {
        if gate.release(name, wall: store.clock.wallMilliseconds()) {
            Task { await self.released(name) }
        }
    }

    private func released(_ name: String) {
        if let runtime = runtimes[name] { notify(runtime) }
    }

    // MARK: - Starting

    private func start(_ runtime: ModelRuntime) async throws {
        let began = ContinuousClock.now
        // Room and spawn are decided one start at a time; the health wait is not, so a slow
        // model does not hold up an unrelated one.
        await swapLock.lock()
        let child: ChildProcess, baseURL: String
        do {
            try await makeRoom(for: runtime)
            (child, baseURL) = try await spawn(runtime)
        } catch {
            await swapLock.unlock()
            failStart(runtime, reason: "\(error)", output: [])
            throw error
        }
        await swapLock.unlock()
        do {
            try await waitUntilHealthy(runtime, child: child, url: baseURL + runtime.config.checkEndpoint)
        } catch {
            await child.terminate(grace: .seconds(2))
            let reason: String
            if let swapperError = error as? SwapperError, case .startFailed(_, let why, _) = swapperError { reason = why } else { reason = "\(error)" }
            failStart(runtime, reason: reason, output: child.output.tail(30))
            throw SwapperError.startFailed(runtime.name, reason: reason, output: child.output.tail(30))
        }
        runtime.phase = .ready(child, port: runtime.port ?? 0, baseURL: baseURL)
        gate.open(runtime.name, baseURL: baseURL)
        runtime.starts += 1
        runtime.lastError = nil
        runtime.measuredBytes = child.residentBytes ?? runtime.measuredBytes
        metrics.started(runtime.name, seconds: ContinuousClock.now - began)
        logger.info("model loaded", metadata: [
            "model": "\(runtime.name)", "pid": "\(child.pid)", "port": "\(runtime.port ?? 0)",
            "seconds": "\(String(format: "%.2f", (ContinuousClock.now - began).inSeconds))",
        ])
        await record(runtime, .loaded)
        notify(runtime)
    }

    private func failStart(_ runtime: ModelRuntime, reason: String, output: [String]) {
        runtime.phase = .available
        runtime.process = nil
        runtime.lastError = reason
        metrics.startFailed(runtime.name)
        logger.error("model failed to start", metadata: ["model": "\(runtime.name)", "reason": "\(reason)"])
        Task { await self.record(runtime, .available) }
        notify(runtime)
    }

    private func spawn(_ runtime: ModelRuntime) async throws -> (ChildProcess, String) {
        let port = try allocatePort()
        let macros = Macros(global: config.macros, model: runtime.config, port: port)
        let arguments = try macros.expand(CommandSplitter.split(runtime.config.cmd))
        let baseURL = try macros.expand(runtime.config.proxy)
        let environment = ModelEnvironment.make(
            guardian: ProcessInfo.processInfo.environment, model: try runtime.config.env.mapValues { try macros.expand($0) }
        )
        let name = runtime.name
        let child: ChildProcess
        do {
            child = try await ChildProcess.spawn(arguments: arguments, environment: environment, logLines: config.logLines) { status in
                Task { await self.exited(name, status: status) }
            }
        } catch {
            throw SwapperError.startFailed(name, reason: "\(error)", output: [])
        }
        runtime.process = child
        runtime.port = port
        logger.info("starting model", metadata: ["model": "\(name)", "pid": "\(child.pid)", "port": "\(port)"])
        await record(runtime, .loading)
        return (child, baseURL)
    }

    private func waitUntilHealthy(_ runtime: ModelRuntime, child: ChildProcess, url: String) async throws {
        let deadline = ContinuousClock.now + config.healthCheckTimeout.duration
        // Poll briskly: a loopback health check costs microseconds, and every interval of
        // sleep is latency added to the swap. Slow down only for models that load for long.
        let started = ContinuousClock.now
        while ContinuousClock.now < deadline {
            if child.hasExited {
                throw SwapperError.startFailed(
                    runtime.name, reason: "the process \(ChildProcess.describe(await child.waitForExit())) while starting",
                    output: child.output.tail(30)
                )
            }
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            if let response = try? await http.execute(request, timeout: .seconds(2)) {
                _ = try? await response.body.collect(upTo: 1 << 20)
                if response.status == .ok { return }
            }
            try await Task.sleep(for: ContinuousClock.now - started < .seconds(10) ? .milliseconds(10) : .milliseconds(100))
        }
        throw SwapperError.startFailed(
            runtime.name, reason: "not healthy within \(config.healthCheckTimeout) (\(url))", output: child.output.tail(30)
        )
    }

    /// The next port from `start_port` that nothing listens on.
    private func allocatePort() throws -> Int {
        let used = Set(runtimes.values.compactMap { $0.isLoadedOrStarting ? $0.port : nil })
        let ports = config.ports
        for _ in 0..<ports.count {
            let port = ports.contains(nextPort) ? nextPort : ports.lowerBound
            nextPort = port >= ports.upperBound ? ports.lowerBound : port + 1
            if !used.contains(port), PortProbe.isFree(port) { return port }
        }
        throw SwapperError.noRoom("port", reason: "no free port in \(ports.lowerBound)...\(ports.upperBound)")
    }

    // MARK: - Making room

    /// Evicts what must go before `runtime` loads: the other members of its exclusive groups,
    /// then least recently used models until the memory budget fits.
    private func makeRoom(for runtime: ModelRuntime) async throws {
        var victims: [ModelRuntime] = []
        for group in config.groups.values where group.exclusive && group.members.contains(runtime.name) {
            for member in group.members where member != runtime.name {
                if let other = runtimes[member], other.isLoadedOrStarting { victims.append(other) }
            }
        }
        if let budget = config.memoryBudget?.bytes {
            let persistent = Set(config.groups.values.filter(\.persistent).flatMap(\.members))
            var charged = runtimes.values.filter { candidate in
                candidate.isLoadedOrStarting && candidate !== runtime && !victims.contains { $0 === candidate }
            }
            var total = charged.reduce(0) { $0 + $1.chargedBytes } + runtime.chargedBytes
            // Idle models first, least recently used first; busy ones only if that is not enough.
            charged.sort { ($0.isIdle ? 0 : 1, $0.lastUsed) < ($1.isIdle ? 0 : 1, $1.lastUsed) }
            for candidate in charged where total > budget && !persistent.contains(candidate.name) {
                victims.append(candidate)
                total -= candidate.chargedBytes
            }
            if total > budget {
                throw SwapperError.noRoom(
                    runtime.name,
                    reason: "it needs \(ByteSize.format(runtime.chargedBytes)); with persistent models loaded, \(ByteSize.format(total)) exceeds the \(ByteSize.format(budget)) budget"
                )
            }
        }
        for victim in victims {
            try await evict(victim, for: runtime.name)
        }
    }

    private func evict(_ victim: ModelRuntime, for newcomer: String) async throws {
        if case .starting(let task) = victim.phase { _ = try? await task.value }
        guard case .ready = victim.phase else { return }
        victim.drainTicket = victim.nextTicket
        gate.setAdmitting(victim.name, false)
        defer {
            victim.drainTicket = nil
            if case .ready = victim.phase { gate.setAdmitting(victim.name, true) }
            notify(victim)
        }
        let deadline = ContinuousClock.now + config.swapTimeout.duration
        while !victim.isDrained {
            do {
                try await waitForChange(victim, until: deadline, what: "in-flight requests")
            } catch {
                throw SwapperError.noRoom(newcomer, reason: "\(victim.name) stayed busy for swap_timeout (\(config.swapTimeout))")
            }
        }
        logger.info("evicting model", metadata: ["model": "\(victim.name)", "for": "\(newcomer)"])
        await stop(victim, reason: "evicted")
    }

    // MARK: - Stopping

    /// Stops a model's process (waiting for a start in progress); returns when it is down.
    func stop(_ runtime: ModelRuntime, reason: String) async {
        switch runtime.phase {
        case .available:
            return
        case .stopping(let task):
            await task.value
        case .starting(let task):
            _ = try? await task.value
            await stop(runtime, reason: reason)
        case .ready(let child, _, _):
            let grace = config.stopTimeout.duration
            gate.close(runtime.name)
            let task = Task { await child.terminate(grace: grace) }
            runtime.phase = .stopping(task)
            await task.value
            runtime.phase = .available
            runtime.process = nil
            metrics.stopped(runtime.name, reason: reason)
            logger.info("model stopped", metadata: ["model": "\(runtime.name)", "reason": "\(reason)"])
            await record(runtime, .available)
            notify(runtime)
        }
    }

    /// A model process ended. If it was serving, that is a crash: mark it available so the next
    /// request starts it again.
    private func exited(_ name: String, status: Int32) async {
        guard let runtime = runtimes[name], case .ready(let child, _, _) = runtime.phase, child.hasExited else { return }
        gate.close(name)
        runtime.phase = .available
        runtime.process = nil
        runtime.lastError = "the process \(ChildProcess.describe(status))"
        metrics.stopped(name, reason: "crashed")
        logger.warning("model process died", metadata: [
            "model": "\(name)", "status": "\(ChildProcess.describe(status))", "output": "\(child.output.tail(5).joined(separator: " | "))",
        ])
        await record(runtime, .available)
        notify(runtime)
    }

    /// Unloads one model (name or alias) or, with nil, all; returns the names unloaded.
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
        var unloaded: [String] = []
        for runtime in targets where runtime.isLoadedOrStarting {
            await stop(runtime, reason: "unloaded")
            unloaded.append(runtime.name)
        }
        return unloaded.sorted()
    }

    /// Stops every process and refuses new requests: the guardian is shutting down.
    public func shutdown() async {
        shuttingDown = true
        for runtime in runtimes.values { notify(runtime) }
        let names = runtimes.values.filter { $0.isLoadedOrStarting || $0.process != nil }.map(\.name)
        await withTaskGroup(of: Void.self) { group in
            for name in names { group.addTask { await self.stopForShutdown(name) } }
        }
    }

    private func stopForShutdown(_ name: String) async {
        guard let runtime = runtimes[name] else { return }
        if case .starting = runtime.phase, let child = runtime.process {
            // Do not wait a minute for a health check that no one needs any more.
            await child.terminate(grace: config.stopTimeout.duration)
        }
        await stop(runtime, reason: "shutdown")
    }

    // MARK: - Housekeeping (called every second by the service)

    /// Unloads models idle past their TTL, measures memory, and records last use.
    func tick() async {
        let now = ContinuousClock.now
        for runtime in runtimes.values {
            guard case .ready(let child, _, _) = runtime.phase else { continue }
            if let bytes = child.residentBytes { runtime.measuredBytes = bytes }
            if let ttl = runtime.config.ttl ?? config.globalTTL, ttl.milliseconds > 0, runtime.isIdle, now - runtime.lastUsed >= ttl.duration {
                logger.info("model idle past its TTL", metadata: ["model": "\(runtime.name)", "ttl": "\(ttl)"])
                await stop(runtime, reason: "ttl")
            } else if let used = runtime.lastUsedWall, used - (runtime.lastUsedRecorded ?? 0) >= 10_000 {
                // Last use reaches the store at most every 10 s: never a write per request.
                await record(runtime, .loaded)
            }
        }
    }

    // MARK: - Waiting

    private func waitForChange(_ runtime: ModelRuntime, until deadline: ContinuousClock.Instant, what: String) async throws {
        guard ContinuousClock.now < deadline else { throw SwapperError.timedOut(runtime.name, waitingFor: what) }
        let id = UUID()
        let name = runtime.name
        let timer = Task { [weak self] in
            try? await Task.sleep(until: deadline)
            await self?.wake(name, id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { runtime.waiters[id] = $0 }
        } onCancel: {
            Task { await self.wake(name, id) }
        }
        timer.cancel()
        try Task.checkCancellation()
    }

    private func waitFor(_ task: Task<Void, any Error>, until deadline: ContinuousClock.Instant, name: String) async throws {
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { throw SwapperError.timedOut(name, waitingFor: "the model to load") }
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try await task.value; return true }
            group.addTask { try await Task.sleep(for: remaining); return false }
            let finished = try await group.next() ?? false
            group.cancelAll()
            if !finished { throw SwapperError.timedOut(name, waitingFor: "the model to load") }
        }
    }

    private func wake(_ name: String, _ id: UUID) {
        runtimes[name]?.waiters.removeValue(forKey: id)?.resume()
    }

    private func notify(_ runtime: ModelRuntime) {
        let waiters = runtime.waiters
        runtime.waiters.removeAll()
        waiters.values.forEach { $0.resume() }
    }

    // MARK: - Introspection

    /// What `GET /swapper/running` shows.
    public func status() -> [ModelStatus] {
        runtimes.values.sorted { $0.name < $1.name }.map { runtime in
            var state = "available", pid: Int32?
            switch runtime.phase {
            case .available: state = "available"
            case .starting: state = "loading"
            case .ready(let child, _, _):
                state = "loaded"
                pid = child.pid
            case .stopping: state = "stopping"
            }
            if state == "loading" { pid = runtime.process?.pid }
            return ModelStatus(
                model: runtime.name, state: state, pid: pid.map(Int.init), port: runtime.isLoadedOrStarting ? runtime.port : nil,
                inflight: runtime.inflight, queued: runtime.waiting.count, starts: runtime.starts,
                lastUsed: runtime.lastUsedWall, ttlSeconds: (runtime.config.ttl ?? config.globalTTL).map { Int($0.seconds) },
                memoryBytes: runtime.chargedBytes > 0 ? runtime.chargedBytes : nil, lastError: runtime.lastError,
                aliases: runtime.config.aliases
            )
        }
    }

    /// The last lines the model's process printed (nil for an unknown model).
    public func logs(_ requested: String, tail: Int?) -> [String]? {
        guard let name = resolve(requested), let runtime = runtimes[name] else { return nil }
        return runtime.process?.output.tail(tail) ?? lastOutput[name]?.tail(tail) ?? []
    }

    private var lastOutput: [String: OutputBuffer] = [:]

    func keepOutput(of runtime: ModelRuntime) {
        if let output = runtime.process?.output { lastOutput[runtime.name] = output }
    }

    /// The store's model state for a runtime, written on every transition.
    func record(_ runtime: ModelRuntime, _ state: ModelRecord.State) async {
        keepOutput(of: runtime)
        let record = ModelRecord(
            nodeID: store.nodeID, source: .swapper, name: runtime.name, family: nil,
            sizeBytes: runtime.config.modelPath.flatMap(ModelFile.size), quantization: runtime.config.modelPath.flatMap(ModelFile.quantization),
            state: state, reachable: true,
            ramBytes: state == .available ? nil : (runtime.measuredBytes ?? runtime.config.memory?.bytes),
            lastUsed: runtime.lastUsedWall, pid: state == .available ? nil : runtime.process.map { Int($0.pid) },
            port: state == .available ? nil : runtime.port, stateSince: store.clock.wallMilliseconds(),
            error: state == .available ? runtime.lastError : nil
        )
        runtime.lastUsedRecorded = runtime.lastUsedWall
        do {
            try await store.write { try $0.put(record) }
        } catch {
            logger.error("cannot record model state: \(error)")
        }
    }

    /// Registers every configured model in the store (tombstoning swapper rows no longer
    /// configured) and kills model processes a previous run left behind.
    public func register() async throws {
        let existing = try await store.models(nodeID: store.nodeID).filter { $0.source == .swapper }
        for row in existing {
            if let pid = row.pid { OrphanReaper.reap(pid: pid_t(pid), expecting: runtimes[row.name].flatMap { CommandSplitter.split($0.config.cmd).first }, logger: logger) }
        }
        for runtime in runtimes.values { await record(runtime, .available) }
        let stale = existing.filter { runtimes[$0.name] == nil }
        try await store.write { writer in
            for row in stale {
                var tombstone = row
                tombstone.deleted = true
                tombstone.state = .available
                try writer.put(tombstone)
            }
        }
    }
}

/// Public view of one model's runtime state.
public struct ModelStatus: Sendable, Codable, Equatable {
    public var model: String
    public var state: String
    public var pid: Int?
    public var port: Int?
    public var inflight: Int
    public var queued: Int
    public var starts: Int
    public var lastUsed: Int64?
    public var ttlSeconds: Int?
    public var memoryBytes: Int64?
    public var lastError: String?
    public var aliases: [String]

    enum CodingKeys: String, CodingKey {
        case model, state, pid, port, inflight, queued, starts, lastUsed = "last_used", ttlSeconds = "ttl_seconds"
        case memoryBytes = "memory_bytes", lastError = "last_error", aliases
    }
}
