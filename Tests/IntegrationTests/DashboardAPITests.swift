import Foundation
import MeshCore
import Testing

/// The dashboard's documents against hostile parameters and callers: every bad value is a 400
/// naming it, never a crash or an unbounded query; the page and the documents refuse a caller
/// that only looks local.
@Suite struct DashboardAPITests {
    @Test func hostileParametersAndCallersAreRefused() async throws {
        let root = TemporaryDirectory()
        let node = try GuardianProcess(nodeID: "dash", root: root.path)
        try await withGuardians([node]) {
            try await node.start()
            let base = node.baseURL + "/v1/metrics/series"
            let ok = try await HTTP.get(base + "?node=dash&metric=cpu_percent,mem_used_bytes&minutes=5")
            #expect(ok.status == 200, "\(ok.text)")
            #expect(try ok.json()["series"]?["mem_used_bytes"]?.arrayValue != nil)
            let bad = [
                "", "?node=", "?node=../../etc", "?node=dash&minutes=0", "?node=dash&minutes=-1", "?node=dash&minutes=1441",
                "?node=dash&minutes=99999999999999999999999", "?node=dash&minutes=1e3", "?node=dash&metric=password",
                "?node=dash&metric=" + Array(repeating: "cpu_percent", count: 50).joined(separator: ","), "?node=dash&metric=",
            ]
            for query in bad {
                let reply = try await HTTP.get(base + query)
                #expect(reply.status == 400, "\(query): \(reply.status) \(reply.text)")
                #expect(try reply.json()["error"]?["code"] == "invalid_parameter", "\(query): \(reply.text)")
            }
            // Looks local (a loopback peer) but was addressed as another site: no information,
            // no page, no live stream.
            for path in ["/v1/status", "/v1/usage/live", "/v1/metrics/series?node=dash", "/ui", "/ui/app.js"] {
                let rebound = try await HTTP.get(node.baseURL + path, headers: [("host", "rebound.example:7007")])
                #expect(rebound.status == 401 || rebound.status == 403, "\(path): \(rebound.status)")
            }
            #expect(try await HTTP.get(node.baseURL + "/v1/status").status == 200)
        }
    }
}
