import ArgumentParser
import Foundation
import Logging
import MeshCore
import MeshHTTP
import NIOCore
import NIOPosix
import NodeGuardian

@main
struct NodeGuardianCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node-guardian",
        abstract: "The DAGI Mesh node daemon: store, metrics, sync, swapper and router.",
        version: DAGIVersion.current,
        subcommands: [Run.self, ConfigCommand.self, InstallService.self, UninstallService.self],
        defaultSubcommand: Run.self
    )
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the node until SIGTERM or SIGINT.",
        discussion: """
            Examples:
              node-guardian run                                   # embedded defaults; serves every .gguf in $DAGI_HOME/models
              node-guardian run --config nodes/linux-gpu.yaml
              node-guardian run --listen 0.0.0.0:7007 --peer http://10.0.0.2:7007
            """
    )

    @Option(name: .long, help: "Node config (YAML). Without it the node runs on embedded defaults.")
    var config: String?

    @Option(name: .long, help: "Data directory (default: $DAGI_HOME or the user data directory).")
    var dataDir: String?

    @Option(name: .long, help: "API address HOST:PORT (default 127.0.0.1:7007).")
    var listen: String?

    @Option(name: .long, help: "Node id (default: the host name).")
    var nodeId: String?

    @Option(name: .long, help: "A peer's URL; repeatable.")
    var peer: [String] = []

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = ProcessInfo.processInfo.environment["DAGI_LOG_LEVEL"] ?? "info"

    func run() async throws {
        // Run Swift concurrency on NIO's event loops: a request's handler, its upstream call and
        // the relay of the answer then stay on one thread instead of hopping between two pools,
        // which is most of a proxy's added latency. Done before the node creates any task.
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "dagi.guardian")
        logger.logLevel = level
        var listenAddress: HostPort?
        if let listen {
            guard let parsed = HostPort(parsing: listen) else {
                throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:7007 (got \"\(listen)\")")
            }
            listenAddress = parsed
        }
        let options = GuardianOptions(configPath: config, dataDirectory: dataDir, listen: listenAddress, nodeID: nodeId, peers: peer)
        do {
            try await Guardian.run(options: options, logger: logger)
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("node-guardian: configuration error\n\(error)\n".utf8))
            throw ExitCode(78) // EX_CONFIG
        }
    }
}
