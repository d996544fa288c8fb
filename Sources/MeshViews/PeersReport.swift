import MeshCore
import MeshStore

/// `dagi peers`: each sync peer with its reachability, lag and last error.
public struct PeersReport: Codable, Sendable {
    public struct Peer: Codable, Sendable {
        public var url: String
        public var node: String?
        public var source: String
        /// `reachable`, `unreachable` or `unknown` (never tried yet).
        public var state: String
        public var lastOKAgeMs: Int64?
        /// Changes this node still lacked from the peer after the last pull.
        public var lag: Int64?
        public var lastError: String?
        public var lastErrorAgeMs: Int64?

        enum CodingKeys: String, CodingKey {
            case url, node, source, state, lastOKAgeMs = "last_ok_age_ms", lag, lastError = "last_error"
            case lastErrorAgeMs = "last_error_age_ms"
        }
    }

    public var peers: [Peer]

    public init(_ records: [PeerRecord], now: Int64) {
        peers = records.map { record in
            let state: String
            switch (record.lastOK, record.lastErrorAt) {
            case (nil, nil): state = "unknown"
            case (let ok?, let failed?): state = ok >= failed ? "reachable" : "unreachable"
            case (_?, nil): state = "reachable"
            case (nil, _?): state = "unreachable"
            }
            return Peer(
                url: record.url, node: record.nodeID, source: record.source.rawValue, state: state,
                lastOKAgeMs: record.lastOK.map { max(0, now.saturatingMinus($0)) }, lag: record.lag,
                lastError: state == "reachable" ? nil : record.lastError, lastErrorAgeMs: record.lastErrorAt.map { max(0, now - $0) }
            )
        }
    }

    public static func render(_ report: PeersReport, color: Bool) -> String {
        guard !report.peers.isEmpty else { return "No peers. Add one with `dagi peers add http://HOST:7007` or mesh.peers in the config." }
        var table = TextTable(["PEER", "NODE", "SOURCE", "STATE", "LAST OK", "LAG", "LAST ERROR"])
        for peer in report.peers {
            let color: TextTable.Color? = peer.state == "reachable" ? .green : peer.state == "unreachable" ? .red : .yellow
            table.add([
                .init(peer.url), .init(peer.node ?? "?"), .init(peer.source), .init(peer.state, color),
                .init(peer.lastOKAgeMs.map(StatusRenderer.age) ?? "never"), .init(peer.lag.map(String.init) ?? "-"),
                .init(peer.lastError.map { String($0.prefix(60)) } ?? "-"),
            ])
        }
        return table.render(color: color)
    }
}
