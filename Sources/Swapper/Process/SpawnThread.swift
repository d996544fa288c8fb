import Foundation

/// One long-lived thread that forks every model process.
///
/// On Linux a child asks the kernel to SIGTERM it when its parent dies (`PR_SET_PDEATHSIG`),
/// but "parent" means the *thread* that forked it. Swift's concurrency threads come and go, so
/// forking from one could kill a model server when that thread retires; forking from this
/// thread, which lives as long as the process, cannot.
final class SpawnThread: @unchecked Sendable {
    private typealias Job = () -> Void

    /// Guards `jobs` (hence `@unchecked Sendable`).
    private let condition = NSCondition()
    private var jobs: [Job] = []

    static let shared = SpawnThread()

    private init() {
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
        thread.name = "dagi-spawn"
        thread.start()
    }

    /// Runs `body` on the spawn thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            condition.lock()
            jobs.append { continuation.resume(returning: body()) }
            condition.signal()
            condition.unlock()
        }
    }
}
