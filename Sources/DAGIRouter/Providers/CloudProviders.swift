import Foundation
import Logging
import MeshCore

/// The cloud side of routing, resolved once at start: the providers whose keys are in the
/// environment, and the cloud models agents may name, each with its price.
///
/// Keys live here and in the upstream requests' headers only: never in the store, a log, a
/// metric, an error or a child process (`description` of a provider is redacted).
public struct CloudProviders: Sendable {
    public struct Provider: Sendable, CustomStringConvertible {
        public let name: String
        public let kind: ProviderConfig.Kind
        let target: UpstreamTarget
        let key: String
        public var baseURL: String { target.description }
        public var description: String { "\(name) (\(kind.rawValue), \(target), key redacted)" }
    }

    /// A model agents can name, and where it runs.
    public struct Model: Sendable {
        /// The name agents use (`claude-haiku`), or `provider/id` for a pin.
        public let name: String
        public let provider: String
        /// The provider's own id (`claude-haiku-4-5`).
        public let id: String
        public let price: Price
        let defaultMaxTokens: Int
    }

    public let providers: [String: Provider]
    public let models: [String: Model]
    /// Configured providers without a key in the environment, and why they are off.
    public let disabled: [String: String]

    public static let none = CloudProviders(providers: [:], models: [:], disabled: [:])

    init(providers: [String: Provider], models: [String: Model], disabled: [String: String]) {
        self.providers = providers
        self.models = models
        self.disabled = disabled
    }

    /// Resolves the config: each provider's key from its `key_env` (a provider without one is
    /// off, and said so), each cloud model's price from its entry or the built-in table.
    public init(
        providers configs: [String: ProviderConfig], models modelConfigs: [String: CloudModelConfig],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        var providers: [String: Provider] = [:]
        var disabled: [String: String] = [:]
        for (name, config) in configs {
            guard let key = environment[config.keyEnv], !key.isEmpty else {
                disabled[name] = "$\(config.keyEnv) is not set"
                continue
            }
            guard let target = UpstreamTarget(baseURL: config.baseURL.base) else {
                disabled[name] = "base_url \(config.baseURL) is not an http(s) URL"
                continue
            }
            providers[name] = Provider(name: name, kind: config.kind, target: target, key: key)
        }
        var models: [String: Model] = [:]
        for (name, config) in modelConfigs {
            let known = PriceTable.price(of: config.id)
            let price = Price(
                input: config.input ?? known?.input ?? 0, cachedInput: config.cachedInput ?? known?.cachedInput,
                cacheWrite: config.cacheWrite ?? known?.cacheWrite, output: config.output ?? known?.output ?? 0
            )
            models[name] = Model(name: name, provider: config.provider, id: config.id, price: price, defaultMaxTokens: config.defaultMaxTokens)
        }
        self.init(providers: providers, models: models, disabled: disabled)
    }

    /// A model pinned as `provider/id`: the configured cloud model of that provider with this
    /// name or id, else the provider's own id at its built-in price.
    func pinned(provider: String, model: String) -> Model? {
        guard providers[provider] != nil || disabled[provider] != nil else { return nil }
        if let configured = models[model], configured.provider == provider { return configured }
        if let configured = models.values.first(where: { $0.provider == provider && $0.id == model }) { return configured }
        // Any other id a caller names would be a new health entry, metrics label and unpriced
        // cost each time: a pin reaches configured models and the price table's own ids only.
        guard let price = PriceTable.builtIn[model] else { return nil }
        return Model(name: "\(provider)/\(model)", provider: provider, id: model, price: price, defaultMaxTokens: 4096)
    }

    /// The price of a cloud model's id, for the savings of requests served elsewhere.
    func price(ofModelNamed name: String) -> Price? {
        models[name]?.price ?? PriceTable.price(of: name)
    }
}
