import Foundation
import HTTPTypes
import MeshCore
import MeshHTTP
import NIOCore
import Testing
@testable import DAGIRouter

/// The compatibility APIs' requests read into the OpenAI chat requests they stand for, their
/// paths, and their answers in their own shapes.
@Suite struct CompatRequestTests {
    let config = CompatConfig(llmProxy: true, providerService: true)
    let proxy = CompatRoute(api: .llmProxy, provider: nil)
    let service = CompatRoute(api: .providerService, provider: nil)

    func head(agent: String? = nil) -> HTTPRequest {
        var fields = HTTPFields()
        if let agent { fields[CompatRequest.agentHeader] = agent }
        return HTTPRequest(method: .post, scheme: "http", authority: "n", path: "/", headerFields: fields)
    }

    func read(_ json: String, route: CompatRoute, agent: String? = nil, config: CompatConfig? = nil) throws -> (JSONValue, String?) {
        let request = try CompatRequest.read(ByteBuffer(string: json), route: route, head: head(agent: agent), config: config ?? self.config, localNode: "n1")
        return (try JSONValue.parse(request.body.readableBytesView), request.agentID)
    }

    @Test func theProxysFieldsAreTakenOutAndTheRestGoesOn() throws {
        let (body, agent) = try read(
            #"{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":100,"temperature":0.7,"metadata":{"agent_id":"agent:sofia","microdao_id":"microdao:7"},"stream":true}"#,
            route: proxy
        )
        #expect(agent == "agent:sofia")
        #expect(body == ["model": "gpt-4.1-mini", "messages": [["role": "user", "content": "hi"]], "max_tokens": 100, "temperature": 0.7])
    }

    @Test func theProviderServiceNamesItsAgentInAHeaderAndMayStream() throws {
        let (body, agent) = try read(
            #"{"model":"gpt-3.5-turbo","messages":[],"stream":true,"metadata":{"agent_id":"agent:other"}}"#, route: service, agent: "agent:sofia"
        )
        #expect(agent == "agent:sofia", "the header wins")
        #expect(body["stream"] == true)
        #expect(body["stream_options"] == ["include_usage": true])
    }

    @Test func aProviderPinsTheModel() throws {
        #expect(try read(#"{"model":"m","messages":[],"provider":"openai"}"#, route: service).0["model"] == "openai/m")
        #expect(try read(#"{"model":"m","messages":[],"provider":"local"}"#, route: service).0["model"] == "n1/m", "the proxy's `local` is this node")
        // The path's provider wins over the body's; a model already pinned stays as it is.
        let pinned = CompatRoute(api: .providerService, provider: "anthropic")
        #expect(try read(#"{"model":"m","messages":[],"provider":"openai"}"#, route: pinned).0["model"] == "anthropic/m")
        #expect(try read(#"{"model":"anthropic/m","messages":[]}"#, route: pinned).0["model"] == "anthropic/m")
    }

    @Test func aMissingModelIsTheConfiguredDefaultOnTheProviderServiceOnly() throws {
        let withDefault = CompatConfig(llmProxy: true, providerService: true, defaultModel: "gpt-3.5-turbo")
        #expect(try read(#"{"messages":[]}"#, route: service, config: withDefault).0["model"] == "gpt-3.5-turbo")
        #expect(throws: APIError.self) { try read(#"{"messages":[]}"#, route: proxy, config: withDefault) }
        #expect(throws: APIError.self) { try read(#"{"messages":[]}"#, route: service) }
    }

    @Test func wrongTypesAreRefused() {
        let cases: [(String, String)] = [
            (#"[1]"#, "invalid_json"), (#"{"model":"m""#, "invalid_json"), (#"{"model":"m","metadata":3}"#, "invalid_type"),
            (#"{"model":"m","metadata":{"agent_id":5}}"#, "invalid_type"), (#"{"model":"m","provider":"a/b"}"#, "invalid_provider"),
            (#"{"model":"m","provider":7}"#, "invalid_provider"), (#"{"model":7}"#, "invalid_model"),
            ("{\"model\":\"m\",\"metadata\":{\"agent_id\":\"" + String(repeating: "a", count: 300) + "\"}}", "invalid_agent"),
        ]
        for (body, code) in cases {
            do {
                _ = try read(body, route: proxy)
                Issue.record("accepted: \(body)")
            } catch let error as APIError {
                #expect(error.status == .badRequest && error.code == code, "\(body): \(error)")
            } catch {
                Issue.record("\(body): \(error)")
            }
        }
    }

    @Test func agentIDsAreMeshNames() {
        #expect(CompatAgentID.name("agent:sofia") == "sofia")
        #expect(CompatAgentID.name("sofia") == "sofia")
        #expect(CompatAgentID.name("agent:") == nil)
        #expect(CompatAgentID.name("agent:a b") == nil)
        #expect(CompatAgentID.name("microdao:7") == nil)
    }

    @Test func onlyTheEnabledAPIsPathsAreRouted() {
        let both = config
        #expect(CompatRoute.match(method: .post, path: "/internal/llm/proxy", config: both) == proxy)
        #expect(CompatRoute.match(method: .post, path: "/api/v1/completion?x=1", config: both) == service)
        #expect(CompatRoute.match(method: .post, path: "/api/v1/providers/openai/completion", config: both) == CompatRoute(api: .providerService, provider: "openai"))
        #expect(CompatRoute.match(method: .post, path: "/api/v1/providers/a%2Fb/completion", config: both) == nil)
        #expect(CompatRoute.match(method: .post, path: "/api/v1/providers//completion", config: both) == nil)
        #expect(CompatRoute.match(method: .get, path: "/internal/llm/proxy", config: both) == nil)
        #expect(CompatRoute.match(method: .post, path: "/internal/llm/proxy", config: CompatConfig(providerService: true)) == nil)
        #expect(CompatRoute.match(method: .post, path: "/api/v1/completion", config: CompatConfig(llmProxy: true)) == nil)
        #expect(CompatRoute.match(method: .post, path: "/api/v1/completion", config: CompatConfig()) == nil)
    }

    @Test func answersAreWrittenInEachServicesShape() throws {
        let completion: JSONValue = [
            "model": "/models/x.gguf", "choices": [["message": ["role": "assistant", "content": "hello"], "finish_reason": "stop"]],
            "usage": ["prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500],
        ]
        let request = InferenceRequest(
            endpoint: .chatCompletions, head: head(), body: ByteBuffer(), fields: RequestFields(model: "openai/gpt-x"), caller: .agent("a"),
            requestID: "r", started: .now, stream: false, keepAlive: true, compat: CompatCall(api: .providerService, model: "gpt-x"),
            rateLimitHeaders: nil
        )
        let candidate = Candidate(node: "n1", place: .provider, model: "gpt-x-2025", source: .swapper, loaded: false, baseURL: "http://p", provider: "openai")
        let serving = CompatServing(request.compat!, started: request.started, candidate: candidate, price: Price(input: 2, output: 8))
        let proxied = try JSONValue.parse(LLMProxyClient(serving: serving).render(completion: completion))
        #expect(proxied["content"] == "hello" && proxied["provider"] == "openai" && proxied["model_resolved"] == "gpt-x-2025")
        #expect(proxied["usage"] == ["prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500])
        let served = try JSONValue.parse(ProviderServiceClient(serving: serving).render(completion: completion))
        #expect(served["model"] == "gpt-x", "the name the client gave")
        #expect(served["cost_estimate"]?.doubleValue == 0.006)
        // A mesh model reports the node that served it.
        let local = Candidate(node: "n2", place: .remote, model: "smollm2", source: .swapper, loaded: true, baseURL: "http://n2")
        let served2 = CompatServing(request.compat!, started: request.started, candidate: local, price: .free)
        #expect(try JSONValue.parse(LLMProxyClient(serving: served2).render(completion: completion))["provider"] == "n2")
    }

    @Test func errorsHaveEachServicesShape() throws {
        let error = APIError(status: .tooManyRequests, code: "rate_limit_exceeded", message: "slow down", param: "model")
        let detail = try JSONValue.parse(error.body(requestID: "req_1", style: .detail))
        #expect(detail == ["detail": "slow down", "code": "rate_limit_exceeded", "request_id": "req_1"])
        let service = try JSONValue.parse(error.providerServiceBody(requestID: "req_1", now: Date(timeIntervalSince1970: 1640995200)))
        #expect(service == [
            "error": "slow down", "error_code": "RATE_LIMIT_EXCEEDED", "timestamp": 1640995200.0, "request_id": "req_1",
            "context": ["status": 429, "param": "model"],
        ])
        #expect(APIError.Style(path: "/api/v1/models") == .providerService)
        #expect(APIError.Style(path: "/api/tags") == .ollama)
        #expect(APIError.Style(path: "/internal/llm/usage") == .detail)
        #expect(APIError.Style(path: "/v1/models") == .openAI)
    }
}
