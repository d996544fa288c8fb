import MeshCore

/// `prompt_cache: auto` for Anthropic: the parts of a request that stay the same from one call to
/// the next — the tools, then the system prompt — are marked with `cache_control` breakpoints,
/// so Anthropic reads them from its prompt cache (at a tenth of the input price) instead of
/// billing them again. A request that places its own breakpoints is left as it is.
enum AnthropicPromptCache {
    static let breakpoint: JSONValue = ["type": "ephemeral"]

    /// The Messages request with a breakpoint after its last tool and its last system block.
    static func withBreakpoints(_ request: JSONValue) -> JSONValue {
        guard case .object(var object) = request, !hasBreakpoint(request) else { return request }
        if var tools = object["tools"]?.arrayValue, case .object(var last)? = tools.last {
            last["cache_control"] = breakpoint
            tools[tools.count - 1] = .object(last)
            object["tools"] = .array(tools)
        }
        switch object["system"] {
        case .string(let text)? where !text.isEmpty:
            object["system"] = [["type": "text", "text": .string(text), "cache_control": breakpoint]]
        case .array(var blocks)? where !blocks.isEmpty:
            if case .object(var last)? = blocks.last {
                last["cache_control"] = breakpoint
                blocks[blocks.count - 1] = .object(last)
                object["system"] = .array(blocks)
            }
        default:
            break
        }
        return .object(object)
    }

    /// Whether the client placed a breakpoint of its own anywhere (tools, system or messages).
    private static func hasBreakpoint(_ value: JSONValue, depth: Int = 0) -> Bool {
        guard depth < 8 else { return false }
        switch value {
        case .object(let object):
            return object["cache_control"] != nil || object.values.contains { hasBreakpoint($0, depth: depth + 1) }
        case .array(let items):
            return items.contains { hasBreakpoint($0, depth: depth + 1) }
        default:
            return false
        }
    }
}
