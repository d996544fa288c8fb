import Foundation
import MeshCore
import Testing

/// The response cache and coalescing on a real node with a fake cloud provider that counts its
/// calls: a repeated deterministic request makes no call, costs nothing and says `hit`; every
/// parameter (Ollama's `num_ctx` too) and the agent are part of the key; sampled requests are
/// never served from the cache nor merged; identical concurrent requests make one call, whole
/// and streamed, through the official openai client; kept answers survive a restart.
@Suite(.serialized) struct CacheTests {
    static let bobKey = "sk-bob-test-key-0123456789abcdef0123"

    /// gpt-mini at $1 / $10,000 per million tokens: an answer costs what can be seen.
    static func node(_ root: TemporaryDirectory, _ fake: FakeProvider, id: String = "ca") throws -> GuardianProcess {
        try MeshHarness.make(
            root: root, ids: [id], links: [:],
            extra: [id: """
                ollama: null
                agents:
                  - { name: atlas, key_env: DAGI_KEY_ATLAS, allow_cloud: true }
                  - { name: bob, key_env: DAGI_KEY_BOB, allow_cloud: true }
                providers:
                  openai: { kind: openai, key_env: OPENAI_API_KEY, base_url: \(fake.baseURL)/v1 }
                cloud_models:
                  gpt-mini: { provider: openai, id: gpt-4.1-mini, input: 1, output: 10000 }
                """],
            environment: ["DAGI_KEY_ATLAS": RouterTests.key, "DAGI_KEY_BOB": bobKey, "OPENAI_API_KEY": CompatTests.openAIKey]
        )[id]!
    }

    /// An answer past `max_entry_size` is not kept; the requests that joined its flight before
    /// it grew that large still get all of it.
    @Test func anAnswerPastTheEntryLimitIsSharedButNotKept() async throws {
        let root = TemporaryDirectory()
        let fake = try await FakeProvider(kind: "openai", key: CompatTests.openAIKey)
        defer { fake.stop() }
        let word = String(repeating: "w", count: 100)
        try await fake.control(["reply": .string(Array(repeating: word, count: 16).joined(separator: " "))])
        let node = try MeshHarness.make(
            root: root, ids: ["cd"], links: [:],
            extra: ["cd": """
                ollama: null
                agents:
                  - { name: atlas, key_env: DAGI_KEY_ATLAS, allow_cloud: true }
                providers:
                  openai: { kind: openai, key_env: OPENAI_API_KEY, base_url: \(fake.baseURL)/v1 }
                cloud_models:
                  gpt-mini: { provider: openai, id: gpt-4.1-mini, input: 1, output: 2 }
                cache: { max_entry_size: 1KiB }
                """],
            environment: ["DAGI_KEY_ATLAS": RouterTests.key, "OPENAI_API_KEY": CompatTests.openAIKey]
        )["cd"]!
        try await withGuardians([node]) {
            try await node.start()
            let script = RealModels.repository + "/scripts/fixtures/openai_concurrent.py"
            for mode in ["whole", "stream"] {
                let before = try await fake.requestCount
                let (code, out, err) = try await Self.whileHeld(
                    fake, node, joining: 4, script, [node.baseURL + "/v1", "gpt-mini", RouterTests.key, "5", mode, "Too long to keep, \(mode)."]
                )
                #expect(code == 0, "\(err)")
                let answers = try JSONValue.parse(Array(out.utf8))["answers"]?.arrayValue ?? []
                #expect(answers.count == 5 && answers.allSatisfy { $0["content"]?.stringValue?.count == 16 * 101 - 1 }, "\(mode): \(out.prefix(600))")
                #expect(try await fake.requestCount == before + 1, "\(mode)")
                // Not kept: the same request once more is a call of its own.
                let (again, repeated, _) = try await Python.run(script, [node.baseURL + "/v1", "gpt-mini", RouterTests.key, "1", mode, "Too long to keep, \(mode)."])
                #expect(again == 0 && repeated.contains(#""cache": "miss""#), "\(repeated.prefix(300))")
                #expect(try await fake.requestCount == before + 2, "\(mode)")
            }
        }
    }

    static func post(_ node: GuardianProcess, _ body: String, path: String = "/v1/chat/completions", key: String = RouterTests.key, headers: [(String, String)] = []) async throws -> HTTP.Reply {
        try await HTTP.send("POST", node.baseURL + path, body: Array(body.utf8), headers: [("authorization", "Bearer \(key)"), ("content-type", "application/json")] + headers, timeout: .seconds(60))
    }

    static func cache(_ reply: HTTP.Reply) -> String? { reply.headers.first(name: "x-dagi-cache") }

    /// The node's count of requests that joined another's call so far.
    static func coalesced(_ node: GuardianProcess) async throws -> Int {
        let line = try await HTTP.get(node.baseURL + "/metrics").text.split(separator: "\n").first {
            $0.hasPrefix("dagi_router_cache") && $0.contains(#"outcome="coalesced""#)
        }
        return line.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } ?? 0
    }

    /// Runs `script` with `arguments` while the fake holds its answers, once `count` requests
    /// joined the call (and the call reached the fake) lets the answer go, and returns the
    /// script's output: so every request is surely in the air together, whatever the load.
    static func whileHeld(
        _ fake: FakeProvider, _ node: GuardianProcess, joining count: Int, _ script: String, _ arguments: [String]
    ) async throws -> (Int32, String, String) {
        let joined = try await coalesced(node), calls = try await fake.requestCount
        try await fake.control(["hold": true])
        let run = Task { try await Python.run(script, arguments) }
        do {
            try await poll(timeout: .seconds(60), "\(count) requests to join the call") {
                let merged = try await coalesced(node), made = try await fake.requestCount
                return merged == joined + count && made == calls + 1
            }
        } catch {
            try await fake.control(["release": true])
            _ = try? await run.value
            throw error
        }
        try await fake.control(["release": true])
        return try await run.value
    }

    @Test func aRepeatedDeterministicRequestIsAnsweredFromTheCache() async throws {
        let root = TemporaryDirectory()
        let fake = try await FakeProvider(kind: "openai", key: CompatTests.openAIKey)
        defer { fake.stop() }
        let node = try Self.node(root, fake)
        try await withGuardians([node]) {
            try await node.start()
            let question = #"{"model":"gpt-mini","temperature":0,"max_tokens":8,"messages":[{"role":"user","content":"What is a mesh?"}]}"#
            let first = try await Self.post(node, question)
            #expect(first.status == 200, "\(first.text)")
            #expect(Self.cache(first) == "miss")
            #expect(first.headers.first(name: "x-dagi-route") == "cloud:openai")
            let cost = try #require(first.headers.first(name: "x-dagi-cost-usd").flatMap(Double.init))
            #expect(cost > 0)
            #expect(try await fake.requestCount == 1)

            // The same request, its keys in another order and spaced otherwise: no call.
            let again = try await Self.post(node, #"{ "messages": [ {"content": "What is a mesh?", "role": "user"} ], "max_tokens": 8, "model": "gpt-mini", "temperature": 0 }"#)
            #expect(again.status == 200, "\(again.text)")
            #expect(Self.cache(again) == "hit")
            #expect(again.headers.first(name: "x-dagi-route") == "cache")
            #expect(again.headers.first(name: "x-dagi-cost-usd") == "0.00000000")
            #expect(try again.json()["choices"] == first.json()["choices"])
            #expect(try again.json()["usage"] == first.json()["usage"])
            #expect(try await fake.requestCount == 1)

            // A stream is kept as a stream and replayed as one.
            let streamed = #"{"model":"gpt-mini","temperature":0,"stream":true,"messages":[{"role":"user","content":"Stream about meshes."}]}"#
            let live = try await Self.post(node, streamed)
            #expect(live.status == 200 && Self.cache(live) == "miss", "\(live.text)")
            let replayed = try await Self.post(node, streamed)
            #expect(Self.cache(replayed) == "hit")
            #expect(replayed.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true)
            #expect(replayed.text == live.text && replayed.text.contains("data: [DONE]"), "\(replayed.text)")
            #expect(try await fake.requestCount == 2)

            // Sampled requests are never served from the cache; x-dagi-cache: force opts one in.
            let sampled = #"{"model":"gpt-mini","temperature":0.7,"max_tokens":8,"messages":[{"role":"user","content":"What is a mesh?"}]}"#
            for _ in 0..<2 {
                let reply = try await Self.post(node, sampled)
                #expect(reply.status == 200 && Self.cache(reply) == nil, "\(reply.text)")
            }
            #expect(try await fake.requestCount == 4)
            #expect(Self.cache(try await Self.post(node, sampled, headers: [("x-dagi-cache", "force")])) == "miss")
            #expect(Self.cache(try await Self.post(node, sampled, headers: [("x-dagi-cache", "force")])) == "hit")
            #expect(try await fake.requestCount == 5)

            // Cache-Control: no-cache asks afresh; x-dagi-cache: off leaves the cache alone.
            #expect(Self.cache(try await Self.post(node, question, headers: [("cache-control", "no-cache")])) == "miss")
            #expect(Self.cache(try await Self.post(node, question, headers: [("x-dagi-cache", "off")])) == nil)
            #expect(try await fake.requestCount == 7)

            // Ollama's options are part of the key: another num_ctx is another request.
            let ollama = { (context: Int) in
                #"{"model":"gpt-mini","stream":false,"options":{"temperature":0,"num_ctx":\#(context)},"messages":[{"role":"user","content":"What is a mesh?"}]}"#
            }
            #expect(Self.cache(try await Self.post(node, ollama(2048), path: "/api/chat")) == "miss")
            let ollamaHit = try await Self.post(node, ollama(2048), path: "/api/chat")
            #expect(Self.cache(ollamaHit) == "hit")
            #expect(try ollamaHit.json()["message"]?["content"]?.stringValue?.isEmpty == false, "\(ollamaHit.text)")
            #expect(Self.cache(try await Self.post(node, ollama(4096), path: "/api/chat")) == "miss")
            #expect(try await fake.requestCount == 9)

            // Each agent has its own answers.
            #expect(Self.cache(try await Self.post(node, question, key: Self.bobKey)) == "miss")
            #expect(try await fake.requestCount == 10)

            // The ledger: hits cost nothing and save what the answer cost.
            try await poll(timeout: .seconds(15), "the ledger to hold the hits") {
                let rows = try await HTTP.get(node.baseURL + "/v1/usage?limit=100").json()["data"]?.arrayValue ?? []
                return rows.filter { $0["cache_hit"] == true }.count == 4
            }
            let rows = try await HTTP.get(node.baseURL + "/v1/usage?limit=100").json()["data"]?.arrayValue ?? []
            let hit = try #require(rows.first { $0["request_id"]?.stringValue == again.headers.first(name: "x-request-id") }, "\(rows.map(\.jsonString))")
            #expect(hit["cache_hit"] == true && hit["route"] == "cache" && hit["cost_usd"]?.doubleValue == 0, "\(hit.jsonString)")
            #expect(abs((hit["saving_usd"]?.doubleValue ?? 0) - cost) < 1e-9, "\(hit.jsonString)")
            #expect(hit["agent"] == "atlas" && hit["model"] == "gpt-mini")

            // Kept answers outlive the process.
            _ = try await node.stop()
            try await node.start()
            let afterRestart = try await Self.post(node, question)
            #expect(Self.cache(afterRestart) == "hit", "\(afterRestart.text)")
            #expect(try await fake.requestCount == 10)
        }
    }

    @Test func identicalConcurrentRequestsMakeOneUpstreamCall() async throws {
        let root = TemporaryDirectory()
        let fake = try await FakeProvider(kind: "openai", key: CompatTests.openAIKey)
        defer { fake.stop() }
        let node = try Self.node(root, fake, id: "cb")
        try await withGuardians([node]) {
            try await node.start()
            let script = RealModels.repository + "/scripts/fixtures/openai_concurrent.py"
            for (mode, prompt) in [("whole", "Ten at once, whole."), ("stream", "Ten at once, streamed.")] {
                let before = try await fake.requestCount
                let (code, out, err) = try await Self.whileHeld(fake, node, joining: 9, script, [node.baseURL + "/v1", "gpt-mini", RouterTests.key, "10", mode, prompt])
                #expect(code == 0, "\(err)")
                let answers = try JSONValue.parse(Array(out.utf8))["answers"]?.arrayValue ?? []
                #expect(answers.count == 10)
                let contents = Set(answers.compactMap { $0["content"]?.stringValue })
                #expect(contents.count == 1 && contents.first?.hasPrefix("echo: ") == true, "\(mode): \(out)")
                let outcomes = answers.compactMap { $0["cache"]?.stringValue }.sorted()
                #expect(outcomes == Array(repeating: "coalesced", count: 9) + ["miss"], "\(mode): \(outcomes)")
                if mode == "stream" { #expect(answers.allSatisfy { ($0["chunks"]?.intValue ?? 0) > 2 }, "\(out)") }
                #expect(try await fake.requestCount == before + 1, "\(mode)")
            }

            // Sampled requests are never merged: ten calls.
            let before = try await fake.requestCount
            let (code, out, err) = try await Python.run(script, [node.baseURL + "/v1", "gpt-mini", RouterTests.key, "10", "whole", "Ten sampled.", "0.7"])
            #expect(code == 0, "\(err)")
            #expect(try JSONValue.parse(Array(out.utf8))["answers"]?.arrayValue?.allSatisfy { $0["cache"] == .null } == true, "\(out)")
            #expect(try await fake.requestCount == before + 10)

            // Eighteen coalesced rows, each free and saving what the call cost.
            try await poll(timeout: .seconds(15), "the ledger to hold the coalesced requests") {
                let rows = try await HTTP.get(node.baseURL + "/v1/usage?limit=100").json()["data"]?.arrayValue ?? []
                return rows.filter { $0["cache_hit"] == true }.count == 18
            }
            let rows = try await HTTP.get(node.baseURL + "/v1/usage?limit=100").json()["data"]?.arrayValue ?? []
            let merged = rows.filter { $0["cache_hit"] == true }
            // A streamed follower whose client read [DONE] and hung up before the upstream's end
            // reached the flight is a 499 that saved nothing (CI at 2674afd, once): allowed for
            // streams; the whole answers' followers (their clients wait for the end) all saved.
            #expect(merged.allSatisfy { $0["cost_usd"]?.doubleValue == 0 }, "\(merged.map(\.jsonString))")
            let saved = merged.filter { ($0["saving_usd"]?.doubleValue ?? 0) > 0 && $0["status"] == 200 }
            let leftAtTheEnd = merged.filter { $0["status"] == 499 && $0["saving_usd"]?.doubleValue == 0 }
            #expect(saved.count >= 9 && saved.count + leftAtTheEnd.count == 18, "\(merged.map(\.jsonString))")
        }
    }

    /// A request whose client hangs up while others wait on its call: they still get the
    /// answer. With no one waiting, its flight ends with it (the call stopped, a 499 in the
    /// ledger) and the next request calls anew; so when every client of a flight has left.
    @Test func aLeaderLeavingCutsNeitherItsFollowersNorLaterRequests() async throws {
        let root = TemporaryDirectory()
        let fake = try await FakeProvider(kind: "openai", key: CompatTests.openAIKey)
        defer { fake.stop() }
        let node = try Self.node(root, fake, id: "cc")
        try await withGuardians([node]) {
            try await node.start()
            func ask(_ text: String) -> String { #"{"model":"gpt-mini","temperature":0,"max_tokens":8,"messages":[{"role":"user","content":"\#(text)"}]}"# }
            func stopped() async throws -> Int {
                try await HTTP.get(node.baseURL + "/v1/usage?limit=100").json()["data"]?.arrayValue?.filter { $0["status"] == 499 }.count ?? 0
            }
            try await fake.control(["hold": true])
            let leader = try RawConnection(port: node.port)
            leader.send(RawHTTP.post("/v1/chat/completions", ask("Who leads?")))
            try await poll(timeout: .seconds(10), "the leader's call to reach the provider") { try await fake.requestCount == 1 }
            let follower = Task { try await Self.post(node, ask("Who leads?")) }
            try await poll(timeout: .seconds(10), "the second request to join the flight") { try await Self.coalesced(node) == 1 }
            leader.shutdown()
            try await fake.control(["release": true])
            let answer = try await follower.value
            #expect(answer.status == 200 && Self.cache(answer) == "coalesced", "\(answer.status) \(answer.text)")
            #expect(try answer.json()["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue?.hasPrefix("echo: ") == true, "\(answer.text)")
            #expect(try await fake.requestCount == 1)
            // Both rows are in (the leader's is 499 or 200, as its hang-up raced the answer).
            try await poll(timeout: .seconds(10), "the leader's and the follower's rows") {
                try await HTTP.get(node.baseURL + "/v1/usage?limit=100").json()["data"]?.arrayValue?.count == 2
            }
            let before = try await stopped()

            // Alone, a leader that leaves takes its flight with it: its call is stopped, and the
            // same request later is called afresh rather than left waiting on it.
            try await fake.control(["hold": true])
            let lone = try RawConnection(port: node.port)
            lone.send(RawHTTP.post("/v1/chat/completions", ask("Who left?")))
            try await poll(timeout: .seconds(10), "the lone call to reach the provider") { try await fake.requestCount == 2 }
            lone.shutdown()
            try await poll(timeout: .seconds(10), "the lone call to be stopped") { try await stopped() == before + 1 }
            try await fake.control(["release": true])
            let fresh = try await Self.post(node, ask("Who left?"))
            #expect(fresh.status == 200 && Self.cache(fresh) == "miss", "\(fresh.status) \(fresh.text)")
            #expect(try await fake.requestCount == 3)

            // Leader and follower both leave: the last to go stops the call (a 499 row each).
            try await fake.control(["hold": true])
            let first = try RawConnection(port: node.port)
            first.send(RawHTTP.post("/v1/chat/completions", ask("Who stays?")))
            try await poll(timeout: .seconds(10), "the call to reach the provider") { try await fake.requestCount == 4 }
            let second = try RawConnection(port: node.port)
            second.send(RawHTTP.post("/v1/chat/completions", ask("Who stays?")))
            try await poll(timeout: .seconds(10), "the second to join") { try await Self.coalesced(node) == 2 }
            first.shutdown()
            second.shutdown()
            try await poll(timeout: .seconds(10), "the call no one waits for to be stopped") { try await stopped() == before + 3 }
            try await fake.control(["release": true])
        }
    }

    /// A kept answer written synchronously, with the next request pipelined behind it on the
    /// same connection: both answered, in order.
    @Test func aHitWithARequestPipelinedBehindItAnswersBoth() async throws {
        let root = TemporaryDirectory()
        let fake = try await FakeProvider(kind: "openai", key: CompatTests.openAIKey)
        defer { fake.stop() }
        let node = try Self.node(root, fake, id: "ce")
        try await withGuardians([node]) {
            try await node.start()
            let kept = #"{"model":"gpt-mini","temperature":0,"max_tokens":8,"messages":[{"role":"user","content":"Kept."}]}"#
            let fresh = #"{"model":"gpt-mini","temperature":0.5,"max_tokens":8,"messages":[{"role":"user","content":"Fresh."}]}"#
            #expect(Self.cache(try await Self.post(node, kept)) == "miss")
            let both = try await RawHTTP.exchange(port: node.port, send: RawHTTP.post("/v1/chat/completions", kept) + RawHTTP.post("/v1/chat/completions", fresh)) {
                $0.components(separatedBy: "HTTP/1.1 200").count == 3 && $0.contains("echo: Fresh.")
            }
            let answers = both.components(separatedBy: "HTTP/1.1 ").dropFirst()
            #expect(answers.count == 2, "\(both)")
            #expect(answers.first?.lowercased().contains("x-dagi-cache: hit") == true && answers.first?.contains("echo: Kept.") == true, "\(both)")
            #expect(answers.last?.lowercased().contains("x-dagi-cache") == false && answers.last?.contains("echo: Fresh.") == true, "\(both)")
            #expect(try await fake.requestCount == 2)
        }
    }
}
