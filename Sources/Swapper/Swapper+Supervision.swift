import Foundation

/// Process supervision: a model's run from launch to exit.
///
/// Each method here is one transition of ``ModelRuntime/Phase``, made synchronously on the
/// actor. The slow parts — forking, the health check, terminating — run in tasks that report
/// back with the run's generation, so a late report about an earlier run is ignored.
extension Swapper {
    /// available → launching: the spawn thread starts the process.
    func launch(_ runtime: ModelRuntime) {
        runtime.generation += 1
        let generation = runtime.generation
        let name = runtime.name, model = runtime.config, launcher = self.launcher
        runtime.phase = .launching(generation: generation)
        runtime.stopWhenLaunched = nil
        let used = Set(runtimes.values.compactMap { $0.process?.port })
        Task {
            do {
                let launched = try await launcher.launch(model, used: used) { status in
                    Task { await self.exited(name, generation: generation, status: status) }
                }
                self.launched(name, generation: generation, launched)
            } catch {
                self.launchFailed(name, generation: generation, reason: "\(error)")
            }
        }
        runtime.notify()
    }

    /// launching → available: no process was started (no free port, command not found…).
    func launchFailed(_ name: String, generation: Int, reason: String) {
        guard let runtime = runtimes[name], case .launching(let current) = runtime.phase, current == generation else { return }
        runtime.phase = .available
        failStart(runtime, reason: reason, output: [])
        record(runtime, .available)
        reconcile()
    }

    /// launching → starting: the process exists; its health check begins.
    func launched(_ name: String, generation: Int, _ launched: ProcessLauncher.Launched) {
        // Only this method and launchFailed leave `launching`, so the phase is still ours.
        guard let runtime = runtimes[name], case .launching(let current) = runtime.phase, current == generation else { return }
        let process = ModelProcess(generation: generation, launched: launched)
        history.started(name, pid: process.pid, at: launched.startedAt)
        if let problem = launched.ledgerError {
            logger.warning("cannot record the process for the orphan reaper", metadata: ["model": "\(name)", "error": "\(problem)"])
        }
        runtime.phase = .starting(process)
        runtime.lastOutput = process.child.output
        logger.info("starting model", metadata: ["model": "\(name)", "pid": "\(process.pid)", "port": "\(process.port)"])
        record(runtime, .loading)
        if let reason = runtime.stopWhenLaunched ?? (shuttingDown ? "shutdown" : nil) {
            stop(runtime, reason: reason)
            return
        }
        let deadline = ContinuousClock.now + config.healthCheckTimeout.duration
        let url = process.baseURL + runtime.config.checkEndpoint
        let http = self.http
        process.setHealthCheck(Task {
            let outcome = await HealthCheck.wait(http: http, url: url, child: process.child, deadline: deadline)
            // Known before the row says loaded, so the router ranks the model by them at once.
            if outcome == .healthy, let slots = await HealthCheck.slots(http: http, baseURL: process.baseURL) {
                self.serverReported(slots: slots, for: name)
            }
            self.healthChecked(name, generation: generation, outcome, url: url)
        })
        runtime.notify()
    }

    /// starting → ready, or → stopping when it never became healthy.
    func healthChecked(_ name: String, generation: Int, _ outcome: HealthCheck.Outcome, url: String) {
        guard let runtime = runtimes[name], case .starting(let process) = runtime.phase, process.generation == generation else { return }
        switch outcome {
        case .healthy:
            runtime.phase = .ready(process, open: false)
            runtime.starts += 1
            runtime.lastError = nil
            let took = ContinuousClock.now - process.startedAt
            metrics.started(name, seconds: took)
            logger.info("model loaded", metadata: [
                "model": "\(name)", "pid": "\(process.pid)", "port": "\(process.port)", "seconds": "\(String(format: "%.2f", took.inSeconds))",
            ])
            let sequence = record(runtime, .loaded)
            let recorder = self.recorder, ledger = self.ledger, pid = process.pid
            // Opened once its row says loaded (a peer never sees a model serving as not loaded)
            // and the ledger holds the command line it runs now (a wrapper script that `exec`s
            // the server shows the server's), read off the event loops.
            Task {
                await recorder.written(through: sequence)
                await DedicatedThread.blockingIO.run {
                    if let running = ProcessInspector.commandLine(of: pid) { ledger.confirm(pid: pid, running: running) }
                }
                self.open(name, generation: generation)
            }
        case .timedOut:
            failStart(runtime, reason: "not healthy within \(config.healthCheckTimeout) (\(url))", output: process.child.output.tail(30))
            stop(runtime, reason: "failed")
        case .exited, .cancelled:
            break // exited() and stop() make those transitions.
        }
        runtime.notify()
        reconcile()
    }

    /// ready: the gate admits requests — unless the model's turn already ended meanwhile.
    func open(_ name: String, generation: Int) {
        guard let runtime = runtimes[name], case .ready(let process, false) = runtime.phase, process.generation == generation else { return }
        runtime.phase = .ready(process, open: true)
        gate.open(name, baseURL: process.baseURL, admitting: runtime.turn?.isClosed != true)
        if runtime.turn != nil { gate.setWatched(name, true) }
        runtime.notify()
        reconcile()
    }

    /// starting or ready → stopping (launching: as soon as the process exists). Returns at once;
    /// the process's exit makes the model available.
    func stop(_ runtime: ModelRuntime, reason: String) {
        switch runtime.phase {
        case .available, .stopping:
            return
        case .launching:
            runtime.stopWhenLaunched = reason
        case .starting(let process), .ready(let process, _):
            process.cancelHealthCheck()
            gate.close(runtime.name)
            runtime.turn = nil
            runtime.stopReason = reason
            runtime.phase = .stopping(process)
            let grace = config.stopTimeout.duration, name = runtime.name
            Task {
                if await !process.child.terminate(grace: grace) {
                    self.unkillable(name, process)
                }
            }
            runtime.notify()
        }
    }

    /// The process exited: the end of its run, whatever the phase.
    func exited(_ name: String, generation: Int, status: Int32) {
        guard let runtime = runtimes[name], let process = runtime.process, process.generation == generation else { return }
        let description = ChildProcess.describe(status)
        switch runtime.phase {
        case .starting:
            process.cancelHealthCheck()
            runtime.stopReason = "failed"
            failStart(runtime, reason: "the process \(description) while starting", output: process.child.output.tail(30))
        case .ready:
            runtime.stopReason = "crashed"
            runtime.lastError = "the process \(description)"
            logger.warning("model process died", metadata: [
                "model": "\(name)", "status": "\(description)", "output": "\(process.child.output.tail(5).joined(separator: " | "))",
            ])
        case .available, .launching, .stopping:
            break
        }
        finishRun(runtime, process, at: process.child.exitInstant ?? .now)
    }

    /// Not even SIGKILL ended the process (stuck in the kernel): give up on it rather than keep
    /// the model, and every swap waiting for it, stuck too.
    func unkillable(_ name: String, _ process: ModelProcess) {
        guard let runtime = runtimes[name], case .stopping(let current) = runtime.phase, current === process else { return }
        logger.critical("model process survived SIGKILL; giving up on it", metadata: ["model": "\(name)", "pid": "\(process.pid)"])
        runtime.lastError = "process \(process.pid) survived SIGKILL"
        finishRun(runtime, process, at: .now)
    }

    /// → available.
    private func finishRun(_ runtime: ModelRuntime, _ process: ModelProcess, at instant: ContinuousClock.Instant) {
        gate.close(runtime.name)
        runtime.turn = nil
        runtime.phase = .available
        history.exited(runtime.name, pid: process.pid, at: instant)
        metrics.stopped(runtime.name, reason: runtime.stopReason)
        logger.info("model stopped", metadata: ["model": "\(runtime.name)", "reason": "\(runtime.stopReason)"])
        record(runtime, .available)
        runtime.notify()
        reconcile()
    }

    /// The requests waiting for the model now fail with the start's error and its output.
    func failStart(_ runtime: ModelRuntime, reason: String, output: [String]) {
        runtime.lastError = reason
        metrics.startFailed(runtime.name)
        logger.error("model failed to start", metadata: ["model": "\(runtime.name)", "reason": "\(reason)"])
        fail(runtime, .startFailed(runtime.name, reason: reason, output: output))
    }

    /// The requests waiting for `runtime` right now fail with `error`; later ones try afresh.
    func fail(_ runtime: ModelRuntime, _ error: SwapperError) {
        runtime.failures += 1
        runtime.failure = (runtime.failures, error)
        runtime.notify()
    }
}
