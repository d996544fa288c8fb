import Foundation
import Logging
import MeshStore
import MeshCore
import MeshHTTP

/// Everything this node does with one peer: the anti-entropy pull loop (woken early by pokes),
/// snapshot bootstrap, and pushing or poking news to it.
actor PeerSession {
    let url: String
    private(set) var nodeID: String?
    /// What the peer is known to hold at least (from its pulls, our pulls, push answers).
    private var known: [String: Int64]?
    private var failures = 0
    private var lastRecorded: String?
    private var propagating = false
    private var propagateAgain = false
    private let wakeup = Wakeup()

    let client: SyncClient
    let store: MeshStore
    let config: MeshConfig
    let metrics: SyncMetrics
    let log: SyncLog
    let logger: Logger

    init(
        url: String, nodeID: String?, client: SyncClient, store: MeshStore, config: MeshConfig, metrics: SyncMetrics, log: SyncLog,
        logger: Logger
    ) {
        self.url = url
        self.nodeID = nodeID
        self.client = client
        self.store = store
        self.config = config
        self.metrics = metrics
        self.log = log
        var logger = logger
        logger[metadataKey: "peer"] = .string(url)
        self.logger = logger
    }

    /// Makes the loop pull now.
    func trigger() { wakeup.signal() }

    func peerHolds(_ vector: [String: Int64]) { known = (known ?? [:]).merged(with: vector) }

    private var limits: ReplicationLimits { ReplicationLimits(clockSkewMs: config.clockSkew.milliseconds) }

    /// Pulls until cancelled: at once, then every jittered interval or when woken.
    func run() async {
        while !Task.isCancelled {
            await pullUntilCurrent()
            await wakeup.wait(upTo: nextDelay())
        }
    }

    private func nextDelay() -> Duration {
        let base = Double(config.syncInterval.milliseconds)
        // Retry a first failure soon (it is often a blip: a peer restarting, a timeout after a
        // pause), then back off, but never beyond four intervals: a healed partition must
        // converge quickly, and pokes wake us anyway.
        let factors: [Double] = [1, 0.1, 1, 2, 4]
        return .milliseconds(Int64(base * factors[min(failures, 4)] * Double.random(in: 0.8...1.2)))
    }

    /// One anti-entropy round: pull batches until the peer has nothing more for us.
    func pullUntilCurrent() async {
        do {
            var peerVector: [String: Int64] = [:]
            for _ in 0..<100_000 {
                let vector = try await store.versionVector()
                let received = try await client.pull(url, vector: vector)
                nodeID = received.node.nodeID
                metrics.received(received.frame, wireBytes: received.wireBytes, rawBytes: received.rawBytes)
                if received.frame.snapshotRequired {
                    try await bootstrap()
                    continue
                }
                let result = try await store.apply(received.frame.changes, senderVector: received.frame.vector, limits: limits)
                metrics.applied(result)
                log.refusals(result, from: url)
                peerVector = received.frame.vector
                peerHolds(peerVector)
                if !received.frame.hasMore { break }
            }
            let held = try await store.versionVector()
            // Vector entries are in 0...maxSequence (the frame checks), so each difference fits;
            // the sum over many origins saturates rather than trap.
            let lag = peerVector.reduce(Int64(0)) { total, entry in
                let (sum, overflow) = total.addingReportingOverflow(max(0, entry.value - (held[entry.key] ?? 0)))
                return overflow ? .max : sum
            }
            if failures > 0 { logger.info("peer reachable again") }
            failures = 0
            // Anti-entropy runs both ways: if the peer lacks changes we hold (it missed pushes
            // while unreachable, or it does not list us as a peer), push them now.
            if held.contains(where: { $0.value > (peerVector[$0.key] ?? 0) }) {
                Task { await self.propagate() }
            }
            try await record(ok: true, lag: lag, message: nil)
        } catch is CancellationError {
            return
        } catch {
            failures += 1
            metrics.errors.increment()
            let message = "\(error)"
            if failures == 1 { logger.warning("sync with peer failed: \(message)") } else { logger.debug("sync with peer failed: \(message)") }
            try? await record(ok: false, lag: nil, message: message)
        }
    }

    private func bootstrap() async throws {
        logger.info("bootstrapping from the peer's snapshot")
        let received = try await client.snapshot(url)
        guard received.frame.kind == .snapshot else { throw SyncClient.PeerError(description: "expected a snapshot frame") }
        metrics.received(received.frame, wireBytes: received.wireBytes, rawBytes: received.rawBytes)
        let snapshot = Snapshot(
            vector: received.frame.vector,
            rows: received.frame.changes.map { SnapshotRow(table: $0.table, origin: $0.origin, hlc: $0.hlc, payload: $0.payload) }
        )
        let result = try await store.applySnapshot(snapshot, limits: limits)
        metrics.snapshotsApplied.increment()
        metrics.applied(result)
        log.refusals(result, from: url)
        logger.info("bootstrapped", metadata: ["rows": "\(snapshot.rows.count)", "applied": "\(result.applied)"])
    }

    /// Writes the peer's status to the store when it changed (so `dagi peers` can show it).
    private func record(ok: Bool, lag: Int64?, message: String?) async throws {
        let summary = ok ? "ok \(nodeID ?? "") \(lag ?? 0)" : "error \(message ?? "")"
        guard summary != lastRecorded else { return }
        lastRecorded = summary
        if ok {
            try await store.peerSucceeded(url: url, nodeID: nodeID, lag: lag ?? 0)
        } else {
            try await store.peerFailed(url: url, message: message ?? "error")
        }
    }

    /// Sends local news to the peer: pushes what it lacks when we know where it stands, pokes it
    /// otherwise (it then pulls). Overlapping calls collapse into one more round.
    func propagate() async {
        if propagating {
            propagateAgain = true
            return
        }
        propagating = true
        defer { propagating = false }
        repeat {
            propagateAgain = false
            await propagateOnce()
        } while propagateAgain
    }

    private func propagateOnce() async {
        do {
            for _ in 0..<1000 {
                guard let base = known else {
                    try await client.poke(url)
                    return
                }
                let batch = try await store.changes(since: base, limit: config.batchSize, byteBudget: Int(config.maxFrame.bytes))
                if batch.snapshotRequired {
                    try await client.poke(url)
                    return
                }
                guard !batch.changes.isEmpty else { return }
                let frame = SyncFrame(kind: .changes, hasMore: batch.hasMore, base: base, vector: batch.vector, changes: batch.changes)
                let (bytes, sizes) = try frame.encoded()
                do {
                    let held = try await client.push(url, frame: bytes)
                    metrics.sent(frame, sizes: sizes)
                    known = base.merged(with: held)
                } catch let error as SyncClient.PeerError where error.outOfOrder {
                    // Our idea of the peer was wrong (it may have been reset): let it pull.
                    known = nil
                    try await client.poke(url)
                    return
                }
                if !batch.hasMore { return }
            }
        } catch {
            // Nothing is lost: the peer's anti-entropy pull will fetch it.
            logger.debug("propagation to peer failed: \(error)")
        }
    }
}
