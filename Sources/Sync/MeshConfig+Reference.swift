import MeshCore

extension MeshConfig: ConfigDocumented {
    public static var configKeys: [ConfigKeyDoc] { CodingKeys.docs }
}

extension MeshConfig.CodingKeys: DocumentedKey {
    var doc: (default: String?, meaning: String) {
        let d = MeshConfig()
        switch self {
        case .secretEnv: return (d.secretEnv, "environment variable holding the shared mesh secret (the same on every node)")
        case .peers: return ("[]", "peers' URLs (http:// or https://); more are learnt from them")
        case .syncInterval: return ("\(d.syncInterval)", "anti-entropy pull period, jittered ±20 %")
        case .requestTimeout: return ("\(d.requestTimeout)", "timeout of one sync request")
        case .maxFrame: return ("\(d.maxFrame)", "largest compressed sync frame accepted")
        case .maxInflated: return ("\(d.maxInflated)", "largest inflated sync frame accepted (zip-bomb bound)")
        case .batchSize: return ("\(d.batchSize)", "changes per pull batch")
        case .snapshotThreshold: return ("\(d.snapshotThreshold)", "a peer lacking more changes than this bootstraps from a snapshot")
        case .clockSkew: return ("\(d.clockSkew)", "accepted clock difference for signatures and replicated timestamps")
        case .pokeDebounce: return ("\(d.pokeDebounce)", "delay that groups local commits into one push")
        case .ca: return (nil, "PEM CA file that https:// peers' certificates must chain to")
        }
    }
}
