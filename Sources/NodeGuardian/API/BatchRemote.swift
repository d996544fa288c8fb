import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import MeshCore
import MeshHTTP
import MeshStore
import NIOCore

/// Files and batches held by another node, read there for a client of this one: their ids name
/// the node that holds them (`file-NODE-HEX`, `batch_NODE-HEX`), and a read of one held
/// elsewhere is sent to that node, signed with the mesh secret and naming who reads (an agent,
/// or `*` for this node's operator) in a signed header. The holder answers as it would that
/// reader; the answer comes back as it was.
struct BatchRemote: Sendable {
    let store: MeshStore
    let verifier: MeshVerifier?
    let directory: PeerDirectory
    let http: HTTPClient

    /// Who reads, signed: an agent's name, or `*` for the operator of the node that asks.
    static let readerHeader = "x-dagi-batch-reader"

    var localNode: String { store.nodeID }

    /// A new id held here: `prefix` (`file-`, `batch_`), this node, 24 random hex digits.
    func newID(_ prefix: String) -> String { "\(prefix)\(localNode)-\(Hashing.randomHex(bytes: 12))" }

    /// The node an id names, if it is one and not this node.
    func remoteNode(of id: String, prefix: String) -> String? {
        guard id.hasPrefix(prefix) else { return nil }
        let rest = id.dropFirst(prefix.count)
        guard rest.count > 25, rest.dropLast(24).last == "-", rest.suffix(24).allSatisfy(\.isHexDigit) else { return nil }
        let node = String(rest.dropLast(25))
        guard MeshName.isValid(node), node != localNode else { return nil }
        return node
    }

    /// Whether a request is a peer's read (signed): it is answered from what is here, never sent on.
    static func isPeerRead(_ request: Request) -> Bool {
        request.headers[HTTPField.Name(MeshSignature.signatureHeader)!] != nil
    }

    /// The reader a peer named in a request it signed, if the request is one (its nonce is
    /// spent: call once per request).
    func signedReader(_ request: Request) throws -> BatchReader? {
        guard let verifier, Self.isPeerRead(request) else { return nil }
        let reader = request.headers[HTTPField.Name(Self.readerHeader)!] ?? ""
        guard reader == "*" || MeshName.isValid(reader) else { throw APIError(status: .unauthorized, code: "invalid_reader", message: "a signed read names its reader") }
        let now = store.clock.wallMilliseconds()
        do {
            let pending = try verifier.precheck(header: { request.headers[HTTPField.Name($0)!] }, now: now)
            _ = try verifier.verify(pending, method: request.method.rawValue, target: request.uri.description, body: [UInt8](), hopHeaders: [reader], now: now)
        } catch let error as SignatureFailure {
            var refusal = APIError(status: .unauthorized, code: error.code, message: "signed request refused: \(error.rawValue)")
            // A peer that signed for this node's previous run learns the current one.
            if error == .staleBoot { refusal.headers[HTTPField.Name(MeshSignature.bootHeader)!] = verifier.boot }
            throw refusal
        }
        return reader == "*" ? .operatorOrPeer : .agent(reader)
    }

    /// What a read answers: a File or Batch object, or a file's content.
    enum Content: String {
        case json = "application/json"
        case jsonl = "application/jsonl"
    }

    /// Reads `path` from `node` for `reader`: its answer when it is the thing read (200) or its
    /// absence (404), streamed through with this API's own content type; anything else is a
    /// 502 that says only that the holder failed.
    func fetch(_ path: String, from node: String, reader: BatchReader, content: Content) async throws -> Response {
        guard let verifier else {
            throw APIError(status: .serviceUnavailable, code: "mesh_unavailable", message: "this node has no mesh secret: \(node)'s files and batches are read there")
        }
        guard let base = try await store.nodes().first(where: { $0.id == node })?.apiURL else {
            throw APIError.notFound("node \(node), which holds it, is not known here", code: "node_not_found")
        }
        let target = (URLComponents(string: base)?.percentEncodedPath ?? "") + path
        let name: String
        switch reader {
        case .agent(let agent): name = agent
        case .operatorOrPeer: name = "*"
        }
        let unreachable = APIError(status: .badGateway, code: "holder_unreachable", message: "\(node), which holds it, cannot be reached")
        var recipient: PeerIdentity
        do {
            recipient = try await directory.identity(of: base, timeout: .seconds(5))
        } catch {
            throw unreachable
        }
        guard recipient.nodeID == node else { throw unreachable }
        for attempt in 0..<2 {
            let signed = verifier.requestSigner.request(method: "GET", target: target, body: [UInt8](), recipient: recipient, hopHeaders: [name], now: store.clock.wallMilliseconds())
            var request = HTTPClientRequest(url: base + path)
            for (header, value) in signed.headers { request.headers.add(name: header, value: value) }
            request.headers.add(name: Self.readerHeader, value: name)
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, timeout: .seconds(30))
            } catch {
                throw unreachable
            }
            switch response.status.code {
            case 200, 404:
                var headers = HTTPFields()
                headers[.contentType] = content.rawValue
                headers[HTTPField.Name("x-content-type-options")!] = "nosniff"
                // Streamed through: an output file may be far larger than is worth holding here.
                return Response(status: response.status.code == 200 ? .ok : .notFound, headers: headers, body: .init(asyncSequence: response.body))
            case 401 where attempt == 0:
                // The holder restarted since its identity was learnt: sign for its new run, once.
                guard let boot = response.headers.first(name: MeshSignature.bootHeader) else { break }
                recipient = PeerIdentity(nodeID: node, boot: boot)
                directory.learn(recipient, at: base)
                continue
            default:
                break
            }
            directory.forget(base)
            throw APIError(status: .badGateway, code: "holder_error", message: "\(node), which holds it, did not answer (\(response.status.code))")
        }
        throw unreachable
    }
}
