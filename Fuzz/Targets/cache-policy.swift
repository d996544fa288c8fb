// Fuzz target: what the response cache and the call policies read from outside.
//
// Input: [mode][payload].
//   K  a request body -> CacheDirective.key (the cache's identity of a request)
//   P  a replicated agent row's call_policy JSON -> CallPolicy(json:)
//   A  a Messages request -> AnthropicPromptCache.withBreakpoints
// Checked beyond "does not trap": a body's key is the key of its canonical form (so spelling
// never splits one request in two); a policy read back from what it writes is the same policy;
// breakpoints placed once are not placed again.
// (A policy whose unknown keys no longer fit the column drops them.)
@testable import DAGIRouter
import MeshCore
import MeshStore
import NIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCachePolicy(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let payload = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch data[0] {
    case UInt8(ascii: "K"):
        guard let key = CacheDirective.key(endpoint: .chatCompletions, compat: nil, stream: false, scope: .agent("a"), body: ByteBuffer(bytes: payload)) else { return 0 }
        let canonical = try! JSONValue.parse(payload).serialized()
        precondition(CacheDirective.key(endpoint: .chatCompletions, compat: nil, stream: false, scope: .agent("a"), body: ByteBuffer(bytes: canonical)) == key,
                     "a body and its canonical form have different keys")
        precondition(CacheDirective.key(endpoint: .chatCompletions, compat: nil, stream: false, scope: .agent("b"), body: ByteBuffer(bytes: payload)) != key,
                     "two agents share a key")
    case UInt8(ascii: "P"):
        let policy = CallPolicy(json: String(decoding: payload, as: UTF8.self))
        let again = CallPolicy(json: policy.json)
        precondition(
            again.priority == policy.priority && again.minIntervalMs == policy.minIntervalMs && again.promptCache == policy.promptCache,
            "a policy does not read back as itself"
        )
        // Keys of newer nodes are carried (as JSON reads them: a number past a double is null),
        // unless they no longer fit the column; once written, a policy reads back as itself.
        precondition(again.others.count == policy.others.count || again.others.isEmpty, "keys of newer nodes were lost on the way")
        precondition(CallPolicy(json: again.json) == again, "a written policy does not read back as itself")
        precondition(policy.minIntervalMs.map(CallPolicy.minIntervalRange.contains) ?? true, "min_interval out of range")
    case UInt8(ascii: "A"):
        guard let request = try? JSONValue.parse(payload) else { return 0 }
        let once = AnthropicPromptCache.withBreakpoints(request)
        precondition(AnthropicPromptCache.withBreakpoints(once) == once, "breakpoints were placed twice")
    default:
        break
    }
    return 0
}
