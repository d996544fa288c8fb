/// A model name requests may use, where it runs and under what name there: what the
/// compatibility APIs' model lists show.
public struct CatalogEntry: Sendable, Equatable {
    public var name: String
    /// A cloud provider's name, the node that serves it (this one first), or `alias`.
    public var provider: String
    /// Its name where it runs (a provider's own id; an alias's first model).
    public var physicalName: String
    /// The output tokens a cloud model is given when the request names none (unknown for mesh models).
    public var maxTokens: Int?
    public var isCloud: Bool
    /// Loaded on a node of the mesh now.
    public var loaded: Bool
}

extension RequestRouter {
    /// Every name requests may use: aliases, this node's and online peers' models, cloud models.
    public func catalogEntries() -> [CatalogEntry] {
        let snapshot = catalog.current
        return snapshot.names.map { name in
            if let targets = snapshot.aliases[name] {
                return CatalogEntry(name: name, provider: "alias", physicalName: targets.first ?? name, maxTokens: nil, isCloud: false, loaded: false)
            }
            let physical = snapshot.swapperNames[name] ?? name
            if let rows = snapshot.models[physical], !rows.isEmpty {
                let row = rows.first { $0.nodeID == snapshot.localNode } ?? rows.first { $0.state == .loaded } ?? rows[0]
                return CatalogEntry(
                    name: name, provider: row.nodeID, physicalName: physical, maxTokens: nil, isCloud: false, loaded: rows.contains { $0.state == .loaded }
                )
            }
            if let model = snapshot.cloud.models[name] {
                return CatalogEntry(name: name, provider: model.provider, physicalName: model.id, maxTokens: model.defaultMaxTokens, isCloud: true, loaded: false)
            }
            // A Swapper model this node has not reported yet.
            return CatalogEntry(name: name, provider: snapshot.localNode, physicalName: physical, maxTokens: nil, isCloud: false, loaded: false)
        }
    }
}
