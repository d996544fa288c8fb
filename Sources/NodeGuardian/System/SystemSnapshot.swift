/// One reading of the machine's resources.
public struct SystemSnapshot: Sendable, Equatable {
    public var cpuCount: Int
    /// Busy share of all CPUs since the previous reading, 0–100; nil on the first reading.
    public var cpuPercent: Double?
    public var memTotal: Int64
    public var memUsed: Int64
    public var diskTotal: Int64
    public var diskUsed: Int64
    public var load1: Double?
    public var gpu: GPUSnapshot?

    /// The samples stored for this reading, by metric name.
    public var samples: [(metric: String, value: Double)] {
        var samples: [(String, Double)] = [
            ("mem_used_bytes", Double(memUsed)),
            ("disk_used_bytes", Double(diskUsed)),
        ]
        if let cpuPercent { samples.append(("cpu_percent", cpuPercent)) }
        if let load1 { samples.append(("load1", load1)) }
        if let gpu {
            samples.append(("gpu_util_percent", gpu.utilPercent))
            samples.append(("vram_used_bytes", Double(gpu.vramUsed)))
        }
        return samples
    }

    public static func == (lhs: SystemSnapshot, rhs: SystemSnapshot) -> Bool {
        lhs.cpuCount == rhs.cpuCount && lhs.cpuPercent == rhs.cpuPercent && lhs.memTotal == rhs.memTotal
            && lhs.memUsed == rhs.memUsed && lhs.diskTotal == rhs.diskTotal && lhs.diskUsed == rhs.diskUsed
            && lhs.load1 == rhs.load1 && lhs.gpu == rhs.gpu
    }
}

/// GPUs of the machine, summed (from `nvidia-smi`).
public struct GPUSnapshot: Sendable, Equatable {
    public var count: Int
    public var utilPercent: Double
    public var vramUsed: Int64
    public var vramTotal: Int64
}
