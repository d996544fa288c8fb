import MeshCore

/// `providers:` — cloud APIs the router may fall back to. Keys come from the environment only.
///
///     providers:
///       openai:    { kind: openai,    key_env: OPENAI_API_KEY }
///       deepseek:  { kind: openai,    key_env: DEEPSEEK_API_KEY, base_url: https://api.deepseek.com }
///       anthropic: { kind: anthropic, key_env: ANTHROPIC_API_KEY }
///       google:    { kind: gemini,    key_env: GEMINI_API_KEY }
public struct ProviderConfig: Sendable, Decodable, Equatable {
    /// Which API the provider speaks.
    public enum Kind: String, Sendable, Decodable, CaseIterable {
        case openai, anthropic, gemini

        /// Where each API lives unless `base_url` says otherwise.
        var defaultBaseURL: String {
            switch self {
            case .openai: return "https://api.openai.com/v1"
            case .anthropic: return "https://api.anthropic.com"
            case .gemini: return "https://generativelanguage.googleapis.com"
            }
        }
    }

    public var kind: Kind
    /// The environment variable holding the API key.
    public var keyEnv: String
    public var baseURL: HTTPURL

    public init(kind: Kind, keyEnv: String, baseURL: HTTPURL? = nil) {
        self.kind = kind
        self.keyEnv = keyEnv
        self.baseURL = baseURL ?? HTTPURL(parsing: kind.defaultBaseURL)!
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case kind, keyEnv = "key_env", baseURL = "base_url" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(Kind.self, forKey: .kind)
        keyEnv = try c.decode(String.self, forKey: .keyEnv)
        baseURL = try c.decodeIfPresent(HTTPURL.self, forKey: .baseURL) ?? HTTPURL(parsing: kind.defaultBaseURL)!
        guard !keyEnv.isEmpty, keyEnv.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) }) else {
            throw DecodingError.dataCorruptedError(forKey: .keyEnv, in: c, debugDescription: "key_env must name an environment variable")
        }
    }
}

/// One entry of `cloud_models:` — a name agents use, the provider and physical model behind it,
/// and its prices in USD per million tokens (the built-in price table fills what is left out).
///
///     cloud_models:
///       claude-haiku: { provider: anthropic, id: claude-haiku-4-5, input: 1.00, cached_input: 0.10, output: 5.00 }
public struct CloudModelConfig: Sendable, Decodable, Equatable {
    public var provider: String
    public var id: String
    public var input: Double?
    public var cachedInput: Double?
    public var cacheWrite: Double?
    public var output: Double?
    /// Anthropic requires `max_tokens`; this is sent when the client gave none.
    public var defaultMaxTokens: Int

    public init(provider: String, id: String, input: Double? = nil, cachedInput: Double? = nil, cacheWrite: Double? = nil, output: Double? = nil) {
        self.provider = provider
        self.id = id
        self.input = input
        self.cachedInput = cachedInput
        self.cacheWrite = cacheWrite
        self.output = output
        self.defaultMaxTokens = 4096
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case provider, id, input, cachedInput = "cached_input", cacheWrite = "cache_write", output, defaultMaxTokens = "default_max_tokens"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        provider = try c.decode(String.self, forKey: .provider)
        id = try c.decode(String.self, forKey: .id)
        input = try c.decodeIfPresent(Double.self, forKey: .input)
        cachedInput = try c.decodeIfPresent(Double.self, forKey: .cachedInput)
        cacheWrite = try c.decodeIfPresent(Double.self, forKey: .cacheWrite)
        output = try c.decodeIfPresent(Double.self, forKey: .output)
        defaultMaxTokens = try c.decode(.defaultMaxTokens, default: 4096)
        for (value, key) in [(input, CodingKeys.input), (cachedInput, .cachedInput), (cacheWrite, .cacheWrite), (output, .output)] {
            if let value, !(value.isFinite && value >= 0 && value <= 100_000) {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "prices are USD per million tokens, 0...100000")
            }
        }
        guard !id.isEmpty, id.utf8.count <= 256 else {
            throw DecodingError.dataCorruptedError(forKey: .id, in: c, debugDescription: "id must be the provider's model id")
        }
        guard (1...1_000_000).contains(defaultMaxTokens) else {
            throw DecodingError.dataCorruptedError(forKey: .defaultMaxTokens, in: c, debugDescription: "default_max_tokens must be 1...1000000")
        }
    }
}
