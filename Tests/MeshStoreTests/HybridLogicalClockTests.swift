import Testing
@testable import MeshStore

@Suite struct HybridLogicalClockTests {
    @Test func monotonicWhenWallClockGoesBackwards() {
        let wall = ManualClock(1_000_000)
        let clock = HybridLogicalClock(wallClock: { wall.now })
        var previous = clock.now()
        for step in 0..<1000 {
            // Jump back an hour every 100 steps, forward a little otherwise.
            if step % 100 == 0 { wall.advance(-3_600_000) } else { wall.advance(1) }
            let next = clock.now()
            #expect(next > previous)
            previous = next
        }
    }

    @Test func followsTheWallClockWhenItIsAhead() {
        let wall = ManualClock(5_000)
        let clock = HybridLogicalClock(wallClock: { wall.now })
        _ = clock.now()
        wall.set(9_000)
        let stamp = clock.now()
        #expect(stamp.milliseconds == 9_000)
        #expect(stamp.logical == 0)
    }

    @Test func countsWithinOneMillisecond() {
        let wall = ManualClock(7_000)
        let clock = HybridLogicalClock(wallClock: { wall.now })
        let first = clock.now(), second = clock.now(), third = clock.now()
        #expect([first.logical, second.logical, third.logical] == [0, 1, 2])
        #expect(third.milliseconds == 7_000)
    }

    @Test func observingAPeerStampMovesPastIt() {
        let wall = ManualClock(1_000)
        let clock = HybridLogicalClock(wallClock: { wall.now })
        let remote = HLCTimestamp(milliseconds: 50_000, logical: 7)
        clock.observe(remote)
        #expect(clock.now() > remote)
        // An older stamp does not move it back.
        clock.observe(HLCTimestamp(milliseconds: 10))
        #expect(clock.now() > remote)
    }

    @Test func survivesARestartWithTheWallClockBehind() async throws {
        let dir = TemporaryDirectory()
        let wall = ManualClock(2_000_000)
        let first = try dir.store("n1", clock: wall)
        let written = try await first.write { try $0.put(sampleModel("n1", "a")) }
        wall.set(1_000) // the machine comes back with its clock far behind
        let reopened = try dir.store("n1", clock: wall)
        let later = try await reopened.write { try $0.put(sampleModel("n1", "a", state: .loaded)) }
        #expect(later.hlc > written.hlc)
    }
}
