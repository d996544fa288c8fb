import MeshCore
import MeshHTTP
import MeshStore

/// Budgets on the request path: cloud candidates of an agent past a budget are left out when
/// the plan is made (or the request refused, for `block`), and each cloud attempt reserves its
/// worst-case cost before it is sent. Requests of agents without budgets, and plans without
/// cloud candidates, pay for a loop over the plan only.
extension RequestRouter {
    /// `plan` without the cloud candidates the agent's budgets have no room for (this request's
    /// worst-case cost included). Throws 429 `budget_exceeded` when none is left, or when the
    /// first choice was a cloud model of a `block` budget; the mesh's own candidates always stay
    /// (a budget never refuses what costs nothing).
    func withinBudget(_ plan: [RankedCandidate], request: InferenceRequest) throws -> [RankedCandidate] {
        guard case .agent(let agent) = request.caller, plan.contains(where: { $0.candidate.isCloud }) else { return plan }
        let snapshot = catalog.current
        let policy = snapshot.agents[agent]
        let now = self.now()
        var kept: [RankedCandidate] = []
        var first: BudgetBook.Exceeded?
        for (index, ranked) in plan.enumerated() {
            let limits = ranked.candidate.isCloud ? budgets.limits(agent: policy, provider: ranked.candidate.provider) : []
            guard !limits.isEmpty,
                  let exceeded = budgets.exceeded(limits, usd: worstCase(request, ranked.candidate), now: now, partitioned: snapshot.partitioned)
            else {
                kept.append(ranked)
                continue
            }
            if index == 0, exceeded.limit.action == .block { throw Self.budgetExceeded(exceeded, model: request.requestedModel) }
            first = first ?? exceeded
        }
        if kept.isEmpty, let first { throw Self.budgetExceeded(first, model: request.requestedModel) }
        return kept
    }

    /// Sets aside a cloud attempt's worst-case cost; refused when a budget has no room for it
    /// (requests in flight took it since the plan was made).
    func reserve(_ request: InferenceRequest, for candidate: Candidate) -> BudgetBook.Reserved {
        guard candidate.isCloud, case .agent(let agent) = request.caller else { return .reserved(.nothing) }
        let snapshot = catalog.current
        let limits = budgets.limits(agent: snapshot.agents[agent], provider: candidate.provider)
        // No budget: no worst case to reckon.
        guard !limits.isEmpty else { return .reserved(.nothing) }
        return budgets.reserve(limits, usd: worstCase(request, candidate), now: now(), partitioned: snapshot.partitioned)
    }

    /// A cloud request's worst-case cost: its prompt at about three bytes a token, its answers
    /// (`n` of them) at the client's `max_tokens` — else the model's `default_max_tokens`, which
    /// a provider that does not cap answers may exceed (the README says so).
    func worstCase(_ request: InferenceRequest, _ candidate: Candidate) -> Double {
        let model = catalog.cloud.models.values.first { $0.provider == candidate.provider && $0.id == candidate.model }
        // Both are range-checked by RequestFields (at most Int32.max each).
        let answer = Int64(request.fields.maxTokens ?? model?.defaultMaxTokens ?? 4096) * Int64(min(request.fields.choices ?? 1, 128))
        return catalog.cloud.price(provider: candidate.provider ?? "", id: candidate.model)
            .cost(of: TokenUsage(prompt: Int64(request.body.readableBytes / 3 + 1), completion: min(answer, 1 << 40)))
    }

    /// An answer's cost spent against its agent's (and the mesh's, and its provider's) budgets,
    /// its reservation given back.
    func settleBudget(_ reservation: BudgetBook.Reservation?, candidate: Candidate, request: InferenceRequest, costUSD: Double) {
        guard case .agent(let agent) = request.caller, reservation?.keys.isEmpty == false || costUSD > 0 else { return }
        let limits = budgets.limits(agent: catalog.current.agents[agent], provider: candidate.provider)
        budgets.settle(reservation, spent: costUSD, agent: agent, provider: candidate.provider, limits: limits, now: now())
    }

    /// Every budget's standing.
    public func budgetStandings() -> [BudgetStanding] {
        let snapshot = catalog.current
        return budgets.standings(agents: snapshot.agents.values.sorted { $0.name < $1.name }, now: now(), partitioned: snapshot.partitioned)
    }

    static func budgetExceeded(_ exceeded: BudgetBook.Exceeded, model: String) -> APIError {
        let resets = UTCPeriods.iso8601(exceeded.resetsAt)
        return APIError(
            status: .tooManyRequests, code: "budget_exceeded",
            message: "the \(exceeded.limit.key.period.rawValue) budget of \(exceeded.limit.key.scope) ($\(BudgetAlert.usd(exceeded.limit.usd))) has no room left "
                + "for this request's worst-case cost; cloud models such as `\(model)` are \(exceeded.limit.action == .block ? "refused" : "left out") until \(resets)",
            param: "model", details: ["resets_at": .string(resets), "budget": .string(exceeded.limit.key.scope.description)]
        )
    }
}
