import AsyncHTTPClient
import MeshCore
import NIOCore

/// The `data:` documents of a server-sent event stream, read from the body as they are asked
/// for (``JSONClient/events(_:_:timeout:)``), ending at `data: [DONE]` or the body's end. A
/// line longer than the limit ends the stream with an error instead of filling memory.
public struct ServerSentEventDocuments: AsyncSequence, Sendable {
    public typealias Element = JSONValue
    private let body: HTTPClientResponse.Body?
    private let whole: JSONValue?
    private let lineLimit: Int

    init(body: HTTPClientResponse.Body, lineLimit: Int) {
        self.body = body
        self.whole = nil
        self.lineLimit = lineLimit
    }

    init(whole: JSONValue) {
        self.body = nil
        self.whole = whole
        self.lineLimit = 0
    }

    public struct LineTooLong: Error, CustomStringConvertible {
        public let description: String
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var chunks: HTTPClientResponse.Body.AsyncIterator?
        var whole: JSONValue?
        let lineLimit: Int
        var line: [UInt8] = []
        var pending: ByteBuffer?
        var done = false

        public mutating func next() async throws -> JSONValue? {
            if let document = whole {
                whole = nil
                done = true
                return document
            }
            while !done {
                if var buffer = pending, let byte = buffer.readInteger(as: UInt8.self) {
                    pending = buffer
                    guard byte == 0x0a else {
                        guard line.count < lineLimit else { throw LineTooLong(description: "an event line exceeds \(lineLimit) bytes") }
                        line.append(byte)
                        continue
                    }
                    if line.last == 0x0d { line.removeLast() }
                    defer { line.removeAll(keepingCapacity: true) }
                    guard line.starts(with: "data:".utf8) else { continue }
                    let data = line.dropFirst(5).drop { $0 == 0x20 }
                    if data.elementsEqual("[DONE]".utf8) {
                        done = true
                        return nil
                    }
                    if let document = try? JSONValue.parse(data) { return document }
                    continue
                }
                guard let next = try await chunks?.next() else {
                    done = true
                    return nil
                }
                pending = next
            }
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(chunks: body?.makeAsyncIterator(), whole: whole, lineLimit: lineLimit)
    }
}
