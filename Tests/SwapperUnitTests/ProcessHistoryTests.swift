import Testing
@testable import Swapper

@Suite struct ProcessHistoryTests {
    @Test func recordsEachRunsBoundsAndStaysBounded() {
        let origin = ContinuousClock.now
        var history = ProcessHistory(origin: origin)
        history.started("a", pid: 10, at: origin + .seconds(1))
        history.started("b", pid: 11, at: origin + .seconds(2))
        history.exited("a", pid: 10, at: origin + .seconds(3))
        history.exited("a", pid: 99, at: origin + .seconds(4)) // not a run it knows: ignored
        #expect(history.runs == [
            .init(model: "a", pid: 10, startedNs: 1_000_000_000, exitedNs: 3_000_000_000),
            .init(model: "b", pid: 11, startedNs: 2_000_000_000, exitedNs: nil),
        ])
        for i in 0..<(ProcessHistory.capacity + 10) { history.started("c", pid: Int32(1000 + i), at: origin) }
        #expect(history.runs.count == ProcessHistory.capacity)
        #expect(history.runs.last?.pid == Int32(1000 + ProcessHistory.capacity + 9))
    }
}
