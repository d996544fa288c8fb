import Foundation
import MeshCore
import MeshHTTP
import Testing
@testable import Swapper

/// Numbers from requests and from the config are range-checked before any arithmetic: in
/// Swift an overflow or a negative count traps, and a trap is the node crashing.
@Suite struct HostileInputTests {
    @Test func queryIntegersAreRangeChecked() throws {
        #expect(try QueryInteger.read(nil, name: "tail", in: 0...10) == nil)
        #expect(try QueryInteger.read("7", name: "tail", in: 0...10) == 7)
        for bad in ["-1", "11", "abc", "99999999999999999999999", "", "1e3"] {
            do {
                _ = try QueryInteger.read(bad, name: "tail", in: 0...10)
                Issue.record("\(bad) accepted")
            } catch let error as APIError {
                #expect(error.status == .badRequest)
                #expect(error.code == "invalid_parameter")
                #expect(error.param == "tail")
            }
        }
    }

    @Test func outputTailsNeverTrap() {
        let buffer = OutputBuffer(capacity: 0)
        buffer.append(ArraySlice("a\nb\n".utf8))
        #expect(buffer.tail(-1) == [])
        #expect(buffer.tail(.max) == ["b"], "capacity is at least one line")
    }

    @Test func portsStayBelow65536() {
        var config = SwapperConfig()
        config.startPort = 65000
        #expect(config.ports == 65000...65535)
        #expect(!PortProbe.isFree(65536))
        #expect(!PortProbe.isFree(-1))
    }

    @Test func configNumbersOutOfRangeAreConfigErrors() {
        let cases: [(String, String)] = [
            ("start_port: 70000\n", "start_port must be 1024...65000"),
            ("log_lines: -1\n", "log_lines must be 1...100000"),
            ("queue_limit: 0\n", "queue_limit must be 1...100000"),
            ("swap_timeout: 100000d\n", "swap_timeout must be between"),
            ("health_check_timeout: 0s\n", "health_check_timeout must be between"),
            ("memory_budget: 4000TiB\n", "memory_budget must be between"),
            ("global_ttl: 1000000d\n", "global_ttl must be between"),
            ("models:\n  m:\n    cmd: sh ${PORT}\n    concurrency: 0\n", "concurrency must be 1...100000"),
            ("models:\n  m:\n    cmd: sh ${PORT}\n    memory: 2000000TiB\n", "memory must be between"),
        ]
        for (yaml, expected) in cases {
            do {
                _ = try YAMLConfigDecoder.decode(SwapperFile.self, from: yaml, file: "swapper.yaml")
                Issue.record("\(yaml) accepted")
            } catch let error as ConfigError {
                let message = error.issues.first?.message ?? ""
                #expect(message.contains(expected), "\(yaml) -> \(message)")
                #expect(error.issues.first?.line != nil)
            } catch {
                Issue.record("\(yaml) -> \(error)")
            }
        }
    }
}
