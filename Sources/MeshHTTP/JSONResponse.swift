import MeshCore
import Foundation
import Hummingbird
import NIOCore

/// JSON responses for the API's own documents (status, nodes, agents), encoded with snake_case
/// keys declared by each type's `CodingKeys`.
public enum JSONResponse {
    /// Sorted keys, slashes unescaped: the JSON every document of the node uses.
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return make(bytes: ByteBuffer(bytes: data), status: status)
    }

    public static func make(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        make(bytes: ByteBuffer(bytes: value.serialized()), status: status)
    }

    public static func make(bytes: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: bytes))
    }
}
