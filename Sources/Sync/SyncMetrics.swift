import MeshCore
import MeshStore
import MeshHTTP
import Prometheus

/// Sync's Prometheus metrics: changes sent and applied, bytes on the wire against their
/// uncompressed size, snapshots, errors, refused requests, answers and changes.
public final class SyncMetrics: Sendable {
    let changesSent: Counter
    let changesReceived: Counter
    let changesApplied: Counter
    let wireOut: Counter
    let wireIn: Counter
    let rawOut: Counter
    let rawIn: Counter
    let snapshotsServed: Counter
    let snapshotsApplied: Counter
    let errors: Counter
    let refused: Counter
    let answersRefused: Counter
    let changesRefused: [Refusal.Reason: Counter]

    public init(registry: PrometheusCollectorRegistry) {
        changesSent = registry.counter("sync_changes_sent", help: "Changes sent to peers (pull responses and pushes)")
        changesReceived = registry.counter("sync_changes_received", help: "Changes received from peers")
        changesApplied = registry.counter("sync_changes_applied", help: "Received changes that won and were written")
        wireOut = registry.counter("sync_wire_bytes_out", unit: "total", help: "Compressed sync bytes sent")
        wireIn = registry.counter("sync_wire_bytes_in", unit: "total", help: "Compressed sync bytes received")
        rawOut = registry.counter("sync_raw_bytes_out", unit: "total", help: "Uncompressed size of the sync bytes sent")
        rawIn = registry.counter("sync_raw_bytes_in", unit: "total", help: "Uncompressed size of the sync bytes received")
        snapshotsServed = registry.counter("sync_snapshots_served", help: "Snapshots sent to bootstrapping peers")
        snapshotsApplied = registry.counter("sync_snapshots_applied", help: "Snapshots this node bootstrapped from")
        errors = registry.counter("sync_errors", help: "Failed exchanges with peers")
        refused = registry.counter("sync_requests_refused", help: "Sync requests refused (bad signature, bad frame, out of order)")
        answersRefused = registry.counter(
            "sync_answers_refused", help: "Peer answers not used: unsigned, badly signed, or signed by another node"
        )
        var byReason: [Refusal.Reason: Counter] = [:]
        for reason in Refusal.Reason.allCases {
            byReason[reason] = registry.counter(
                "sync_changes_refused", help: "Received changes refused by the store, by reason", labels: [("reason", reason.rawValue)]
            )
        }
        changesRefused = byReason
    }

    /// Counts what applying a batch did.
    func applied(_ result: ApplyResult) {
        changesApplied.increment(by: Int64(result.applied))
        for (reason, count) in result.refused { changesRefused[reason]?.increment(by: Int64(count)) }
    }

    func sent(_ frame: SyncFrame, sizes: SyncFrame.Sizes) {
        changesSent.increment(by: Int64(frame.changes.count))
        wireOut.increment(by: Int64(sizes.wire))
        rawOut.increment(by: Int64(sizes.raw))
    }

    func received(_ frame: SyncFrame, wireBytes: Int, rawBytes: Int) {
        changesReceived.increment(by: Int64(frame.changes.count))
        wireIn.increment(by: Int64(wireBytes))
        rawIn.increment(by: Int64(rawBytes))
    }
}
