/// What the sync endpoints tell the sync service about peers.
protocol SyncEvents: Sendable {
    /// A peer showed (by pulling or pushing) that it holds at least `vector`.
    func peerHolds(node: String, vector: [String: Int64]) async
    /// A peer has news for us.
    func poked(by node: String) async
}
