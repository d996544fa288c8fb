import HTTPTypes
import MeshHTTP
import NIOCore

/// A request answered by another request's upstream call: the flight's parts are written to its
/// own client, on its own connection's loop, marked `x-dagi-cache: coalesced` and costing
/// nothing; its ledger row records the saving.
///
/// A client that leaves leaves the flight (with no one left, the leader's call may stop); a
/// client that reads too slowly to keep up (``ClientWriter/isOverwhelmed``) is cut off rather
/// than buffered without end.
final class FlightFollower: Sendable {
    private let receiver: NIOLoopBound<Receiver>

    /// Made on the request's connection loop.
    init(writer: ClientWriter, request: InferenceRequest, router: RequestRouter) {
        let receiver = Receiver(writer: writer, request: request, router: router)
        self.receiver = NIOLoopBound(receiver, eventLoop: writer.eventLoop)
        receiver.follower = self
    }

    /// It joined `flight` (on its loop, before any part can arrive): its client leaving now
    /// leaves the flight.
    func joined(_ flight: Flight) {
        let receiver = self.receiver.value
        receiver.flight = flight
        receiver.writer.onClientLeft = { [weak receiver] in receiver?.leave() }
    }

    /// Writes `parts` on the follower's loop, after everything sent before. The parts a late
    /// joiner catches up with do not count against how far behind it may fall.
    func send(_ parts: [Flight.Part], catchingUp: Bool = false) {
        let receiver = self.receiver
        let backlog = catchingUp ? parts.reduce(0) { sum, part in if case .body(let chunk) = part { sum + chunk.readableBytes } else { sum } } : 0
        receiver.eventLoop.execute {
            receiver.value.allowance += backlog
            for part in parts { receiver.value.deliver(part) }
        }
    }

    private final class Receiver {
        let writer: ClientWriter
        let request: InferenceRequest
        let router: RequestRouter
        weak var flight: Flight?
        weak var follower: FlightFollower?
        var status = 200
        /// Cut off (too slow a reader): later parts are dropped.
        var cut = false
        /// Its ledger row is written (one per request).
        var recorded = false
        /// Bytes it was sent at once to catch up: it may be that much further behind.
        var allowance = 0

        init(writer: ClientWriter, request: InferenceRequest, router: RequestRouter) {
            self.writer = writer
            self.request = request
            self.router = router
        }

        /// Its client left (or was cut off): it leaves the flight, with a 499 in the ledger.
        func leave() {
            if let flight, let follower { flight.leave(follower) }
            flight = nil
            record(status: 499, settled: nil)
        }

        func record(status: Int, settled: Flight.Settled?) {
            guard !recorded else { return }
            recorded = true
            router.servedFromCache(
                request, model: settled?.candidate.model ?? request.requestedModel, usage: settled?.metered.usage ?? TokenUsage(), status: status,
                savingUSD: settled.map { $0.metered.costUSD + $0.metered.savingUSD } ?? 0
            )
        }

        func deliver(_ part: Flight.Part) {
            guard !cut else { return }
            switch part {
            case .head(var response, let route):
                response.headerFields[CacheDirective.header] = "coalesced"
                if response.headerFields[.dagiCost] != nil { response.headerFields[.dagiCost] = Metered.dollars(0) }
                status = response.status.code
                writer.head(response, route: route, flush: true)
            case .body(let chunk):
                writer.body(chunk, flush: true)
                if writer.isOverwhelmed(allowing: allowance) {
                    cut = true
                    leave()
                    writer.abort()
                }
            case .end(var trailers, let closing, let settled):
                if trailers?[.dagiCost] != nil { trailers?[.dagiCost] = Metered.dollars(0) }
                writer.end(trailers: trailers, closing: closing)
                if let settled { record(status: writer.clientGone ? 499 : status, settled: settled) }
            case .error(let error, let route):
                writer.error(error, route: route)
                router.metrics.rejected(status: Int(error.status.code), code: error.code)
            case .abort:
                writer.abort()
            }
        }
    }
}
