import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore

/// A fast OpenAI-compatible upstream for router benchmarks: a fixed chat completion, or a
/// short SSE stream, answered as fast as the server can.
struct MockUpstream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mock-upstream", abstract: "Serve a fixed, fast OpenAI answer.")

    @Option var port: Int
    @Option(help: "Stream chunks, 0 for none.") var chunks = 8

    func run() async throws {
        let completion = ByteBuffer(string: """
            {"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"mock","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! This is a fixed answer from the benchmark upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":12,"total_tokens":24}}
            """)
        var stream = ""
        for i in 0..<chunks {
            stream += "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"mock\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok\(i) \"},\"finish_reason\":null}]}\n\n"
        }
        stream += "data: [DONE]\n\n"
        let sse = ByteBuffer(string: stream)
        let router = Router()
        router.get("/health") { _, _ in "ok" }
        for path in ["/v1/chat/completions", "/v1/completions"] {
            router.post(RouterPath(path)) { request, _ -> Response in
                var request = request
                let body = try await request.collectBody(upTo: 1 << 20)
                let text = String(buffer: body).replacingOccurrences(of: " ", with: "")
                let streaming = text.contains("\"stream\":true")
                if streaming {
                    return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: .init(byteBuffer: sse))
                }
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: completion))
            }
        }
        var logger = Logger(label: "mock-upstream")
        logger.logLevel = .error
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        try await app.runService()
    }
}
