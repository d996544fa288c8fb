import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import MeshCore
import MeshHTTP
import MeshStore
import Prometheus
import Synchronization
import Testing
@testable import Sync

/// The client and the endpoints together, in process: a node's sync endpoints on a loopback
/// port and another node's ``SyncClient`` talking to them.
@Suite struct SyncExchangeTests {
    static let secret = MeshSecret("a-long-enough-mesh-secret-for-sync-tests")

    /// A node "b" serving `/health` and `/sync/*` on a free loopback port until `body` returns.
    static func withServingNode<T>(_ body: (_ url: String, _ verifier: MeshVerifier) async throws -> T) async throws -> T {
        let directory = NSTemporaryDirectory() + "dagi-sync-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try MeshStore.open(path: directory + "/mesh.sqlite", nodeID: "b")
        let verifier = MeshVerifier(secret: secret, nodeID: "b", skewMs: 60_000)
        var logger = Logger(label: "sync-test")
        logger.logLevel = .critical
        let service = SyncService(
            store: store, config: MeshConfig(), verifier: verifier, ownURL: "", extraPeers: [], http: .shared,
            registry: PrometheusCollectorRegistry(), logger: logger
        )
        let router = Router(context: MeshRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.get("/health") { _, _ in JSONResponse.make(["status": "ok", "node": "b", "boot": .string(verifier.boot)]) }
        service.register(on: router)
        let port = Mutex<Int?>(nil)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } }, logger: logger
        )
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { task.cancel() }
        let deadline = ContinuousClock.now + .seconds(60)
        while port.withLock({ $0 }) == nil {
            guard ContinuousClock.now < deadline else { throw SyncTestFailure("the serving node did not start in 60 s") }
            try await Task.sleep(for: .milliseconds(10))
        }
        return try await body("http://127.0.0.1:\(port.withLock { $0 }!)", verifier)
    }

    /// Node "a"'s client, with its directory.
    static func client() throws -> (SyncClient, PeerDirectory) {
        let directory = PeerDirectory(http: .shared)
        let clock = HybridLogicalClock()
        let metrics = SyncMetrics(registry: PrometheusCollectorRegistry())
        var logger = Logger(label: "sync-test")
        logger.logLevel = .critical
        let client = SyncClient(
            http: .shared, verifier: MeshVerifier(secret: secret, nodeID: "a", skewMs: 60_000), directory: directory, config: MeshConfig(),
            clock: clock, metrics: metrics, log: SyncLog(logger: logger)
        )
        return (client, directory)
    }

    @Test func answersAreVerifiedAndNameTheirNode() async throws {
        try await Self.withServingNode { url, b in
            let (client, directory) = try Self.client()
            let received = try await client.pull(url, vector: [:])
            #expect(received.node == b.identity)
            #expect(received.frame.kind == .changes)
            #expect(directory.cached(url) == b.identity)
        }
    }

    /// A peer that restarted (or another node now at the address) refuses a request signed for
    /// what the directory remembered, naming who answers now; the client signs again, once,
    /// and the exchange succeeds.
    @Test func aStaleBootOrWrongNodeIsLearntFromTheRefusalAndSignedForAgain() async throws {
        try await Self.withServingNode { url, b in
            for remembered in [PeerIdentity(nodeID: "b", boot: "an-earlier-boot"), PeerIdentity(nodeID: "c", boot: b.boot)] {
                let (client, directory) = try Self.client()
                directory.learn(remembered, at: url)
                try await client.poke(url)
                #expect(directory.cached(url) == b.identity, "\(remembered)")
            }
        }
    }
}

struct SyncTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
