import Foundation
import MeshStore
import MeshCore
import MeshHTTP
import Synchronization

/// Builds small meshes of real guardians for tests: each node gets a config with its peers,
/// fast sync timings, and the shared mesh secret in its environment.
enum MeshHarness {
    static let secret = "integration-test-mesh-secret"

    /// Creates (not starts) guardians `ids`; `links[id]` are the ids it lists as peers, or
    /// explicit URLs via `peerURLs`.
    static func make(
        root: TemporaryDirectory, ids: [String], links: [String: [String]], peerURLs: [String: [String]] = [:],
        metricsInterval: String = "1h", extra: [String: String] = [:], sync: String = "", environment: [String: String] = [:]
    ) throws -> [String: GuardianProcess] {
        let ports = Dictionary(uniqueKeysWithValues: try ids.map { ($0, try FreePort.allocate()) })
        var guardians: [String: GuardianProcess] = [:]
        for id in ids {
            let peers = (links[id] ?? []).map { "http://127.0.0.1:\(ports[$0]!)" } + (peerURLs[id] ?? [])
            let config = root.path + "/\(id).yaml"
            try """
                metrics:
                  interval: \(metricsInterval)
                mesh:
                  peers: [\(peers.joined(separator: ", "))]
                  sync_interval: 500ms
                  request_timeout: 2s
                \(sync)
                \(extra[id] ?? "")
                """.write(toFile: config, atomically: true, encoding: .utf8)
            guardians[id] = try GuardianProcess(
                nodeID: id, root: root.path, port: ports[id], arguments: ["--config", config],
                environment: environment.merging(["DAGI_MESH_SECRET": secret]) { $1 }
            )
        }
        return guardians
    }

    /// Polls until every guardian's store holds exactly the same replicated rows; returns them.
    @discardableResult
    static func awaitConvergence(_ guardians: [GuardianProcess], timeout: Duration = .seconds(30)) async throws -> [String] {
        var last: [[String]] = []
        do {
            try await poll(timeout: timeout, "\(guardians.map(\.nodeID)) to converge") {
                last = try await guardians.asyncMap { try await $0.store().replicatedRows() }
                return last.dropFirst().allSatisfy { $0 == last[0] }
            }
        } catch {
            let sets = last.map(Set.init)
            for (i, g) in guardians.enumerated() where i > 0 {
                print("\(g.nodeID) lacks: \(sets[0].subtracting(sets[i]).prefix(5)); extra: \(sets[i].subtracting(sets[0]).prefix(5))")
            }
            throw error
        }
        return last[0]
    }

    /// Who answers at a guardian's address (its node id and this run's boot), from `/health`:
    /// the recipient a signed request to it names.
    static func identity(_ guardian: GuardianProcess) async throws -> PeerIdentity {
        let health = try await HTTP.get(guardian.baseURL + "/health").json()
        guard let node = health["node"]?.stringValue, let boot = health["boot"]?.stringValue else {
            throw TestFailure("\(guardian.nodeID) /health names no node and boot")
        }
        return PeerIdentity(nodeID: node, boot: boot)
    }

    /// Writes an agent (and its assignments) through a guardian's API.
    static func putAgent(_ guardian: GuardianProcess, _ name: String, _ fields: JSONValue) async throws {
        let reply = try await HTTP.send("PUT", guardian.baseURL + "/v1/agents/\(name)", body: fields.serialized(), headers: [("content-type", "application/json")])
        guard reply.status == 200 else { throw TestFailure("PUT agent \(name) on \(guardian.nodeID): \(reply.status) \(reply.text)") }
    }
}

extension GuardianProcess {
    /// This node's store, opened once and reused (WAL readers see every commit).
    func store() throws -> MeshStore {
        try cachedStore.withLock { cached in
            if let cached { return cached }
            let store = try openStore()
            cached = store
            return store
        }
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}

/// A reverse proxy to a node that the test can cut and heal: a network partition on loopback.
final class CuttableProxy: Sendable {
    let server: MockServer
    private let isCut = Locked(false)
    var baseURL: String { server.baseURL }

    init(target: String) async throws {
        let flag = isCut
        server = try await MockServer { router in
            router.add(middleware: ForwardingMiddleware(target: { target }, isCut: { flag.value }))
        }
    }

    func setCut(_ value: Bool) { isCut.set(value) }
}
