// Fuzz target: `RequestFields.read`, the router's one-pass reader of a client's request body.
//
// The input is the body. It is placed behind a few bytes the reader must not see, as a body
// sliced out of a larger NIO buffer is. Refusing a body (APIError) is fine; trapping is not.
// A body that reads and names a model must still read, with only the model changed, after
// `replacingModel` rewrites it in place.
import MeshCore
import MeshHTTP
import NIOCore

private let prefix: [UInt8] = Array("POST /v1/chat/completions\r\n\r\n".utf8)
// Quotes, a backslash and non-ASCII to escape; no control character (a model name never has one).
private let replacement = "fuzz/\"model\"\\é"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestFields(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var body = ByteBuffer()
    body.writeBytes(prefix)
    body.writeBytes(UnsafeBufferPointer(start: data, count: size))
    body.moveReaderIndex(forwardBy: prefix.count)

    guard let fields = try? RequestFields.read(body) else { return 0 }
    guard fields.modelRange != nil else {
        precondition(fields.model == nil, "a model was read without its place in the body")
        return 0
    }
    let rewritten = fields.replacingModel(in: body, with: replacement)
    let again: RequestFields
    do {
        again = try RequestFields.read(rewritten)
    } catch {
        fatalError("a body with its model replaced no longer reads: \(error)")
    }
    precondition(again.model == replacement, "the model was not replaced")
    precondition(again.stream == fields.stream && again.present == fields.present, "replacing the model changed other fields")
    return 0
}
