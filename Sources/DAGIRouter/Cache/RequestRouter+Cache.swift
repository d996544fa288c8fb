import HTTPTypes
import MeshStore

/// How a cacheable request is answered: from a kept answer, by joining the identical request in
/// flight, or by making the call and recording it.
extension RequestRouter {
    enum CacheOutcome {
        /// Answered already (a kept answer), or to be answered by another request's flight.
        case answered
        /// Make the call; the writer records it into a flight when it leads one.
        case call
    }

    /// Serves `request` from the cache or a flight when it can; else readies `writer` to lead.
    func answerFromCache(_ request: InferenceRequest, writer: ClientWriter) -> CacheOutcome {
        guard let directive = request.cache, let cache else { return .call }
        if directive.lookup, let answer = cache.answer(for: directive.key, maxAgeMs: directive.maxAgeMs) {
            writer.replay(answer, node: store.nodeID)
            metrics.cache(.hit)
            servedFromCache(request, model: answer.model, usage: answer.usage, status: 200, savingUSD: answer.costUSD + answer.savingUSD)
            return .answered
        }
        let follower = FlightFollower(writer: writer, request: request, router: self)
        // A flight outlives no request: twice the deadline is past any that could still end.
        let place = flights.enter(directive.key, follower: follower, maxAge: config.requestTimeout.duration * 2) {
            let flights = self.flights
            return Flight(directive: directive, streamed: request.stream, config: cache.config, now: now) { flight, answer in
                // Kept before it lands: a request arriving between the two finds one or the other.
                if let answer { cache.keep(answer) }
                flights.land(flight)
            }
        }
        switch place {
        case .follower(let flight):
            metrics.cache(.coalesced)
            follower.joined(flight)
            return .answered
        case .leader(let flight):
            metrics.cache(.miss)
            writer.flight = flight
            writer.extraHeaders[CacheDirective.header] = "miss"
            return .call
        case .alone:
            metrics.cache(.miss)
            return .call
        }
    }

    enum CacheMetricOutcome: String {
        case hit, coalesced, miss
    }

    /// The ledger row and metrics of a request answered without an upstream call of its own:
    /// it cost nothing and saved what the answer cost when it was made.
    func servedFromCache(_ request: InferenceRequest, model: String, usage: TokenUsage, status: Int, savingUSD: Double) {
        let latency = ContinuousClock.now - request.started
        metrics.finished(model: model, route: Self.cacheRoute, status: status, latency: latency, firstByte: nil, tokensIn: 0, tokensOut: 0, costUSD: 0)
        ledger.record(UsageRecord(
            nodeID: store.nodeID, id: 0, ts: now(), requestID: request.requestID, agent: request.caller.agent, model: request.requestedModel,
            physicalModel: model, route: Self.cacheRoute, provider: nil, servedBy: store.nodeID, promptTokens: usage.prompt, cachedTokens: 0,
            cacheWriteTokens: 0, completionTokens: usage.completion, reasoningTokens: usage.reasoning, latencyMs: latency.inMilliseconds,
            ttftMs: nil, costUSD: 0, savingUSD: savingUSD.isFinite ? max(0, savingUSD) : 0, cacheHit: true, status: status, estimated: false
        ))
    }

    /// `x-dagi-route` and the ledger's route of an answer from this node's cache.
    static let cacheRoute = "cache"
}
