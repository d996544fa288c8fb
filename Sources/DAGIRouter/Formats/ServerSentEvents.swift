import NIOCore

/// One server-sent event: its `event:` name (if any) and its `data:` lines joined by newlines.
struct ServerSentEvent: Equatable {
    var name: String?
    var data: [UInt8]

    /// `data: [DONE]`, OpenAI's end of stream.
    var isDone: Bool { data.elementsEqual("[DONE]".utf8) }
}

/// Cuts a byte stream into server-sent events as each one completes (a blank line ends an
/// event; `\n`, `\r\n` and `\r` all end lines). An event may not grow past `maxEvent` bytes:
/// an upstream that never ends its events is cut off instead of filling memory.
struct ServerSentEventReader {
    static let maxEvent = 1 << 20

    struct OversizedEvent: Error, CustomStringConvertible {
        var description: String { "an event of the upstream's stream exceeds \(ServerSentEventReader.maxEvent) bytes" }
    }

    private var line: [UInt8] = []
    private var current = ServerSentEvent(name: nil, data: [])
    private var hasData = false
    private var eventBytes = 0
    private var lastWasCR = false

    /// Feeds bytes; returns the events they complete, in order.
    mutating func feed(_ buffer: ByteBuffer) throws -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        for byte in buffer.readableBytesView {
            if byte == 0x0a, lastWasCR {
                lastWasCR = false
                continue
            }
            lastWasCR = byte == 0x0d
            if byte == 0x0a || byte == 0x0d {
                if let event = endLine() { events.append(event) }
            } else {
                line.append(byte)
                eventBytes += 1
                if eventBytes > Self.maxEvent { throw OversizedEvent() }
            }
        }
        return events
    }

    /// The upstream ended: the last event, if it was not terminated by a blank line.
    mutating func finish() -> ServerSentEvent? {
        if !line.isEmpty { _ = endLine() }
        return endLine()
    }

    private mutating func endLine() -> ServerSentEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            guard hasData || current.name != nil else { return nil }
            let event = current
            current = ServerSentEvent(name: nil, data: [])
            hasData = false
            eventBytes = 0
            return event
        }
        if line.starts(with: "data:".utf8) {
            var value = line.dropFirst(5)
            if value.first == 0x20 { value = value.dropFirst() }
            if hasData { current.data.append(0x0a) }
            current.data.append(contentsOf: value)
            hasData = true
        } else if line.starts(with: "event:".utf8) {
            var value = line.dropFirst(6)
            if value.first == 0x20 { value = value.dropFirst() }
            current.name = String(decoding: value, as: UTF8.self)
        }
        // Comments (`:`), `id:` and `retry:` lines carry nothing the adapters use.
        return nil
    }
}

/// Cuts an NDJSON stream into lines as each one completes, with the same bound.
struct NDJSONReader {
    private var line: [UInt8] = []

    mutating func feed(_ buffer: ByteBuffer) throws -> [[UInt8]] {
        var lines: [[UInt8]] = []
        for byte in buffer.readableBytesView {
            if byte == 0x0a {
                if !line.isEmpty { lines.append(line) }
                line.removeAll(keepingCapacity: true)
            } else if byte != 0x0d {
                line.append(byte)
                if line.count > ServerSentEventReader.maxEvent { throw ServerSentEventReader.OversizedEvent() }
            }
        }
        return lines
    }

    mutating func finish() -> [UInt8]? {
        defer { line.removeAll() }
        return line.isEmpty ? nil : line
    }
}
