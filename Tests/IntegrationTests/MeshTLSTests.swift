import AsyncHTTPClient
import Foundation
import MeshCore
import MeshHTTP
import NIOSSL
import Testing

/// A mesh over TLS from its own CA (made with the `openssl` CLI, as the README shows): sync and
/// a streamed forwarded request cross it, and a node whose certificate comes from another CA is
/// refused both ways.
@Suite(.serialized) struct MeshTLSTests {
    /// A CA and certificates for `nodes` (valid for 127.0.0.1), in `directory`.
    static func makeCA(_ name: String, nodes: [String], in directory: String) async throws {
        func openssl(_ arguments: [String]) async throws {
            let (status, _, err) = try await Binaries.runPath("/usr/bin/openssl", arguments)
            guard status == 0 else { throw TestFailure("openssl \(arguments.joined(separator: " ")): \(err)") }
        }
        try await openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).pem", "-subj", "/CN=\(name)",
        ])
        let extensions = "\(directory)/san.ext"
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: extensions, atomically: true, encoding: .utf8)
        for node in nodes {
            try await openssl([
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", "\(directory)/\(node).key", "-out", "\(directory)/\(node).csr", "-subj", "/CN=\(node)",
            ])
            try await openssl([
                "x509", "-req", "-in", "\(directory)/\(node).csr", "-CA", "\(directory)/\(name).pem", "-CAkey", "\(directory)/\(name).key",
                "-CAcreateserial", "-days", "2", "-out", "\(directory)/\(node).pem", "-extfile", extensions,
            ])
        }
    }

    @Test func aMeshOverTLSSyncsAndForwardsAndRefusesStrangers() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            Issue.record("openssl is missing (scripts/install-deps installs it)")
            return
        }
        let root = TemporaryDirectory()
        try await Self.makeCA("mesh-ca", nodes: ["a", "b"], in: root.path)
        try await Self.makeCA("other-ca", nodes: ["c"], in: root.path)
        let ports = ["a": try FreePort.allocate(), "b": try FreePort.allocate(), "c": try FreePort.allocate()]
        func tls(_ id: String, ca: String, peers: [String]) -> String {
            """
            node:
              tls: { cert: \(root.path)/\(id).pem, key: \(root.path)/\(id).key }
            mesh:
              ca: \(root.path)/\(ca).pem
              peers: [\(peers.map { "https://127.0.0.1:\(ports[$0]!)" }.joined(separator: ", "))]
              sync_interval: 500ms
              request_timeout: 2s
            """
        }
        let a = try RouterTests.node(root, id: "a", mesh: tls("a", ca: "mesh-ca", peers: ["b", "c"]), port: ports["a"])
        let b = try RouterTests.node(root, id: "b", swapper: RouterTests.mockSwapper(["ok"]), mesh: tls("b", ca: "mesh-ca", peers: ["a"]), port: ports["b"])
        let c = try RouterTests.node(
            root, id: "c", swapper: RouterTests.mockSwapper(["ok"]).replacingOccurrences(of: "mock-ok", with: "mock-c"),
            mesh: tls("c", ca: "other-ca", peers: ["a"]), port: ports["c"]
        )
        let clients = try ["mesh-ca", "other-ca"].map { ca in
            var configuration = HTTPClient.Configuration()
            configuration.tlsConfiguration = try MeshTLS.client(caFile: root.path + "/\(ca).pem")
            return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        }
        a.tlsClient = clients[0]
        b.tlsClient = clients[0]
        c.tlsClient = clients[1]
        // The clients are shut down whatever happens (a client that is not aborts its process).
        do {
            try await run(a, b, c, ports: ports)
        } catch {
            for client in clients { try? await client.shutdown() }
            throw error
        }
        for client in clients { try await client.shutdown() }
    }

    private func run(_ a: GuardianProcess, _ b: GuardianProcess, _ c: GuardianProcess, ports: [String: Int]) async throws {
        try await withGuardians([a, b, c]) {
            try await b.start()
            try await c.start()
            try await a.start()
            // Plain HTTP is not served on a TLS port.
            #expect((try? await HTTP.get("http://127.0.0.1:\(ports["a"]!)/health", timeout: .seconds(2))) == nil)

            // Sync over TLS: a learns b's model.
            try await poll(timeout: .seconds(20), "a to learn b's model over TLS") {
                let models = try await HTTP.get(a.baseURL + "/v1/models", headers: RouterTests.auth, client: a.client).json()
                return models["data"]?.arrayValue?.contains { $0["id"] == "mock-ok" && $0["owned_by"] == "b" } == true
            }
            // A streamed request forwarded over TLS.
            let streamed = try await HTTP.post(
                a.baseURL + "/v1/chat/completions",
                json: ["model": "mock-ok", "stream": true, "messages": [["role": "user", "content": "hi"]]],
                headers: RouterTests.auth, client: a.client
            )
            #expect(streamed.status == 200, "\(streamed.text)")
            #expect(streamed.headers.first(name: "x-dagi-route") == "remote:b")
            #expect(streamed.text.contains("data: ") && streamed.text.contains("[DONE]"))

            // c's certificate is not from the mesh's CA: a never syncs with it, and says why.
            try await poll(timeout: .seconds(20), "a to record c as failing") {
                let peers = try await a.store().peers()
                return peers.contains { $0.url.hasSuffix(":\(ports["c"]!)") && ($0.lastError ?? "").isEmpty == false }
            }
            let models = try await HTTP.get(a.baseURL + "/v1/models", headers: RouterTests.auth, client: a.client).json()
            #expect(models["data"]?.arrayValue?.contains { $0["id"] == "mock-c" } == false, "nothing of c's reached a")
            let refused = try await HTTP.post(
                a.baseURL + "/v1/chat/completions", json: ["model": "mock-c", "messages": [["role": "user", "content": "hi"]]],
                headers: RouterTests.auth, client: a.client
            )
            #expect(refused.status == 404, "\(refused.text)")
        }
    }
}
