import HTTPTypes
import MeshCore
import MeshHTTP
import NIOCore

/// A compatibility API's completion request as the OpenAI chat request it stands for, and the
/// agent it names. Everything else in the body (sampling parameters, tools) goes upstream as
/// it came; only the fields of the replaced services (`metadata`, `provider`) are taken out,
/// since OpenAI's API refuses arguments it does not know.
struct CompatRequest {
    /// The OpenAI chat request.
    let body: ByteBuffer
    /// The agent as the caller named it (`X-Agent-Id`, `metadata.agent_id`), if it did.
    let agentID: String?
    /// The model as the client named it (its answer says so), before a `provider` pinned it.
    let model: String

    static let agentHeader = HTTPField.Name("x-agent-id")!

    /// Reads `body`; throws ``APIError`` (400) when it is not a request the replaced service took.
    /// - Parameter localNode: what `provider: local` (the LLM proxy's own name for local models) pins.
    static func read(_ body: ByteBuffer, route: CompatRoute, head: HTTPRequest, config: CompatConfig, localNode: String) throws -> CompatRequest {
        guard case .object(var object) = try RequestTranslation.parse(body) else {
            throw APIError.badRequest("the body must be a JSON object", code: "invalid_json")
        }
        var agentID = route.api == .providerService ? head.headerFields[agentHeader] : nil
        switch object.removeValue(forKey: "metadata") {
        case nil, .null?: break
        case .object(let metadata)?:
            switch metadata["agent_id"] {
            case nil, .null?: break
            case .string(let id)?: agentID = agentID ?? id
            default: throw APIError.badRequest("\"metadata.agent_id\" must be a string", code: "invalid_type", param: "metadata.agent_id")
            }
        default: throw APIError.badRequest("\"metadata\" must be an object", code: "invalid_type", param: "metadata")
        }
        var pin = route.provider
        switch object.removeValue(forKey: "provider") {
        case nil, .null?: break
        case .string(let name)? where MeshName.isValid(name): pin = pin ?? name
        default:
            throw APIError.badRequest("\"provider\" must name a provider or a node (letters, digits, '.', '-', '_')", code: "invalid_provider", param: "provider")
        }
        let model: String
        switch object["model"] {
        case .string(let name)?: model = name
        case nil, .null?:
            guard route.api == .providerService, let fallback = config.defaultModel else { throw APIError.missingField("model") }
            model = fallback
        default: throw APIError.badRequest("\"model\" must be a string", code: "invalid_model", param: "model")
        }
        var routed = model
        if let pin {
            // The LLM proxy called its local models' provider `local`: this node.
            let place = pin == "local" ? localNode : pin
            if !model.hasPrefix(place + "/") { routed = place + "/" + model }
        }
        object["model"] = .string(routed)
        if route.api == .llmProxy {
            // The proxy answers whole.
            object["stream"] = nil
            object["stream_options"] = nil
        } else if object["stream"]?.boolValue == true {
            object["stream_options"] = ["include_usage": true]
        }
        if let agentID, agentID.utf8.count > 256 {
            throw APIError.badRequest("the agent id is longer than 256 bytes", code: "invalid_agent", param: "metadata.agent_id")
        }
        return CompatRequest(body: ByteBuffer(bytes: JSONValue.object(object).serialized()), agentID: agentID, model: model)
    }
}
