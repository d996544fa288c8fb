import Foundation
import HTTPTypes
import Logging
import MeshHTTP
import MeshStore
import NIOCore
import Synchronization
import Testing
@testable import DAGIRouter

/// The cache key (what makes two requests the same) and the cache's bounds: size, entry size,
/// time, and the file that outlives the process.
@Suite struct ResponseCacheTests {
    static func key(_ body: String, endpoint: Endpoint = .chatCompletions, stream: Bool = false, agent: String? = "atlas") -> CacheKey? {
        CacheDirective.key(endpoint: endpoint, compat: nil, stream: stream, scope: agent.map { .agent($0) } ?? .shared(routing: "r"), body: ByteBuffer(string: body))
    }

    @Test func theKeyIsTheRequestNotItsSpelling() throws {
        let base = try #require(Self.key(#"{"model":"m","temperature":0,"messages":[{"role":"user","content":"hi"}],"options":{"num_ctx":2048}}"#))
        // Another order, spacing and an explicit "stream": false are the same request.
        #expect(Self.key(#" { "options": {"num_ctx": 2048}, "messages": [ { "content": "hi", "role": "user" } ], "temperature": 0, "model": "m", "stream": false } "#) == base)
        // Every parameter counts, provider-specific ones too; so do the agent, the API and the form.
        for other in [
            Self.key(#"{"model":"m","temperature":0,"messages":[{"role":"user","content":"hi"}],"options":{"num_ctx":4096}}"#),
            Self.key(#"{"model":"m","temperature":0,"messages":[{"role":"user","content":"hi"}]}"#),
            Self.key(#"{"model":"M","temperature":0,"messages":[{"role":"user","content":"hi"}],"options":{"num_ctx":2048}}"#),
            Self.key(#"{"model":"m","temperature":0,"messages":[{"role":"user","content":"hi"}],"options":{"num_ctx":2048},"tools":[]}"#),
            Self.key(#"{"model":"m","temperature":0,"messages":[{"role":"user","content":"hi"}],"options":{"num_ctx":2048}}"#, agent: "bob"),
            Self.key(#"{"model":"m","temperature":0,"messages":[{"role":"user","content":"hi"}],"options":{"num_ctx":2048}}"#, agent: nil),
            Self.key(#"{"model":"m","temperature":0,"messages":[{"role":"user","content":"hi"}],"options":{"num_ctx":2048}}"#, endpoint: .ollamaChat),
            Self.key(#"{"model":"m","temperature":0,"messages":[{"role":"user","content":"hi"}],"options":{"num_ctx":2048}}"#, stream: true),
        ] {
            #expect(other != nil && other != base)
        }
        // Shared answers key on the exact bytes: a duplicated key (which an upstream may read
        // first-wins) is not the request it canonicalises to.
        let shared = Self.key(#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#, agent: nil)
        #expect(shared != nil && Self.key(#"{"model":"m","messages":[{"role":"user","content":"evil"}],"messages":[{"role":"user","content":"hi"}]}"#, agent: nil) != shared)
        #expect(CacheDirective.key(endpoint: .chatCompletions, compat: nil, stream: false, scope: .shared(routing: "cloud=true"), body: ByteBuffer(string: #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#)) != shared)
        // Not an object: no key (the request goes uncached).
        #expect(Self.key("[1]") == nil)
        #expect(Self.key("{") == nil)
    }

    @Test func onlyDeterministicOrForcedRequestsAreCacheable() throws {
        func directive(_ body: String, endpoint: Endpoint = .chatCompletions, headers: HTTPFields = [:], config: CacheConfig = CacheConfig()) throws -> CacheDirective? {
            let buffer = ByteBuffer(string: body)
            let head = HTTPRequest(method: .post, scheme: "http", authority: "x", path: endpoint.path, headerFields: headers)
            return CacheDirective.of(
                endpoint: endpoint, compat: nil, head: head, body: buffer, fields: try RequestFields.read(buffer), stream: false, agent: ("atlas", ""), config: config
            )
        }
        let zero = #"{"model":"m","temperature":0,"messages":[]}"#
        let sampled = #"{"model":"m","temperature":0.7,"messages":[]}"#
        #expect(try directive(zero)?.lookup == true)
        #expect(try directive(#"{"model":"m","messages":[]}"#) == nil)
        #expect(try directive(sampled) == nil)
        #expect(try directive(#"{"model":"m","options":{"temperature":0},"messages":[]}"#, endpoint: .ollamaChat) != nil)
        #expect(try directive(#"{"model":"m","options":{"temperature":0.8},"messages":[]}"#, endpoint: .ollamaChat) == nil)
        #expect(try directive(#"{"model":"m","input":"x"}"#, endpoint: .embeddings) != nil)
        #expect(try directive(sampled, headers: [CacheDirective.header: "FORCE"]) != nil)
        #expect(try directive(zero, headers: [CacheDirective.header: "off"]) == nil)
        #expect(try directive(zero, headers: [CacheDirective.header: "anything else"]) != nil)
        let fresh = try #require(try directive(zero, headers: [.cacheControl: "max-age=0, No-Cache"]))
        #expect(!fresh.lookup && fresh.keep)
        let unkept = try #require(try directive(zero, headers: [.cacheControl: "no-store"]))
        #expect(unkept.lookup && !unkept.keep)
        #expect(try directive(zero, config: CacheConfig(enabled: false)) == nil)
    }

    static func answer(_ n: Int, bytes: Int = 100, at now: Int64 = 1_000, ttl: Int64 = 60_000) -> CachedAnswer {
        let key = CacheKey(hex: String(repeating: "0", count: 60) + String(format: "%04x", n))!
        return CachedAnswer(
            key: key, contentType: "application/json", streamed: false, body: ByteBuffer(repeating: UInt8(ascii: "a"), count: bytes), model: "m",
            servedBy: "n", provider: nil, usage: TokenUsage(prompt: 3, completion: 4), costUSD: 0.5, savingUSD: 0, createdAt: now, expiresAt: now + ttl
        )
    }

    @Test func theCacheKeepsWithinItsSizeAndTime() async throws {
        let clock = Mutex<Int64>(1_000)
        // Room for three answers of 100 bytes (each weighs 612 with its bound on the rest).
        let cache = ResponseCache(
            config: CacheConfig(maxSize: .init(bytes: 2_000), maxEntrySize: .init(bytes: 1_024)), file: nil, logger: Logger(label: "test"),
            now: { clock.withLock { $0 } }
        )
        for n in 0..<4 { cache.keep(Self.answer(n)) }
        #expect(cache.answer(for: Self.answer(0).key) == nil, "the oldest gave way")
        #expect((1..<4).allSatisfy { cache.answer(for: Self.answer($0).key) != nil })
        // Too large for one entry: not kept, and nothing else lost.
        cache.keep(Self.answer(9, bytes: 1_025))
        #expect(cache.answer(for: Self.answer(9).key) == nil && cache.count == 3)
        // Replacing an answer does not count it twice.
        for _ in 0..<10 { cache.keep(Self.answer(3)) }
        #expect(cache.count == 3)
        // Past the TTL nothing is served.
        clock.withLock { $0 = 1_000 + 60_000 }
        #expect((1..<4).allSatisfy { cache.answer(for: Self.answer($0).key) == nil })
        #expect(cache.count == 0, "expired answers are dropped when asked for")
    }

    @Test func keptAnswersOutliveTheProcessAndABrokenFileIsReplaced() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cache-\(UInt64.random(in: 0...UInt64.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/response-cache.sqlite"
        let config = CacheConfig(maxSize: .init(bytes: 1 << 20))
        let first = ResponseCache(config: config, file: try ResponseCacheFile(path: path), logger: Logger(label: "test"), now: { 2_000 })
        first.keep(Self.answer(1, at: 1_000))
        first.keep(Self.answer(2, at: 1_500, ttl: 100))
        await first.flush()
        // Read back: the fresh one only, byte for byte.
        let second = ResponseCache(config: config, file: try ResponseCacheFile(path: path), logger: Logger(label: "test"), now: { 2_000 })
        await second.load()
        let back = try #require(second.answer(for: Self.answer(1).key))
        #expect(back.body == Self.answer(1).body && back.usage == Self.answer(1).usage && back.costUSD == 0.5)
        #expect(second.answer(for: Self.answer(2).key) == nil)
        // A file that is not ours is replaced, not a reason to fail.
        try Data("not a database".utf8).write(to: URL(fileURLWithPath: path))
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        #expect(try await ResponseCacheFile(path: path).count() == 0)
    }
}
