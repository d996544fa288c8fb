import Foundation

/// A long-lived thread of our own that runs jobs in order, for the work that must not run on the
/// node's shared threads.
///
/// Two jobs need one, for two reasons:
///
/// - **Blocking calls.** The node runs Swift concurrency on NIO's event loops, a thread or two
///   that every connection shares. A call that blocks there — a sleep, a file read, `waitpid` —
///   freezes every request on that loop. Blocking work (reading `/proc`, writing the process
///   ledger, waiting for orphans to die) runs on ``blockingIO``; an async caller awaits its
///   result without holding a thread.
/// - **Forking.** On Linux a child asks the kernel to SIGKILL it when its parent dies
///   (`PR_SET_PDEATHSIG`), but "parent" means the *thread* that forked it. Swift's concurrency
///   threads may come and go, so forking from one could kill a model server when that thread
///   retires; forking from ``spawner``, which lives as long as the process, cannot.
final class DedicatedThread: @unchecked Sendable {
    private typealias Job = () -> Void

    /// Guards `jobs` (hence `@unchecked Sendable`). Only ever held for a queue operation; the
    /// waiting in `condition.wait()` happens on the dedicated thread itself.
    private let condition = NSCondition()
    private var jobs: [Job] = []

    /// Forks every model process (see above).
    static let spawner = DedicatedThread(name: "dagi-spawn")
    /// Runs the Swapper's blocking file and process-table work.
    static let blockingIO = DedicatedThread(name: "dagi-swapper-io")

    private init(name: String) {
        let thread = Thread { [self] in
            while true {
                condition.lock()
                while jobs.isEmpty { condition.wait() }
                let next = jobs
                jobs.removeAll()
                condition.unlock()
                next.forEach { $0() }
            }
        }
        thread.name = name
        thread.start()
    }

    /// Runs `body` on this thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            condition.lock()
            jobs.append { continuation.resume(returning: body()) }
            condition.signal()
            condition.unlock()
        }
    }
}
