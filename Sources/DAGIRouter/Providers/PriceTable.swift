/// USD per million tokens of one model: fresh input, input read from a cache, input written to a
/// cache, output.
public struct Price: Sendable, Equatable, Codable {
    public var input: Double
    public var cachedInput: Double
    public var cacheWrite: Double
    public var output: Double

    public init(input: Double, cachedInput: Double? = nil, cacheWrite: Double? = nil, output: Double) {
        self.input = input
        self.cachedInput = cachedInput ?? input
        // Anthropic's 5-minute cache writes cost 1.25 × input; providers without explicit cache
        // writes never report any, so the default is harmless there.
        self.cacheWrite = cacheWrite ?? input * 1.25
        self.output = output
    }

    public static let free = Price(input: 0, cachedInput: 0, cacheWrite: 0, output: 0)

    /// What `usage` cost: (prompt − cached − cache-write) · input + cached · cached_input +
    /// cache-write · cache_write + completion · output, per million tokens. Counts are clamped
    /// and the sum is finite.
    func cost(of usage: TokenUsage) -> Double {
        let fresh = max(0, usage.prompt - usage.cached - usage.cacheWrite)
        let total = Double(fresh) * input + Double(usage.cached) * cachedInput + Double(usage.cacheWrite) * cacheWrite
            + Double(usage.completion) * output
        return total / 1_000_000
    }

    /// What `usage` would have cost with no prompt cache: every input token at the input price.
    func uncachedCost(of usage: TokenUsage) -> Double {
        (Double(usage.prompt) * input + Double(usage.completion) * output) / 1_000_000
    }

    enum CodingKeys: String, CodingKey { case input, cachedInput = "cached_input", cacheWrite = "cache_write", output }
}

/// The prices the router knows without being told, for the common models of each provider.
///
/// Dated: as each provider published them in 2025 (checked against public summaries of the
/// providers' pricing pages, 2026-06). Prices change; `cloud_models:` entries override these, and
/// an unknown model costs nothing until it is priced in the config.
enum PriceTable {
    static let asOf = "2026-06"

    static let builtIn: [String: Price] = [
        // OpenAI
        "gpt-5": Price(input: 1.25, cachedInput: 0.125, output: 10),
        "gpt-5-mini": Price(input: 0.25, cachedInput: 0.025, output: 2),
        "gpt-5-nano": Price(input: 0.05, cachedInput: 0.005, output: 0.40),
        "gpt-4.1": Price(input: 2, cachedInput: 0.50, output: 8),
        "gpt-4.1-mini": Price(input: 0.40, cachedInput: 0.10, output: 1.60),
        "gpt-4.1-nano": Price(input: 0.10, cachedInput: 0.025, output: 0.40),
        "gpt-4o": Price(input: 2.50, cachedInput: 1.25, output: 10),
        "gpt-4o-mini": Price(input: 0.15, cachedInput: 0.075, output: 0.60),
        "o3": Price(input: 2, cachedInput: 0.50, output: 8),
        "o4-mini": Price(input: 1.10, cachedInput: 0.275, output: 4.40),
        "text-embedding-3-small": Price(input: 0.02, output: 0),
        "text-embedding-3-large": Price(input: 0.13, output: 0),
        // Anthropic (5-minute cache writes at 1.25 × input, reads at 0.1 ×)
        "claude-opus-4-1": Price(input: 15, cachedInput: 1.50, cacheWrite: 18.75, output: 75),
        "claude-opus-4-5": Price(input: 5, cachedInput: 0.50, cacheWrite: 6.25, output: 25),
        "claude-sonnet-4-5": Price(input: 3, cachedInput: 0.30, cacheWrite: 3.75, output: 15),
        "claude-sonnet-4": Price(input: 3, cachedInput: 0.30, cacheWrite: 3.75, output: 15),
        "claude-haiku-4-5": Price(input: 1, cachedInput: 0.10, cacheWrite: 1.25, output: 5),
        "claude-3-5-haiku": Price(input: 0.80, cachedInput: 0.08, cacheWrite: 1, output: 4),
        // Google (prompts up to 200k tokens)
        "gemini-2.5-pro": Price(input: 1.25, cachedInput: 0.125, output: 10),
        "gemini-2.5-flash": Price(input: 0.30, cachedInput: 0.03, output: 2.50),
        "gemini-2.5-flash-lite": Price(input: 0.10, cachedInput: 0.01, output: 0.40),
        "gemini-2.0-flash": Price(input: 0.10, cachedInput: 0.025, output: 0.40),
        // DeepSeek (cache hits are the cached rate)
        "deepseek-chat": Price(input: 0.28, cachedInput: 0.028, output: 0.42),
        "deepseek-reasoner": Price(input: 0.28, cachedInput: 0.028, output: 0.42),
    ]

    /// The built-in price of a provider's model id; a dated id (`claude-haiku-4-5-20251001`,
    /// `gpt-4o-2024-08-06`) takes the price of the longest listed id it starts with.
    static func price(of id: String) -> Price? {
        if let exact = builtIn[id] { return exact }
        return builtIn.filter { id.hasPrefix($0.key + "-") }.max { $0.key.count < $1.key.count }?.value
    }
}
