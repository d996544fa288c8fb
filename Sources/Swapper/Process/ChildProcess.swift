import CSpawn
import Foundation
import Synchronization

/// A model server process: started in its own process group, its output captured, its exit
/// noticed the moment it happens.
final class ChildProcess: Sendable {
    let pid: pid_t
    let output: OutputBuffer
    private let exitStatus = Mutex<Int32?>(nil)
    private let exitWaiters = Mutex<[CheckedContinuation<Int32, Never>]>([])

    struct SpawnError: Error, CustomStringConvertible {
        let description: String
    }

    private init(pid: pid_t, output: OutputBuffer) {
        self.pid = pid
        self.output = output
    }

    /// Starts `arguments[0]` (looked up in `PATH` unless it contains a slash) and calls `onExit`
    /// with the wait status when it ends.
    static func spawn(
        arguments: [String], environment: [String: String], logLines: Int, onExit: @escaping @Sendable (Int32) -> Void
    ) async throws -> ChildProcess {
        guard let program = arguments.first else { throw SpawnError(description: "empty command") }
        guard let path = resolve(program, path: environment["PATH"] ?? "/usr/bin:/bin") else {
            throw SpawnError(description: "command not found: \(program)")
        }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SpawnError(description: "pipe() failed: \(String(cString: strerror(errno)))") }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let (readEnd, writeEnd) = (fds[0], fds[1])
        let env = environment.map { "\($0.key)=\($0.value)" }
        let pid = await SpawnThread.shared.run { () -> pid_t in
            withCStrings([path] + Array(arguments.dropFirst())) { argv in
                withCStrings(env) { envp in dagi_spawn(path, argv, envp, writeEnd, 1) }
            }
        }
        close(writeEnd)
        guard pid > 0 else {
            close(readEnd)
            throw SpawnError(description: "fork failed: \(String(cString: strerror(errno)))")
        }
        let child = ChildProcess(pid: pid, output: OutputBuffer(capacity: logLines))
        child.startReading(readEnd)
        child.startWaiting(onExit: onExit)
        return child
    }

    private func startReading(_ fd: Int32) {
        let output = self.output
        let thread = Thread {
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
        thread.name = "dagi-output-\(pid)"
        thread.start()
    }

    private func startWaiting(onExit: @escaping @Sendable (Int32) -> Void) {
        let pid = self.pid
        let thread = Thread { [self] in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            exitStatus.withLock { $0 = status }
            let waiters = exitWaiters.withLock { waiters in
                defer { waiters.removeAll() }
                return waiters
            }
            waiters.forEach { $0.resume(returning: status) }
            onExit(status)
        }
        thread.name = "dagi-wait-\(pid)"
        thread.start()
    }

    var hasExited: Bool { exitStatus.withLock { $0 != nil } }

    /// Waits for the process to end; returns the wait status.
    func waitForExit() async -> Int32 {
        await withCheckedContinuation { continuation in
            let done: Int32? = exitWaiters.withLock { waiters in
                if let status = exitStatus.withLock({ $0 }) { return status }
                waiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// Sends `signal` to the whole process group, so helpers the server started go too.
    func signalGroup(_ signal: Int32) {
        guard !hasExited else { return }
        if kill(-pid, signal) != 0 { kill(pid, signal) }
    }

    /// SIGTERM, then SIGKILL after `grace`; returns once the process has exited.
    func terminate(grace: Duration) async {
        signalGroup(SIGTERM)
        let exited = await withTaskGroup(of: Bool.self) { group in
            group.addTask { _ = await self.waitForExit(); return true }
            group.addTask { try? await Task.sleep(for: grace); return false }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !exited {
            signalGroup(SIGKILL)
            _ = await waitForExit()
        }
        // Anything left in the group (a helper that ignored SIGTERM) goes too.
        kill(-pid, SIGKILL)
    }

    /// Resident memory of the process in bytes (Linux; nil elsewhere or when gone).
    var residentBytes: Int64? {
        #if os(Linux)
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        let kib = line.split(separator: " ").compactMap { Int64($0) }.first
        return kib.map { $0 * 1024 }
        #else
        return nil
        #endif
    }

    /// Describes a wait status: "exited with status 3", "killed by signal 9".
    static func describe(_ status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exited with status \((status >> 8) & 0xff)" }
        return "killed by signal \(signal)"
    }

    static func resolve(_ program: String, path: String) -> String? {
        if program.contains("/") { return FileManager.default.isExecutableFile(atPath: program) ? program : nil }
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// Calls `body` with a NULL-terminated C array of C strings.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
