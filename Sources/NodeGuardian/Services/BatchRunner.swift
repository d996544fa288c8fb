import AsyncHTTPClient
import DAGIRouter
import Foundation
import Logging
import MeshCore
import MeshStore
import NIOCore
import ServiceLifecycle
import Synchronization

/// Runs this node's batches. Each request goes through this node's own router, as its agent,
/// at low priority and on the mesh's models only — spread over the nodes that serve its model,
/// each given the next request when it has the fewest of this runner's in flight. An answer is
/// written the moment it comes, so after a restart only what was unanswered runs (a request in
/// flight at a crash may have run once already; the output still holds it once). A request the
/// mesh cannot take now (429, 503) waits until it can, within the batch's window; one that
/// failed otherwise (another 5xx, no connection) is tried a few times before its failure is its
/// answer. When every request is answered the output and error files are
/// written and the batch is `completed`; a cancelled batch ends once its requests in flight do.
final class BatchRunner: Service, Sendable {
    let batches: BatchStore
    let router: RequestRouter
    let http: HTTPClient
    let logger: Logger
    let now: @Sendable () -> Int64
    let concurrency: Int
    /// A new id for a file held here (the output and error files).
    let newFileID: @Sendable () -> String
    private let wakeup = Wakeup()
    private let baseURL = Mutex<String?>(nil)

    private struct Key: Hashable { let batch: String, line: Int }

    private struct State {
        var inFlight: [Key: String] = [:]
        var attempts: [Key: Int] = [:]
        var notBefore: [Key: ContinuousClock.Instant] = [:]
    }

    private let state = Mutex(State())

    /// Tries of one request before its failure is its answer (a 429 is waited out, not counted).
    static let maxAttempts = 6
    /// The largest answer kept: the output file of a batch is written whole, and SQLite holds
    /// no value past a gigabyte (10,000 answers of 64 KiB fit well within).
    static let maxAnswerBytes = 64 << 10

    init(
        batches: BatchStore, router: RequestRouter, http: HTTPClient, logger: Logger, now: @escaping @Sendable () -> Int64, concurrency: Int = 4,
        newFileID: @escaping @Sendable () -> String
    ) {
        self.newFileID = newFileID
        self.batches = batches
        self.router = router
        self.http = http
        var logger = logger
        logger[metadataKey: "component"] = "batches"
        self.logger = logger
        self.now = now
        self.concurrency = concurrency
    }

    /// The router listens at `url` (this machine's address of it): work may start.
    func listening(at url: String) {
        baseURL.withLock { $0 = url }
        wake()
    }

    /// A batch was created or cancelled.
    func wake() { wakeup.signal() }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                while !Task.isCancelled {
                    await self.step(group: &group)
                    await self.wakeup.wait(upTo: .seconds(1))
                }
                // Stopped before the server (see Guardian): requests in flight are cut here, and what
            // did not end runs after the restart.
                group.cancelAll()
            }
        }
    }

    /// Starts what may start, and ends the batches that are done.
    private func step(group: inout DiscardingTaskGroup) async {
        guard let base = baseURL.withLock({ $0 }) else { return }
        let active: [BatchStore.Batch]
        do {
            active = try await batches.activeBatches()
        } catch {
            logger.error("batches could not be read: \(error)")
            return
        }
        for batch in active {
            let running = state.withLock { state in Set(state.inFlight.keys.filter { $0.batch == batch.id }.map(\.line)) }
            if batch.status == "cancelling" || now() >= batch.expiresAt {
                // Past its completion window a batch ends as OpenAI's do: with what was answered.
                if running.isEmpty { await end(batch, status: batch.status == "cancelling" ? "cancelled" : "expired") }
                continue
            }
            let room = concurrency - state.withLock { $0.inFlight.count }
            let pending: [BatchStore.Item]
            do {
                pending = try await batches.pendingItems(batch.id, excluding: running, limit: max(room, 0) + 64)
            } catch {
                logger.error("batch \(batch.id) could not be read: \(error)")
                continue
            }
            if pending.isEmpty, running.isEmpty {
                await end(batch, status: "completed")
                continue
            }
            var started = 0
            for item in pending where started < room {
                let key = Key(batch: batch.id, line: item.line)
                guard let node = claim(key, item: item, agent: batch.agent) else { continue }
                started += 1
                group.addTask { await self.send(item, of: batch, to: node, base: base, key: key) }
            }
        }
    }

    /// Takes a request for running now, on the node with the fewest of ours in flight; nil
    /// while it waits out a retry, or no node of the mesh serves its model now (it waits).
    private func claim(_ key: Key, item: BatchStore.Item, agent: String) -> String? {
        if let after = state.withLock({ $0.notBefore[key] }), ContinuousClock.now < after { return nil }
        let nodes = router.meshNodes(serving: Self.model(of: item), agent: agent)
        guard !nodes.isEmpty else {
            wait(key, for: .seconds(5))
            return nil
        }
        return state.withLock { state in
            var load: [String: Int] = [:]
            for node in state.inFlight.values { load[node, default: 0] += 1 }
            let node = nodes.min { load[$0, default: 0] < load[$1, default: 0] } ?? nodes[0]
            state.inFlight[key] = node
            return node
        }
    }

    private func send(_ item: BatchStore.Item, of batch: BatchStore.Batch, to node: String, base: String, key: Key) async {
        var answer: BatchStore.Answer?
        do {
            var request = HTTPClientRequest(url: base + batch.endpoint)
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            request.headers.add(name: BatchCaller.tokenHeader, value: router.batchCaller.token)
            request.headers.add(name: BatchCaller.agentHeader, value: batch.agent)
            request.headers.add(name: BatchCaller.nodeHeader, value: node)
            request.body = .bytes(ByteBuffer(bytes: item.body))
            let response = try await http.execute(request, timeout: .seconds(600))
            let status = Int(response.status.code)
            let requestID = response.headers.first(name: "x-request-id") ?? ""
            let body: ByteBuffer
            do {
                body = try await response.body.collect(upTo: Self.maxAnswerBytes)
            } catch is NIOTooManyBytesError {
                let tooLarge: JSONValue = ["error": ["message": .string("the answer is larger than a batch keeps (\(Self.maxAnswerBytes) bytes)"), "type": "invalid_request_error", "code": "answer_too_large"]]
                body = ByteBuffer(bytes: tooLarge.serialized())
                answer = BatchStore.Answer(status: 413, requestID: requestID, body: Array(body.readableBytesView))
                throw AnswerTooLarge()
            }
            let reply = BatchStore.Answer(status: status, requestID: requestID, body: Array(body.readableBytesView))
            if status == 429 || status == 503 {
                // The agent's rate limit, a busy or absent model: waited out, as long as the batch may run.
                wait(key, for: response.headers.first(name: "retry-after").flatMap(Int.init).map { Duration.seconds(min(max($0, 1), 60)) } ?? .seconds(5))
            } else {
                answer = Self.isFinal(status) || lastTry(key) ? reply : nil
            }
        } catch is AnswerTooLarge {
            // Recorded below.
        } catch {
            if Task.isCancelled { return release(key) }
            logger.warning("batch \(batch.id) request on line \(item.line): \(error)")
            if lastTry(key) {
                let failure: JSONValue = ["error": ["message": .string("the request could not be sent: \(error)"), "type": "server_error", "code": "batch_request_failed"]]
                answer = BatchStore.Answer(status: 500, requestID: "", body: failure.serialized())
            }
        }
        if let answer {
            do {
                try await batches.answer(batch.id, line: item.line, with: answer)
            } catch {
                // Not sent again at once: the store may need a moment.
                logger.error("batch \(batch.id): the answer on line \(item.line) could not be written: \(error)")
                wait(key, for: .seconds(10))
            }
        }
        release(key)
        wake()
    }

    /// Whether a status is the request's answer, not a reason to try again later.
    static func isFinal(_ status: Int) -> Bool { status != 429 && status < 500 }

    private struct AnswerTooLarge: Error {}

    /// The request waits `delay` before it is sent again.
    private func wait(_ key: Key, for delay: Duration) {
        state.withLock { $0.notBefore[key] = ContinuousClock.now + delay }
    }

    /// Counts a try; true when it was the last one (else it waits a while before the next).
    private func lastTry(_ key: Key) -> Bool {
        state.withLock { state in
            let attempts = state.attempts[key, default: 0] + 1
            state.attempts[key] = attempts
            state.notBefore[key] = ContinuousClock.now + .seconds(min(30, 1 << min(attempts, 5)))
            return attempts >= Self.maxAttempts
        }
    }

    private func release(_ key: Key) {
        state.withLock { _ = $0.inFlight.removeValue(forKey: key) }
    }

    private func end(_ batch: BatchStore.Batch, status: String) async {
        do {
            try await batches.finish(batch.id, status: status, now: now(), makeID: newFileID)
            state.withLock { state in
                state.attempts = state.attempts.filter { $0.key.batch != batch.id }
                state.notBefore = state.notBefore.filter { $0.key.batch != batch.id }
            }
            logger.info("batch \(batch.id) \(status)")
        } catch {
            // Trying again each second would fail the same way: the batch fails, its answers kept.
            logger.error("batch \(batch.id) could not be ended: \(error)")
            try? await batches.fail(batch.id, now: now(), message: "the batch's output could not be written")
        }
    }

    private static func model(of item: BatchStore.Item) -> String {
        (try? JSONValue.parse(item.body))?["model"]?.stringValue ?? ""
    }
}
