import Foundation
import Hummingbird
import MeshCore
import MeshHTTP
import MeshStore
import MeshViews
import NIOCore
import Synchronization

/// `GET /v1/usage/live`: every request the mesh meters, as server-sent events, as its ledger
/// row lands in this node's replica (its own at once, peers' as they sync) — the dashboard's
/// live request log. Woken by the store's change notifications, not a poll; a comment every
/// 15 s keeps idle proxies from closing it. Node information: an agent's key sees its own rows.
struct UsageLiveAPI {
    let store: MeshStore
    let audience: Audience
    /// Streams open now; at most ``maxOpen``, as each holds a store observer and a task.
    let open = OpenStreams()
    static let maxOpen = 32

    final class OpenStreams: Sendable {
        private let count = Atomic<Int>(0)
        /// Takes a place; false (and nothing taken) when all are taken.
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
                    guard open.take(limit: Self.maxOpen) else {
                        try await writer.write(ByteBuffer(string: "event: error\ndata: {\"code\":\"too_many_streams\",\"message\":\"at most \(Self.maxOpen) live usage streams at once\"}\n\n"))
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
        // A beat every 15 s, so a quiet stream still tells a dead client from a live one.
        let beat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(15))
                wake.yield()
            }
        }
        defer { beat.cancel() }
        var since = store.clock.wallMilliseconds()
        var seenAtSince = Set<String>()
        try await writer.write(ByteBuffer(string: ": dagi usage stream\n\n"))
        for await _ in wakeups {
            let rows = try await store.usage(UsageFilter(agent: agent, since: since), limit: 200).map(UsageRowView.init)
            var out = ByteBuffer()
            for row in rows where !(row.timestampMs == since && seenAtSince.contains(row.requestID)) {
                out.writeString("data: ")
                out.writeBytes(try JSONEncoder.sorted.encode(row))
                out.writeString("\n\n")
            }
            if let newest = rows.map(\.timestampMs).max() {
                if newest != since { seenAtSince.removeAll() }
                since = newest
                seenAtSince.formUnion(rows.filter { $0.timestampMs == newest }.map(\.requestID))
            }
            // The write is also how a closed connection is noticed: it throws and ends the stream.
            try await writer.write(out.readableBytes > 0 ? out : ByteBuffer(string: ": beat\n\n"))
        }
    }
}

extension JSONEncoder {
    /// Sorted keys, slashes unescaped: the JSON the node's documents use.
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
