import HTTPTypes
import MeshHTTP

/// Who reads a compatibility API's documents (models, usage, providers, costs).
public enum CompatReader: Sendable, Equatable {
    /// A caller with the internal secret (or, on the provider service's paths, this machine
    /// without credentials).
    case service
    /// An agent by its key: it reads its own usage and costs only.
    case agent(String)
}

extension RequestRouter {
    /// The caller of a compatibility API's document, as its completion endpoint would admit it.
    public func compatReader(_ head: HTTPRequest, api: CompatAPI, loopback: Bool) async throws -> CompatReader {
        // The provider service's documents took no credentials; this machine reads them whole,
        // as it reads the node's own (`/v1/costs`). The LLM proxy's always wanted its secret.
        if api == .providerService, loopback, head.headerFields[InternalSecret.header] == nil, head.headerFields[.authorization] == nil,
           head.headerFields[.xAPIKey] == nil {
            return .service
        }
        switch try await documentCaller({ admission.compatHead(head, api: api, loopback: loopback, keysReloaded: $0) }) {
        case .service: return .service
        case .agent(let agent): return .agent(agent)
        case .hop, .operator, .batch: throw Admission.unauthorized("the API key is not valid for any agent of this node")
        }
    }
}
