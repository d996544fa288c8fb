import MeshCore

extension RouterConfig: ConfigDocumented {
    public static var configKeys: [ConfigKeyDoc] { CodingKeys.docs }
}

extension RouterConfig.CodingKeys: DocumentedKey {
    var doc: (default: String?, meaning: String) {
        let d = RouterConfig()
        switch self {
        case .openLocalhost: return ("\(d.openLocalhost)", "unauthenticated calls from this machine act as agent \"local\"")
        case .requestTimeout: return ("\(d.requestTimeout)", "total deadline of a request, failovers included (a stream: until its first byte)")
        case .firstByteTimeout: return ("\(d.firstByteTimeout)", "longest wait for one candidate's answer to begin before trying the next")
        case .maxBody: return ("\(d.maxBody)", "largest request body accepted")
        case .aliases: return ("{}", "logical model names: name -> [model, ...] in order of preference")
        case .maxAttempts: return ("\(d.maxAttempts)", "candidates tried per request")
        case .cooldownAfter: return ("\(d.cooldownAfter)", "consecutive failures after which a candidate cools down")
        case .cooldown: return ("\(d.cooldown)", "how long a failing candidate is skipped")
        case .referenceModel: return (nil, "the cloud model savings are measured against")
        case .partitionShare: return ("\(d.partitionShare)", "while a peer is silent, the part of an agent's mesh-wide rpm and tpm this node may use by itself")
        case .spillMargin: return ("\(d.spillMargin)", "how much faster a peer must be expected to answer for a request to go there instead of waiting here (0.2: 20%)")
        case .slots: return ("{}", "requests a local model server answers at once, by model name, where its command does not say (Ollama's OLLAMA_NUM_PARALLEL)")
        }
    }
}

extension ProviderConfig: ConfigDocumented {
    public static var configKeys: [ConfigKeyDoc] { CodingKeys.docs }
}

extension ProviderConfig.CodingKeys: DocumentedKey {
    var doc: (default: String?, meaning: String) {
        switch self {
        case .kind: return (nil, "the API it speaks: openai (also DeepSeek and other compatible ones), anthropic or gemini (required)")
        case .keyEnv: return (nil, "environment variable holding its API key (required; keys are never stored)")
        case .baseURL: return ("the kind's public API", "where its API lives")
        }
    }
}

extension CloudModelConfig: ConfigDocumented {
    public static var configKeys: [ConfigKeyDoc] { CodingKeys.docs }
}

extension CloudModelConfig.CodingKeys: DocumentedKey {
    var doc: (default: String?, meaning: String) {
        switch self {
        case .provider: return (nil, "the entry of providers: that serves it (required)")
        case .id: return (nil, "the provider's own model id (required)")
        case .input: return ("the built-in price table", "USD per million input tokens")
        case .cachedInput: return ("the built-in price table", "USD per million cached input tokens")
        case .cacheWrite: return ("the built-in price table", "USD per million tokens written to the provider's prompt cache")
        case .output: return ("the built-in price table", "USD per million output tokens")
        case .defaultMaxTokens: return ("\(CloudModelConfig(provider: "-", id: "-").defaultMaxTokens)", "max_tokens sent to Anthropic when the client gave none")
        }
    }
}
