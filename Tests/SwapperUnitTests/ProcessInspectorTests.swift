import Foundation
import Testing
@testable import Swapper

@Suite struct ProcessInspectorTests {
    @Test func readsStateAndStartTimeAfterTheLastParenthesis() throws {
        // A command name may hold spaces and parentheses; field 22 is counted from the last ")".
        let line = "4242 (llama (x) server) S 1 4242 4242 0 -1 4194560 5 0 0 0 1 2 0 0 20 0 3 0 987654 1000 50 18446744073709551615"
        let stat = try #require(ProcessInspector.parseStat(line))
        #expect(stat.state == "S")
        #expect(stat.startTime == 987654)
        #expect(ProcessInspector.parseStat("4242 (short) S 1 2 3") == nil)
        #expect(ProcessInspector.parseStat("garbage") == nil)
    }

    @Test func readsResidentMemoryWithoutOverflow() {
        let bytes: Int64? = ProcessInspector.parseResidentBytes("Name:\tx\nVmRSS:\t    2048 kB\n")
        #expect(bytes == 2_097_152)
        #expect(ProcessInspector.parseResidentBytes("VmRSS:\t9223372036854775807 kB\n") == nil, "would overflow: nil, not a trap")
        #expect(ProcessInspector.parseResidentBytes("VmSize: 1 kB\n") == nil)
    }

    @Test func splitsCommandLines() {
        #expect(ProcessInspector.parseCommandLine(Array("/bin/sh\0-c\0echo hi\0".utf8)) == ["/bin/sh", "-c", "echo hi"])
        #expect(ProcessInspector.parseCommandLine(Array("a\0\0b".utf8)) == ["a", "", "b"])
        #expect(ProcessInspector.parseCommandLine([]) == nil)
    }

    #if os(Linux)
    @Test func seesThisProcess() throws {
        let me = getpid()
        let start = try #require(ProcessInspector.startTime(of: me))
        #expect(ProcessInspector.startTime(of: me) == start, "fixed for the process's life")
        #expect(ProcessInspector.isAlive(me))
        #expect(ProcessInspector.commandLine(of: me)?.first == CommandLine.arguments.first)
        #expect(ProcessInspector.bootID()?.isEmpty == false)
        #expect((ProcessInspector.residentBytes(of: me) ?? 0) > 0)
        #expect(!ProcessInspector.isAlive(0))
    }
    #endif
}
