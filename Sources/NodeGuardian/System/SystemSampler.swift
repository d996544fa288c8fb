import Foundation

/// Reads CPU, memory, disk and load of this machine.
///
/// Linux reads `/proc`; macOS uses `sysctl` and Mach host statistics. CPU usage needs two
/// readings, so the sampler keeps the previous CPU counters.
public struct SystemSampler: Sendable {
    private var previousCPU: (busy: UInt64, total: UInt64)?
    /// The file system whose usage is reported (the data directory's).
    let diskPath: String

    public init(diskPath: String) {
        self.diskPath = diskPath
    }

    public mutating func sample(gpu: GPUSnapshot? = nil) -> SystemSnapshot {
        let cpu = Self.cpuCounters()
        var percent: Double?
        if let cpu, let previous = previousCPU, cpu.total > previous.total {
            let busy = Double(cpu.busy &- previous.busy)
            percent = min(100, max(0, 100 * busy / Double(cpu.total - previous.total)))
        }
        if let cpu { previousCPU = cpu }
        let memory = Self.memory()
        let disk = Self.disk(diskPath)
        var load: [Double] = [0, 0, 0]
        let loadRead = getloadavg(&load, 3)
        return SystemSnapshot(
            cpuCount: ProcessInfo.processInfo.activeProcessorCount,
            cpuPercent: percent,
            memTotal: memory.total,
            memUsed: memory.used,
            diskTotal: disk.total,
            diskUsed: disk.used,
            load1: loadRead > 0 ? load[0] : nil,
            gpu: gpu
        )
    }

    static func disk(_ path: String) -> (total: Int64, used: Int64) {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return (0, 0) }
        let block = Int64(stats.f_frsize)
        let total = Int64(stats.f_blocks) * block
        let free = Int64(stats.f_bavail) * block
        return (total, max(0, total - free))
    }

    #if os(Linux)
    /// Aggregate busy and total jiffies from the first line of `/proc/stat`.
    static func cpuCounters() -> (busy: UInt64, total: UInt64)? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard fields.count >= 4 else { return nil }
        let total = fields.reduce(0, +)
        // idle + iowait are not busy.
        let idle = fields[3] + (fields.count > 4 ? fields[4] : 0)
        return (total - idle, total)
    }

    /// Total and used (total − available) memory from `/proc/meminfo`.
    static func memory() -> (total: Int64, used: Int64) {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return (0, 0) }
        var values: [Substring: Int64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let kib = Int64(parts[1]) else { continue }
            values[parts[0].dropLast()] = kib * 1024
        }
        let total = values["MemTotal"] ?? 0
        let available = values["MemAvailable"] ?? values["MemFree"] ?? 0
        return (total, max(0, total - available))
    }
    #else
    static func cpuCounters() -> (busy: UInt64, total: UInt64)? {
        var info = host_cpu_load_info()
        var count = mach_msg_type_number_t(MemoryLayout<host_cpu_load_info_data_t>.size / MemoryLayout<integer_t>.size)
        let result = withUnsafeMutablePointer(to: &info) {
            $0.withMemoryRebound(to: integer_t.self, capacity: Int(count)) {
                host_statistics(mach_host_self(), HOST_CPU_LOAD_INFO, $0, &count)
            }
        }
        guard result == KERN_SUCCESS else { return nil }
        let user = UInt64(info.cpu_ticks.0), system = UInt64(info.cpu_ticks.1)
        let idle = UInt64(info.cpu_ticks.2), nice = UInt64(info.cpu_ticks.3)
        return (user + system + nice, user + system + idle + nice)
    }

    static func memory() -> (total: Int64, used: Int64) {
        let total = Int64(ProcessInfo.processInfo.physicalMemory)
        var stats = vm_statistics64()
        var count = mach_msg_type_number_t(MemoryLayout<vm_statistics64_data_t>.size / MemoryLayout<integer_t>.size)
        let result = withUnsafeMutablePointer(to: &stats) {
            $0.withMemoryRebound(to: integer_t.self, capacity: Int(count)) {
                host_statistics64(mach_host_self(), HOST_VM_INFO64, $0, &count)
            }
        }
        guard result == KERN_SUCCESS else { return (total, 0) }
        let page = Int64(vm_kernel_page_size)
        let available = (Int64(stats.free_count) + Int64(stats.inactive_count) + Int64(stats.purgeable_count)) * page
        return (total, max(0, total - available))
    }
    #endif
}
