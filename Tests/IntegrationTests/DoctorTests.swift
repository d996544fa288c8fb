import Foundation
import Testing

/// `dagi doctor` on a real two-node mesh: each check says what it found, a problem exits 1
/// with a fix.
@Suite struct DoctorTests {
    @Test func doctorChecksPeersSecretAndClock() async throws {
        let root = TemporaryDirectory()
        let nodes = try MeshHarness.make(root: root, ids: ["doc", "peer"], links: ["doc": ["peer"], "peer": ["doc"]])
        let doc = nodes["doc"]!, peer = nodes["peer"]!
        try await withGuardians([doc, peer]) {
            try await doc.start()
            try await peer.start()
            try await poll(timeout: .seconds(30), "doc to know its peer") { try await doc.store().nodes().count == 2 }

            let (healthy, out, err) = try await Binaries.run("dagi", ["doctor", "--data-dir", doc.dataDirectory], environment: ["DAGI_MESH_SECRET": MeshHarness.secret])
            #expect(healthy == 0, "\(out)\(err)")
            #expect(out.contains("✓ node: doc is running at \(doc.baseURL)"), "\(out)")
            let peerLine = try #require(out.split(separator: "\n").first { $0.contains("peer peer") }, "\(out)")
            #expect(peerLine.hasPrefix("✓") && peerLine.contains("accepts the secret") && peerLine.contains("clock skew"), "\(peerLine)")

            // Another secret: the peer refuses the signed request; a problem with its fix.
            let (wrong, wout, _) = try await Binaries.run("dagi", ["doctor", "--data-dir", doc.dataDirectory], environment: ["DAGI_MESH_SECRET": "not-the-mesh-secret"])
            #expect(wrong == 1)
            #expect(wout.contains("✗ peer peer") && wout.contains("fix: use the same $DAGI_MESH_SECRET"), "\(wout)")

            // The peer gone: unreachable.
            _ = try await peer.stop()
            let (gone, gout, _) = try await Binaries.run("dagi", ["doctor", "--data-dir", doc.dataDirectory, "--json"], environment: ["DAGI_MESH_SECRET": MeshHarness.secret])
            #expect(gone == 1)
            #expect(gout.contains("\"outcome\" : \"problem\"") && gout.contains("unreachable"), "\(gout)")
        }
    }
}
