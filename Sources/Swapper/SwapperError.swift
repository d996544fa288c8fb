import MeshCore
import MeshHTTP

/// Why the Swapper could not serve a request, each mapped to an OpenAI-shaped HTTP error.
public enum SwapperError: Error, Sendable, CustomStringConvertible {
    case unknownModel(String, known: [String])
    case queueFull(String, limit: Int)
    case startFailed(String, reason: String, output: [String])
    case timedOut(String, waitingFor: String)
    case noRoom(String, reason: String)
    case shuttingDown

    public var description: String { apiError.message }

    public var apiError: APIError {
        switch self {
        case .unknownModel(let name, let known):
            return APIError(
                status: .notFound, code: "model_not_found",
                message: "model \"\(name)\" is not configured in the swapper" + (known.isEmpty ? "" : " (known: \(known.joined(separator: ", ")))")
            )
        case .queueFull(let name, let limit):
            return APIError(
                status: .tooManyRequests, code: "model_queue_full",
                message: "\(limit) requests are already waiting for \(name); retry shortly", headers: [.retryAfter: "1"]
            )
        case .startFailed(let name, let reason, let output):
            let tail = output.suffix(15).joined(separator: "\n")
            return APIError(
                status: .badGateway, code: "model_start_failed",
                message: "model \(name) failed to start: \(reason)" + (tail.isEmpty ? "" : "\n--- last output ---\n\(tail)")
            )
        case .timedOut(let name, let what):
            return APIError(status: .gatewayTimeout, code: "model_timeout", message: "timed out waiting for \(what) of \(name)")
        case .noRoom(let name, let reason):
            return APIError(status: .serviceUnavailable, code: "model_no_room", message: "cannot load \(name): \(reason)")
        case .shuttingDown:
            return APIError(status: .serviceUnavailable, code: "shutting_down", message: "the node is shutting down")
        }
    }
}
