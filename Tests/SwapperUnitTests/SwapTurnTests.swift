import Testing
@testable import Swapper

/// How a model's turn ends when another needs its place: runs, linger, drain, give-up.
@Suite struct SwapTurnTests {
    let t0 = ContinuousClock.now
    func turn() -> SwapTurn { SwapTurn(since: t0, linger: .milliseconds(250), swapTimeout: .seconds(30)) }
    func load(inflight: Int = 0, waiting: Int = 0, usedAt: Duration = .zero) -> SwapTurn.Load {
        .init(inflight: inflight, waiting: waiting, lastUsed: t0 + usedAt)
    }

    @Test func aBusyModelKeepsServingItsRun() {
        var turn = turn()
        #expect(turn.step(now: t0 + .seconds(1), load: load(inflight: 1, usedAt: .seconds(1))) == .serve(until: t0 + .seconds(30)))
        #expect(turn.step(now: t0 + .seconds(2), load: load(waiting: 3, usedAt: .seconds(1))) == .serve(until: t0 + .seconds(30)))
        #expect(!turn.isClosed)
    }

    @Test func theRunEndsAfterLingeringIdle() {
        var turn = turn()
        // Idle since 1 s: serves until 1.25 s, so an agent's next request still joins the run.
        #expect(turn.step(now: t0 + .milliseconds(1100), load: load(usedAt: .seconds(1))) == .serve(until: t0 + .milliseconds(1250)))
        #expect(turn.step(now: t0 + .milliseconds(1250), load: load(usedAt: .seconds(1))) == .close)
        #expect(turn.step(now: t0 + .milliseconds(1250), load: load(usedAt: .seconds(1))) == .stop)
    }

    @Test func aModelIdleBeforeTheSwapWasAskedLeavesAtOnce() {
        var turn = turn()
        #expect(turn.step(now: t0, load: load(usedAt: .seconds(-60))) == .close)
        #expect(turn.step(now: t0, load: load(usedAt: .seconds(-60))) == .stop)
    }

    @Test func theRunEndsAtSwapTimeoutEvenWhenBusyThenDrains() {
        var turn = turn()
        #expect(turn.step(now: t0 + .seconds(30), load: load(inflight: 2, usedAt: .seconds(29))) == .close)
        // Closed: only the requests in flight are waited for, up to another swap_timeout.
        #expect(turn.step(now: t0 + .seconds(31), load: load(inflight: 1, waiting: 5)) == .drain(until: t0 + .seconds(60)))
        #expect(turn.step(now: t0 + .seconds(32), load: load(inflight: 0, waiting: 5)) == .stop, "waiting requests wait for its next turn")
    }

    @Test func aSwapIsGivenUpWhenTheDrainNeverEnds() {
        var turn = turn()
        #expect(turn.step(now: t0 + .seconds(30), load: load(inflight: 1)) == .close)
        #expect(turn.step(now: t0 + .seconds(60), load: load(inflight: 1)) == .giveUp)
    }

    @Test func noLingerMeansOneSwapPerIdleMoment() {
        var turn = SwapTurn(since: t0, linger: .zero, swapTimeout: .seconds(30))
        #expect(turn.step(now: t0 + .seconds(1), load: load(usedAt: .seconds(1))) == .close)
    }
}
