import Foundation
import MeshCore
import MeshHTTP
import Testing

/// Two agents on the two models of an exclusive group at once, through the router — the load
/// that used to hang the whole node (one event loop spinning in the Swapper's actor: 1 of 10
/// answered, /health half dead, SIGTERM ignored).
extension SwapperTests {
    static let agentKey = "sk-contend-test-key-0123456789abcdef"

    /// A guardian with agent atlas and SmolLM2 + Gemma in one exclusive group, with timeouts
    /// long enough for a slow machine (nothing here measures time).
    static func contendedNode(_ root: TemporaryDirectory) throws -> GuardianProcess {
        let config = root.path + "/contend.yaml"
        try """
            metrics:
              interval: 1h
            ollama: null
            agents:
              - name: atlas
                key_env: DAGI_KEY_ATLAS
            router:
              request_timeout: 300s
              first_byte_timeout: 240s
            \(try RealModels.swapperSection(exclusive: true))
            """.write(toFile: config, atomically: true, encoding: .utf8)
        return try GuardianProcess(nodeID: "contend", root: root.path, arguments: ["--config", config], environment: ["DAGI_KEY_ATLAS": agentKey])
    }

    static func routerChat(_ node: GuardianProcess, _ model: String) async throws -> HTTP.Reply {
        try await HTTP.post(node.baseURL + "/v1/chat/completions", json: [
            "model": .string(model), "max_tokens": 4, "messages": [["role": "user", "content": "Say hello."]],
        ], headers: [("authorization", "Bearer \(agentKey)")], timeout: .seconds(300))
    }

    /// All 10 answered, /health answers all along, SIGTERM stops the node; the swaps are printed.
    @Test func twoAgentsOnAnExclusiveGroupAreAllAnswered() async throws {
        let root = TemporaryDirectory()
        let node = try Self.contendedNode(root)
        try await withGuardians([node]) {
            try await node.start()
            // /health, polled while the agents run: every answer must come, and be 200.
            let healthProblems = Locked<[String]>([])
            let healthAnswers = Locked(0)
            let monitor = Task {
                while !Task.isCancelled {
                    do {
                        let reply = try await HTTP.get(node.baseURL + "/health", timeout: .seconds(5))
                        if reply.status == 200 { healthAnswers.withLock { $0 += 1 } } else {
                            healthProblems.withLock { $0.append("status \(reply.status)") }
                        }
                    } catch where !Task.isCancelled {
                        healthProblems.withLock { $0.append("\(error)") }
                    } catch {}
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            // Each agent sends its next request when the previous one is answered, as agents do.
            let replies = try await withThrowingTaskGroup(of: [(String, HTTP.Reply)].self) { group in
                for model in ["smollm2", "gemma"] {
                    group.addTask {
                        var replies: [(String, HTTP.Reply)] = []
                        for _ in 0..<5 { replies.append((model, try await Self.routerChat(node, model))) }
                        return replies
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            monitor.cancel()
            await monitor.value
            #expect(replies.count == 10)
            for (model, reply) in replies {
                #expect(reply.status == 200, "\(model): \(reply.text)")
                #expect(reply.headers["x-dagi-model"].first == model)
            }
            #expect(healthProblems.value == [], "/health answered throughout")
            #expect(healthAnswers.value > 0)

            let report = try await Self.report(node)
            let swaps = report["swaps"]?.intValue ?? -1
            print("contended exclusive group: 10 of 10 requests answered with \(swaps) swap(s); /health answered \(healthAnswers.value) times")
            #expect(swaps >= 1, "both models served: at least one swap")
            #expect(Self.overlappingRuns(report, among: ["smollm2", "gemma"]) == [])

            let pids = ProcessTable.llamaServers(childrenOf: node.pid).map(\.pid)
            #expect(try await node.stop() == 0, "SIGTERM stops the node")
            #expect(pids.allSatisfy { !ProcessTable.isAlive($0) })
        }
    }
}
