import Foundation
import Logging
import MeshStore

/// Publishes how busy this node's models are, so peers can weigh sending requests here: a
/// `model_load` row per model that served a request, written only when its counts change, and
/// at most twice a second however busy the node is (changes in between are coalesced into one
/// transaction). An idle node writes nothing.
struct LoadPublisher {
    let router: RequestRouter

    /// The shortest time between two writes.
    static let minimumGap = Duration.milliseconds(500)
    /// A service time is published again when it moved by more than this fraction.
    static let serviceChange = 0.1

    func run() async {
        let store = router.store
        let prefix = store.nodeID + "/"
        var published: [String: ModelLoadRecord] = [:]
        do {
            for row in try await store.ownModelLoads() { published[Candidate.key(node: row.nodeID, source: row.source, model: row.name)] = row }
        } catch {
            router.logger.error("could not read this node's published loads: \(error)")
        }
        // A run that ended under load left counts behind: the first pass writes them as they are now.
        var firstPass = true
        var failed = false
        while !Task.isCancelled {
            // After a failed write the counts are tried again soon, not at the next request: an
            // idle node must not stay "busy" for its peers.
            if failed {
                await router.health.loadChanged.wait(upTo: .seconds(1))
            } else if !firstPass {
                await router.health.loadChanged.wait(upTo: .seconds(3600))
            }
            guard !Task.isCancelled else { return }
            let now = store.clock.wallMilliseconds()
            let slots = router.catalog.current.localSlots
            var changed: [ModelLoadRecord] = []
            var seen = Set<String>()
            for (key, stats) in router.health.stats(withPrefix: prefix) {
                // `node/source/model` (Candidate.key): the model's name may hold slashes.
                let rest = key.dropFirst(prefix.count)
                guard let slash = rest.firstIndex(of: "/"), let source = ModelRecord.Source(rawValue: String(rest[..<slash])) else { continue }
                let name = String(rest[rest.index(after: slash)...])
                seen.insert(key)
                // Within what peers accept (model_load's column rules).
                let range = ModelLoadRecord.slotRange
                let slotCount = min(max(slots[name] ?? 1, range.lowerBound), range.upperBound)
                let row = ModelLoadRecord(
                    nodeID: store.nodeID, source: source, name: name, slots: slotCount, inflight: min(stats.inflight, slotCount),
                    queued: min(max(0, stats.inflight - slotCount), 1_000_000), serviceMs: stats.service.map { min($0 * 1000, 86_400_000) }, at: now
                )
                if Self.differs(row, from: published[key]) { changed.append(row) }
            }
            if firstPass {
                // Rows of models no longer served here (a restart forgot them): nothing is in flight there.
                for (key, row) in published where !seen.contains(key) && row.outstanding > 0 {
                    var idle = row
                    (idle.inflight, idle.queued, idle.at) = (0, 0, now)
                    changed.append(idle)
                }
            }
            if !changed.isEmpty {
                do {
                    let rows = changed
                    try await store.write { writer in for row in rows { _ = try writer.put(row) } }
                    for row in changed { published[Candidate.key(node: row.nodeID, source: row.source, model: row.name)] = row }
                    router.metrics.loadPublished()
                    failed = false
                    firstPass = false
                } catch {
                    failed = true
                    router.logger.error("could not publish this node's model loads: \(error)")
                }
            }
            if changed.isEmpty { firstPass = false }
            try? await Task.sleep(for: Self.minimumGap)
        }
    }

    /// Whether `row` says something peers do not know from `old`.
    static func differs(_ row: ModelLoadRecord, from old: ModelLoadRecord?) -> Bool {
        guard let old else { return row.outstanding > 0 || row.serviceMs != nil }
        if (row.slots, row.inflight, row.queued) != (old.slots, old.inflight, old.queued) { return true }
        switch (row.serviceMs, old.serviceMs) {
        case (nil, nil): return false
        case (let new?, let before?): return abs(new - before) > before * serviceChange
        default: return true
        }
    }
}
