import AsyncHTTPClient
import DAGIRouter
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import MeshStore
import MeshCore
import MeshHTTP
import NIOCore
import Prometheus
import ServiceLifecycle
import Swapper
import Sync

/// A running node: the store and every service around it, started in order and stopped in
/// reverse on SIGTERM/SIGINT.
public enum Guardian {
    /// Runs the node until a shutdown signal; returns after a clean shutdown.
    public static func run(options: GuardianOptions, logger: Logger) async throws {
        let config = try options.resolvedConfig()
        let secret = MeshSecret.fromEnvironment(config.mesh.secretEnv)
        if secret == nil, !(config.mesh.peers.isEmpty && options.peers.isEmpty) {
            throw ConfigError(file: options.configPath ?? "<flags>", issues: [.init(
                path: "mesh.secret_env", line: nil,
                message: "peers are configured but $\(config.mesh.secretEnv) is empty; every node of the mesh needs the same secret there"
            )])
        }
        let nodeID = config.node.id ?? DataDirectory.defaultNodeID()
        let dataDirectory = DataDirectory.resolve(config.node.dataDir)
        var logger = logger
        logger[metadataKey: "node"] = .string(nodeID)

        let store = try MeshStore.open(
            path: MeshStore.databasePath(inDataDirectory: dataDirectory), nodeID: nodeID,
            logger: logger.with(label: "dagi.store")
        )
        logger.info("store open", metadata: ["path": "\(store.path)"])
        var httpConfiguration = HTTPClient.Configuration(timeout: .init(connect: .seconds(5), read: .seconds(600)))
        // One pooled client for everything outbound; enough connections per host for a busy router.
        httpConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        // A refused connection is an answer: fail at once so the router tries the next candidate,
        // instead of retrying until the request's deadline.
        httpConfiguration.connectionPool.retryConnectionEstablishment = false
        httpConfiguration.decompression = .disabled
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        // Peers over https are verified against the mesh's own CA: a client of their own.
        var meshHTTP = http
        if let ca = config.mesh.ca {
            var meshConfiguration = httpConfiguration
            meshConfiguration.tlsConfiguration = try MeshTLS.client(caFile: ca)
            meshHTTP = HTTPClient(eventLoopGroupProvider: .singleton, configuration: meshConfiguration)
        }
        do {
            try await serve(
                config: config, options: options, store: store, secret: secret, http: http, meshHTTP: meshHTTP, dataDirectory: dataDirectory,
                logger: logger
            )
        } catch {
            try? await http.shutdown()
            if meshHTTP !== http { try? await meshHTTP.shutdown() }
            throw error
        }
        try await http.shutdown()
        if meshHTTP !== http { try await meshHTTP.shutdown() }
        try store.checkpoint()
        logger.info("stopped cleanly")
    }

    private static func serve(
        config: NodeConfig, options: GuardianOptions, store: MeshStore, secret: MeshSecret?, http: HTTPClient, meshHTTP: HTTPClient,
        dataDirectory: String, logger: Logger
    ) async throws {
        let registry = PrometheusCollectorRegistry()
        // One verifier, so this run has one boot id for sync and forwarded requests alike.
        let verifier = secret.map { MeshVerifier(secret: $0, nodeID: store.nodeID, skewMs: config.mesh.clockSkew.milliseconds) }
        let metrics = GuardianMetrics(registry: registry)
        let identity = NodeIdentity(
            id: store.nodeID, hostname: DataDirectory.defaultNodeID(),
            apiURL: config.node.advertiseURL?.base
                ?? config.node.listen.baseURL(advertisedHost: DataDirectory.defaultNodeID(), tls: config.node.tls != nil),
            startedAt: store.clock.wallMilliseconds()
        )
        try await AgentRegistrar(store: store, logger: logger).register(config.agents)

        let presence = PresenceRecorder(store: store, logger: logger)
        let monitor = NodeMonitor(
            store: store, identity: identity, config: config.metrics, dataDirectory: dataDirectory, metrics: metrics,
            logger: logger
        )
        // The first heartbeat is written before the API answers, so /v1/node is never empty.
        await monitor.beat()

        let sync = SyncService(
            store: store, config: config.mesh, verifier: verifier, ownURL: identity.apiURL,
            extraPeers: options.peers, http: meshHTTP, registry: registry, logger: logger
        )
        // Shutdown runs in reverse: the server stops, then the writers flush (the monitor writes
        // "offline", presence its last marks), and sync pushes those last changes to peers.
        var services: [any Service] = [sync, presence, monitor]
        var ollamaSource: OllamaModelSource?
        if let ollama = config.ollama {
            let client = OllamaClient(baseURL: ollama.url, http: http, timeout: ollama.timeout.duration)
            let source = OllamaModelSource(client: client, store: store, logger: logger)
            ollamaSource = source
            services.append(OllamaWatcher(source: source, interval: ollama.refresh.duration, logger: logger))
        }
        // Without a swapper section the Swapper has no models, but its controls still serve
        // the node's Ollama models (load, unload).
        let swapper = Swapper(
            config: servedModels(config.swapper ?? SwapperConfig(), dataDirectory: dataDirectory, logger: logger), store: store, http: http, dataDirectory: dataDirectory, registry: registry, logger: logger
        )
        try await swapper.register()
        // Stopped after the server, so in-flight requests finish before their models go.
        services.append(SwapperService(swapper: swapper))
        let swapperAPI = SwapperAPI(swapper: swapper, ollama: ollamaSource, store: store)

        if config.router.openLocalhost {
            // Created once: a policy its operator gave it (allow_cloud, rpm) survives restarts.
            _ = try await store.createAgentIfAbsent(AgentRecord(name: AgentKeys.localAgent, tier: "local"), limit: .max)
        }
        let ledger = UsageLedger(store: store, logger: logger)
        var swapperNames: ModelCatalog.SwapperNames = [:]
        var localSlots: [String: Int] = [:]
        for (name, model) in swapper.config.models {
            swapperNames[name] = name
            for alias in model.aliases { swapperNames[alias] = name }
            localSlots[name] = model.declaredSlots
        }
        // router.slots fills in where the model's own config does not say (an Ollama model).
        localSlots.merge(config.router.slots) { declared, _ in declared }
        let cloud = CloudProviders(providers: config.providers, models: config.cloudModels)
        for (name, reason) in cloud.disabled.sorted(by: { $0.key < $1.key }) {
            logger.warning("provider \(name) is off: \(reason)")
        }
        let catalog = ModelCatalog(
            store: store, aliases: config.router.aliases, swapperNames: swapperNames, ollamaURL: ollamaSource?.client.baseURL.base, cloud: cloud,
            tiers: config.tiers, localSlots: localSlots, reportedSlots: { [swapper] in swapper.reportedSlots }, spillMargin: config.router.spillMargin
        )
        // The agents' keys and who may do what are shared by the router and the node's own API.
        let keys = AgentKeys(store: store)
        let audience = Audience(
            adminToken: try Secrets.token(config.node.adminTokenEnv, purpose: "node.admin_token_env"), publicInfo: config.node.publicInfo,
            verifier: verifier, now: { store.clock.wallMilliseconds() }, agentForKey: { keys.agent(forKey: $0) }
        )
        // Every agent of the replaced services knows the internal secret: it must not be the mesh's or the admin's.
        if config.compat.internalSecretEnv == config.mesh.secretEnv || config.compat.internalSecretEnv == config.node.adminTokenEnv {
            throw ConfigError(file: "<config>", issues: [.init(
                path: "compat.internal_secret_env", line: nil,
                message: "$\(config.compat.internalSecretEnv) is also the mesh secret or the admin token; give the compatibility APIs their own secret"
            )])
        }
        let internalSecret = InternalSecret(ProcessInfo.processInfo.environment[config.compat.internalSecretEnv])
        if config.compat.isEnabled {
            if internalSecret == nil {
                logger.warning("compat: $\(config.compat.internalSecretEnv) is empty; only agent keys authenticate the compatibility APIs")
            } else if internalSecret?.isShort == true {
                logger.warning("compat: $\(config.compat.internalSecretEnv) is shorter than 32 characters; use a random one, e.g. `openssl rand -hex 24`")
            }
        }
        let responseCache = config.cache.enabled ? ResponseCache(
            config: config.cache, file: Self.cacheFile(dataDirectory: dataDirectory, logger: logger), logger: logger, now: { store.clock.wallMilliseconds() }
        ) : nil
        if let responseCache { services.append(responseCache) }
        let requestRouter = try RequestRouter(
            config: config.router, serverLimits: config.node.serverLimits, store: store, catalog: catalog, keys: keys, audience: audience,
            local: SwapperBackend(swapper: swapper), verifier: verifier, directory: PeerDirectory(http: meshHTTP),
            meshCA: config.mesh.ca, metricsRegistry: registry, ledger: ledger, agentSeen: { presence.mark($0) }, logger: logger,
            compat: config.compat, internalSecret: internalSecret, budgets: config.budgets, cache: responseCache
        )
        if let variable = config.alerts.webhookURLEnv {
            if let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty {
                guard let webhook = BudgetAlertService.validURL(value) else {
                    throw ConfigError(file: "<environment>", issues: [.init(path: "alerts.webhook_url_env", line: nil, message: "$\(variable) is not an http(s) URL")])
                }
                services.append(BudgetAlertService(router: requestRouter, webhook: webhook, http: http, logger: logger))
            } else {
                logger.warning("alerts: $\(variable) is empty; budget alerts go to the log and GET /v1/budgets only")
            }
        }
        // Deferred batches: kept where they are created, run by this node's runner through its router.
        let batchStore = try Self.batchStore(dataDirectory: dataDirectory, logger: logger)
        var runnerHTTP = http
        if let tls = config.node.tls {
            var configuration = HTTPClient.Configuration()
            configuration.tlsConfiguration = try MeshTLS.loopbackClient(certificate: tls.cert, caFile: config.mesh.ca)
            runnerHTTP = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        }
        // Reads of another node's batches follow no redirect: a peer's answer is the thing read or nothing.
        var remoteConfiguration = HTTPClient.Configuration()
        remoteConfiguration.redirectConfiguration = .disallow
        if let ca = config.mesh.ca { remoteConfiguration.tlsConfiguration = try MeshTLS.client(caFile: ca) }
        let remoteHTTP = HTTPClient(eventLoopGroupProvider: .singleton, configuration: remoteConfiguration)
        let batchRemote = BatchRemote(store: store, verifier: verifier, directory: PeerDirectory(http: meshHTTP), http: remoteHTTP)
        let batchRunner = BatchRunner(
            batches: batchStore, router: requestRouter, http: runnerHTTP, logger: logger, now: { store.clock.wallMilliseconds() },
            newFileID: { batchRemote.newID("file-") }
        )
        let routerService = RouterService(router: requestRouter)
        try await routerService.prepare()
        services.append(contentsOf: [ledger, routerService] as [any Service])

        let router = Router(context: MeshRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        GuardianAPI(store: store, presence: presence, registry: registry, audience: audience, keys: keys, boot: verifier?.boot)
            .register(on: router)
        sync.register(on: router)
        swapperAPI.register(on: router, audience: audience)
        RouterAPI(router: requestRouter, audience: audience).register(on: router)
        UsageAPI(store: store, audience: audience).register(on: router)
        UsageLiveAPI(store: store, audience: audience).register(on: router)
        DashboardAPI(store: store, audience: audience).register(on: router)
        CompatDocumentsAPI(router: requestRouter, store: store).register(on: router)
        let openLocalhost = config.router.openLocalhost
        FilesAPI(batches: batchStore, audience: audience, openLocalhost: openLocalhost, remote: batchRemote, now: { store.clock.wallMilliseconds() })
            .register(on: router)
        BatchesAPI(
            batches: batchStore, audience: audience, openLocalhost: openLocalhost, remote: batchRemote, runner: batchRunner,
            now: { store.clock.wallMilliseconds() }
        ).register(on: router)
        let listen = config.node.listen
        // HTTP/1 with the router's handler for inference requests in each connection's pipeline.
        var server = HTTPServerBuilder.http1(configuration: .init(additionalChannelHandlers: requestRouter.channelHandlers()))
        if let tls = config.node.tls {
            server = try .tls(server, tlsConfiguration: MeshTLS.server(certificate: tls.cert, key: tls.key))
        }
        let app = Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "dagi-node-guardian"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? listen.port
                let host = listen.host == "0.0.0.0" ? "127.0.0.1" : listen.host == "::" ? "[::1]" : listen.host.contains(":") ? "[\(listen.host)]" : listen.host
                batchRunner.listening(at: "\(config.node.tls == nil ? "http" : "https")://\(host):\(port)")
                // A machine-readable line for scripts and tests that start us on port 0.
                FileHandle.standardOutput.write(Data("node-guardian \(store.nodeID) listening on http://\(listen.host):\(port)\n".utf8))
            },
            logger: logger
        )
        services.append(app)
        // After the server: stopped first (services stop in reverse), so no request of a batch is
        // sent to a router that is draining.
        services.append(batchRunner)
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        let clients = [remoteHTTP] + (runnerHTTP !== http ? [runnerHTTP] : [])
        do {
            try await group.run()
            await Self.shutDown(clients)
        } catch {
            await Self.shutDown(clients)
            if let error = error as? IOError, error.errnoCode == EADDRINUSE || error.errnoCode == EACCES || error.errnoCode == EADDRNOTAVAIL {
                throw StartupError(description: "cannot listen on \(listen): \(String(cString: strerror(error.errnoCode))) (is another node-guardian running there? use --listen HOST:PORT)")
            }
            throw error
        }
    }

    /// HTTP clients of this run's own, shut down as it ends (a client dropped running traps in
    /// debug builds).
    private static func shutDown(_ clients: [HTTPClient]) async {
        for client in clients { try? await client.shutdown() }
    }

    /// The batches' file in the data directory. One that cannot be opened (corrupt) is set aside
    /// with the time in its name, and batches start afresh: the node still starts.
    private static func batchStore(dataDirectory: String, logger: Logger) throws -> BatchStore {
        let path = (dataDirectory as NSString).appendingPathComponent("batches.sqlite")
        do {
            return try BatchStore(path: path)
        } catch {
            let aside = path + ".broken-\(Int(Date().timeIntervalSince1970))"
            logger.error("batches: \(path) cannot be opened (\(error)); moved to \(aside), starting with no batches")
            try? FileManager.default.moveItem(atPath: path, toPath: aside)
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            return try BatchStore(path: path)
        }
    }

    /// The response cache's file in the data directory; without one (it cannot be created) the
    /// cache lives in memory only.
    private static func cacheFile(dataDirectory: String, logger: Logger) -> ResponseCacheFile? {
        let path = (dataDirectory as NSString).appendingPathComponent("response-cache.sqlite")
        do {
            return try ResponseCacheFile(path: path)
        } catch {
            logger.warning("response cache: \(path) cannot be opened (\(error)); answers are kept in memory only")
            return nil
        }
    }

    /// The Swapper's config with every GGUF file of the models folders added as a model, so a
    /// node with no config still serves what was put in `$DAGI_HOME/models`.
    private static func servedModels(_ config: SwapperConfig, dataDirectory: String, logger: Logger) -> SwapperConfig {
        let own = dataDirectory + "/models"
        try? FileManager.default.createDirectory(atPath: own, withIntermediateDirectories: true)
        let folder = ModelFolder(directories: [own] + (config.modelsDir.map { [$0] } ?? []))
        let discovery = folder.discover(adding: config, llamaServer: LlamaServerLocator.find())
        for (file, reason) in discovery.skipped {
            // The name is a file's: quoted and escaped, so it cannot forge log lines.
            logger.warning("not serving \(file.debugDescription): \(reason)")
        }
        var config = config
        for model in discovery.models {
            config.models[model.name] = model
            logger.info("serving \(model.name) from \(model.modelPath ?? "?") (about \(model.memory.map { "\($0)" } ?? "?"))")
        }
        return config
    }

    /// A reason the node cannot start that is not in its config.
    public struct StartupError: Error, CustomStringConvertible {
        public let description: String
    }
}

extension Logger {
    /// A copy with another label and the same level and metadata.
    func with(label: String) -> Logger {
        var copy = Logger(label: label)
        copy.logLevel = logLevel
        copy[metadataKey: "node"] = self[metadataKey: "node"]
        return copy
    }
}
