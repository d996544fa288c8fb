import Foundation
import MeshStore
import MeshCore
import MeshHTTP

/// Who this node is and where it is reached: the fixed part of its node row.
public struct NodeIdentity: Sendable {
    public var id: String
    public var hostname: String
    /// The base URL peers use to reach this node.
    public var apiURL: String
    public var startedAt: Int64

    public init(id: String, hostname: String, apiURL: String, startedAt: Int64) {
        self.id = id
        self.hostname = hostname
        self.apiURL = apiURL
        self.startedAt = startedAt
    }

    /// The node row for a resource reading.
    func record(_ snapshot: SystemSnapshot, at now: Int64, interval: ConfigDuration, state: NodeRecord.State = .online) -> NodeRecord {
        NodeRecord(
            id: id, hostname: hostname, apiURL: apiURL, version: DAGIVersion.current, os: Self.os, arch: Self.arch,
            cpuCount: snapshot.cpuCount, memTotal: snapshot.memTotal, diskTotal: snapshot.diskTotal, startedAt: startedAt,
            heartbeatAt: now, heartbeatIntervalMs: interval.milliseconds, state: state, cpuPercent: snapshot.cpuPercent,
            memUsed: snapshot.memUsed, diskUsed: snapshot.diskUsed, load1: snapshot.load1,
            gpuCount: snapshot.gpu?.count ?? 0, gpuUtil: snapshot.gpu?.utilPercent, vramTotal: snapshot.gpu?.vramTotal,
            vramUsed: snapshot.gpu?.vramUsed
        )
    }

    static var os: String {
        #if os(Linux)
        return "linux"
        #elseif os(macOS)
        return "macos"
        #else
        return "unknown"
        #endif
    }

    static var arch: String {
        #if arch(x86_64)
        return "x86_64"
        #elseif arch(arm64)
        return "arm64"
        #else
        return "unknown"
        #endif
    }
}
