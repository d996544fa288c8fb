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

    /// Writes `parts` on the follower's loop, after everything sent before.
    func send(_ parts: [Flight.Part]) {
        let receiver = self.receiver
        receiver.eventLoop.execute {
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

        init(writer: ClientWriter, request: InferenceRequest, router: RequestRouter) {
            self.writer = writer
            self.request = request
            self.router = router
        }

        func leave() {
            if let flight, let follower { flight.leave(follower) }
            flight = nil
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
                if writer.isOverwhelmed {
                    cut = true
                    leave()
                    writer.abort()
                    router.servedFromCache(request, model: request.requestedModel, usage: TokenUsage(), status: 499, savingUSD: 0)
                }
            case .end(var trailers, let closing, let settled):
                if trailers?[.dagiCost] != nil { trailers?[.dagiCost] = Metered.dollars(0) }
                writer.end(trailers: trailers, closing: closing)
                if let settled {
                    router.servedFromCache(
                        request, model: settled.candidate.model, usage: settled.metered.usage, status: writer.clientGone ? 499 : status,
                        savingUSD: settled.metered.costUSD + settled.metered.savingUSD
                    )
                }
            case .error(let error, let route):
                writer.error(error, route: route)
                router.metrics.rejected(status: Int(error.status.code), code: error.code)
            case .abort:
                writer.abort()
            }
        }
    }
}
