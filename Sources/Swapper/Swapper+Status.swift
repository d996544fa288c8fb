/// What the Swapper shows of itself: `GET /swapper/running` and `/swapper/logs/{model}`.
extension Swapper {
    /// Each configured model's state, sorted by name.
    public func status() -> [ModelStatus] {
        runtimes.values.sorted { $0.name < $1.name }.map { runtime in
            let process = runtime.process
            return ModelStatus(
                model: runtime.name, state: runtime.stateName, pid: process.map { Int($0.pid) }, port: process?.port,
                inflight: gate.load(runtime.name).inflight, queued: runtime.waiting, starts: runtime.starts,
                lastUsed: gate.load(runtime.name).lastUsedWall, ttlSeconds: (runtime.config.ttl ?? config.globalTTL).map { Int($0.milliseconds / 1000) },
                memoryBytes: runtime.chargedBytes > 0 ? runtime.chargedBytes : nil, lastError: runtime.lastError,
                aliases: runtime.config.aliases
            )
        }
    }

    /// The models, how many swaps there were, and the last processes' lifetimes.
    public func report() -> SwapperReport {
        SwapperReport(models: status(), swaps: history.swaps, history: history.runs)
    }

    /// The last `tail` lines (all kept lines when nil) the model's process printed, or nil for
    /// an unknown model.
    public func logs(_ requested: String, tail: Int?) -> [String]? {
        guard let name = resolve(requested), let runtime = runtimes[name] else { return nil }
        return (runtime.process?.child.output ?? runtime.lastOutput)?.tail(tail) ?? []
    }
}
