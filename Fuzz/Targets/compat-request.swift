// Fuzz target: the compatibility APIs' completion requests and answers.
//
// Input: [mode][payload].
//   P  a body to POST /internal/llm/proxy                      -> CompatRequest.read
//   S  a body to POST /api/v1/completion (X-Agent-Id: agent:x) -> CompatRequest.read
//   L  a body to POST /api/v1/providers/local/completion       -> CompatRequest.read
//   A  an upstream's whole OpenAI chat answer                  -> both compatibility answers
// Checked beyond "does not trap": a request read is valid JSON whose top-level fields
// RequestFields reads again, without `metadata` or `provider`; an answer is valid JSON.
@testable import DAGIRouter
import HTTPTypes
import MeshCore
import MeshHTTP
import NIOCore

private let routes: [UInt8: CompatRoute] = [
    UInt8(ascii: "P"): CompatRoute(api: .llmProxy, provider: nil),
    UInt8(ascii: "S"): CompatRoute(api: .providerService, provider: nil),
    UInt8(ascii: "L"): CompatRoute(api: .providerService, provider: "local"),
]
private let config = CompatConfig(llmProxy: true, providerService: true, defaultModel: "gpt-3.5-turbo")
private let head = HTTPRequest(method: .post, scheme: "http", authority: "n", path: "/api/v1/completion", headerFields: [CompatRequest.agentHeader: "agent:x"])
private let candidate = Candidate(node: "n1", place: .provider, model: "gpt-x", source: .swapper, loaded: false, baseURL: "http://p", provider: "openai")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCompatRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let payload = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if let route = routes[data[0]] {
        guard let read = try? CompatRequest.read(ByteBuffer(bytes: payload), route: route, head: head, config: config, localNode: "n1") else { return 0 }
        guard let document = try? JSONValue.parse(read.body.readableBytesView), document["metadata"] == nil, document["provider"] == nil else {
            fatalError("a compatibility request read into something that is not an OpenAI request")
        }
        // What goes on is what admission reads next: its fields must read (or be refused) cleanly.
        _ = try? RequestFields.read(read.body)
        return 0
    }
    guard let answer = try? JSONValue.parse(payload) else { return 0 }
    let request = InferenceRequest(
        endpoint: .chatCompletions, head: head, body: ByteBuffer(), fields: RequestFields(model: "openai/gpt-x"), caller: .agent("x"),
        requestID: "r", started: .now, stream: false, keepAlive: true, compat: CompatCall(api: .llmProxy, model: "gpt-x"), rateLimitHeaders: nil
    )
    let serving = CompatServing(request.compat!, started: request.started, candidate: candidate, price: Price(input: 1, output: 2))
    for bytes in [LLMProxyClient(serving: serving).render(completion: answer), ProviderServiceClient(serving: serving).render(completion: answer)] {
        guard (try? JSONValue.parse(bytes)) != nil else { fatalError("a compatibility answer is not JSON") }
    }
    return 0
}
