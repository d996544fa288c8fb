import HTTPTypes
import MeshHTTP
import NIOCore

/// A request answered by another request's upstream call: the flight's parts are written to its
/// own client, on its own connection's loop, marked `x-dagi-cache: coalesced` and costing
/// nothing; its ledger row records the saving.
final class FlightFollower: Sendable {
    private let receiver: NIOLoopBound<Receiver>

    /// Made on the request's connection loop.
    init(writer: ClientWriter, request: InferenceRequest, router: RequestRouter) {
        receiver = NIOLoopBound(Receiver(writer: writer, request: request, router: router), eventLoop: writer.eventLoop)
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
        var status = 200

        init(writer: ClientWriter, request: InferenceRequest, router: RequestRouter) {
            self.writer = writer
            self.request = request
            self.router = router
        }

        func deliver(_ part: Flight.Part) {
            switch part {
            case .head(var response, let route):
                response.headerFields[CacheDirective.header] = "coalesced"
                if response.headerFields[.dagiCost] != nil { response.headerFields[.dagiCost] = Metered.dollars(0) }
                status = response.status.code
                writer.head(response, route: route, flush: true)
            case .body(let chunk):
                writer.body(chunk, flush: true)
            case .end(var trailers, let closing, let settled):
                if trailers?[.dagiCost] != nil { trailers?[.dagiCost] = Metered.dollars(0) }
                writer.end(trailers: trailers, closing: closing)
                if let settled {
                    router.servedFromCache(
                        request, model: settled.candidate.model, usage: settled.metered.usage, status: status,
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
