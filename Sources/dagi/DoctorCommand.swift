import ArgumentParser
import Foundation
import MeshCore
import MeshHTTP
import MeshStore

struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check this machine's node: config, port, store, peers (secret, clock), model servers, disk, GPU.",
        discussion: """
            Examples:
              dagi doctor                          # one line per check, a fix for each problem; exit 1 on a problem
              dagi doctor --config nodes/gpu.yaml  # the config file too
              dagi doctor --json

            Peers are checked with the mesh secret in $DAGI_MESH_SECRET (or --secret-env NAME).
            """
    )

    @OptionGroup var store: StoreOptions

    @Option(name: .long, help: "A node config file to validate (with node-guardian config check).")
    var config: String?

    @Option(name: .long, help: "The environment variable holding the mesh secret.")
    var secretEnv = "DAGI_MESH_SECRET"

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    /// Where a node listens when its config does not say (the daemon's config is not linked here).
    static let defaultNodeURL = "http://127.0.0.1:7007"

    struct Check: Encodable {
        enum Outcome: String, Encodable { case ok, problem, note }
        let name: String
        let outcome: Outcome
        let detail: String
        var fix: String?
    }

    func run() async throws {
        var checks: [Check] = []
        if let config { checks.append(checkConfig(config)) }
        let directory = DataDirectory.resolve(store.dataDir)
        var local: NodeRecord?
        var nodes: [NodeRecord] = []
        do {
            let meshStore = try store.openStore()
            local = try await meshStore.localNode()
            nodes = try await meshStore.nodes()
            checks.append(Check(name: "store", outcome: .ok, detail: "\(MeshStore.databasePath(inDataDirectory: directory)): \(nodes.count) node\(nodes.count == 1 ? "" : "s") known"))
        } catch {
            checks.append(Check(name: "store", outcome: .note, detail: "no store in \(directory) yet", fix: "start the node once: node-guardian run (or scripts/run)"))
        }
        checks.append(await checkNode(local))
        if let local {
            for peer in nodes where peer.id != local.id {
                checks.append(await checkPeer(peer, local: local.id))
            }
        }
        checks.append(checkLlamaServer(modelsFolder: directory + "/models"))
        checks.append(await checkOllama())
        checks.append(checkDisk(directory))
        if let local {
            checks.append(local.gpuCount > 0
                ? Check(name: "gpu", outcome: .ok, detail: "\(local.gpuCount) GPU\(local.gpuCount == 1 ? "" : "s") seen")
                : Check(name: "gpu", outcome: .note, detail: "no GPU seen: models run on the CPU"))
        }
        if json {
            try Output.printJSON(["checks": checks])
        } else {
            let color = Output.useColor
            for check in checks {
                let mark: String
                switch check.outcome {
                case .ok: mark = color ? "\u{1B}[32m✓\u{1B}[0m" : "✓"
                case .problem: mark = color ? "\u{1B}[31m✗\u{1B}[0m" : "✗"
                case .note: mark = "-"
                }
                print("\(mark) \(check.name): \(check.detail)")
                if let fix = check.fix, check.outcome != .ok { print("    fix: \(fix)") }
            }
        }
        if checks.contains(where: { $0.outcome == .problem }) { throw ExitCode(1) }
    }

    private func checkConfig(_ file: String) -> Check {
        // The node-guardian beside this dagi, else the one on PATH.
        let beside = ExecutableSearch.currentExecutable().map { ($0 as NSString).deletingLastPathComponent + "/node-guardian" }
        guard let guardian = beside.flatMap({ FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil })
            ?? ExecutableSearch.find("node-guardian", path: ProcessInfo.processInfo.environment["PATH"] ?? "")
        else {
            return Check(name: "config", outcome: .problem, detail: "cannot check \(file): node-guardian not found", fix: "put node-guardian next to dagi or on PATH")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: guardian)
        process.arguments = ["config", "check", file]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch {
            return Check(name: "config", outcome: .problem, detail: "cannot run \(guardian): \(error)")
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return process.terminationStatus == 0
            ? Check(name: "config", outcome: .ok, detail: "\(file) is valid")
            : Check(name: "config", outcome: .problem, detail: "\(file) is not valid:\n" + message.trimmingCharacters(in: .whitespacesAndNewlines),
                    fix: "edit the keys named above (node-guardian config check \(file) re-checks)")
    }

    /// Whether the node's address answers, and as this node.
    private func checkNode(_ local: NodeRecord?) async -> Check {
        let url = local?.apiURL ?? Self.defaultNodeURL
        do {
            let health = try await JSONClient(baseURL: url, timeout: .seconds(3)).get("/health")
            guard let id = health["node"]?.stringValue else {
                return Check(name: "port", outcome: .problem, detail: "\(url) answers, but not as a DAGI node", fix: "stop that program, or run the node elsewhere with --listen HOST:PORT")
            }
            if let local, id != local.id {
                return Check(name: "port", outcome: .problem, detail: "\(url) is node \(id), not this store's node \(local.id)", fix: "give each node its own --listen port and --data-dir")
            }
            return Check(name: "node", outcome: .ok, detail: "\(id) is running at \(url)")
        } catch let failure as JSONClient.Failure where failure.status == nil {
            return Check(name: "port", outcome: .ok, detail: "\(url) is free (the node is not running)")
        } catch {
            return Check(name: "port", outcome: .problem, detail: "\(url) answers, but not as a DAGI node (\(error))", fix: "stop that program, or run the node with --listen HOST:PORT")
        }
    }

    /// Reachable, and — with the secret at hand — accepting a signed request and signing its
    /// answer, with the clock skew read from that signature.
    private func checkPeer(_ peer: NodeRecord, local: String) async -> Check {
        let name = "peer \(peer.id)"
        let client = JSONClient(baseURL: peer.apiURL, timeout: .seconds(5))
        let health: JSONValue
        do {
            health = try await client.get("/health")
        } catch {
            return Check(name: name, outcome: .problem, detail: "\(peer.apiURL) is unreachable (\(error))", fix: "start it, or check the address and firewall between the two machines")
        }
        guard let secret = MeshSecret.fromEnvironment(secretEnv) else {
            return Check(name: name, outcome: .ok, detail: "\(peer.apiURL) is reachable (secret not checked: $\(secretEnv) is not set here)")
        }
        guard let boot = health["boot"]?.stringValue, health["node"]?.stringValue == peer.id else {
            return Check(name: name, outcome: .problem, detail: "\(peer.apiURL) answers without a mesh secret", fix: "set $\(secretEnv) for that node too, the same on every node")
        }
        let signer = MeshSigner(secret: secret, nodeID: local)
        let now = HybridLogicalClock.systemMilliseconds()
        let signed = signer.request(method: "POST", target: "/sync/poke", body: [UInt8](), recipient: PeerIdentity(nodeID: peer.id, boot: boot), now: now)
        do {
            let answer = try await client.exchange(method: "POST", "/sync/poke", headers: signed.headers, body: [])
            guard (200..<300).contains(answer.status) else {
                return Check(name: name, outcome: .problem, detail: "refused this node's signed request (\(answer.status))", fix: "use the same $\(secretEnv) on every node")
            }
            // Any skew is accepted here: the point is to measure it.
            let verifier = MeshVerifier(secret: secret, nodeID: local, skewMs: 86_400_000)
            _ = try verifier.verifyResponse(
                status: answer.status, requestNonce: signed.nonce, expected: peer.id, body: answer.body, header: { answer.header($0) },
                now: HybridLogicalClock.systemMilliseconds()
            )
            let sent = answer.header(MeshSignature.timestampHeader).flatMap(Int64.init) ?? now
            let skew = sent - (now + HybridLogicalClock.systemMilliseconds()) / 2
            let detail = "\(peer.apiURL) accepts the secret; clock skew \(skew >= 0 ? "+" : "")\(skew) ms"
            return abs(skew) > 10_000
                ? Check(name: name, outcome: .problem, detail: detail, fix: "sync the clocks (chrony or systemd-timesyncd); nodes refuse each other past mesh.clock_skew")
                : Check(name: name, outcome: .ok, detail: detail)
        } catch {
            return Check(name: name, outcome: .problem, detail: "its answer is not signed with this secret (\(error))", fix: "use the same $\(secretEnv) on every node")
        }
    }

    private func checkLlamaServer(modelsFolder: String) -> Check {
        if let path = LlamaServerLocator.find() { return Check(name: "llama-server", outcome: .ok, detail: path) }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: modelsFolder)) ?? []).filter { $0.lowercased().hasSuffix(".gguf") }
        return Check(
            name: "llama-server", outcome: files.isEmpty ? .note : .problem,
            detail: "not found" + (files.isEmpty ? "" : ", so the \(files.count) GGUF file\(files.count == 1 ? "" : "s") in \(modelsFolder) cannot be served"),
            fix: "scripts/build-llama-server, or set DAGI_LLAMA_SERVER to a llama-server binary"
        )
    }

    private func checkOllama() async -> Check {
        do {
            let version = try await JSONClient(baseURL: "http://127.0.0.1:11434", timeout: .seconds(2)).get("/api/version")
            return Check(name: "ollama", outcome: .ok, detail: "version \(version["version"]?.stringValue ?? "?") at 127.0.0.1:11434")
        } catch {
            return Check(name: "ollama", outcome: .note, detail: "not running at 127.0.0.1:11434 (optional)")
        }
    }

    private func checkDisk(_ directory: String) -> Check {
        var path = directory
        while !FileManager.default.fileExists(atPath: path), path != "/" { path = (path as NSString).deletingLastPathComponent }
        guard let free = (try? FileManager.default.attributesOfFileSystem(forPath: path))?[.systemFreeSize] as? Int64 else {
            return Check(name: "disk", outcome: .note, detail: "cannot read the free space of \(path)")
        }
        let detail = "\(ByteSize(bytes: free)) free in \(path)"
        return free < 1 << 30
            ? Check(name: "disk", outcome: .problem, detail: detail, fix: "free space: the store, logs and model files live there")
            : Check(name: "disk", outcome: .ok, detail: detail)
    }
}
