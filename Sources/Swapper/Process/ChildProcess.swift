import CSpawn
import Foundation
import MeshCore
import Synchronization

/// A running model server process: the leader of its own process group, its output captured,
/// its exit noticed the moment it happens (by a thread of its own blocked in `waitpid`, never an
/// event loop). ``ProcessLauncher`` creates it.
final class ChildProcess: Sendable {
    let pid: pid_t
    let output: OutputBuffer

    private struct ExitState {
        var status: Int32?
        /// Taken just after `waitpid` returned: the process was gone by then.
        var instant: ContinuousClock.Instant?
        var waiters: [UUID: CheckedContinuation<Int32?, Never>] = [:]
    }

    private let exit = Mutex(ExitState())

    init(pid: pid_t, output: OutputBuffer) {
        self.pid = pid
        self.output = output
    }

    /// Starts reading the process's output from `fd` and waiting for its exit; `onExit` gets the
    /// wait status, on the waiting thread.
    func start(readingFrom fd: Int32, onExit: @escaping @Sendable (Int32) -> Void) {
        let output = self.output
        let reader = Thread {
            var buffer = [UInt8](repeating: 0, count: 16 << 10)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    output.append(buffer[0..<count])
                } else if count == 0 || errno != EINTR {
                    break
                }
            }
            output.finish()
            close(fd)
        }
        reader.name = "dagi-output-\(pid)"
        reader.start()
        let pid = self.pid
        let waiter = Thread { [self] in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            let instant = ContinuousClock.now
            // Its last lines may still be in the pipe: let the reader take them first.
            output.waitUntilFinished(before: Date(timeIntervalSinceNow: 1))
            let waiters = exit.withLock { state in
                state.status = status
                state.instant = instant
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            waiters.values.forEach { $0.resume(returning: status) }
            onExit(status)
        }
        waiter.name = "dagi-wait-\(pid)"
        waiter.start()
    }

    var hasExited: Bool { exit.withLock { $0.status != nil } }

    /// When the exit was seen (nil while it runs).
    var exitInstant: ContinuousClock.Instant? { exit.withLock { $0.instant } }

    /// Waits for the process to end until `deadline`; returns the wait status, or nil at the
    /// deadline or on cancellation. The wait really ends then: nothing keeps it alive.
    func waitForExit(until deadline: ContinuousClock.Instant) async -> Int32? {
        let id = UUID()
        let timer = Task { [self] in
            try? await Task.sleep(until: deadline)
            resumeWaiter(id)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // Registered under the lock the timer and the cancellation take, so a wake that
                // came first is seen here.
                let done: Int32?? = exit.withLock { state in
                    if let status = state.status { return .some(status) }
                    if Task.isCancelled || ContinuousClock.now >= deadline { return .some(nil) }
                    state.waiters[id] = continuation
                    return .none
                }
                if let done { continuation.resume(returning: done) }
            }
        } onCancel: {
            resumeWaiter(id)
        }
    }

    private func resumeWaiter(_ id: UUID) {
        exit.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: nil)
    }

    /// Sends `signal` to the whole process group, so helpers the server started go too.
    func signalGroup(_ signal: Int32) {
        guard !hasExited else { return }
        if kill(-pid, signal) != 0 { kill(pid, signal) }
    }

    /// SIGTERM, then SIGKILL after `grace`; returns whether the process is gone (false only for
    /// a process stuck in the kernel that not even SIGKILL ended within 5 s).
    func terminate(grace: Duration) async -> Bool {
        signalGroup(SIGTERM)
        if await waitForExit(until: .now + grace) == nil {
            signalGroup(SIGKILL)
            guard await waitForExit(until: .now + .seconds(5)) != nil else { return false }
        }
        // Anything left in the group (a helper that ignored SIGTERM) goes too.
        kill(-pid, SIGKILL)
        return true
    }

    /// Describes a wait status: "exited with status 3", "killed by signal 9".
    static func describe(_ status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exited with status \((status >> 8) & 0xff)" }
        return "killed by signal \(signal)"
    }

    /// `program` itself when it holds a slash, else the first executable of that name in `path`.
    /// Reads the file system: call it from a dedicated thread.
    static func resolve(_ program: String, path: String) -> String? { ExecutableSearch.find(program, path: path) }
}
