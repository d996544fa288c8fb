import Logging
import MeshCore
import MeshHTTP
import MeshStore
import NIOCore
import ServiceLifecycle
import Synchronization

/// A kept answer: the bytes the client was sent (a whole body, or a stream's events) and what
/// made it, for the ledger row of each request it serves.
struct CachedAnswer: Sendable {
    let key: CacheKey
    let contentType: String
    let streamed: Bool
    let body: ByteBuffer
    let model: String
    let servedBy: String
    let provider: String?
    let usage: TokenUsage
    /// What the answer cost when it was made (and saved then, against the reference model):
    /// what each request it serves saves.
    let costUSD: Double
    let savingUSD: Double
    let createdAt: Int64
    let expiresAt: Int64

    /// What it weighs against `max_size`: its body and a bound on the rest.
    var weight: Int { body.readableBytes + 512 }
}

/// The router's response cache: answers in memory, by key, bounded by `max_size` (the oldest
/// give way) and `ttl`; copied to a ``ResponseCacheFile`` in batches once a second, off the
/// request path, and read back at start.
///
/// A lookup is one lock and a dictionary read on the event loop; so is keeping an answer.
public final class ResponseCache: Service, Sendable {
    let config: CacheConfig
    private let file: ResponseCacheFile?
    private let logger: Logger
    private let now: @Sendable () -> Int64

    private struct State: ~Copyable {
        var answers: [CacheKey: CachedAnswer] = [:]
        /// Keys in the order they were kept, the oldest first: what gives way to size. With one
        /// TTL it is also the order they expire; an answer kept longer (an agent's min_interval)
        /// at the front shields expired ones behind it until they are asked for or pushed out.
        /// An entry whose answer was replaced since is skipped.
        var order = CircularBuffer<(key: CacheKey, createdAt: Int64)>()
        var weight = 0
        /// Changes not yet in the file.
        var puts: [CacheKey: CachedAnswer] = [:]
        var deletes: Set<CacheKey> = []

        mutating func remove(_ key: CacheKey) {
            guard let gone = answers.removeValue(forKey: key) else { return }
            weight -= gone.weight
            puts[key] = nil
            deletes.insert(key)
        }

        /// Drops the oldest answers while over `limit`, and any expired at the front.
        mutating func trim(limit: Int, now: Int64) {
            while let first = order.first {
                guard let answer = answers[first.key], answer.createdAt == first.createdAt else {
                    order.removeFirst()
                    continue
                }
                guard weight > limit || answer.expiresAt <= now else { break }
                order.removeFirst()
                remove(first.key)
            }
            // Replaced answers leave stale entries behind: rebuilt when they outnumber the live.
            if order.count > 2 * answers.count + 64 {
                order = CircularBuffer(order.filter { answers[$0.key]?.createdAt == $0.createdAt })
            }
        }
    }

    private let state = Mutex(State())

    public init(config: CacheConfig, file: ResponseCacheFile?, logger: Logger, now: @escaping @Sendable () -> Int64) {
        self.config = config
        self.file = file
        self.logger = logger
        self.now = now
    }

    /// The fresh answer kept for `key`, if any, made at most `maxAgeMs` ago when given.
    func answer(for key: CacheKey, maxAgeMs: Int64? = nil) -> CachedAnswer? {
        let now = now()
        return state.withLock { state in
            guard let answer = state.answers[key] else { return nil }
            guard answer.expiresAt > now else {
                state.remove(key)
                return nil
            }
            if let maxAgeMs, now.saturatingMinus(answer.createdAt) > maxAgeMs { return nil }
            return answer
        }
    }

    /// Keeps an answer (replacing one under the same key); too large a one is not kept.
    func keep(_ answer: CachedAnswer) {
        guard answer.body.readableBytes <= Int(config.maxEntrySize.bytes), answer.weight <= Int(config.maxSize.bytes) else { return }
        let limit = Int(config.maxSize.bytes)
        let now = now()
        state.withLock { state in
            state.remove(answer.key)
            state.deletes.remove(answer.key)
            state.answers[answer.key] = answer
            state.weight += answer.weight
            state.order.append((answer.key, answer.createdAt))
            state.puts[answer.key] = answer
            state.trim(limit: limit, now: now)
        }
    }

    var count: Int { state.withLock { $0.answers.count } }

    // MARK: - The file

    /// Reads the file's fresh answers into memory (those kept since start win).
    func load() async {
        guard let file else { return }
        let config = self.config
        let now = now()
        do {
            let entries = try await file.load(now: now, maxBytes: config.maxSize.bytes, maxEntryBytes: Int(config.maxEntrySize.bytes))
            // Oldest first, so the order of eviction is the order they were made.
            for entry in entries.reversed() {
                guard let key = CacheKey(hex: entry.key), let answer = CachedAnswer(entry, key: key) else { continue }
                state.withLock { state in
                    guard state.answers[key] == nil else { return }
                    state.answers[key] = answer
                    state.weight += answer.weight
                    state.order.append((key, answer.createdAt))
                }
            }
            state.withLock { $0.trim(limit: Int(config.maxSize.bytes), now: now) }
            if !entries.isEmpty { logger.info("response cache: \(entries.count) answers read from \(file.path)") }
        } catch {
            logger.warning("response cache: \(file.path) could not be read (\(error)); starting empty")
        }
    }

    /// Writes the changes since the last flush; expired answers are dropped first.
    func flush() async {
        let limit = Int(config.maxSize.bytes)
        let now = now()
        let (puts, deletes) = state.withLock { state in
            state.trim(limit: limit, now: now)
            defer {
                state.puts.removeAll(keepingCapacity: true)
                state.deletes.removeAll(keepingCapacity: true)
            }
            return (Array(state.puts.values), Array(state.deletes))
        }
        guard let file, !puts.isEmpty || !deletes.isEmpty else { return }
        do {
            try await file.apply(puts: puts.map(\.fileEntry), deletes: deletes.map(\.hex))
        } catch {
            // The memory copy still serves; what was not written is tried again with the next
            // flush, unless it changed meanwhile.
            logger.warning("response cache: writing \(file.path) failed: \(error)")
            state.withLock { state in
                for answer in puts where state.answers[answer.key]?.createdAt == answer.createdAt && state.puts[answer.key] == nil {
                    state.puts[answer.key] = answer
                }
                for key in deletes where state.answers[key] == nil { state.deletes.insert(key) }
            }
        }
    }

    public func run() async throws {
        await load()
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(1))
                await self.flush()
            }
        }
        await flush()
    }
}

extension CachedAnswer {
    /// An answer read back from the file, nil unless its names are what the ledger and the
    /// headers accept (a model name as a request's, a node's name, a short content type).
    init?(_ entry: ResponseCacheFile.Entry, key: CacheKey) {
        func isName(_ text: String?, _ limit: Int) -> Bool {
            guard let text else { return true }
            return !text.isEmpty && text.utf8.count <= limit && !text.unicodeScalars.contains { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) }
        }
        guard isName(entry.model, RequestFields.maxModelLength), MeshName.isValid(entry.servedBy), isName(entry.contentType, 256),
              isName(entry.provider, 256), entry.expiresAt > entry.createdAt
        else { return nil }
        self.init(
            key: key, contentType: entry.contentType, streamed: entry.streamed, body: ByteBuffer(bytes: entry.body), model: entry.model,
            servedBy: entry.servedBy, provider: entry.provider, usage: TokenUsage(prompt: TokenUsage.clamp(entry.promptTokens), completion: TokenUsage.clamp(entry.completionTokens)),
            costUSD: Self.dollars(entry.costUSD), savingUSD: Self.dollars(entry.savingUSD),
            createdAt: entry.createdAt, expiresAt: entry.expiresAt
        )
    }

    /// A figure read back from the file, within what any answer can cost.
    private static func dollars(_ value: Double) -> Double { value.isFinite ? min(max(0, value), 1e9) : 0 }

    var fileEntry: ResponseCacheFile.Entry {
        ResponseCacheFile.Entry(
            key: key.hex, contentType: contentType, streamed: streamed, body: Array(body.readableBytesView), model: model, servedBy: servedBy,
            provider: provider, promptTokens: usage.prompt, completionTokens: usage.completion, costUSD: costUSD, savingUSD: savingUSD,
            createdAt: createdAt, expiresAt: expiresAt
        )
    }
}
