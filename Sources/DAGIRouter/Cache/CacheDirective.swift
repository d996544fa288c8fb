import Crypto
import HTTPTypes
import MeshCore
import MeshHTTP
import NIOCore

/// The identity of an answer in the cache: a SHA-256 over the normalised request.
struct CacheKey: Hashable, Sendable, CustomStringConvertible {
    /// 64 lowercase hex digits (the cache file's key).
    let hex: String

    init?(hex: String) {
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        self.hex = hex
    }

    init(digest: SHA256.Digest) {
        hex = digest.map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]], as: UTF8.self)
        }.joined()
    }

    var description: String { String(hex.prefix(12)) }
}

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
    static func of(
        endpoint: Endpoint, compat: CompatCall?, head: HTTPRequest, body: ByteBuffer, fields: RequestFields, stream: Bool, agent: String,
        minIntervalMs: Int64? = nil, config: CacheConfig
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
        guard let key = key(endpoint: endpoint, compat: compat, stream: stream, scope: config.shared ? nil : agent, body: body) else { return nil }
        return CacheDirective(
            key: key, lookup: lookup, keep: keep, maxAgeMs: deterministic ? nil : minIntervalMs,
            keepMs: max(config.ttl.milliseconds, minIntervalMs ?? 0)
        )
    }

    /// The key: the API and the answer's form (whole or streamed, they differ byte for byte),
    /// the agent unless answers are shared, and the body as canonical JSON (keys sorted, no
    /// spacing) without `stream` — so every parameter, provider- and Ollama-specific options
    /// and tools included, is part of it. Nil for a body that is not a JSON object.
    static func key(endpoint: Endpoint, compat: CompatCall?, stream: Bool, scope: String?, body: ByteBuffer) -> CacheKey? {
        guard case .object(var object)? = try? JSONValue.parse(body.readableBytesView) else { return nil }
        object["stream"] = nil
        var hasher = SHA256()
        let compatPart = compat.map { "\($0.api)\u{0}\($0.model)" } ?? ""
        hasher.update(data: Array("\(endpoint.rawValue)\u{0}\(compatPart)\u{0}\(stream)\u{0}\(scope ?? "*")\u{0}".utf8))
        hasher.update(data: JSONValue.object(object).serialized())
        return CacheKey(digest: hasher.finalize())
    }
}
