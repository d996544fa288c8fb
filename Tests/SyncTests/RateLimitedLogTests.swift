import Logging
import Synchronization
import Testing
@testable import Sync
import MeshHTTP

@Suite struct RateLimitedLogTests {
    /// Collects log lines.
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
    }

    struct Collector: LogHandler {
        let sink: Lines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            sink.lines.withLock { $0.append(message.description) }
        }
    }

    /// A peer sending garbage in a loop produces one line per kind per interval, which says how
    /// many were held back.
    @Test func oneLinePerKindPerInterval() {
        let sink = Lines()
        let log = SyncLog(logger: Logger(label: "test") { _ in Collector(sink: sink) }, interval: .seconds(3600))
        for i in 0..<1000 { log.warning(.answer, "refused answer \(i)") }
        log.warning(.change, "refused change")
        #expect(sink.lines.withLock { $0 } == ["refused answer 0", "refused change"])

        let short = SyncLog(logger: Logger(label: "test") { _ in Collector(sink: sink) }, interval: .zero)
        short.warning(.request, "first")
        short.warning(.request, "second")
        #expect(sink.lines.withLock { $0.suffix(2) } == ["first", "second"])
    }
}
