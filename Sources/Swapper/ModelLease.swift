import Synchronization

/// Permission to send one request to a loaded model. While a lease is held the model is not
/// evicted or unloaded; release it when the response has been relayed (streams included).
public final class ModelLease: Sendable {
    /// The configured model's name (aliases resolved).
    public let model: String
    /// Where to send the request, e.g. `http://127.0.0.1:5801`.
    public let baseURL: String
    private let swapper: Swapper
    private let released = Mutex(false)

    init(model: String, baseURL: String, swapper: Swapper) {
        self.model = model
        self.baseURL = baseURL
        self.swapper = swapper
    }

    /// Ends the lease; later calls do nothing. Never waits: the actor is told only when the
    /// release can end one of its waits.
    public func releaseNow() {
        guard released.withLock({ was in defer { was = true }; return !was }) else { return }
        swapper.releaseLease(model)
    }

    /// Ends the lease; later calls do nothing.
    public func release() async { releaseNow() }

    deinit {
        // A lease dropped without release (a bug, or a cancelled task) must not pin the model.
        releaseNow()
    }
}
