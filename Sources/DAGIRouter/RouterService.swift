import Logging
import MeshCore
import MeshStore
import ServiceLifecycle

/// Keeps the router's views current while the node runs: the catalog of where models run (and
/// how busy peers say they are), this node's own load for peers, and the agents' keys — an agent deleted anywhere in the mesh loses its keys here as soon as the
/// deletion arrives, and a key revoked with `dagi keys revoke` (another process) stops working
/// within ``keyRefresh``.
public struct RouterService: Service {
    let router: RequestRouter

    public init(router: RequestRouter) { self.router = router }

    /// How often the keys are re-read for revocations made by other processes (a small table).
    static let keyRefresh = Duration.seconds(2)

    /// Loads the catalog and the agent keys once, so the first request is routed right.
    public func prepare() async throws { try await router.prepare() }

    public func run() async throws {
        // Both loops return when their task is cancelled, which graceful shutdown does.
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await router.catalog.maintain(logger: router.logger) }
                group.addTask { await LoadPublisher(router: router).run() }
                group.addTask { await followMeshUsage() }
                group.addTask { await revokeKeysOfDeletedAgents() }
                group.addTask {
                    while (try? await Task.sleep(for: Self.keyRefresh)) != nil {
                        try? await router.keys.reload()
                    }
                }
            }
        }
    }

    /// Re-reads what the other nodes used this minute (rate limits: at once) and spent this day
    /// and month (budgets: at most once a second, the month's rows are summed) whenever ledger
    /// rows arrive, and every few seconds (so uses aging out of the minute are dropped), until
    /// cancelled.
    private func followMeshUsage() async {
        let store = router.store
        let wakeup = Wakeup()
        let observer = store.addObserver { tables in if tables.contains(.usage) { wakeup.signal() } }
        defer { store.removeObserver(observer) }
        var spendReadAt = ContinuousClock.now - .seconds(60)
        while !Task.isCancelled {
            let now = store.clock.wallMilliseconds()
            // Nothing is read for what no agent has (a busy ledger is not scanned for nothing).
            let agents = router.catalog.current.agents.values
            let limited = agents.contains { $0.rpm != nil || $0.tpm != nil }
            let budgeted = router.budgets.config.global != nil || !router.budgets.config.providers.isEmpty
                || agents.contains { $0.budgetDailyUSD != nil || $0.budgetMonthlyUSD != nil }
            do {
                // Rows of the current second at most: a peer's clock ahead is not counted early.
                if limited {
                    router.admission.limiter.peersUsed(
                        try await store.peerUsagePerSecond(since: now - MinuteCounts.window * 1000, until: (now / 1000 + 1) * 1000)
                    )
                }
                if budgeted, ContinuousClock.now - spendReadAt >= .seconds(1) {
                    spendReadAt = .now
                    let (day, month) = UTCPeriods.dayAndMonthStart(now)
                    router.budgets.peersSpent(try await store.spendByAgent(dayStart: day, monthStart: month, own: false), now: now)
                }
            } catch {
                router.logger.error("could not read the mesh's recent usage: \(error)")
            }
            router.admission.limiter.forgetIdle(now: now)
            await wakeup.wait(upTo: ContinuousClock.now - spendReadAt < .seconds(1) ? .seconds(1) : .seconds(5))
        }
    }

    private func revokeKeysOfDeletedAgents() async {
        let store = router.store
        let (changes, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let observer = store.addObserver { tables in
            if tables.contains(.agent) { continuation.yield() }
        }
        defer { store.removeObserver(observer) }
        await withTaskCancellationHandler {
            for await _ in changes {
                do {
                    if try await store.revokeKeysOfDeletedAgents() > 0 { router.logger.info("revoked the keys of deleted agents") }
                    try await router.keys.reload()
                } catch {
                    router.logger.error("could not revoke deleted agents' keys: \(error)")
                }
            }
        } onCancel: {
            continuation.finish()
        }
    }
}
