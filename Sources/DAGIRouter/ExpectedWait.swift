import Foundation
import MeshStore

/// How long a request is expected to wait at a mesh candidate before its answer starts: the
/// requests ahead of it times one request's service time, plus the hop to a peer, plus the
/// model's load when it is not loaded. The ranking key among healthy mesh candidates (what
/// `dagi route --explain` shows, part by part).
public struct ExpectedWait: Sendable, Codable, Equatable {
    /// Where the service time comes from.
    public enum Source: String, Sendable, Codable {
        /// Measured by this node's own requests to the candidate.
        case measured
        /// Published by the peer that serves it (its own measure), through the store.
        case peer
        /// Measured here for the same model elsewhere (a peer not yet tried).
        case sameModel = "same_model"
        /// Nothing measured yet.
        case assumed
    }

    /// Requests at the model now, served or waiting: exact here; for a peer, what it published
    /// plus what this node sent it since.
    public var outstanding: Int
    /// Requests the model server answers at once.
    public var slots: Int
    /// Service times ahead of this request: 0 while a slot is free.
    public var ahead: Double
    /// One request's service time there (an average of answers).
    public var serviceSeconds: Double
    public var serviceSource: Source
    /// A peer's answers beyond its published service time (0 here).
    public var hopSeconds: Double
    /// The model's load when it is not loaded (assumed), else 0.
    public var loadSeconds: Double
    /// The expected wait: `ahead × serviceSeconds + hopSeconds + loadSeconds`.
    public var seconds: Double

    /// Service time assumed for a model nothing was measured for.
    static let assumedService = 1.0
    /// Load time assumed for a model that is not loaded: long enough that a loaded model
    /// elsewhere wins unless it is far behind, so a busy peer does not make every node swap.
    static let assumedLoad = 20.0

    init(outstanding: Int, slots: Int, service: Double, source: Source, hop: Double, loaded: Bool) {
        self.outstanding = max(0, outstanding)
        self.slots = max(1, slots)
        // Of the requests there, all but the free slots' worth are ahead; shared among slots.
        self.ahead = Double(max(0, self.outstanding + 1 - self.slots)) / Double(self.slots)
        self.serviceSeconds = service
        self.serviceSource = source
        self.hopSeconds = hop
        self.loadSeconds = loaded ? 0 : Self.assumedLoad
        self.seconds = ahead * serviceSeconds + hopSeconds + loadSeconds
    }

    enum CodingKeys: String, CodingKey {
        case outstanding, slots, ahead, serviceSeconds = "service_s", serviceSource = "service_source", hopSeconds = "hop_s", loadSeconds = "load_s"
        case seconds
    }

    /// For people: "1.5 s = 1.0 ahead × 1.2 s (measured) + hop 0.3 s".
    var explanation: String {
        var parts = ["\(outstanding) at the model, \(slots) slot\(slots == 1 ? "" : "s"): \(Self.format(ahead, digits: 2)) ahead × \(Self.seconds(serviceSeconds)) (\(serviceSource.rawValue.replacingOccurrences(of: "_", with: " ")))"]
        if hopSeconds > 0 { parts.append("hop \(Self.seconds(hopSeconds))") }
        if loadSeconds > 0 { parts.append("load \(Self.seconds(loadSeconds)) (assumed)") }
        return "expected wait \(Self.seconds(seconds)) = " + parts.joined(separator: " + ")
    }

    private static func seconds(_ value: Double) -> String { value < 1 ? "\(format(value * 1000, digits: 0)) ms" : "\(format(value, digits: 2)) s" }

    private static func format(_ value: Double, digits: Int) -> String { String(format: "%.\(digits)f", value) }
}

extension ModelCatalog.Snapshot {
    /// The expected wait at a mesh candidate, from what this node knows of it (`stats`) and
    /// what its node published.
    func expectedWait(_ candidate: Candidate, stats: HealthTracker.Stats, health: HealthTracker) -> ExpectedWait {
        if candidate.isLocal {
            let (service, source) = stats.service.map { ($0, ExpectedWait.Source.measured) } ?? sameModelService(candidate, health: health)
            return ExpectedWait(
                outstanding: stats.inflight, slots: localSlots[candidate.model] ?? 1, service: service, source: source, hop: 0, loaded: candidate.loaded
            )
        }
        let load = loads[candidate.key]
        // What it published, plus what this node sent it after that (`at` is read no later than
        // when the row arrived, so a peer's clock ahead cannot hide this node's requests), and
        // never fewer than this node's own requests in flight there.
        let sentSince = load.map { published in stats.sentAt.reduce(0) { $1 > published.at ? $0 + 1 : $0 } } ?? 0
        let outstanding = max((load?.outstanding ?? 0) + sentSince, stats.inflight)
        let service: (Double, ExpectedWait.Source)
        if let published = load?.serviceMs {
            service = (published / 1000, .peer)
        } else if let measured = stats.service {
            service = (measured, .measured)
        } else {
            service = sameModelService(candidate, health: health)
        }
        return ExpectedWait(
            outstanding: outstanding, slots: min(load?.slots ?? 1, Self.maxPeerSlots), service: service.0, source: service.1,
            hop: service.1 == .peer ? stats.hop(at: .now) ?? 0 : 0, loaded: candidate.loaded
        )
    }

    /// The most slots a peer is believed to have, whatever it says: one peer claiming thousands
    /// would draw every node's overflow at once.
    static let maxPeerSlots = 64

    /// A peer not yet measured is assumed to serve the model as this node does.
    private func sameModelService(_ candidate: Candidate, health: HealthTracker) -> (Double, ExpectedWait.Source) {
        if let swapper = swapperNames[candidate.model], let measured = health.stats(Candidate.key(node: localNode, source: .swapper, model: swapper)).service {
            return (measured, .sameModel)
        }
        return (ExpectedWait.assumedService, .assumed)
    }
}
