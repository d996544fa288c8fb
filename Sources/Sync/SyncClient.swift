import AsyncHTTPClient
import Foundation
import MeshStore
import MeshCore
import MeshHTTP
import NIOCore
import NIOHTTP1

/// Signed sync requests to one peer.
struct SyncClient: Sendable {
    let http: HTTPClient
    let signer: RequestSigner
    let config: MeshConfig
    let clock: HybridLogicalClock

    struct PeerError: Error, CustomStringConvertible {
        let description: String
        /// The peer refused a push as out of order; pull instead.
        var outOfOrder = false
    }

    /// A frame received, with who sent it and its size on the wire.
    struct Received {
        let frame: SyncFrame
        let node: String?
        let wireBytes: Int
        let rawBytes: Int
    }

    func pull(_ peer: String, vector: [String: Int64]) async throws -> Received {
        let body: JSONValue = ["vector": .object(vector.mapValues { .int($0) }), "limit": .int(Int64(config.batchSize))]
        let response = try await send(peer, method: .POST, path: "/sync/pull", body: body.serialized(), contentType: "application/json")
        return try await receiveFrame(response, peer: peer)
    }

    func snapshot(_ peer: String) async throws -> Received {
        let response = try await send(peer, method: .GET, path: "/sync/snapshot", body: [], contentType: nil, timeoutFactor: 6)
        return try await receiveFrame(response, peer: peer)
    }

    /// Pushes a frame; returns what the peer holds afterwards.
    func push(_ peer: String, frame bytes: [UInt8]) async throws -> [String: Int64] {
        let response = try await send(peer, method: .POST, path: "/sync/push", body: bytes, contentType: SyncServer.frameContentType)
        let answer = try await response.body.collect(upTo: 4 << 20)
        let document = try? JSONValue.parse(answer.readableBytesView)
        guard response.status == .ok else {
            throw PeerError(
                description: "push refused: \(response.status.code) \(document?["error"]?["message"]?.stringValue ?? "")",
                outOfOrder: response.status == .conflict
            )
        }
        return Self.vector(document?["vector"])
    }

    func poke(_ peer: String) async throws {
        let response = try await send(peer, method: .POST, path: "/sync/poke", body: Array("{}".utf8), contentType: "application/json", timeoutFactor: 0.2)
        _ = try await response.body.collect(upTo: 64 << 10)
        guard response.status == .accepted else { throw PeerError(description: "poke refused: \(response.status.code)") }
    }

    private func send(
        _ peer: String, method: HTTPMethod, path: String, body: [UInt8], contentType: String?, timeoutFactor: Double = 1
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: peer + path)
        request.method = method
        for (name, value) in signer.headers(method: method.rawValue, path: path, body: body, now: clock.wallMilliseconds()) {
            request.headers.add(name: name, value: value)
        }
        if let contentType { request.headers.add(name: "content-type", value: contentType) }
        if !body.isEmpty { request.body = .bytes(ByteBuffer(bytes: body)) }
        let timeout = TimeAmount.milliseconds(max(500, Int64(Double(config.requestTimeout.milliseconds) * timeoutFactor)))
        return try await http.execute(request, timeout: timeout)
    }

    private func receiveFrame(_ response: HTTPClientResponse, peer: String) async throws -> Received {
        let limit = Int(config.maxFrame.bytes) + SyncFrame.headerSize
        guard response.status == .ok else {
            let text = (try? await response.body.collect(upTo: 64 << 10)).map { String(buffer: $0) } ?? ""
            let message = (try? JSONValue.parse(Array(text.utf8)))?["error"]?["message"]?.stringValue ?? text
            throw PeerError(description: "\(response.status.code) \(message.prefix(300))")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await response.body.collect(upTo: limit)
        } catch {
            throw PeerError(description: "frame from \(peer) exceeds max_frame (\(config.maxFrame))")
        }
        let bytes = Array(buffer.readableBytesView)
        do {
            let frame = try SyncFrame.decode(bytes, maxFrame: Int(config.maxFrame.bytes), maxInflated: Int(config.maxInflated.bytes))
            return Received(
                frame: frame, node: response.headers.first(name: RequestSigner.nodeHeader), wireBytes: bytes.count,
                rawBytes: SyncFrame.declaredInflatedSize(bytes)
            )
        } catch {
            throw PeerError(description: "rejected frame from \(peer): \(error)")
        }
    }

    static func vector(_ value: JSONValue?) -> [String: Int64] {
        var vector: [String: Int64] = [:]
        for (origin, seq) in value?.objectValue ?? [:] { if let n = seq.intValue { vector[origin] = n } }
        return vector
    }
}

extension Dictionary where Key == String, Value == Int64 {
    /// The per-origin maximum of two version vectors.
    func merged(with other: [String: Int64]) -> [String: Int64] {
        merging(other, uniquingKeysWith: Swift.max)
    }
}
