import ArgumentParser
import Foundation
import MeshCore
import MeshHTTP

struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Chat with a model of the mesh through this node's router, the tokens printed as they come.",
        discussion: """
            Examples:
              export DAGI_API_KEY=$(dagi keys create me)
              dagi chat smollm2                         # a conversation; /model NAME switches, /exit ends
              dagi chat smollm2 "Why is the sky blue?"  # one question, one answer
              echo "Summarise: ..." | dagi chat smollm2 # the question from stdin

            Without MODEL, the first model the node lists. The key comes from $DAGI_API_KEY (never
            an argument: those show in `ps`).
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: "The model (default: the first one the node lists).")
    var model: String?

    @Argument(help: "A question to ask once; without it (and with a terminal on stdin) a conversation starts.")
    var prompt: [String] = []

    @Option(name: .long, help: "The node's URL (default: this machine's node, from its store).")
    var url: String?

    @Option(name: .long, help: "A system prompt.")
    var system: String?

    @Option(name: .long, help: "Most tokens per answer.")
    var maxTokens: Int?

    func validate() throws {
        if let maxTokens, !(1...1_000_000).contains(maxTokens) { throw ValidationError("--max-tokens must be 1...1000000") }
    }

    func run() async throws {
        guard let key = ProcessInfo.processInfo.environment["DAGI_API_KEY"], !key.isEmpty else {
            throw ValidationError("no key: set DAGI_API_KEY (create one with: export DAGI_API_KEY=$(dagi keys create NAME))")
        }
        var client = try await nodeClient()
        client.bearer = key
        let chosen: String
        if let model { chosen = model } else { chosen = try await defaultModel(client) }
        var session = ChatSession(client: client, model: chosen, system: system, maxTokens: maxTokens)
        let interactive = prompt.isEmpty && isatty(STDIN_FILENO) == 1
        if !interactive {
            let question = prompt.isEmpty ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : prompt.joined(separator: " ")
            guard !question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw ValidationError("nothing to ask (give a prompt or pipe one in)") }
            try await session.ask(question)
            return
        }
        let color = Output.useColor
        print("chatting with \(session.model) at \(client.baseURL) — /model NAME to switch, /clear to forget, /exit to leave")
        while true {
            FileHandle.standardOutput.write(Data((color ? "\u{1B}[1m>>> \u{1B}[0m" : ">>> ").utf8))
            guard let line = readLine() else { print(); return }
            let text = line.trimmingCharacters(in: .whitespaces)
            switch text {
            case "": continue
            case "/exit", "/quit", "/bye": return
            case "/clear":
                session.forget()
                print("(the conversation is forgotten)")
                continue
            case "/help", "/?":
                print("/model NAME  switch model · /clear  forget the conversation · /exit  leave")
                continue
            default: break
            }
            if text.hasPrefix("/model") {
                let name = text.dropFirst(6).trimmingCharacters(in: .whitespaces)
                if name.isEmpty { print("model: \(session.model)") } else { session.model = name; print("model: \(name)") }
                continue
            }
            do {
                try await session.ask(line)
            } catch {
                print(color ? "\u{1B}[31m\(error)\u{1B}[0m" : "\(error)")
            }
        }
    }

    /// This machine's node, from the address its store records, unless `--url` names one.
    private func nodeClient() async throws -> JSONClient {
        if let url {
            guard let parsed = HTTPURL(parsing: url) else { throw ValidationError("--url must be http(s)://HOST:PORT") }
            return JSONClient(baseURL: parsed.base, timeout: .seconds(600))
        }
        return JSONClient(baseURL: try await store.guardian().baseURL, timeout: .seconds(600))
    }

    private func defaultModel(_ client: JSONClient) async throws -> String {
        let models = try await client.get("/v1/models")["data"]?.arrayValue ?? []
        guard let first = models.lazy.compactMap({ $0["id"]?.stringValue }).first else {
            throw ValidationError("the node lists no model: put a .gguf file in its models folder, or see dagi models")
        }
        return first
    }
}

/// One conversation: the messages so far, each answer streamed to stdout and kept.
struct ChatSession {
    let client: JSONClient
    var model: String
    let system: String?
    let maxTokens: Int?
    private var messages: [JSONValue] = []

    init(client: JSONClient, model: String, system: String?, maxTokens: Int?) {
        self.client = client
        self.model = model
        self.system = system
        self.maxTokens = maxTokens
    }

    mutating func forget() { messages.removeAll() }

    /// Sends `question` with the conversation so far and prints the answer as it streams.
    mutating func ask(_ question: String) async throws {
        var sent = messages + [["role": "user", "content": .string(question)]]
        if let system { sent.insert(["role": "system", "content": .string(system)], at: 0) }
        var body: [String: JSONValue] = ["model": .string(model), "stream": true, "messages": .array(sent)]
        if let maxTokens { body["max_tokens"] = .int(Int64(maxTokens)) }
        var answer = ""
        for try await event in try await client.events("/v1/chat/completions", .object(body)) {
            if let error = event["error"] {
                throw ValidationError(error["message"]?.stringValue ?? "the stream ended with an error")
            }
            // A whole answer (a server that does not stream) or a chunk's delta.
            let choice = event["choices"]?.arrayValue?.first
            guard let text = choice?["delta"]?["content"]?.stringValue ?? choice?["message"]?["content"]?.stringValue else { continue }
            answer += text
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        print()
        messages.append(["role": "user", "content": .string(question)])
        messages.append(["role": "assistant", "content": .string(answer)])
    }
}
