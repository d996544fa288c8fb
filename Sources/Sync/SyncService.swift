import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import MeshStore
import MeshCore
import MeshHTTP
import Prometheus
import ServiceLifecycle
import Synchronization

/// Replicates this node's store with its peers.
///
/// Serves the sync endpoints (``SyncServer``), runs one ``PeerSession`` per peer (anti-entropy
/// pulls, woken by pokes), and after every commit — local or relayed — pushes the news to peers
/// that know where they stand and pokes the others. On shutdown it makes a last push, so a
/// node's final writes (such as "offline") reach its peers.
///
/// Every exchange is signed both ways (``SignedEndpoint`` serves, ``SyncClient`` asks and
/// verifies), and everything received passes the store's `ReplicationGate` before it is applied.
public final class SyncService: Service, Sendable {
    let store: MeshStore
    let config: MeshConfig
    let ownURL: String
    let extraPeers: [String]
    let metrics: SyncMetrics
    let logger: Logger
    let coordinator: SyncCoordinator
    let endpoint: SignedEndpoint
    let log: SyncLog

    /// - Parameters:
    ///   - verifier: this run's verifier (its boot is the one `/health` announces, shared with
    ///     every other signed endpoint of the node); nil without a mesh secret: sync endpoints
    ///     then refuse every request with 403 and no peer is contacted.
    ///   - http: the client for peers. For `https://` peers it must trust `mesh.ca` (the node
    ///     builds it with ``MeshTLS/client(caFile:)``); it is also how peers' `/health` is read.
    ///   - extraPeers: peers given on the command line (`--peer`).
    public init(
        store: MeshStore, config: MeshConfig, verifier: MeshVerifier?, ownURL: String, extraPeers: [String], http: HTTPClient,
        registry: PrometheusCollectorRegistry, logger: Logger
    ) {
        self.store = store
        self.config = config
        self.ownURL = ownURL
        self.extraPeers = extraPeers
        let metrics = SyncMetrics(registry: registry)
        self.metrics = metrics
        var logger = logger
        logger[metadataKey: "component"] = "sync"
        self.logger = logger
        let log = SyncLog(logger: logger)
        self.log = log
        self.endpoint = SignedEndpoint(verifier: verifier, clock: store.clock, metrics: metrics, log: log)
        let directory = PeerDirectory(http: http)
        let client = verifier.map {
            SyncClient(http: http, verifier: $0, directory: directory, config: config, clock: store.clock, metrics: metrics, log: log)
        }
        self.coordinator = SyncCoordinator(
            store: store, config: config, client: client, directory: directory, metrics: metrics, log: log, logger: logger
        )
    }

    /// Mounts `/sync/*` on the node's router.
    public func register(on router: Router<MeshRequestContext>) {
        SyncServer(store: store, endpoint: endpoint, config: config, metrics: metrics, events: coordinator, log: log, logger: logger)
            .register(on: router)
    }

    public func run() async throws {
        try await reconcilePeers()
        let observer = store.addObserver { [coordinator] _ in coordinator.localChange() }
        defer { store.removeObserver(observer) }
        await withGracefulShutdownHandler {
            await coordinator.run(reload: { try await self.store.peers().map(\.url).filter { $0 != self.ownURL } })
        } onGracefulShutdown: {
            self.coordinator.stop()
        }
        await coordinator.finalPush(timeout: .seconds(3))
    }

    /// Config and `--peer` peers are written to the store's peer table (replacing earlier ones
    /// from those sources); peers added with `dagi peers add` stay.
    private func reconcilePeers() async throws {
        let wanted = Set(config.peers.map(\.base))
        let flags = Set(extraPeers)
        for peer in try await store.peers() {
            if peer.source == .config, !wanted.contains(peer.url) { try await store.removePeer(url: peer.url) }
            if peer.source == .flag, !flags.contains(peer.url) { try await store.removePeer(url: peer.url) }
        }
        for url in wanted where url != ownURL { try await store.addPeer(url: url, source: .config) }
        for url in flags where url != ownURL { try await store.addPeer(url: url, source: .flag) }
    }
}

/// Owns the peer sessions and routes events to them.
final class SyncCoordinator: SyncEvents, Sendable {
    let store: MeshStore
    let config: MeshConfig
    let client: SyncClient?
    let directory: PeerDirectory
    let metrics: SyncMetrics
    let log: SyncLog
    let logger: Logger
    private let sessions = Mutex<[String: (session: PeerSession, task: Task<Void, Never>)]>([:])
    /// Whether a propagation round is scheduled, and when the last one started.
    private let propagation = Mutex<(pending: Bool, last: ContinuousClock.Instant?)>((false, nil))
    /// Rounds start at most this often: one change goes out within the debounce, but a mesh's
    /// stream of heartbeats (N nodes' rows arriving at every node) is sent in batches, not one
    /// round per row — idle work would otherwise grow with the square of the mesh.
    static let minimumRoundGap = Duration.seconds(1)
    private let stopped = Wakeup()
    private let isStopping = Mutex(false)
    /// The last vector each node said it holds, so an unchanged one is not written again.
    /// Keyed only by signed node ids, dropped with a removed peer, and bounded: at the cap it
    /// starts over (the cost is one redundant write per node).
    private let lastAcks = Mutex<[String: [String: Int64]]>([:])
    static let maxAckEntries = 256

    init(
        store: MeshStore, config: MeshConfig, client: SyncClient?, directory: PeerDirectory, metrics: SyncMetrics, log: SyncLog,
        logger: Logger
    ) {
        self.store = store
        self.config = config
        self.client = client
        self.directory = directory
        self.metrics = metrics
        self.log = log
        self.logger = logger
    }

    /// Keeps one session per peer URL, re-reading the peer list every interval.
    func run(reload: @escaping @Sendable () async throws -> [String]) async {
        guard let client else {
            logger.info("no mesh secret: sync disabled")
            // Cancelled (the group failed) or stopped (graceful shutdown): either ends the wait.
            while !isStopping.withLock({ $0 }), !Task.isCancelled { await stopped.wait(upTo: .seconds(3600)) }
            return
        }
        while !isStopping.withLock({ $0 }), !Task.isCancelled {
            if let urls = try? await reload() {
                let peers = try? await store.peers()
                let nodeIDs = Dictionary((peers ?? []).map { ($0.url, $0.nodeID) }, uniquingKeysWith: { a, _ in a })
                let removed = sessions.withLock { sessions -> [(url: String, session: PeerSession)] in
                    for url in urls where sessions[url] == nil {
                        let session = PeerSession(
                            url: url, nodeID: nodeIDs[url] ?? nil, client: client, store: store, config: config, metrics: metrics,
                            log: log, logger: logger
                        )
                        sessions[url] = (session, Task { await session.run() })
                    }
                    var removed: [(url: String, session: PeerSession)] = []
                    for (url, entry) in sessions where !urls.contains(url) {
                        entry.task.cancel()
                        sessions.removeValue(forKey: url)
                        removed.append((url, entry.session))
                    }
                    return removed
                }
                for (url, session) in removed { await forget(url, session) }
            }
            await stopped.wait(upTo: config.syncInterval.duration)
        }
        sessions.withLock { $0.values.forEach { $0.task.cancel() } }
    }

    /// What the node kept about a peer that is no longer one.
    private func forget(_ url: String, _ session: PeerSession) async {
        directory.forget(url)
        if let node = await session.nodeID { _ = lastAcks.withLock { $0.removeValue(forKey: node) } }
    }

    func stop() {
        isStopping.withLock { $0 = true }
        stopped.signal()
    }

    private var allSessions: [PeerSession] { sessions.withLock { $0.values.map(\.session) } }

    /// Called after every commit: schedules one propagation round after the debounce delay, or
    /// once ``minimumRoundGap`` has passed since the last round.
    func localChange() {
        let now = ContinuousClock.now
        let delay: Duration? = propagation.withLock { state in
            guard !state.pending else { return nil }
            state.pending = true
            let gapLeft = state.last.map { $0 + Self.minimumRoundGap - now } ?? .zero
            return max(config.pokeDebounce.duration, gapLeft)
        }
        guard let delay else { return }
        Task {
            try? await Task.sleep(for: delay)
            propagation.withLock { $0 = (false, .now) }
            await withTaskGroup(of: Void.self) { group in
                for session in allSessions { group.addTask { await session.propagate() } }
            }
        }
    }

    func finalPush(timeout: Duration) async {
        let sessions = allSessions
        guard !sessions.isEmpty else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskGroup(of: Void.self) { inner in
                    for session in sessions { inner.addTask { await session.propagate() } }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    func peerHolds(node: String, vector: [String: Int64]) async {
        for session in allSessions where await session.nodeID == node { await session.peerHolds(vector) }
        // Persisted for log compaction; only when it moved, so idle anti-entropy writes nothing.
        let changed = lastAcks.withLock { acks in
            if acks[node] == nil, acks.count >= Self.maxAckEntries { acks.removeAll(keepingCapacity: true) }
            defer { acks[node] = vector }
            return acks[node] != vector
        }
        if changed { try? await store.recordPeerAck(nodeID: node, vector: vector) }
    }

    func poked(by node: String) async {
        var matched = false
        for session in allSessions {
            let id = await session.nodeID
            if id == node {
                matched = true
                await session.trigger()
            }
        }
        // A peer we have not identified yet may be the poker.
        if !matched { for session in allSessions where await session.nodeID == nil { await session.trigger() } }
    }
}
