import Foundation
import MeshStore

/// What the Swapper tells the store, and what it does once at start-up.
extension Swapper {
    /// Registers every configured model in the store (tombstoning swapper rows no longer
    /// configured) and stops the model processes a previous run of this node left behind —
    /// those in its own ledger, never a pid from the store.
    public func register() async throws {
        // File sizes and names are read once, off the event loops.
        let paths = runtimes.compactMapValues { $0.config.modelPath }
        let facts = await DedicatedThread.blockingIO.run {
            paths.mapValues { (size: ModelFile.size($0), quantization: ModelFile.quantization($0)) }
        }
        for (name, fact) in facts {
            runtimes[name]?.fileSize = fact.size
            runtimes[name]?.quantization = fact.quantization
        }
        let reaped = await OrphanReaper.reap(ledger, grace: config.stopTimeout.duration)
        for entry in reaped.stopped {
            logger.warning("stopped a model process left by a previous run", metadata: ["model": "\(entry.model)", "pid": "\(entry.pid)"])
        }
        for entry in reaped.survivors {
            logger.error("a model process left by a previous run survived SIGKILL", metadata: ["model": "\(entry.model)", "pid": "\(entry.pid)"])
        }
        for (entry, reason) in reaped.skipped {
            logger.debug("left a recorded pid alone", metadata: ["model": "\(entry.model)", "pid": "\(entry.pid)", "reason": "\(reason)"])
        }
        for runtime in runtimes.values { record(runtime, .available) }
        await recorder.flush()
        let existing = try await store.models(nodeID: store.nodeID).filter { $0.source == .swapper }
        let stale = existing.filter { runtimes[$0.name] == nil }
        guard !stale.isEmpty else { return }
        try await store.write { writer in
            for row in stale {
                var tombstone = row
                tombstone.deleted = true
                tombstone.state = .available
                try writer.put(tombstone)
            }
        }
    }

    /// Queues the store's model row for a runtime; returns its sequence number (see
    /// ``ModelStateRecorder/written(through:)``).
    @discardableResult
    func record(_ runtime: ModelRuntime, _ state: ModelRecord.State) -> UInt64 {
        let process = state == .available ? nil : runtime.process
        let lastUsed = gate.load(runtime.name).lastUsedWall
        let record = ModelRecord(
            nodeID: store.nodeID, source: .swapper, name: runtime.name, family: nil,
            sizeBytes: runtime.fileSize, quantization: runtime.quantization,
            state: state, reachable: true,
            ramBytes: state == .available ? nil : (runtime.measuredBytes ?? runtime.config.memory?.bytes),
            lastUsed: lastUsed, pid: process.map { Int($0.pid) }, port: process?.port,
            stateSince: store.clock.wallMilliseconds(), error: state == .available ? runtime.lastError : nil
        )
        runtime.lastUsedRecorded = lastUsed
        return recorder.record(record)
    }
}
