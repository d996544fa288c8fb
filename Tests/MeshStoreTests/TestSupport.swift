import Foundation
import Synchronization
@testable import MeshStore

/// A temporary directory removed when the test's scope ends.
final class TemporaryDirectory: Sendable {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "dagi-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func store(_ nodeID: String, clock: ManualClock? = nil) throws -> MeshStore {
        let file = MeshStore.databasePath(inDataDirectory: path + "/" + nodeID)
        if let clock {
            return try MeshStore.open(path: file, nodeID: nodeID, wallClock: { clock.now })
        }
        return try MeshStore.open(path: file, nodeID: nodeID)
    }
}

/// A wall clock tests move by hand, forwards or backwards.
final class ManualClock: Sendable {
    private let value: Mutex<Int64>
    init(_ start: Int64 = 1_750_000_000_000) { value = Mutex(start) }
    var now: Int64 { value.withLock { $0 } }
    func set(_ ms: Int64) { value.withLock { $0 = ms } }
    func advance(_ ms: Int64) { value.withLock { $0 += ms } }
}

func sampleModel(_ node: String, _ name: String, state: ModelRecord.State = .available) -> ModelRecord {
    ModelRecord(nodeID: node, source: .swapper, name: name, sizeBytes: 98_000_000, state: state)
}

extension MeshStore {
    /// Every change this store holds, as a peer with an empty vector would pull them.
    func allChanges() async throws -> [Change] {
        var vector: [String: Int64] = [:]
        var all: [Change] = []
        while true {
            let batch = try await changes(since: vector, limit: 1000, byteBudget: 1 << 22)
            all += batch.changes
            for change in batch.changes { vector[change.origin] = change.originSeq }
            if !batch.hasMore { return all }
        }
    }
}
