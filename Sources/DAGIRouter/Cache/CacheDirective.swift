import Crypto
import HTTPTypes
import MeshCore
import MeshHTTP
import MeshStore
import NIOCore

/// What one request asks of the cache: its key, whether a kept answer may serve it, whether its
/// own answer may be kept. Nil on a request the cache leaves alone (sampled, opted out, a hop,
/// the cache off).
struct CacheDirective: Sendable {
    let key: CacheKey
    /// False with `Cache-Control: no-cache`: a fresh answer is wanted (it may still be kept).
    let lookup: Bool
    /// False with `Cache-Control: no-store`: the answer is not kept.
    let keep: Bool
    /// The oldest answer that may serve it, in milliseconds (a sampled request under its agent's
    /// `min_interval`); nil: any fresh one.
    var maxAgeMs: Int64?
    /// How long its answer is kept.
    var keepMs: Int64

    static let header = HTTPField.Name("x-dagi-cache")!

    /// The directive of an admitted request, or nil. Reads the whole body only for a request
    /// that is cacheable (temperature 0, an embedding, forced, or under its agent's
    /// `min_interval`), so sampled requests pay one header lookup.
    ///
    /// - Parameter agent: the agent's name, and (for `shared: true`) what of its policy decides
    ///   where its requests may go.
    static func of(
        endpoint: Endpoint, compat: CompatCall?, head: HTTPRequest, body: ByteBuffer, fields: RequestFields, stream: Bool,
        agent: (name: String, routing: String), minIntervalMs: Int64? = nil, config: CacheConfig
    ) -> CacheDirective? {
        guard config.enabled else { return nil }
        let asked = head.headerFields[header]?.lowercased()
        if asked == "off" { return nil }
        let deterministic = asked == "force" || fields.temperature == 0 || endpoint.isEmbedding
        guard deterministic || minIntervalMs != nil else { return nil }
        var lookup = true
        var keep = true
        for value in head.headerFields[values: .cacheControl] {
            for token in value.split(separator: ",") {
                switch token.trimmingCharacters(in: .whitespaces).lowercased() {
                case "no-cache": lookup = false
                case "no-store": keep = false
                default: break
                }
            }
        }
        let scope: Scope = config.shared ? .shared(routing: agent.routing) : .agent(agent.name)
        guard let key = key(endpoint: endpoint, compat: compat, stream: stream, scope: scope, body: body) else { return nil }
        return CacheDirective(
            key: key, lookup: lookup, keep: keep, maxAgeMs: deterministic ? nil : minIntervalMs,
            keepMs: max(config.ttl.milliseconds, minIntervalMs ?? 0)
        )
    }

    /// Whose answers a key finds.
    enum Scope {
        /// One agent's own (the default).
        case agent(String)
        /// Every agent's whose requests may go to the same places (`cache.shared: true`).
        case shared(routing: String)
    }

    /// The key: the API and the answer's form (whole or streamed, they differ byte for byte),
    /// the scope, and the body — each part length-prefixed, so no two requests run together.
    ///
    /// An agent's own body is taken as canonical JSON (keys sorted, no spacing, `stream` aside),
    /// so every parameter, provider- and Ollama-specific options and tools included, is part of
    /// it and spelling is not. Shared answers key on the exact bytes instead: canonical JSON
    /// loses what some upstreams read (a duplicated key, a number past a double), which would
    /// let one agent's crafted body stand for another's request. Nil for a body that is not a
    /// JSON object.
    static func key(endpoint: Endpoint, compat: CompatCall?, stream: Bool, scope: Scope, body: ByteBuffer) -> CacheKey? {
        guard case .object(var object)? = try? JSONValue.parse(body.readableBytesView) else { return nil }
        var hasher = SHA256()
        func field(_ text: String) { hasher.update(data: Array("\(text.utf8.count):\(text);".utf8)) }
        field(endpoint.rawValue)
        field(compat.map { "\($0.api)" } ?? "")
        field(compat?.model ?? "")
        field(stream ? "stream" : "whole")
        switch scope {
        case .agent(let name):
            field("agent")
            field(name)
            object["stream"] = nil
            hasher.update(data: JSONValue.object(object).serialized())
        case .shared(let routing):
            field("shared")
            field(routing)
            hasher.update(data: Array(body.readableBytesView))
        }
        return CacheKey(digest: hasher.finalize())
    }

    /// What of an agent's policy decides where its requests may go: agents that share answers
    /// share them only with agents alike in this.
    static func routing(of agent: AgentRecord?, priority: RequestPriority) -> String {
        guard let agent else { return "none" }
        return "cloud=\(agent.allowCloud);tier=\(agent.tier);models=\(agent.allowedModels.joined(separator: ","));prefer=\(agent.preferNodes.joined(separator: ","));priority=\(priority)"
    }
}
