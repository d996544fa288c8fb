// Fuzz target: `MultipartForm`, the reader of `POST /v1/files` uploads.
//
// Input: a content type, a newline, then the body. Refusing (APIError) is fine; trapping is
// not. Checked beyond that: every part read lies within the body and has a name.
import MeshHTTP

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMultipartForm(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let newline = bytes.firstIndex(of: 0x0a) else { return 0 }
    let contentType = String(decoding: bytes[..<newline], as: UTF8.self)
    let body = Array(bytes[(newline + 1)...])
    guard let form = try? MultipartForm(body: body, contentType: contentType) else { return 0 }
    precondition(form.parts.count <= MultipartForm.maxParts, "too many parts")
    for part in form.parts {
        precondition(part.content.startIndex >= 0 && part.content.endIndex <= body.count, "a part outside the body")
    }
    return 0
}
