import Foundation

/// Stops the model processes a previous run of this node left behind (a guardian killed with
/// SIGKILL, a crash, a machine where the kernel does not stop children with their parent).
///
/// It acts only on the node's own ``ProcessLedger``, and only on an entry whose process is still
/// the one recorded: same boot, same start time, same command. A pid the system has since given
/// to another program is left alone, and so is anything the replicated store says — a peer can
/// write rows, it cannot choose what this node kills.
enum OrphanReaper {
    struct Outcome: Sendable {
        /// Processes that matched their entry and were stopped.
        var stopped: [ProcessLedger.Entry] = []
        /// Entries left alone, with why.
        var skipped: [(entry: ProcessLedger.Entry, reason: String)] = []
        /// Processes still alive after SIGKILL (a process stuck in the kernel).
        var survivors: [ProcessLedger.Entry] = []
    }

    /// Reaps what the ledger's file lists and starts it afresh. Runs on
    /// ``DedicatedThread/blockingIO``: it reads the process table and waits for processes to
    /// die, which must not happen on an event loop.
    static func reap(_ ledger: ProcessLedger, grace: Duration) async -> Outcome {
        await DedicatedThread.blockingIO.run {
            let outcome = reapNow(ledger.previousEntries(), grace: grace)
            ledger.reset()
            return outcome
        }
    }

    /// Why `entry` no longer designates the process it recorded (nil: it still does).
    static func mismatch(
        _ entry: ProcessLedger.Entry, boot: String?, startTime: UInt64?, commandLine: [String]?
    ) -> String? {
        guard let boot, entry.boot == boot else { return "recorded in another boot of the machine" }
        guard let startTime else { return "no longer running" }
        guard startTime == entry.startTime else { return "its pid now belongs to another process (start time differs)" }
        guard let commandLine, commandMatches(entry, commandLine) else { return "its command line differs from the one recorded" }
        return nil
    }

    /// The live command line is the one seen once the process was ready, or ends with the
    /// arguments it was started with (a `#!` script shows its interpreter first).
    static func commandMatches(_ entry: ProcessLedger.Entry, _ live: [String]) -> Bool {
        if let running = entry.running, live == running { return true }
        return !entry.command.isEmpty && live.count >= entry.command.count && Array(live.suffix(entry.command.count)) == entry.command
    }

    /// The blocking part: SIGTERM every match's process group, wait up to `grace` for them to
    /// go, SIGKILL what is left. Identity is checked again before every signal.
    static func reapNow(_ entries: [ProcessLedger.Entry], grace: Duration) -> Outcome {
        var outcome = Outcome()
        let boot = ProcessInspector.bootID()
        func identityMismatch(_ entry: ProcessLedger.Entry) -> String? {
            guard ProcessInspector.isAlive(entry.pid) else { return "no longer running" }
            return mismatch(
                entry, boot: boot, startTime: ProcessInspector.startTime(of: entry.pid), commandLine: ProcessInspector.commandLine(of: entry.pid)
            )
        }
        // The recorded process still exists (not yet exited): same pid, same start time. Its
        // command line may already read empty while it exits, so waiting does not check it.
        func present(_ entry: ProcessLedger.Entry) -> Bool {
            ProcessInspector.isAlive(entry.pid) && ProcessInspector.startTime(of: entry.pid) == entry.startTime
        }
        var targets: [ProcessLedger.Entry] = []
        for entry in entries {
            if let reason = identityMismatch(entry) { outcome.skipped.append((entry, reason)) } else { targets.append(entry) }
        }
        guard !targets.isEmpty else { return outcome }
        for entry in targets { signalGroup(entry.pid, SIGTERM) }
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline, targets.contains(where: present) {
            usleep(50_000) // on the dedicated thread: nothing else waits on it
        }
        for entry in targets where identityMismatch(entry) == nil { signalGroup(entry.pid, SIGKILL) }
        let killDeadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < killDeadline, targets.contains(where: present) { usleep(50_000) }
        for entry in targets {
            if present(entry) { outcome.survivors.append(entry) } else { outcome.stopped.append(entry) }
        }
        return outcome
    }

    /// The process was started as the leader of its own group, so helpers it started go too.
    private static func signalGroup(_ pid: Int32, _ signal: Int32) {
        if kill(-pid, signal) != 0 { kill(pid, signal) }
    }
}
