import Foundation
import MeshCore
import MeshHTTP
import NIOCore

/// How an answer's body is framed, which decides how a failure after the first byte is told to
/// the client: an SSE `error` event, an NDJSON `{"error": …}` line — never a silent truncation.
enum StreamFormat: Equatable {
    case serverSentEvents
    case ndjson
    case whole

    init(contentType: String?) {
        let type = contentType?.lowercased() ?? ""
        if type.contains("text/event-stream") {
            self = .serverSentEvents
        } else if type.contains("ndjson") {
            self = .ndjson
        } else {
            self = .whole
        }
    }

    /// The bytes that end the stream with an error, or nil when the framing cannot carry one.
    func errorTrailer(_ message: String, requestID: String) -> ByteBuffer? {
        switch self {
        case .serverSentEvents:
            let error: JSONValue = ["error": [
                "message": .string(message), "type": "upstream_error", "code": "upstream_stream_failed",
                "request_id": .string(requestID),
            ]]
            return ByteBuffer(string: "event: error\ndata: \(error.jsonString)\n\n")
        case .ndjson:
            let error: JSONValue = ["error": .string(message), "code": "upstream_stream_failed", "request_id": .string(requestID)]
            return ByteBuffer(string: error.jsonString + "\n")
        case .whole:
            return nil
        }
    }
}
