import Synchronization

/// One run of a model's server: its process, where it listens, and the health check that
/// decides when it is ready. A new run (after a stop or a crash) is a new `ModelProcess` with the
/// next generation, so a late report about an old run is recognised and ignored.
final class ModelProcess: Sendable {
    let generation: Int
    let child: ChildProcess
    let port: Int
    let baseURL: String
    /// Taken just before the fork.
    let startedAt: ContinuousClock.Instant
    private let healthCheck = Mutex<Task<Void, Never>?>(nil)

    init(generation: Int, launched: ProcessLauncher.Launched) {
        self.generation = generation
        self.child = launched.child
        self.port = launched.port
        self.baseURL = launched.baseURL
        self.startedAt = launched.startedAt
    }

    var pid: Int32 { child.pid }

    func setHealthCheck(_ task: Task<Void, Never>) {
        healthCheck.withLock { $0 = task }
    }

    /// The run is stopping or over: nobody needs its health any more.
    func cancelHealthCheck() {
        healthCheck.withLock { $0 }?.cancel()
    }
}
