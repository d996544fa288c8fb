import MeshCore
import MeshHTTP

/// Command-line overrides of the node config; each wins over the file.
public struct GuardianOptions: Sendable {
    public var configPath: String?
    public var dataDirectory: String?
    public var listen: HostPort?
    public var nodeID: String?
    public var peers: [String]

    public init(configPath: String? = nil, dataDirectory: String? = nil, listen: HostPort? = nil, nodeID: String? = nil, peers: [String] = []) {
        self.configPath = configPath
        self.dataDirectory = dataDirectory
        self.listen = listen
        self.nodeID = nodeID
        self.peers = peers
    }

    /// The config file (or the embedded defaults) with these overrides applied.
    public func resolvedConfig() throws -> NodeConfig {
        var config = try configPath.map(NodeConfig.load(path:)) ?? NodeConfig()
        if let dataDirectory { config.node.dataDir = dataDirectory }
        if let listen { config.node.listen = listen }
        for peer in peers where HTTPURL(parsing: peer) == nil {
            throw ConfigError(file: "--peer", issues: [.init(path: "mesh.peers", line: nil, message: "invalid peer URL \"\(peer)\" (use http://HOST:PORT)")])
        }
        if let nodeID {
            guard MeshName.isValid(nodeID) else {
                throw ConfigError(file: "--node-id", issues: [.init(path: "node.id", line: nil, message: "invalid node id \"\(nodeID)\"")])
            }
            config.node.id = nodeID
        }
        return config
    }
}
