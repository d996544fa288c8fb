import Foundation
import Hummingbird
import MeshCore
import MeshHTTP
import MeshStore
import MeshViews
import NIOCore
import ServiceLifecycle
import Synchronization

/// `GET /v1/usage/live`: every request the mesh meters, as server-sent events, as its ledger
/// row lands in this node's replica — its own at once, peers' as they sync (within
/// ``window`` of their time; a peer back from a longer partition shows in `/v1/usage`, not
/// here). The dashboard's live request log. Woken by the store's change notifications, not a
/// poll; a comment every 15 s notices a closed client. Ends on the node's graceful shutdown.
/// Node information: an agent's key sees its own rows.
struct UsageLiveAPI {
    let store: MeshStore
    let audience: Audience
    /// Streams open now; at most ``maxOpen``, and agents' keys at most ``maxOpenForAgents`` of
    /// them, so the operator's dashboard always finds a place.
    let open = OpenStreams()
    static let maxOpen = 32
    static let maxOpenForAgents = 8
    /// How far back a row may be dated and still be news (a peer's row arrives a sync round late).
    static let window: Int64 = 10 * 60_000
    /// Rows read per wake-up, newest first.
    static let rowsPerLook = 2000

    final class OpenStreams: Sendable {
        private let count = Atomic<Int>(0)
        /// Takes a place; false (and nothing taken) when `limit` are taken.
        func take(limit: Int) -> Bool {
            guard count.add(1, ordering: .relaxed).newValue <= limit else {
                count.subtract(1, ordering: .relaxed)
                return false
            }
            return true
        }
        func release() { count.subtract(1, ordering: .relaxed) }
    }

    func register(on router: Router<MeshRequestContext>) {
        router.get("/v1/usage/live") { request, context in
            let reader = try await audience.requireInfo(request, context)
            let agent = try UsageAPI.agent(of: reader)
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    // Taken and released where the stream runs, so a place is never leaked by
                    // a connection that closed before its body began.
                    guard open.take(limit: agent == nil ? Self.maxOpen : Self.maxOpenForAgents) else {
                        // `retry` keeps an EventSource from reconnecting every few seconds.
                        try await writer.write(ByteBuffer(string: "retry: 60000\nevent: error\ndata: {\"code\":\"too_many_streams\",\"message\":\"too many live usage streams are open\"}\n\n"))
                        try await writer.finish(nil)
                        return
                    }
                    defer { open.release() }
                    try await stream(to: &writer, agent: agent)
                    try await writer.finish(nil)
                }
            )
        }
    }

    private func stream(to writer: inout some ResponseBodyWriter, agent: String?) async throws {
        let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let observer = store.addObserver { tables in if tables.contains(.usage) { wake.yield() } }
        defer { store.removeObserver(observer) }
        let beat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(15))
                wake.yield()
            }
        }
        defer { beat.cancel() }
        // What the replica holds when the stream opens is history (the page reads it from
        // /v1/usage); only rows that arrive afterwards are sent. Rows are told apart by request
        // id, not time: a peer's row lands after newer ones of this node.
        var sent: [String: Int64] = [:]
        for row in try await store.usage(UsageFilter(agent: agent, since: store.clock.wallMilliseconds() - Self.window), limit: Self.rowsPerLook) {
            sent[row.requestID] = row.ts
        }
        try await writer.write(ByteBuffer(string: ": dagi usage stream\n\n"))
        for await _ in wakeups.cancelOnGracefulShutdown() {
            let now = store.clock.wallMilliseconds()
            let rows = try await store.usage(UsageFilter(agent: agent, since: now - Self.window), limit: Self.rowsPerLook)
            var out = ByteBuffer()
            for row in rows.reversed() where sent[row.requestID] == nil {
                sent[row.requestID] = row.ts
                out.writeString("data: ")
                out.writeBytes(try JSONResponse.encoder.encode(UsageRowView(row)))
                out.writeString("\n\n")
            }
            sent = sent.filter { $0.value >= now - Self.window }
            // The write is also how a closed connection is noticed: it throws and ends the stream.
            try await writer.write(out.readableBytes > 0 ? out : ByteBuffer(string: ": beat\n\n"))
        }
    }
}
