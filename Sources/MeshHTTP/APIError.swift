import MeshCore
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore

/// An error answered in OpenAI's shape, which every OpenAI client library parses:
///
///     {"error": {"message": "...", "type": "invalid_request_error", "param": null,
///                "code": "model_not_found", "request_id": "req_..."}}
///
/// `code` is stable and machine-readable; `message` is for people and never holds secrets.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var param: String?
    /// Extra response headers (e.g. `Retry-After`).
    public var headers: HTTPFields
    /// Extra fields inside the `error` object (e.g. per-candidate reasons).
    public var details: [String: JSONValue]

    public init(
        status: HTTPResponse.Status, code: String, message: String, param: String? = nil, headers: HTTPFields = [:],
        details: [String: JSONValue] = [:]
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers
        self.details = details
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    /// OpenAI's error `type` for a status.
    public var type: String {
        switch status.code {
        case 400, 404, 413, 422: return "invalid_request_error"
        case 401: return "authentication_error"
        case 403: return "permission_error"
        case 429: return "rate_limit_error"
        case 500: return "server_error"
        default: return status.code >= 500 ? "api_error" : "invalid_request_error"
        }
    }

    /// The JSON body.
    public func body(requestID: String) -> [UInt8] {
        var error: [String: JSONValue] = details
        error["message"] = .string(message)
        error["type"] = .string(type)
        error["param"] = param.map(JSONValue.string) ?? .null
        error["code"] = .string(code)
        error["request_id"] = .string(requestID)
        return JSONValue.object(["error": .object(error)]).serialized()
    }

    /// Ollama's error body: `{"error": "message"}` (with the code and request id beside it).
    public func ollamaBody(requestID: String) -> [UInt8] {
        JSONValue.object(["error": .string(message), "code": .string(code), "request_id": .string(requestID)]).serialized()
    }

    /// Anthropic's error body: `{"type": "error", "error": {"type": ..., "message": ...}}`, with
    /// the request id beside it and our code inside.
    public func anthropicBody(requestID: String) -> [UInt8] {
        let kind: String
        switch status.code {
        case 401: kind = "authentication_error"
        case 403: kind = "permission_error"
        case 404: kind = "not_found_error"
        case 413: kind = "request_too_large"
        case 429: kind = "rate_limit_error"
        case 503, 529: kind = "overloaded_error"
        case 500...: kind = "api_error"
        default: kind = "invalid_request_error"
        }
        return JSONValue.object([
            "type": "error", "error": ["type": .string(kind), "message": .string(message), "code": .string(code)],
            "request_id": .string(requestID),
        ]).serialized()
    }

    /// The LLM proxy's (a FastAPI service) error body: `{"detail": "message"}`, with the code
    /// and request id beside it.
    public func detailBody(requestID: String) -> [UInt8] {
        JSONValue.object(["detail": .string(message), "code": .string(code), "request_id": .string(requestID)]).serialized()
    }

    /// The AI provider service's error body: `{"error", "error_code", "timestamp", "request_id",
    /// "context"}`, its code in capitals (`RATE_LIMIT_EXCEEDED`).
    public func providerServiceBody(requestID: String, now: Date = Date()) -> [UInt8] {
        var context = details.filter { $0.key != "suggestions" }
        context["status"] = .int(Int64(status.code))
        if let param { context["param"] = .string(param) }
        return JSONValue.object([
            "error": .string(message), "error_code": .string(code.uppercased()), "timestamp": .unixTime(now),
            "request_id": .string(requestID), "context": .object(context),
        ]).serialized()
    }

    /// Which API's error shape a client expects.
    public enum Style: Sendable {
        case openAI, ollama, anthropic
        /// The LLM proxy's `{"detail": ...}`.
        case detail
        /// The AI provider service's `{"error", "error_code", ...}`.
        case providerService

        /// The shape of errors answered on `path`: the compatibility APIs' own (`/internal/llm/`,
        /// `/api/v1/`), Ollama's on the rest of `/api/`, OpenAI's elsewhere.
        public init(path: some StringProtocol) {
            if path.hasPrefix("/api/v1/") {
                self = .providerService
            } else if path.hasPrefix("/api/") {
                self = .ollama
            } else if path.hasPrefix("/internal/llm/") {
                self = .detail
            } else {
                self = .openAI
            }
        }
    }

    /// The body in `style`'s shape.
    public func body(requestID: String, style: Style) -> [UInt8] {
        switch style {
        case .openAI: return body(requestID: requestID)
        case .ollama: return ollamaBody(requestID: requestID)
        case .anthropic: return anthropicBody(requestID: requestID)
        case .detail: return detailBody(requestID: requestID)
        case .providerService: return providerServiceBody(requestID: requestID)
        }
    }

    public func response(requestID: String, style: Style = .openAI) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        fields[.requestID] = requestID
        let bytes = body(requestID: requestID, style: style)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// A default code for a bare status.
    public static func code(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: return "bad_request"
        case 401: return "unauthorized"
        case 403: return "forbidden"
        case 404: return "not_found"
        case 405: return "method_not_allowed"
        case 413: return "body_too_large"
        case 429: return "rate_limited"
        case 502: return "bad_gateway"
        case 503: return "unavailable"
        case 504: return "timeout"
        default: return status.code >= 500 ? "internal_error" : "bad_request"
        }
    }

    public static func badRequest(_ message: String, code: String = "bad_request", param: String? = nil) -> APIError {
        APIError(status: .badRequest, code: code, message: message, param: param)
    }

    public static func notFound(_ message: String, code: String = "not_found") -> APIError {
        APIError(status: .notFound, code: code, message: message)
    }
}
