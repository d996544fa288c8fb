import Foundation
import MeshCore
import MeshStore
import NIOCore

/// What one answer used and cost, as the ledger records it.
struct Metered: Sendable {
    var usage: TokenUsage
    /// The upstream reported no usage: the counts are estimated from the bytes.
    var estimated: Bool
    var costUSD: Double
    /// What the same tokens would have cost on the reference cloud model — or, without one, on
    /// the same model without its prompt cache — less the cost.
    var savingUSD: Double

    /// `%.8f` for a cost, without Foundation's formatter on every answer: counted in units of
    /// 1e-8 dollars (costs are never negative, and far below 9e10 dollars).
    static func dollars(_ value: Double) -> String {
        guard value.isFinite, value >= 0 else { return "0.00000000" }
        guard value < 9e10 else { return String(format: "%.8f", value) }
        let units = Int64((value * 100_000_000).rounded())
        let fraction = String(units % 100_000_000)
        return "\(units / 100_000_000)." + String(repeating: "0", count: 8 - fraction.count) + fraction
    }
}

extension RequestRouter {
    /// The usage of an answer — as the upstream reported it (read by the adapter, or by the tap
    /// from the bytes relayed), else estimated (about four bytes a token) — and its price: the
    /// cloud model's for a provider, nothing for the mesh's own models.
    func meter(_ candidate: Candidate, request: InferenceRequest, reported: TokenUsage?, tap: RelayTap) -> Metered {
        let usage: TokenUsage
        let estimated: Bool
        if let reported {
            usage = reported
            estimated = false
        } else {
            let completion = tap.events > 2 ? Int64(tap.events - 2) : Int64(tap.bytes / 4)
            usage = TokenUsage(prompt: Int64(request.body.readableBytes / 4), completion: completion)
            estimated = true
        }
        let price = candidate.isCloud ? catalog.cloud.price(provider: candidate.provider ?? "", id: candidate.model) : Price.free
        let cost = price.cost(of: usage)
        let reference = config.referenceModel.flatMap { catalog.cloud.price(ofModelNamed: $0) }
        return Metered(usage: usage, estimated: estimated, costUSD: cost, savingUSD: (reference?.cost(of: usage) ?? price.uncachedCost(of: usage)) - cost)
    }

    /// Everything that happens when an answer ends: the lease, the candidate's health, metrics,
    /// and the ledger row (for requests that entered the mesh here).
    func finish(
        candidate: Candidate, request: InferenceRequest, sent: ContinuousClock.Instant, tap: RelayTap, metered: Metered, status: Int,
        error: (any Error)?, release: (@Sendable () -> Void)?, reservation: BudgetBook.Reservation? = nil, health countsForHealth: Bool = true,
        attempt: Attempt? = nil
    ) {
        release?()
        settleBudget(reservation, candidate: candidate, request: request, costUSD: metered.costUSD)
        let latency = ContinuousClock.now - request.started
        let firstByte = tap.firstByte.map { $0 - sent }
        if !countsForHealth {
            // Not the candidate's doing.
        } else if error == nil || tap.bytes > 0 {
            health.succeeded(candidate.key, latency: firstByte ?? latency)
            // An answer the upstream broke off counts too (a peer that stalls after its first
            // byte is charged the time it took); one the client cut short, or an error answer,
            // says nothing of the service time. Loaded candidates only: a start's time is not
            // the model's service time either.
            if let attempt, let wait = attempt.wait, wait.loadSeconds == 0, status < 400, !(error is Exchange.ClientWentAway) {
                health.served(candidate.key, seconds: (ContinuousClock.now - attempt.started).inSeconds, wait: wait)
            }
        } else {
            health.failed(candidate.key, reason: error.map(Self.describe) ?? "failed")
        }
        if let attempt { health.end(attempt) }
        metrics.finished(
            model: candidate.model, route: candidate.route, status: status, latency: latency, firstByte: firstByte,
            tokensIn: metered.usage.prompt, tokensOut: metered.usage.completion, costUSD: metered.costUSD
        )
        if !request.caller.isHop {
            if request.countsTokens {
                admission.limiter.used(request.caller.agent, tokens: metered.usage.prompt.saturatingPlus(metered.usage.completion), now: now())
            }
            ledger.record(UsageRecord(
                nodeID: store.nodeID, id: 0, ts: now(), requestID: request.requestID, agent: request.caller.agent, model: request.requestedModel,
                physicalModel: candidate.model, route: candidate.route, provider: candidate.provider, servedBy: candidate.node,
                promptTokens: metered.usage.prompt, cachedTokens: metered.usage.cached, cacheWriteTokens: metered.usage.cacheWrite,
                completionTokens: metered.usage.completion, reasoningTokens: metered.usage.reasoning, latencyMs: latency.inMilliseconds,
                ttftMs: (tap.firstByte.map { $0 - request.started })?.inMilliseconds, costUSD: metered.costUSD, savingUSD: metered.savingUSD,
                cacheHit: false, status: status, estimated: metered.estimated
            ))
        }
        if let error {
            logger.warning("relay ended early", metadata: ["request_id": "\(request.requestID)", "candidate": "\(candidate)", "error": "\(error)"])
        }
    }
}

extension CloudProviders {
    /// The price of a provider's model id: its cloud model entry's, else the built-in table's.
    func price(provider: String, id: String) -> Price {
        models.values.first { $0.provider == provider && $0.id == id }?.price ?? PriceTable.price(of: id) ?? .free
    }
}
