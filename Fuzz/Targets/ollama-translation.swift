// Fuzz target: the router's OpenAI <-> Ollama translation, both ways.
//
// Input: [mode][seed][payload]. `mode` picks what the payload is (another byte maps onto this
// list by remainder); `seed` picks how a stream is cut into chunks (0: one chunk; n: pieces of
// 1...n bytes) and, for requests, whether the client asked to stream (odd: yes).
//   C  an Ollama /api/chat request body          -> OllamaTranslation.chatRequest
//   G  an Ollama /api/generate request body      -> OllamaTranslation.chatRequest
//   E  an Ollama /api/embed request body         -> OllamaTranslation.embedRequest
//   e  an Ollama /api/embeddings request body    -> OllamaTranslation.embedRequest
//   R  an upstream's whole chat answer, for /api/chat -> the whole-answer adapter (chatResponse)
//   r  the same for /api/generate
//   M  an upstream's whole embeddings answer, for /api/embed -> the same (embedResponse)
//   m  the same for /api/embeddings
//   S  an upstream's SSE stream, for /api/chat -> ServerSentEventReader, the streaming adapter
//   s  the same for /api/generate
// Answers go through `TranslatedAnswer`, the adapter the relay builds for them. Checked
// beyond "does not trap": everything sent on is valid JSON; an NDJSON answer is JSON lines with
// exactly one `"done": true` line; SSE events do not depend on where the stream was cut.
@testable import DAGIRouter
import MeshCore
import NIOCore

private let modes: [UInt8] = Array("CGEeRrMmSs".utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOllamaTranslation(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let mode = modes.contains(data[0]) ? data[0] : modes[Int(data[0]) % modes.count]
    let seed = data[1]
    let payload = Array(UnsafeBufferPointer(start: data + 2, count: size - 2))
    switch mode {
    case UInt8(ascii: "C"): request(payload, .ollamaChat, stream: seed & 1 == 1)
    case UInt8(ascii: "G"): request(payload, .ollamaGenerate, stream: seed & 1 == 1)
    case UInt8(ascii: "E"): request(payload, .ollamaEmbed, stream: false)
    case UInt8(ascii: "e"): request(payload, .ollamaEmbeddings, stream: false)
    case UInt8(ascii: "R"): wholeAnswer(payload, .ollamaChat, seed: seed)
    case UInt8(ascii: "r"): wholeAnswer(payload, .ollamaGenerate, seed: seed)
    case UInt8(ascii: "M"): wholeAnswer(payload, .ollamaEmbed, seed: seed)
    case UInt8(ascii: "m"): wholeAnswer(payload, .ollamaEmbeddings, seed: seed)
    case UInt8(ascii: "S"): stream(payload, .ollamaChat, seed: seed)
    default: stream(payload, .ollamaGenerate, seed: seed)
    }
    return 0
}

/// A client's Ollama request as the OpenAI request sent upstream.
private func request(_ payload: [UInt8], _ endpoint: Endpoint, stream: Bool) {
    guard let body = try? JSONValue.parse(payload) else { return }
    let translated: JSONValue
    switch endpoint {
    case .ollamaEmbed, .ollamaEmbeddings:
        translated = OllamaTranslation.embedRequest(body, endpoint: endpoint, model: "fuzz-model")
    default:
        guard let chat = try? OllamaTranslation.chatRequest(body, endpoint: endpoint, model: "fuzz-model", stream: stream) else { return }
        translated = chat
    }
    requireJSON(translated.serialized(), "the request sent upstream")
}

/// An upstream's whole OpenAI answer, arriving in chunks, as the client's Ollama answer.
private func wholeAnswer(_ payload: [UInt8], _ endpoint: Endpoint, seed: UInt8) {
    let answer = adapter(endpoint, stream: false)
    let out: ByteBuffer?
    do {
        for chunk in chunks(payload, seed: seed) {
            let early = try answer.feed(ByteBuffer(bytes: chunk))
            precondition(early == nil, "a whole answer was sent before it was complete")
        }
        out = try answer.finish()
    } catch {
        return  // not JSON, or too large: the relay answers with an error
    }
    guard let out else { fatalError("a whole answer translated to nothing") }
    requireJSON(Array(out.readableBytesView), "the answer sent to the client")
}

/// An upstream's OpenAI event stream, cut anywhere, as the client's Ollama NDJSON stream.
private func stream(_ payload: [UInt8], _ endpoint: Endpoint, seed: UInt8) {
    let pieces = chunks(payload, seed: seed)

    // The events must not depend on where the stream was cut.
    var whole = ServerSentEventReader()
    var cut = ServerSentEventReader()
    let wholeEvents = try? whole.feed(ByteBuffer(bytes: payload))
    var cutEvents: [ServerSentEvent]? = []
    for piece in pieces {
        guard let events = try? cut.feed(ByteBuffer(bytes: piece)) else {
            cutEvents = nil
            break
        }
        cutEvents! += events
    }
    precondition((wholeEvents == nil) == (cutEvents == nil), "an oversized event was caught in one cut of the stream only")
    if var wholeEvents, var cutEvents {
        if let last = whole.finish() { wholeEvents.append(last) }
        if let last = cut.finish() { cutEvents.append(last) }
        precondition(wholeEvents == cutEvents, "the events depend on where the stream was cut")
    }

    let answer = adapter(endpoint, stream: true)
    var out: [UInt8] = []
    do {
        for piece in pieces {
            if let bytes = try answer.feed(ByteBuffer(bytes: piece)) { out += bytes.readableBytesView }
        }
        if let bytes = try answer.finish() { out += bytes.readableBytesView }
    } catch {
        // The relay ends the client's stream with the error trailer instead.
        if let trailer = answer.errorTrailer("upstream failed", requestID: "req_fuzz") {
            requireJSON(Array(trailer.readableBytesView.dropLast()), "the error trailer")
        }
        return
    }
    precondition(out.last == 0x0a, "the NDJSON stream does not end with a newline")
    let lines = out.split(separator: 0x0a, omittingEmptySubsequences: false).dropLast()
    let done = lines.filter { requireJSON(Array($0), "an NDJSON line")["done"] == .bool(true) }
    precondition(done.count == 1, "the NDJSON stream has \(done.count) \"done\": true lines")
}

/// The adapter the relay builds for an Ollama client served by an OpenAI-compatible upstream.
private func adapter(_ endpoint: Endpoint, stream: Bool) -> any AnswerAdapter {
    let client = OllamaClient(endpoint: endpoint, model: "fuzz-model", started: .now)
    return TranslatedAnswer(upstream: OpenAIUpstream(), client: client, streaming: stream)
}

/// `payload` cut into pieces of 1...seed bytes (seed 0: one piece), deterministically.
private func chunks(_ payload: [UInt8], seed: UInt8) -> [ArraySlice<UInt8>] {
    guard seed > 0 else { return [payload[...]] }
    var pieces: [ArraySlice<UInt8>] = []
    var state = UInt32(seed)
    var index = 0
    while index < payload.count {
        state = state &* 1_664_525 &+ 1_013_904_223
        let length = 1 + Int(state >> 16) % Int(seed)
        pieces.append(payload[index..<min(payload.count, index + length)])
        index += length
    }
    return pieces
}

@discardableResult
private func requireJSON(_ bytes: [UInt8], _ what: String) -> JSONValue {
    do {
        return try JSONValue.parse(bytes)
    } catch {
        fatalError("\(what) is not valid JSON (\(error)): \(String(decoding: bytes, as: UTF8.self))")
    }
}
