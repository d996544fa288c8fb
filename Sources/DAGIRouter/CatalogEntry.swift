/// A model name requests may use, where it runs and under what name there: what the
/// compatibility APIs' model lists show.
public struct CatalogEntry: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// A logical name for other models (`router.aliases`).
        case alias
        /// A model of this node or an online peer.
        case mesh
        case cloud
    }

    public var name: String
    public var kind: Kind
    /// Where it runs: a cloud provider's name, or the node that serves it (this one first);
    /// `alias` for an alias.
    public var provider: String
    /// Its name where it runs (a provider's own id; an alias's first model).
    public var physicalName: String
    /// The output tokens a cloud model is given when the request names none (unknown for mesh models).
    public var maxTokens: Int?
    /// Loaded on a node of the mesh now.
    public var loaded: Bool
}

extension RequestRouter {
    /// Every name requests may use: aliases, this node's and online peers' models, cloud models.
    public func catalogEntries() -> [CatalogEntry] {
        let snapshot = catalog.current
        return snapshot.names.map { name in
            if let targets = snapshot.aliases[name] {
                return CatalogEntry(name: name, kind: .alias, provider: "alias", physicalName: targets.first ?? name, maxTokens: nil, loaded: false)
            }
            let physical = snapshot.swapperNames[name] ?? name
            if let rows = snapshot.models[physical], !rows.isEmpty {
                let row = rows.first { $0.nodeID == snapshot.localNode } ?? rows.first { $0.state == .loaded } ?? rows[0]
                return CatalogEntry(
                    name: name, kind: .mesh, provider: row.nodeID, physicalName: physical, maxTokens: nil, loaded: rows.contains { $0.state == .loaded }
                )
            }
            if let model = snapshot.cloud.models[name] {
                return CatalogEntry(name: name, kind: .cloud, provider: model.provider, physicalName: model.id, maxTokens: model.defaultMaxTokens, loaded: false)
            }
            // A Swapper model this node has not reported yet.
            return CatalogEntry(name: name, kind: .mesh, provider: snapshot.localNode, physicalName: physical, maxTokens: nil, loaded: false)
        }
    }
}
