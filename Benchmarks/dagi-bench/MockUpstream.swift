import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A fast upstream for router benchmarks, in three wire formats: OpenAI's chat completions,
/// Anthropic's Messages and Gemini's `generateContent`, each a fixed answer or an SSE stream,
/// answered as fast as the server can. A streamed request's `max_tokens` (Gemini's
/// `maxOutputTokens`) sets its number of content chunks, so a benchmark can measure the cost of
/// one more chunk.
struct MockUpstream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mock-upstream", abstract: "Serve fixed, fast OpenAI, Anthropic and Gemini answers.")

    @Option var port: Int
    @Option(help: "Chunks in a stream whose request names no max_tokens.") var chunks = 8

    func run() async throws {
        let openAI = ByteBuffer(string: """
            {"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"mock","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! This is a fixed answer from the benchmark upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":12,"total_tokens":24}}
            """)
        let anthropic = ByteBuffer(string: """
            {"id":"msg_bench","type":"message","role":"assistant","model":"mock","content":[{"type":"text","text":"Hello! This is a fixed answer from the benchmark upstream."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":12}}
            """)
        let gemini = ByteBuffer(string: """
            {"candidates":[{"content":{"parts":[{"text":"Hello! This is a fixed answer from the benchmark upstream."}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":12,"totalTokenCount":24},"modelVersion":"mock"}
            """)
        let streams = StreamCache(defaultChunks: chunks)
        let served = Atomic<Int>(0)
        let router = Router()
        router.get("/health") { _, _ in "ok" }
        // Chat requests answered so far (the coalescing benchmark counts upstream calls).
        router.get("/count") { _, _ in String(served.load(ordering: .relaxed)) }
        for path in ["/v1/chat/completions", "/v1/completions"] {
            router.post(RouterPath(path)) { request, _ -> Response in
                let body = try await Self.body(request)
                served.add(1, ordering: .relaxed)
                // A slow upstream on request: `"mock_delay_ms": N` in the body.
                if let delay = Self.delay(body) { try await Task.sleep(for: .milliseconds(delay)) }
                guard let chunks = streams.chunks(body, tokensKey: "max_tokens") else { return Self.json(openAI) }
                return Self.sse(streams.stream(.openAI, chunks: chunks))
            }
        }
        router.post("/v1/messages") { request, _ -> Response in
            let body = try await Self.body(request)
            guard let chunks = streams.chunks(body, tokensKey: "max_tokens") else { return Self.json(anthropic) }
            return Self.sse(streams.stream(.anthropic, chunks: chunks))
        }
        // `/v1beta/models/{id}:generateContent` and `:streamGenerateContent?alt=sse`.
        router.post("/v1beta/models/*") { request, _ -> Response in
            let body = try await Self.body(request)
            guard request.uri.path.hasSuffix(":streamGenerateContent") else { return Self.json(gemini) }
            return Self.sse(streams.stream(.gemini, chunks: streams.chunks(body, tokensKey: "maxOutputTokens", streaming: true) ?? chunks))
        }
        var logger = Logger(label: "mock-upstream")
        logger.logLevel = .error
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        try await app.runService()
    }

    static func body(_ request: Request) async throws -> String {
        var request = request
        return String(buffer: try await request.collectBody(upTo: 1 << 20))
    }

    /// The `mock_delay_ms` a body asks for, if any (a plain scan, as for the stream length).
    static func delay(_ body: String) -> Int? {
        guard let range = body.range(of: "\"mock_delay_ms\":") else { return nil }
        return Int(body[range.upperBound...].drop { $0 == " " }.prefix { $0.isNumber }.prefix(5))
    }

    static func json(_ body: ByteBuffer) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }

    static func sse(_ body: ByteBuffer) -> Response {
        Response(status: .ok, headers: [.contentType: "text/event-stream"], body: .init(byteBuffer: body))
    }
}

/// The mock's streams, built once per format and length.
final class StreamCache: Sendable {
    enum Format: Hashable, Sendable { case openAI, anthropic, gemini }

    let defaultChunks: Int
    private let built = Mutex<[Key: ByteBuffer]>([:])

    private struct Key: Hashable { let format: Format, chunks: Int }

    init(defaultChunks: Int) { self.defaultChunks = defaultChunks }

    /// How many chunks a request streams, or nil when it does not stream. (A plain scan: the
    /// mock must stay cheaper than what it measures.)
    func chunks(_ body: String, tokensKey: String, streaming: Bool = false) -> Int? {
        let compact = body.replacingOccurrences(of: " ", with: "")
        guard streaming || compact.contains("\"stream\":true") else { return nil }
        guard let range = compact.range(of: "\"\(tokensKey)\":") else { return defaultChunks }
        let digits = compact[range.upperBound...].prefix { $0.isNumber }.prefix(5)
        return Int(digits).map { min(max($0, 1), 10_000) } ?? defaultChunks
    }

    func stream(_ format: Format, chunks: Int) -> ByteBuffer {
        let key = Key(format: format, chunks: chunks)
        if let cached = built.withLock({ $0[key] }) { return cached }
        let stream = ByteBuffer(string: Self.build(format, chunks: chunks))
        built.withLock { $0[key] = stream }
        return stream
    }

    private static func build(_ format: Format, chunks: Int) -> String {
        var out = ""
        switch format {
        case .openAI:
            for i in 0..<chunks {
                out += "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"mock\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok\(i) \"},\"finish_reason\":null}]}\n\n"
            }
            out += "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"mock\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
            out += "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"mock\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":\(chunks),\"total_tokens\":\(12 + chunks)}}\n\n"
            out += "data: [DONE]\n\n"
        case .anthropic:
            out += "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_bench\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"mock\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n"
            out += "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
            out += "event: ping\ndata: {\"type\":\"ping\"}\n\n"
            for i in 0..<chunks {
                out += "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"tok\(i) \"}}\n\n"
            }
            out += "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
            out += "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":\(chunks)}}\n\n"
            out += "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        case .gemini:
            for i in 0..<chunks {
                let last = i == chunks - 1
                out += "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"tok\(i) \"}],\"role\":\"model\"}\(last ? ",\"finishReason\":\"STOP\"" : ""),\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":12,\"candidatesTokenCount\":\(i + 1),\"totalTokenCount\":\(13 + i)},\"modelVersion\":\"mock\"}\r\n\r\n"
            }
        }
        return out
    }
}
