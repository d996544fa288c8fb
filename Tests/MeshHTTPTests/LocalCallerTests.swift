import HTTPTypes
import MeshHTTP
import NIOCore
import Testing

/// "This machine" is a loopback peer that addressed the node by a loopback name: a web page
/// that rebinds its domain to 127.0.0.1, or posts from another site, is not.
@Suite struct LocalCallerTests {
    private func request(host: String?, origin: String? = nil) -> HTTPRequest {
        var fields = HTTPFields()
        if let origin { fields[.origin] = origin }
        return HTTPRequest(method: .get, scheme: "http", authority: host, path: "/v1/status", headerFields: fields)
    }

    @Test func loopbackNamesOnly() throws {
        let local = try SocketAddress(ipAddress: "127.0.0.1", port: 5555)
        let remote = try SocketAddress(ipAddress: "10.0.0.9", port: 5555)
        for host in ["127.0.0.1:7007", "localhost:7007", "LOCALHOST", "[::1]:7007", "127.0.0.2", "app.localhost:7007", nil] as [String?] {
            #expect(LocalCaller.isLocal(remote: local, request: request(host: host)), "\(host ?? "no host")")
        }
        for host in ["attacker.example:7007", "127.0.0.1.attacker.example", "127.0.0.256", "[::2]:7007", "10.0.0.1:7007", "127.1"] {
            #expect(!LocalCaller.isLocal(remote: local, request: request(host: host)), "\(host)")
        }
        #expect(!LocalCaller.isLocal(remote: remote, request: request(host: "127.0.0.1:7007")))
        #expect(LocalCaller.isLocal(remote: local, request: request(host: "127.0.0.1:7007", origin: "http://127.0.0.1:7007")))
        for origin in ["https://attacker.example", "null", "http://127.0.0.1.attacker.example"] {
            #expect(!LocalCaller.isLocal(remote: local, request: request(host: "127.0.0.1:7007", origin: origin)), "\(origin)")
        }
    }
}
