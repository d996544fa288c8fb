import CSpawn
import Foundation
import Synchronization

/// Starts a model's server: picks its port, expands its command, builds its clean environment,
/// forks it, and records it in the ledger — all on the spawn thread, where the file-system
/// lookups, port probes and ledger write may block without holding up a request.
final class ProcessLauncher: Sendable {
    let globalMacros: [String: String]
    /// Ports `${PORT}` may take.
    let ports: ClosedRange<Int>
    let logLines: Int
    let ledger: ProcessLedger
    /// The guardian's environment, of which only ``ModelEnvironment/inherited`` crosses over.
    let guardianEnvironment: [String: String]
    /// Where the next port search begins: just after the last port handed out, so two starts
    /// close together never pick the same port before the first server has bound it.
    private let cursor: Mutex<Int>

    init(globalMacros: [String: String], ports: ClosedRange<Int>, logLines: Int, ledger: ProcessLedger, guardianEnvironment: [String: String]) {
        self.globalMacros = globalMacros
        self.ports = ports
        self.logLines = logLines
        self.ledger = ledger
        self.guardianEnvironment = guardianEnvironment
        self.cursor = Mutex(ports.lowerBound)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// A started process and what was decided for it.
    struct Launched: Sendable {
        let child: ChildProcess
        let port: Int
        let baseURL: String
        /// Taken just before the fork: the process did not exist before it.
        let startedAt: ContinuousClock.Instant
        /// Why the ledger could not be written, if it could not.
        let ledgerError: String?
    }

    /// What the spawn thread hands back.
    private struct Forked: Sendable {
        let pid: pid_t
        let outputFD: Int32
        let port: Int
        let baseURL: String
        let startedAt: ContinuousClock.Instant
        let ledgerError: String?
    }

    /// Starts `model` on the next free port that is not in `used` (the ports of the node's other
    /// model processes). `onExit` gets the wait status when the process ends.
    func launch(_ model: SwapperModelConfig, used: Set<Int>, onExit: @escaping @Sendable (Int32) -> Void) async throws -> Launched {
        let result: Result<Forked, Failure> = await DedicatedThread.spawner.run { [self] in
            Result { try fork(model, used: used) }.mapError { $0 as? Failure ?? Failure(description: "\($0)") }
        }
        let forked = try result.get()
        let child = ChildProcess(pid: forked.pid, output: OutputBuffer(capacity: logLines))
        let ledger = self.ledger
        child.start(readingFrom: forked.outputFD) { status in
            ledger.remove(pid: forked.pid)
            onExit(status)
        }
        return Launched(child: child, port: forked.port, baseURL: forked.baseURL, startedAt: forked.startedAt, ledgerError: forked.ledgerError)
    }

    /// Runs on the spawn thread.
    private func fork(_ model: SwapperModelConfig, used: Set<Int>) throws -> Forked {
        guard let port = freePort(avoiding: used) else {
            throw Failure(description: "no free port in \(ports.lowerBound)...\(ports.upperBound)")
        }
        let macros = Macros(global: globalMacros, model: model, port: port)
        let arguments: [String], baseURL: String, ownEnvironment: [String: String]
        do {
            arguments = try macros.expand(CommandSplitter.split(model.cmd))
            baseURL = try macros.expand(model.proxy)
            ownEnvironment = try model.env.mapValues { try macros.expand($0) }
        } catch {
            throw Failure(description: "\(error)")
        }
        let environment = ModelEnvironment.make(guardian: guardianEnvironment, model: ownEnvironment)
        guard let program = arguments.first else { throw Failure(description: "empty command") }
        guard let path = ChildProcess.resolve(program, path: environment["PATH"] ?? "/usr/bin:/bin") else {
            throw Failure(description: "command not found: \(program)")
        }
        let argv = [path] + arguments.dropFirst()
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw Failure(description: "pipe() failed: \(String(cString: strerror(errno)))") }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let startedAt = ContinuousClock.now
        let pid = withCStrings(argv) { argvPointer in
            withCStrings(environment.map { "\($0.key)=\($0.value)" }) { envp in dagi_spawn(path, argvPointer, envp, fds[1], 1) }
        }
        let spawnErrno = errno
        close(fds[1])
        guard pid > 0 else {
            close(fds[0])
            throw Failure(description: "fork failed: \(String(cString: strerror(spawnErrno)))")
        }
        // The start time is fixed at the fork and survives exec: with the boot, it tells this
        // process from any later one that gets the same pid.
        let entry = ProcessLedger.Entry(
            model: model.name, pid: pid, startTime: ProcessInspector.startTime(of: pid) ?? 0,
            boot: ProcessInspector.currentBootID ?? "", command: argv
        )
        let ledgerError = ledger.add(entry)
        return Forked(pid: pid, outputFD: fds[0], port: port, baseURL: baseURL, startedAt: startedAt, ledgerError: ledgerError)
    }

    /// The first port from the cursor, wrapping within ``ports``, that is not `used` and can be
    /// bound; the cursor moves past it.
    private func freePort(avoiding used: Set<Int>) -> Int? {
        cursor.withLock { next in
            let count = ports.count
            let offset = ports.contains(next) ? next - ports.lowerBound : 0
            for step in 0..<count {
                let port = ports.lowerBound + (offset + step) % count
                if !used.contains(port), PortProbe.isFree(port) {
                    next = port == ports.upperBound ? ports.lowerBound : port + 1
                    return port
                }
            }
            return nil
        }
    }
}

/// Calls `body` with a NULL-terminated C array of C strings.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
