import Foundation
import MeshCore
import MeshHTTP
import Testing

/// The Swapper's bounds, each answered with a clear error: the memory budget, the queue limit,
/// swap_timeout, and numbers in requests.
extension SwapperTests {
    static let mock = RealModels.repository + "/scripts/fixtures/mock_upstream.py"

    static func randomPort() -> Int { 20000 + Int.random(in: 0..<20000) }

    /// Over the budget, the idle model is evicted for the newcomer — never both loaded.
    @Test func theMemoryBudgetEvictsTheIdleModel() async throws {
        let root = TemporaryDirectory()
        // 300 MiB + 400 MiB do not fit in 600 MiB; either alone does. No group links them.
        let node = try Self.guardian(root, try RealModels.swapperSection(settings: "  memory_budget: 600MiB"))
        try await withGuardians([node]) {
            try await node.start()
            #expect(try await Self.chat(node, "smollm2").status == 200)
            #expect(try await Self.chat(node, "gemma").status == 200)
            let running = try await Self.running(node)
            #expect(running["gemma"]?["state"] == "loaded")
            #expect(running["smollm2"]?["state"] == "available", "evicted for the budget")
            let report = try await Self.report(node)
            #expect(report["swaps"] == 1)
            #expect(Self.overlappingRuns(report, among: ["smollm2", "gemma"]) == [])
            try await poll(timeout: .seconds(5), "the store to say smollm2 is available") {
                try await node.store().models().first { $0.name == "smollm2" }?.state == .available
            }
        }
    }

    /// Past queue_limit, a request is refused at once with 429 model_queue_full; the queued
    /// ones are served when the model is up.
    @Test func requestsPastTheQueueLimitAreRefused() async throws {
        let root = TemporaryDirectory()
        let gate = root.path + "/open"
        // The model starts only once the test creates the gate file: requests queue meanwhile.
        let section = """
            swapper:
              start_port: \(Self.randomPort())
              queue_limit: 2
              models:
                gated:
                  cmd: sh -c 'while [ ! -e \(gate) ]; do sleep 0.05; done; exec python3 \(Self.mock) --port ${PORT} --mode ok --name gated'
            """
        let node = try Self.guardian(root, section)
        try await withGuardians([node]) {
            try await node.start()
            let first = Task { try await Self.chat(node, "gated") }
            let second = Task { try await Self.chat(node, "gated") }
            try await poll(timeout: .seconds(20), "two requests queued") {
                try await Self.running(node)["gated"]?["queued"] == 2
            }
            let refused = try await Self.chat(node, "gated")
            #expect(refused.status == 429)
            let error = try refused.json()["error"]
            #expect(error?["code"] == "model_queue_full")
            #expect(error?["message"]?.stringValue?.contains("2 requests are already waiting") == true)
            #expect(refused.headers["retry-after"].first == "1")
            FileManager.default.createFile(atPath: gate, contents: nil)
            for queued in [first, second] {
                let reply = try await queued.value
                #expect(reply.status == 200, "\(reply.text)")
            }
        }
    }

    /// A model still busy swap_timeout after its turn ended keeps serving; the newcomer gets
    /// 503 model_no_room rather than waiting forever.
    @Test func swapTimeoutGivesUpASwapWhoseVictimStaysBusy() async throws {
        let root = TemporaryDirectory()
        let section = """
            swapper:
              start_port: \(Self.randomPort())
              swap_timeout: 1s
              models:
                busy:
                  cmd: python3 \(Self.mock) --port ${PORT} --mode stall --name busy
                other:
                  cmd: python3 \(Self.mock) --port ${PORT} --mode ok --name other
              groups:
                pair: { members: [busy, other], exclusive: true }
            """
        let node = try Self.guardian(root, section)
        try await withGuardians([node]) {
            try await node.start()
            let stalled = Task { try await Self.chat(node, "busy") }
            defer { stalled.cancel() }
            try await poll(timeout: .seconds(20), "busy to have a request in flight") {
                try await Self.running(node)["busy"]?["inflight"] == 1
            }
            let refused = try await Self.chat(node, "other")
            #expect(refused.status == 503)
            let error = try refused.json()["error"]
            #expect(error?["code"] == "model_no_room")
            #expect(error?["message"]?.stringValue?.contains("swap_timeout") == true, "\(refused.text)")
            let running = try await Self.running(node)
            #expect(running["busy"]?["state"] == "loaded", "the busy model keeps serving")
            #expect(running["other"]?["state"] == "available")
            #expect(try await Self.report(node)["swaps"] == 0)
            #expect(try await HTTP.get(node.baseURL + "/health").status == 200)
        }
    }

    /// Numbers in requests are range-checked: a clear 400, never a crash of the node.
    @Test func hostileNumbersInRequestsAreRefused() async throws {
        let root = TemporaryDirectory()
        let node = try Self.guardian(root, try RealModels.swapperSection())
        try await withGuardians([node]) {
            try await node.start()
            #expect(try await Self.chat(node, "smollm2").status == 200)
            for tail in ["-1", "abc", "99999999999999999999", "100001"] {
                let reply = try await HTTP.get(node.baseURL + "/swapper/logs/smollm2?tail=\(tail)")
                #expect(reply.status == 400, "tail=\(tail): \(reply.text)")
                let error = try reply.json()["error"]
                #expect(error?["code"] == "invalid_parameter")
                #expect(error?["param"] == "tail")
                #expect(error?["request_id"]?.stringValue?.isEmpty == false)
            }
            let one = try await HTTP.get(node.baseURL + "/swapper/logs/smollm2?tail=1")
            #expect(one.status == 200)
            #expect(one.text.split(separator: "\n").count == 1)
            #expect(try await HTTP.get(node.baseURL + "/health").status == 200, "still alive")
            #expect(node.isRunning)
        }
    }
}
