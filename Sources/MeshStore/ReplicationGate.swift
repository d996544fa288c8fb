import MeshCore

/// What the store takes from a peer beyond the column rules: how far ahead of this node's clock
/// a timestamp may be.
public struct ReplicationLimits: Sendable, Equatable {
    /// Milliseconds a received HLC or timestamp column may be ahead of this node's wall clock
    /// (`mesh.clock_skew`); clamped to 0...24 h.
    public var clockSkewMs: Int64

    public init(clockSkewMs: Int64 = 300_000) {
        self.clockSkewMs = min(max(0, clockSkewMs), 86_400_000)
    }
}

extension Change {
    /// The highest change sequence number the mesh accepts. Far below `Int64.max`, so every
    /// `seq + 1` and every lag sum stays exact, and exact as a JSON double too. At a million
    /// writes a second a node reaches it after 140 years.
    public static let maxSequence: Int64 = 1 << 52
    /// The highest of its own sequence numbers a node adopts from its peers (after its data
    /// directory was reset): it must still be able to re-announce its rows and keep writing.
    public static let maxAdoptedOwnSequence: Int64 = maxSequence - (1 << 40)
}

/// A change or snapshot row the store refused, and why.
public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable, CaseIterable {
        /// The origin is not a valid node id.
        case origin
        /// The sequence number is out of range, not increasing within its frame, or beyond the
        /// sender's own vector.
        case sequence
        /// The payload does not decode into the table's columns.
        case malformed
        /// The origin does not own the row.
        case ownership
        /// A row of this node's own origin outside the "data directory was reset" case.
        case ownOrigin = "own_origin"
        /// The hybrid logical clock is further ahead of this node's clock than the skew allows.
        case clock
        /// A column breaks its ``ColumnRule``.
        case value
        /// An earlier change of the same origin in the batch was refused without advancing.
        case afterRefusal = "after_refusal"
    }

    public let reason: Reason
    public let origin: String
    public let originSeq: Int64
    public let table: ReplicatedTable
    public let detail: String

    public var description: String {
        "\(reason.rawValue): \(table) change \(ColumnRule.quoted(origin))#\(originSeq): \(detail)"
    }
}

/// Decides, change by change, what a batch received from a peer may do. The rules live here,
/// in one place:
///
/// 1. **Sequence.** Per origin, in batch order: the origin is a valid node id; its sequence is
///    in 1...``Change/maxSequence`` (for this node's own origin, ...``Change/maxAdoptedOwnSequence``);
///    it is above the previous change of that origin in the batch; and it is not above the
///    sender's own vector entry for that origin, when the frame carries one.
/// 2. **Duplicates** (at or below what this node holds) are skipped.
/// 3. **Identity.** The payload decodes into the table's columns and the origin owns the row.
/// 4. **Content.** The HLC is at most `clock_skew` ahead of this node's clock, and every column
///    is within its rule.
///
/// The version vector says "I hold everything of this origin up to n", so what a refusal does to
/// it is the point of the design:
///
/// - A change failing (1) or (3) is refused **with the rest of its origin's run in the batch**,
///   and the vector stays before it. Such a change cannot be counted as one of that origin's
///   changes: if it were, a forged change could stand in for, and hide, the real change with
///   that number. The origin catches up later through a peer that sends it correctly; other
///   origins in the batch are not held back.
/// - A change failing (4) is refused **but the vector advances past it**: it is, as far as any
///   check can tell, that origin's change number n, and holding the vector back would stall the
///   origin forever (every peer would send it again, and it would never pass). The row keeps
///   its previous version here and the change is not relayed.
///
/// A node's own origin arrives only after its data directory was reset (peers hold newer
/// changes of it than it does); such changes are adopted under the same rules and the node
/// then re-announces its rows.
struct ReplicationGate {
    enum Verdict {
        case duplicate
        /// Refused; `advanced` says whether the vector moved past it.
        case refused(Refusal, advanced: Bool)
        case accepted(DecodedChange)
    }

    let nodeID: String
    /// The newest HLC or timestamp accepted: this node's wall clock plus the skew.
    let latest: Int64
    /// The sender's own vector, when the frame carries one.
    let senderVector: [String: Int64]?
    /// The vector as it stands after the changes admitted so far.
    private(set) var vector: [String: Int64]
    /// Per origin, the highest sequence the vector moved to in this batch.
    private(set) var advanced: [String: Int64] = [:]
    private var previous: [String: Int64] = [:]
    private var stopped: Set<String> = []

    init(nodeID: String, vector: [String: Int64], senderVector: [String: Int64]?, now: Int64, limits: ReplicationLimits) {
        self.nodeID = nodeID
        self.vector = vector
        self.senderVector = senderVector
        self.latest = max(0, now) + limits.clockSkewMs
    }

    mutating func admit(_ change: Change) -> Verdict {
        let origin = change.origin, seq = change.originSeq
        func refusal(_ reason: Refusal.Reason, _ detail: String) -> Refusal {
            Refusal(reason: reason, origin: origin, originSeq: seq, table: change.table, detail: detail)
        }
        func stop(_ reason: Refusal.Reason, _ detail: String) -> Verdict {
            stopped.insert(origin)
            return .refused(refusal(reason, detail), advanced: false)
        }
        if stopped.contains(origin) { return .refused(refusal(.afterRefusal, "an earlier change of this origin was refused"), advanced: false) }
        guard MeshName.isValid(origin) else { return stop(.origin, "not a valid node id") }

        // 1. Sequence.
        let ceiling = origin == nodeID ? Change.maxAdoptedOwnSequence : Change.maxSequence
        guard (1...ceiling).contains(seq) else { return stop(.sequence, "sequence outside 1...\(ceiling)") }
        if let last = previous[origin], seq <= last { return stop(.sequence, "sequence not above the previous \(last) of this origin") }
        previous[origin] = seq
        if let senderVector {
            guard let claimed = senderVector[origin], seq <= claimed else {
                return stop(.sequence, "beyond what the sender says it holds (\(senderVector[origin] ?? 0))")
            }
        }
        // 2. Duplicates.
        if seq <= vector[origin] ?? 0 { return .duplicate }
        // 3. Identity.
        let decoded: DecodedChange
        do { decoded = try change.decoded() } catch { return stop(.malformed, "\(error)") }
        guard decoded.respectsOwnership else { return stop(.ownership, "the row belongs to another node") }

        // From here the change is its origin's number `seq`: the vector moves past it.
        vector[origin] = seq
        advanced[origin] = seq
        // 4. Content.
        if let problem = contentProblem(hlc: change.hlc, values: decoded) {
            return .refused(refusal(problem.0, problem.1), advanced: true)
        }
        return .accepted(decoded)
    }

    /// Checks a snapshot row, which carries no sequence: identity and content. Rows of this
    /// node's own origin pass only when `adoptingOwnRows` (the snapshot holds newer changes of
    /// this node than it does: its data directory was reset).
    func admit(_ row: SnapshotRow, adoptingOwnRows: Bool) -> Result<DecodedChange, Refusal> {
        func refusal(_ reason: Refusal.Reason, _ detail: String) -> Refusal {
            Refusal(reason: reason, origin: row.origin, originSeq: 0, table: row.table, detail: detail)
        }
        guard MeshName.isValid(row.origin) else { return .failure(refusal(.origin, "not a valid node id")) }
        if row.origin == nodeID, !adoptingOwnRows { return .failure(refusal(.ownOrigin, "this node's own row, and its data is current")) }
        let decoded: DecodedChange
        do {
            decoded = try Change(origin: row.origin, originSeq: 0, hlc: row.hlc, table: row.table, payload: row.payload).decoded()
        } catch {
            return .failure(refusal(.malformed, "\(error)"))
        }
        guard decoded.respectsOwnership else { return .failure(refusal(.ownership, "the row belongs to another node")) }
        if let problem = contentProblem(hlc: row.hlc, values: decoded) { return .failure(refusal(problem.0, problem.1)) }
        return .success(decoded)
    }

    /// A snapshot's vector entry is usable when its origin is a valid id and its sequence is in
    /// range (for this node's own origin, within what it can adopt).
    func acceptsVectorEntry(origin: String, seq: Int64) -> Bool {
        MeshName.isValid(origin) && (0...(origin == nodeID ? Change.maxAdoptedOwnSequence : Change.maxSequence)).contains(seq)
    }

    private func contentProblem(hlc: HLCTimestamp, values: DecodedChange) -> (Refusal.Reason, String)? {
        guard hlc.milliseconds <= latest else {
            return (.clock, "HLC \(hlc.milliseconds) ms is more than the clock skew ahead of this node (\(latest))")
        }
        if let problem = values.change.table.schema.problem(in: values.values, latest: latest) { return (.value, problem) }
        return nil
    }
}
