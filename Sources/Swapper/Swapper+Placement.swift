import Foundation

/// Placement: which model loads next, what must make room for it, and the TTL.
///
/// Loads are placed one at a time, first come first served. For the model being placed, the
/// ``PlacementPlanner`` names the models that must go; each of them finishes its run
/// (``SwapTurn``) and is stopped, and when nothing stands in the way the model is launched and
/// the next load is placed. A model still loading is never asked to leave before it is ready,
/// and a model stopping is waited for, so no wait here depends on another placement: the
/// placement cannot deadlock, and each of its waits ends within its own timeout.
///
/// ``reconcile()`` runs after every change (a lease returned, a waiter gone, a process ready or
/// gone, a timer). It is synchronous, cheap, and idempotent.
extension Swapper {
    /// A model that requests wait for is not loaded: queue its load.
    func requestLoad(_ runtime: ModelRuntime) {
        guard !shuttingDown, placing != runtime.name, !pendingLoads.contains(runtime.name) else { return }
        pendingLoads.append(runtime.name)
        reconcile()
    }

    /// Moves placement forward as far as it can go now.
    func reconcile() {
        guard !shuttingDown else { return }
        // Each pass either returns, or clears `placing`, or takes one entry off `pendingLoads`:
        // the loop ends.
        while true {
            if placing == nil {
                guard !pendingLoads.isEmpty else { return }
                let next = pendingLoads.removeFirst()
                guard let runtime = runtimes[next], runtime.isAvailable, runtime.waiting > 0 else { continue }
                placing = next
            }
            guard let name = placing, let newcomer = runtimes[name], newcomer.isAvailable, newcomer.waiting > 0 else {
                // Nobody waits for it any more.
                endPlacement()
                continue
            }
            switch planner.plan(for: name, among: placementSnapshot()) {
            case .impossible(let reason):
                fail(newcomer, .noRoom(name, reason: reason))
                endPlacement()
            case .evict(let victims):
                endTurns(except: Set(victims))
                if victims.isEmpty {
                    placing = nil
                    launch(newcomer)
                } else if advanceTurns(of: victims, for: newcomer) {
                    return // the victims' runs, drains or exits will call again
                }
            }
        }
    }

    /// What the planner sees. A stopping model still holds its memory and its place in its
    /// groups until its process is gone.
    func placementSnapshot() -> [PlacementPlanner.Model] {
        runtimes.values.map { runtime in
            let load = gate.load(runtime.name)
            return PlacementPlanner.Model(
                name: runtime.name, resident: !runtime.isAvailable, busy: load.inflight > 0 || runtime.waiting > 0,
                lastUsed: load.lastUsed, chargedBytes: runtime.chargedBytes, leaving: runtime.turn != nil
            )
        }
    }

    /// Moves each victim's turn along; false when the swap was given up.
    private func advanceTurns(of victims: [String], for newcomer: ModelRuntime) -> Bool {
        let now = ContinuousClock.now
        for name in victims {
            // Loading: its own waiters come first, its turn starts once it is ready. Stopping:
            // its exit calls again.
            guard let victim = runtimes[name], case .ready = victim.phase else { continue }
            var turn = victim.turn ?? SwapTurn(since: now, linger: config.swapLinger.duration, swapTimeout: config.swapTimeout.duration)
            gate.setWatched(name, true)
            step: while true {
                let load = gate.load(name)
                switch turn.step(now: now, load: .init(inflight: load.inflight, waiting: victim.waiting, lastUsed: load.lastUsed)) {
                case .serve(let until), .drain(let until):
                    victim.turn = turn
                    scheduleWake(at: until)
                    break step
                case .close:
                    // Then the next step reads the load again: a lease taken just before the
                    // gate closed is counted.
                    gate.setAdmitting(name, false)
                    victim.turn = turn
                case .stop:
                    history.swapped()
                    metrics.swapped(name, for: newcomer.name)
                    logger.info("evicting model", metadata: ["model": "\(name)", "for": "\(newcomer.name)"])
                    stop(victim, reason: "evicted")
                    break step
                case .giveUp:
                    logger.warning("swap given up", metadata: ["model": "\(name)", "for": "\(newcomer.name)"])
                    fail(newcomer, .noRoom(
                        newcomer.name,
                        reason: "\(name) still had requests in flight swap_timeout (\(config.swapTimeout)) after its turn ended"
                    ))
                    endPlacement()
                    return false
                }
            }
        }
        return true
    }

    /// Only the current plan's victims are leaving: any other model whose turn was ending (the
    /// plan changed, or was given up) takes requests again.
    private func endTurns(except victims: Set<String>) {
        for runtime in runtimes.values where runtime.turn != nil && !victims.contains(runtime.name) {
            runtime.turn = nil
            gate.setWatched(runtime.name, false)
            if case .ready(_, true) = runtime.phase { gate.setAdmitting(runtime.name, true) }
            runtime.notify()
        }
    }

    private func endPlacement() {
        placing = nil
        endTurns(except: [])
    }

    /// Calls ``reconcile()`` at `instant` (an earlier wake already set does it then, and sets the
    /// next).
    private func scheduleWake(at instant: ContinuousClock.Instant) {
        if let wake, wake.at <= instant { return }
        wake?.task.cancel()
        let task = Task { [weak self] in
            try? await Task.sleep(until: instant)
            guard !Task.isCancelled else { return }
            await self?.woke(at: instant)
        }
        wake = (instant, task)
    }

    private func woke(at instant: ContinuousClock.Instant) {
        if wake?.at == instant { wake = nil }
        reconcile()
    }

    // MARK: - Housekeeping

    /// Unloads models idle past their TTL, records last use (at most every 10 s: never a write
    /// per request) and measures memory. Called every second by ``SwapperService``.
    func tick() async {
        let now = ContinuousClock.now
        var pids: [String: Int32] = [:]
        for runtime in runtimes.values {
            guard case .ready(let process, true) = runtime.phase else { continue }
            let load = gate.load(runtime.name)
            let idle = load.inflight == 0 && runtime.waiting == 0
            if let ttl = runtime.config.ttl ?? config.globalTTL, ttl.milliseconds > 0, idle, runtime.turn == nil,
               now - load.lastUsed >= ttl.duration {
                logger.info("model idle past its TTL", metadata: ["model": "\(runtime.name)", "ttl": "\(ttl)"])
                stop(runtime, reason: "ttl")
                continue
            }
            pids[runtime.name] = process.pid
            if let used = load.lastUsedWall, used.saturatingSubtract(runtime.lastUsedRecorded ?? 0) >= 10_000 {
                record(runtime, .loaded)
            }
        }
        guard !pids.isEmpty else { return }
        // Reading /proc is file I/O: off the event loops.
        let targets = pids
        let measured = await DedicatedThread.blockingIO.run { targets.compactMapValues { ProcessInspector.residentBytes(of: $0) } }
        for (name, bytes) in measured where runtimes[name]?.process?.pid == pids[name] {
            runtimes[name]?.measuredBytes = bytes
        }
    }
}
