import HTTPTypes
import MeshCore
import MeshHTTP

/// A compatibility API's completion request line: which API, and the provider its path pins.
struct CompatRoute: Sendable, Equatable {
    let api: CompatAPI
    /// `/api/v1/providers/{name}/completion`'s name.
    let provider: String?

    static let proxyPath = "/internal/llm/proxy"
    static let completionPath = "/api/v1/completion"
    static let providersPrefix = "/api/v1/providers/"

    /// The route of a request line, when it is one of the enabled APIs' completion endpoints.
    static func match(method: HTTPRequest.Method, path: String?, config: CompatConfig) -> CompatRoute? {
        guard config.isEnabled, method == .post, let path else { return nil }
        let bare = path.utf8.firstIndex(of: UInt8(ascii: "?")).map { path[..<$0] } ?? path[...]
        if config.llmProxy, bare == proxyPath { return CompatRoute(api: .llmProxy, provider: nil) }
        guard config.providerService else { return nil }
        if bare == completionPath { return CompatRoute(api: .providerService, provider: nil) }
        guard bare.hasPrefix(providersPrefix), bare.hasSuffix("/completion") else { return nil }
        let name = bare.dropFirst(providersPrefix.count).dropLast("/completion".count)
        // An invalid name matches nothing (a 404), as an unknown path would.
        guard MeshName.isValid(name) else { return nil }
        return CompatRoute(api: .providerService, provider: String(name))
    }
}
