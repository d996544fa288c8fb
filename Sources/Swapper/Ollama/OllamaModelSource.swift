import Logging
import MeshStore

/// Keeps the store's `ollama` model rows in step with an Ollama server: installed models are
/// `available`, those in `/api/ps` are `loaded`, models removed from Ollama become tombstones,
/// and when Ollama cannot be reached every row is marked unreachable (the guardian keeps going).
public struct OllamaModelSource: Sendable {
    public let client: OllamaClient
    let store: MeshStore
    let logger: Logger

    public init(client: OllamaClient, store: MeshStore, logger: Logger) {
        self.client = client
        self.store = store
        self.logger = logger
    }

    /// One refresh; returns whether Ollama answered.
    @discardableResult
    public func refresh() async -> Bool {
        let node = store.nodeID
        do {
            async let installedList = client.installed()
            async let loadedList = client.loaded()
            let (installed, loaded) = try await (installedList, loadedList)
            let loadedByName = Dictionary(loaded.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            let existing = try await store.models(nodeID: node).filter { $0.source == .ollama }
            let now = store.clock.wallMilliseconds()
            try await store.write { writer in
                var seen = Set<String>()
                for model in installed {
                    seen.insert(model.name)
                    let live = loadedByName[model.name]
                    let previous = existing.first { $0.name == model.name }
                    let state: ModelRecord.State = live == nil ? .available : .loaded
                    try writer.putIfChanged(ModelRecord(
                        nodeID: node, source: .ollama, name: model.name, family: model.family,
                        sizeBytes: model.sizeBytes, quantization: model.quantization, parameterSize: model.parameterSize,
                        state: state, reachable: true, ramBytes: live?.sizeBytes, vramBytes: live?.vramBytes,
                        lastUsed: previous?.lastUsed,
                        stateSince: previous?.state == state ? previous?.stateSince : now
                    ))
                }
                for gone in existing where !seen.contains(gone.name) {
                    var tombstone = gone
                    tombstone.deleted = true
                    tombstone.state = .available
                    try writer.putIfChanged(tombstone)
                }
            }
            return true
        } catch {
            logger.debug("Ollama at \(client.baseURL) unreachable: \(error)")
            do {
                let existing = try await store.models(nodeID: node).filter { $0.source == .ollama && $0.reachable }
                guard !existing.isEmpty else { return false }
                try await store.write { writer in
                    for model in existing {
                        var unreachable = model
                        unreachable.reachable = false
                        unreachable.state = .available
                        try writer.putIfChanged(unreachable)
                    }
                }
            } catch {
                logger.error("cannot record Ollama models as unreachable: \(error)")
            }
            return false
        }
    }
}
