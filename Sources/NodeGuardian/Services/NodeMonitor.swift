import Logging
import MeshStore
import MeshCore
import MeshHTTP
import ServiceLifecycle

/// The node's heartbeat: every interval it samples the machine and writes the node row and
/// its metric samples in one transaction; every minute it rolls samples up, and every ten
/// minutes it applies retention. On shutdown it writes the node `offline`, so peers know at
/// once instead of waiting for the heartbeat to go stale.
public final class NodeMonitor: Service {
    let store: MeshStore
    let identity: NodeIdentity
    let config: MetricsSection
    let gpu: GPUSampler
    let metrics: GuardianMetrics
    let logger: Logger
    private let sampler: SamplerBox

    public init(store: MeshStore, identity: NodeIdentity, config: MetricsSection, dataDirectory: String, metrics: GuardianMetrics, logger: Logger) {
        self.store = store
        self.identity = identity
        self.config = config
        self.gpu = GPUSampler()
        self.metrics = metrics
        self.logger = logger
        self.sampler = SamplerBox(SystemSampler(diskPath: dataDirectory))
    }

    var retention: RetentionPolicy {
        RetentionPolicy(
            rawSamplesMs: config.rawRetention.milliseconds, minuteRollupsMs: config.minuteRollupRetention.milliseconds,
            hourRollupsMs: config.rollupRetention.milliseconds, usageMs: config.usageRetention.milliseconds,
            usageRollupMs: config.usageRollupRetention.milliseconds,
            changeLogMs: max(config.rawRetention.milliseconds, 3_600_000)
        )
    }

    public func run() async throws {
        // The heartbeat loop stops on graceful shutdown; the final offline write follows.
        let last = try? await cancelWhenGracefulShutdown { try await self.loop() }
        do {
            let now = store.clock.wallMilliseconds()
            let snapshot = last ?? sampler.sample(gpu: nil)
            let record = identity.record(snapshot, at: now, interval: config.interval, state: .offline)
            try await store.write { try $0.put(record) }
        } catch {
            logger.error("could not record shutdown: \(error)")
        }
    }

    /// Beats until cancelled (the first beat happened at start-up); returns the last reading.
    private func loop() async throws -> SystemSnapshot {
        var lastRollup: Int64 = 0
        var lastPrune = store.clock.wallMilliseconds()
        while true {
            try await Task.sleep(for: config.interval.duration)
            let last = await beat()
            let now = store.clock.wallMilliseconds()
            if now - lastRollup >= 60_000 {
                lastRollup = now
                await maintain { try await self.store.rollUpMetrics(now: now) }
                await maintain { try await self.store.rollUpUsage(now: now) }
                await metrics.updateStore(store)
            }
            if now - lastPrune >= 600_000 {
                lastPrune = now
                await maintain {
                    let pruned = try await self.store.pruneExpired(self.retention, now: now)
                    self.logger.debug("retention", metadata: ["samples": "\(pruned.samples)", "changes": "\(pruned.changes)"])
                }
            }
            if Task.isCancelled { return last }
        }
    }

    /// One heartbeat; returns the reading.
    @discardableResult
    func beat() async -> SystemSnapshot {
        let snapshot = sampler.sample(gpu: await gpu.sample())
        let now = store.clock.wallMilliseconds()
        let record = identity.record(snapshot, at: now, interval: config.interval)
        let samples = snapshot.samples.map { MetricSample(nodeID: identity.id, metric: $0.metric, ts: now, value: $0.value) }
        do {
            try await store.write { writer in
                try writer.put(record)
                for sample in samples { try writer.put(sample) }
            }
        } catch {
            logger.error("heartbeat write failed: \(error)")
        }
        metrics.update(snapshot)
        return snapshot
    }

    private func maintain(_ work: () async throws -> Void) async {
        do { try await work() } catch { logger.error("store maintenance failed: \(error)") }
    }
}

import Synchronization

/// The sampler keeps CPU counters between readings; only the monitor loop uses it.
final class SamplerBox: Sendable {
    private let sampler: Mutex<SystemSampler>
    init(_ sampler: SystemSampler) { self.sampler = Mutex(sampler) }
    func sample(gpu: GPUSnapshot?) -> SystemSnapshot { sampler.withLock { $0.sample(gpu: gpu) } }
}
