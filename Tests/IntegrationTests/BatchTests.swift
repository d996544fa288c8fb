import Foundation
import MeshCore
import Testing

/// Deferred batches with the official openai client on two real nodes: a hundred requests
/// spread over both, the node that holds the batch killed mid-batch and started again, and every
/// `custom_id` in the output exactly once; a file that is not a batch fails with its lines;
/// others' files and batches stay unseen.
@Suite(.serialized) struct BatchTests {
    static let script = RealModels.repository + "/scripts/fixtures/openai_batch.py"

    static func batch(_ node: GuardianProcess, _ id: String) async throws -> JSONValue {
        try await HTTP.get(node.baseURL + "/v1/batches/\(id)", headers: RouterTests.auth).json()
    }

    @Test func aHundredRequestsOverTwoNodesSurviveAKill() async throws {
        let root = TemporaryDirectory()
        let agent = """
            ollama: null
            agents:
              - { name: atlas, key_env: DAGI_KEY_ATLAS }
              - { name: bob, key_env: DAGI_KEY_BOB }
            \(RouterTests.mockSwapper(["ok"]))
            """
        let nodes = try MeshHarness.make(
            root: root, ids: ["qa", "qb"], links: ["qa": ["qb"], "qb": ["qa"]], extra: ["qa": agent, "qb": agent],
            environment: ["DAGI_KEY_ATLAS": RouterTests.key, "DAGI_KEY_BOB": PolicyTests.bulkKey]
        )
        let a = nodes["qa"]!, b = nodes["qb"]!
        try await withGuardians([a, b]) {
            try await a.start()
            try await b.start()
            // Each node serves mock-ok: B's is known to A before the batch starts.
            try await poll(timeout: .seconds(30), "A to see B's model") {
                try await a.store().models().contains { $0.nodeID == "qb" && $0.name == "mock-ok" }
            }
            let (code, out, err) = try await Python.run(Self.script, [a.baseURL + "/v1", RouterTests.key, "create", "mock-ok", "100", "100"])
            #expect(code == 0, "\(err)")
            let id = out.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(id.hasPrefix("batch_"), "\(out)")

            // Part-way through, the node that holds the batch is killed, then started again.
            try await poll(timeout: .seconds(60), "twenty requests answered") {
                (try await Self.batch(a, id)["request_counts"]?["completed"]?.intValue ?? 0) >= 20
            }
            try await a.kill9()
            let beforeKill = try await a.store().usage().count
            #expect(beforeKill < 100, "the batch was still running when its node was killed (\(beforeKill) rows)")
            try await a.start()

            let (finished, result, failure) = try await Python.run(Self.script, [a.baseURL + "/v1", RouterTests.key, "finish", id])
            #expect(finished == 0, "\(failure)")
            let report = try JSONValue.parse(Array(result.utf8))
            #expect(report["status"] == "completed", "\(result)")
            #expect(report["counts"] == ["total": 100, "completed": 100, "failed": 0], "\(result)")
            let ids = report["custom_ids"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(ids.count == 100 && Set(ids) == Set((0..<100).map { "req-\($0)" }), "\(ids.count) ids")
            #expect(report["contents"]?.arrayValue?.allSatisfy { $0.stringValue?.hasPrefix("Hello from") == true } == true)

            // The batch and its results are read from the other node too (it asks the holder).
            let throughB = try await Self.batch(b, id)
            #expect(throughB["status"] == "completed" && throughB["request_counts"]?["completed"] == 100, "\(throughB.jsonString)")
            let output = try #require(throughB["output_file_id"]?.stringValue)
            let fromA = try await HTTP.get(a.baseURL + "/v1/files/\(output)/content", headers: RouterTests.auth)
            let fromB = try await HTTP.get(b.baseURL + "/v1/files/\(output)/content", headers: RouterTests.auth)
            #expect(fromB.status == 200 && fromB.text == fromA.text && fromA.text.split(separator: "\n").count == 100, "\(fromB.status) \(fromB.text.prefix(300))")
            #expect(try await HTTP.get(b.baseURL + "/v1/files/\(output)", headers: RouterTests.auth).json()["purpose"] == "batch_output")
            // The holder answers the reader the other node names: another agent sees nothing.
            let bob = [("authorization", "Bearer \(PolicyTests.bulkKey)")]
            #expect(try await HTTP.get(b.baseURL + "/v1/files/\(output)/content", headers: bob).status == 404)
            #expect(try await HTTP.get(b.baseURL + "/v1/batches/\(id)", headers: bob).status == 404)

            // Requests answered before the kill did not run again: at most the four in flight then
            // did (the ledger may lack the rows of the last second before the kill, never more).
            let ran = try await a.store().usage().count
            #expect(ran <= 100 + 4, "\(ran) requests ran for 100 items")

            // Both nodes ran some: A's ledger has requests served here and by B.
            try await poll(timeout: .seconds(20), "the ledger to show both nodes") {
                let groups = try await HTTP.get(a.baseURL + "/v1/usage?group_by=node&limit=1000").json()["data"]?.arrayValue ?? []
                return Set(groups.compactMap { $0["group"]?["node"]?.stringValue }).isSuperset(of: ["qa", "qb"])
            }
        }
    }

    @Test func aFileThatIsNotABatchFailsWithItsLinesAndOthersSeeNothing() async throws {
        let root = TemporaryDirectory()
        let node = try RouterTests.node(root, id: "qc", swapper: RouterTests.mockSwapper(["ok"]), agents: "  - { name: bob, key_env: DAGI_KEY_BOB }")
        node.environment["DAGI_KEY_BOB"] = PolicyTests.bulkKey
        try await withGuardians([node]) {
            try await node.start()
            let boundary = "XyZ"
            let lines = [
                #"{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"mock-ok","messages":[]}}"#,
                #"not json"#,
                #"{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"mock-ok","messages":[]}}"#,
                #"{"custom_id":"c","method":"GET","url":"/v1/chat/completions","body":{"model":"mock-ok"}}"#,
                #"{"custom_id":"d","method":"POST","url":"/v1/embeddings","body":{"model":"mock-ok"}}"#,
            ].joined(separator: "\n")
            let form = "--\(boundary)\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bad.jsonl\"\r\nContent-Type: application/jsonl\r\n\r\n\(lines)\r\n--\(boundary)--\r\n"
            let upload = try await HTTP.send(
                "POST", node.baseURL + "/v1/files", body: Array(form.utf8),
                headers: RouterTests.auth + [("content-type", "multipart/form-data; boundary=\(boundary)")]
            )
            #expect(upload.status == 200, "\(upload.text)")
            let fileID = try #require(try upload.json()["id"]?.stringValue)
            let created = try await HTTP.post(node.baseURL + "/v1/batches", json: [
                "input_file_id": .string(fileID), "endpoint": "/v1/chat/completions", "completion_window": "24h",
            ], headers: RouterTests.auth)
            #expect(created.status == 200, "\(created.text)")
            let batch = try created.json()
            #expect(batch["status"] == "failed")
            let problems = batch["errors"]?["data"]?.arrayValue?.map { "\($0["line"]?.intValue ?? 0):\($0["code"]?.stringValue ?? "")" }
            #expect(problems == ["2:invalid_json_line", "3:duplicate_custom_id", "4:invalid_method", "5:mismatched_url"], "\(created.text)")

            // Another agent sees neither the file nor the batch; bad input is a 400, not a 500.
            let bob = [("authorization", "Bearer \(PolicyTests.bulkKey)")]
            #expect(try await HTTP.get(node.baseURL + "/v1/files/\(fileID)", headers: bob).status == 404)
            #expect(try await HTTP.get(node.baseURL + "/v1/batches/\(batch["id"]?.stringValue ?? "")", headers: bob).status == 404)
            #expect(try await HTTP.get(node.baseURL + "/v1/batches", headers: bob).json()["data"] == [])
            for (body, type) in [("garbage", "multipart/form-data; boundary=\(boundary)"), (form, "application/json"), ("--\(boundary)\r\n", "multipart/form-data; boundary=\(boundary)")] {
                let refused = try await HTTP.send("POST", node.baseURL + "/v1/files", body: Array(body.utf8), headers: RouterTests.auth + [("content-type", type)])
                #expect(refused.status == 400, "\(refused.status) \(refused.text)")
            }
            let wrong = try await HTTP.post(node.baseURL + "/v1/batches", json: ["input_file_id": .string(fileID), "endpoint": "/v1/images"], headers: RouterTests.auth)
            #expect(wrong.status == 400, "\(wrong.text)")

            // The runner's way in is its token, which no client has: a guess is refused, whatever agent it names.
            let forged = try await HTTP.post(node.baseURL + "/v1/chat/completions", json: [
                "model": "mock-ok", "messages": [["role": "user", "content": "hi"]],
            ], headers: [("x-dagi-batch", String(repeating: "0", count: 64)), ("x-dagi-batch-agent", "atlas")])
            let refusal = try forged.json()["error"]?["code"]
            #expect(forged.status == 401 && refusal == "invalid_batch_token", "\(forged.text)")
        }
    }

    /// A batch's request forwarded to a peer waits there behind other work, as it would at home:
    /// its low priority travels signed with it.
    @Test func aBatchRequestOnAPeerWaitsBehindNormalWork() async throws {
        let root = TemporaryDirectory()
        let model = OneSlotModel(root)
        let holder = """
            ollama: null
            agents:
              - { name: atlas, key_env: DAGI_KEY_ATLAS }
            """
        let peer = holder + "\n" + model.swapper
        let nodes = try MeshHarness.make(
            root: root, ids: ["qh", "qp"], links: ["qh": ["qp"], "qp": ["qh"]], extra: ["qh": holder, "qp": peer],
            environment: ["DAGI_KEY_ATLAS": RouterTests.key]
        )
        let a = nodes["qh"]!, b = nodes["qp"]!
        try await withGuardians([a, b]) {
            try await a.start()
            try await b.start()
            func ask(_ text: String, held: Bool = false) async throws -> HTTP.Reply {
                try await HTTP.send(
                    "POST", b.baseURL + "/v1/chat/completions", body: Array(model.body(text, held: held).utf8),
                    headers: RouterTests.auth + [("content-type", "application/json")], timeout: .seconds(60)
                )
            }
            let given = model.given
            // Loaded first (a cold start on two loaded cores can outlast one request's patience).
            try await poll(timeout: .seconds(90), "the peer's model to answer") { try await ask("warm").status == 200 }
            try await poll(timeout: .seconds(30), "the holder to see the peer's model") {
                try await a.store().models().contains { $0.nodeID == "qp" && $0.name == "one-slot" && $0.state == .loaded }
            }
            let busy = Task { try await ask("busy", held: true) }
            try await poll(timeout: .seconds(10), "the long request to reach the model") { given().last == "busy" }
            // The batch's one request comes from the holder, which has no model: it waits on the peer.
            let (code, _, err) = try await Python.run(Self.script, [a.baseURL + "/v1", RouterTests.key, "create", "one-slot", "1", "0"])
            #expect(code == 0, "\(err)")
            try await poll(timeout: .seconds(20), "the batch's request to queue on the peer") {
                try await SwapperTests.running(b)["one-slot"]?["queued"] == 1
            }
            let normal = Task { try await ask("normal") }
            try await poll(timeout: .seconds(10), "the normal request to queue") { try await SwapperTests.running(b)["one-slot"]?["queued"] == 2 }
            model.release()
            #expect(try await busy.value.status == 200)
            #expect(try await normal.value.status == 200)
            try await poll(timeout: .seconds(20), "the batch's request to run") { given().contains("Item 0") && given().contains("normal") }
            #expect(Array(given().suffix(3)) == ["busy", "normal", "Item 0"], "\(given())")
        }
    }
}
