import Foundation
import MeshCore
import MeshHTTP
import MeshStore
import Testing

/// Endpoints by audience, seen from another machine (the node on 0.0.0.0, called at this
/// machine's non-loopback address): health is open, information needs a credential, edits need
/// the admin token, and a heartbeat needs the agent's own key.
@Suite(.serialized) struct AudienceTests {
    static let adminToken = "admin-token-0123456789abcdef0123456789"

    @Test func endpointsAnswerByAudience() async throws {
        guard let address = NetworkAddress.nonLoopbackIPv4() else {
            Issue.record("this machine has no non-loopback IPv4 address to call the node from")
            return
        }
        let root = TemporaryDirectory()
        let port = try FreePort.allocate()
        let config = root.path + "/n.yaml"
        try """
            node:
              listen: 0.0.0.0:\(port)
            ollama: null
            metrics:
              interval: 1h
            agents:
              - name: atlas
                key_env: DAGI_KEY_ATLAS
              - name: other
                key_sha256: \(Hashing.sha256Hex("other-key-0123456789abcdef0123456789"))
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let node = try GuardianProcess(
            nodeID: "aud", root: root.path, port: port, arguments: ["--config", config],
            environment: ["DAGI_KEY_ATLAS": RouterTests.key, "DAGI_ADMIN_TOKEN": Self.adminToken, "DAGI_MESH_SECRET": MeshHarness.secret]
        )
        node.listenHost = "0.0.0.0"
        try await withGuardians([node]) {
            try await node.start()
            let remote = "http://\(address):\(port)"
            let atlas = [("authorization", "Bearer \(RouterTests.key)")]
            let admin = [("authorization", "Bearer \(Self.adminToken)")]
            #expect(try await HTTP.get(remote + "/health").status == 200)
            for path in ["/v1/node", "/v1/nodes", "/v1/agents", "/metrics"] {
                let refused = try await HTTP.get(remote + path)
                #expect(refused.status == 401, "\(path): \(refused.text)")
                #expect(try refused.json()["error"]?["code"] == "credentials_required")
                #expect(try await HTTP.get(remote + path, headers: atlas).status == 200, "\(path) with an agent key")
                #expect(try await HTTP.get(remote + path, headers: admin).status == 200, "\(path) with the admin token")
                #expect(try await HTTP.get(node.baseURL + path).status == 200, "\(path) from this machine")
            }
            // A peer's signed request is information's third key.
            let health = try await HTTP.get(remote + "/health").json()
            let identity = PeerIdentity(nodeID: "aud", boot: health["boot"]?.stringValue ?? "")
            let signed = MeshSigner(secret: MeshSecret(MeshHarness.secret), nodeID: "peer")
                .request(method: "GET", target: "/v1/nodes", body: [UInt8](), recipient: identity, now: HybridLogicalClock.systemMilliseconds())
            #expect(try await HTTP.get(remote + "/v1/nodes", headers: signed.headers).status == 200)
            #expect(try await HTTP.get(remote + "/v1/nodes", headers: signed.headers).status == 401, "a signature is good once")

            // Administration: the admin token, not an agent's key.
            let edit: JSONValue = ["tier": "pro"]
            #expect(try await HTTP.send("PUT", remote + "/v1/agents/atlas", body: edit.serialized(), headers: atlas).status == 401)
            #expect(try await HTTP.send("PUT", remote + "/v1/agents/atlas", body: edit.serialized()).status == 403)
            #expect(try await HTTP.send("PUT", remote + "/v1/agents/atlas", body: edit.serialized(), headers: admin).status == 200)
            #expect(try await HTTP.get(remote + "/v1/routes/x").status == 403)

            // A heartbeat needs the agent's own key.
            #expect(try await HTTP.send("POST", remote + "/v1/agents/atlas/heartbeat").status == 401)
            let otherKey = [("authorization", "Bearer other-key-0123456789abcdef0123456789")]
            #expect(try await HTTP.send("POST", remote + "/v1/agents/atlas/heartbeat", headers: otherKey).status == 401)
            #expect(try await HTTP.send("POST", remote + "/v1/agents/atlas/heartbeat", headers: atlas).status == 200)

            // A key revoked with `dagi keys revoke` stops working on the running node.
            #expect(try await HTTP.get(remote + "/v1/models", headers: atlas).status == 200)
            let (code, out, err) = try await Binaries.run("dagi", ["keys", "revoke", "atlas", "--data-dir", node.dataDirectory])
            #expect(code == 0, "\(out)\(err)")
            try await poll(timeout: .seconds(10), "the revoked key to be refused") {
                try await HTTP.get(remote + "/v1/models", headers: atlas).status == 401
            }
            let (_, listed, _) = try await Binaries.run("dagi", ["keys", "list", "--data-dir", node.dataDirectory])
            #expect(listed.contains("other") && !listed.contains("atlas"), "\(listed)")
        }
    }

    /// With `public_info`, the information endpoints answer anyone; edits still do not.
    @Test func publicInfoOpensInformationOnly() async throws {
        guard let address = NetworkAddress.nonLoopbackIPv4() else {
            Issue.record("this machine has no non-loopback IPv4 address to call the node from")
            return
        }
        let root = TemporaryDirectory()
        let port = try FreePort.allocate()
        let config = root.path + "/p.yaml"
        try "node:\n  listen: 0.0.0.0:\(port)\n  public_info: true\nollama: null\n".write(toFile: config, atomically: true, encoding: .utf8)
        let node = try GuardianProcess(nodeID: "pub", root: root.path, port: port, arguments: ["--config", config])
        node.listenHost = "0.0.0.0"
        try await withGuardians([node]) {
            try await node.start()
            let remote = "http://\(address):\(port)"
            #expect(try await HTTP.get(remote + "/v1/nodes").status == 200)
            #expect(try await HTTP.get(remote + "/metrics").status == 200)
            #expect(try await HTTP.send("DELETE", remote + "/v1/agents/x").status == 403)
            // Who spent what is not public information.
            for path in ["/v1/usage", "/v1/usage?format=csv", "/v1/costs"] {
                #expect(try await HTTP.get(remote + path).status == 401, "\(path)")
            }
        }
    }

    /// Secrets too short to resist guessing stop start-up, naming the setting.
    @Test func shortSecretsStopStartUp() async throws {
        let root = TemporaryDirectory()
        let config = root.path + "/s.yaml"
        try "ollama: null\nagents:\n  - name: atlas\n    key_env: DAGI_KEY_SHORT\n".write(toFile: config, atomically: true, encoding: .utf8)
        for (variable, value) in [("DAGI_KEY_SHORT", "too-short"), ("DAGI_ADMIN_TOKEN", "short-admin")] {
            var environment = ["DAGI_KEY_SHORT": String(repeating: "k", count: 40)]
            environment[variable] = value
            let (status, _, err) = try await Binaries.run("node-guardian", [
                "run", "--config", config, "--node-id", "short", "--data-dir", root.path + "/d", "--listen", "127.0.0.1:0",
            ], environment: environment)
            #expect(status == 78, "\(variable): \(err)")
            #expect(err.contains("$\(variable) is shorter than 32 characters"), "\(err)")
        }
    }
}

/// This machine's addresses.
enum NetworkAddress {
    /// An IPv4 address of an interface other than loopback, if there is one.
    static func nonLoopbackIPv4() -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return nil }
        defer { freeifaddrs(list) }
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET),
                  entry.pointee.ifa_flags & UInt32(IFF_LOOPBACK) == 0, entry.pointee.ifa_flags & UInt32(IFF_UP) != 0
            else { continue }
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            guard getnameinfo(address, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 else { continue }
            return String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return nil
    }
}
