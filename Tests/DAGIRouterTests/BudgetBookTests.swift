import MeshCore
import MeshStore
import Testing
@testable import DAGIRouter

/// Spend against budgets: own and peers', reservations for requests in flight, one alert per
/// crossing, a share while partitioned, days that start afresh.
@Suite struct BudgetBookTests {
    /// 2026-12-03 12:00 UTC.
    let noon: Int64 = 1_796_299_200_000
    let atlas = AgentRecord(name: "atlas", allowCloud: true, budgetDailyUSD: 1.0, budgetMonthlyUSD: 10, onExceed: "block")

    /// Every alert sent (the stream is buffered; closed, it ends).
    func alerts(_ book: BudgetBook) async -> [BudgetAlert] {
        book.closeAlerts()
        var got: [BudgetAlert] = []
        for await alert in book.alerts { got.append(alert) }
        return got
    }

    func reserved(_ outcome: BudgetBook.Reserved) -> BudgetBook.Reservation? {
        if case .reserved(let reservation) = outcome { return reservation }
        return nil
    }

    @Test func theLimitsOfARequest() {
        let book = BudgetBook(config: BudgetsConfig(global: BudgetLimit(monthly: 100), providers: ["openai": BudgetLimit(daily: 5, onExceed: .block)]), partitionShare: 0.5)
        let limits = book.limits(agent: atlas, provider: "openai").map { "\($0.key.scope) \($0.key.period.rawValue) \($0.usd) \($0.action.rawValue)" }
        #expect(limits == ["agent:atlas daily 1.0 block", "agent:atlas monthly 10.0 block", "global monthly 100.0 downgrade", "provider:openai daily 5.0 block"])
        #expect(BudgetBook(config: BudgetsConfig(), partitionShare: 0.5).limits(agent: AgentRecord(name: "free"), provider: nil).isEmpty)
    }

    @Test func concurrentReservationsNearALimitOverspendByNoMoreThanOne() {
        let book = BudgetBook(config: BudgetsConfig(), partitionShare: 0.5)
        let limits = book.limits(agent: atlas, provider: "openai")
        book.settle(nil, spent: 0.95, agent: "atlas", provider: "openai", limits: limits, now: noon)
        // 20 requests at once, each reserving its worst case of $0.04: one fits.
        let reservations = (0..<20).compactMap { _ in reserved(book.reserve(limits, usd: 0.04, now: noon, partitioned: false)) }
        #expect(reservations.count == 1)
        // It ends costing less than reserved: room for one more.
        book.settle(reservations[0], spent: 0.01, agent: "atlas", provider: "openai", limits: limits, now: noon)
        #expect(reserved(book.reserve(limits, usd: 0.04, now: noon, partitioned: false)) != nil)
        guard case .refused(let exceeded) = book.reserve(limits, usd: 0.04, now: noon, partitioned: false) else {
            Issue.record("a reservation past the limit")
            return
        }
        #expect(exceeded.limit.key.period == .daily && UTCPeriods.iso8601(exceeded.resetsAt) == "2026-12-04T00:00:00.000Z")
    }

    @Test func peersSpendCountsAndOnlyOwnCrossingsAlert() async {
        let book = BudgetBook(config: BudgetsConfig(warnAt: 0.8), partitionShare: 0.5)
        let limits = book.limits(agent: atlas, provider: "openai")
        // Another node spent $0.70 today: no alert here (it alerts).
        book.peersSpent([SpendByAgent(agent: "atlas", provider: "openai", todayUSD: 0.7, monthUSD: 0.7)], now: noon)
        #expect(book.exceeded(limits, now: noon, partitioned: false) == nil)
        // This node's $0.15 crosses 80 % of the daily budget: one warning.
        book.settle(nil, spent: 0.15, agent: "atlas", provider: "openai", limits: limits, now: noon)
        book.settle(nil, spent: 0.01, agent: "atlas", provider: "openai", limits: limits, now: noon)
        // And $0.20 more reaches it: one more.
        book.settle(nil, spent: 0.2, agent: "atlas", provider: "openai", limits: limits, now: noon)
        let alerts = await alerts(book)
        #expect(alerts.map(\.kind) == [.warning, .reached], "\(alerts)")
        #expect(alerts.first?.scope == "agent:atlas" && alerts.first?.period == .daily)
        #expect(alerts.first?.text.contains("85.0% of its daily budget") == true, "\(alerts.first?.text ?? "")")
        let exceeded = book.exceeded(limits, now: noon, partitioned: false)
        // Spent under the provider too, though it has no budget: one set later counts it.
        #expect(book.standings(agents: [atlas], now: noon, partitioned: false).count == 2)
        #expect(exceeded?.limit.action == .block)
        #expect(exceeded.map { UTCPeriods.iso8601($0.resetsAt) } == "2026-12-04T00:00:00.000Z")
        // The next day starts afresh (the monthly budget keeps counting).
        let tomorrow = noon + 86_400_000
        book.peersSpent([SpendByAgent(agent: "atlas", provider: "openai", todayUSD: 0, monthUSD: 0.7)], now: tomorrow)
        #expect(book.exceeded(limits, now: tomorrow, partitioned: false) == nil)
        let standing = book.standings(agents: [atlas], now: tomorrow, partitioned: false)
        #expect(standing.first { $0.period == "monthly" }?.spentUSD ?? 0 > 1.05)
    }

    @Test func partitionedANodeSpendsItsShareOfWhatRemained() {
        let book = BudgetBook(config: BudgetsConfig(), partitionShare: 0.5)
        let limits = book.limits(agent: atlas, provider: "openai").filter { $0.key.period == .daily }
        book.peersSpent([SpendByAgent(agent: "atlas", provider: "openai", todayUSD: 0.4, monthUSD: 0.4)], now: noon)
        // $0.60 remained when the peer fell silent: this node may spend $0.30 of it.
        #expect(reserved(book.reserve(limits, usd: 0.25, now: noon, partitioned: true)) != nil)
        #expect(reserved(book.reserve(limits, usd: 0.1, now: noon, partitioned: true)) == nil)
        #expect(book.standings(agents: [atlas], now: noon, partitioned: true).first?.nodeCapUSD == 0.7)
        // The peer back: the whole budget again.
        #expect(reserved(book.reserve(limits, usd: 0.1, now: noon, partitioned: false)) != nil)
    }
}
