import Foundation
import MeshCore
import MeshStore

/// One ledger row as `GET /v1/usage` and `dagi usage` show it.
public struct UsageRowView: Codable, Sendable, Equatable {
    public var time: String
    public var timestampMs: Int64
    public var requestID: String
    public var agent: String
    /// The model as the client named it.
    public var model: String
    public var physicalModel: String
    public var route: String
    /// The node that served it (its model, or its provider key).
    public var node: String
    /// The node where it entered the mesh (whose ledger holds it).
    public var recordedBy: String
    public var provider: String?
    public var promptTokens: Int64
    public var cachedTokens: Int64
    public var cacheWriteTokens: Int64
    public var completionTokens: Int64
    public var reasoningTokens: Int64
    public var latencyMs: Double
    public var ttftMs: Double?
    public var costUSD: Double
    public var savingUSD: Double
    public var cacheHit: Bool
    public var status: Int
    public var estimated: Bool

    public init(_ record: UsageRecord) {
        time = UsageTime.iso8601(record.ts)
        timestampMs = record.ts
        requestID = record.requestID
        agent = record.agent
        model = record.model
        physicalModel = record.physicalModel
        route = record.route
        node = record.servedBy
        recordedBy = record.nodeID
        provider = record.provider
        promptTokens = record.promptTokens
        cachedTokens = record.cachedTokens
        cacheWriteTokens = record.cacheWriteTokens
        completionTokens = record.completionTokens
        reasoningTokens = record.reasoningTokens
        latencyMs = record.latencyMs
        ttftMs = record.ttftMs
        costUSD = record.costUSD
        savingUSD = record.savingUSD
        cacheHit = record.cacheHit
        status = record.status
        estimated = record.estimated
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case time, timestampMs = "timestamp_ms", requestID = "request_id", agent, model, physicalModel = "physical_model", route, node
        case recordedBy = "recorded_by", provider, promptTokens = "prompt_tokens", cachedTokens = "cached_tokens"
        case cacheWriteTokens = "cache_write_tokens", completionTokens = "completion_tokens", reasoningTokens = "reasoning_tokens"
        case latencyMs = "latency_ms", ttftMs = "ttft_ms", costUSD = "cost_usd", savingUSD = "saving_usd", cacheHit = "cache_hit", status, estimated
    }

    /// The row's fields in ``CodingKeys`` order, as CSV cells.
    var cells: [String] {
        [
            time, String(timestampMs), requestID, agent, model, physicalModel, route, node, recordedBy, provider ?? "", String(promptTokens),
            String(cachedTokens), String(cacheWriteTokens), String(completionTokens), String(reasoningTokens), Self.number(latencyMs),
            ttftMs.map(Self.number) ?? "", Self.money(costUSD), Self.money(savingUSD), cacheHit ? "true" : "false", String(status),
            estimated ? "true" : "false",
        ]
    }

    static func number(_ value: Double) -> String { String(format: "%.3f", value) }
    static func money(_ value: Double) -> String { String(format: "%.8f", value) }
}

/// A group's totals as `GET /v1/usage?group_by=…` and `dagi usage --group-by …` show them.
public struct UsageGroupView: Codable, Sendable, Equatable {
    /// The group's values by grouping name (`day` and `hour` as ISO-8601 times).
    public var group: [String: String]
    public var requests: Int64
    public var errors: Int64
    public var promptTokens: Int64
    public var cachedTokens: Int64
    public var completionTokens: Int64
    public var reasoningTokens: Int64
    public var costUSD: Double
    public var savingUSD: Double
    public var averageLatencyMs: Double

    public init(_ totals: UsageTotals, groupedBy groups: [UsageGrouping]) {
        var group: [String: String] = [:]
        for (grouping, value) in zip(groups, totals.group) {
            switch grouping {
            case .day, .hour: group[grouping.rawValue] = Int64(value).map(UsageTime.iso8601) ?? value
            default: group[grouping.rawValue] = value
            }
        }
        self.group = group
        requests = totals.requests
        errors = totals.errors
        promptTokens = totals.promptTokens
        cachedTokens = totals.cachedTokens
        completionTokens = totals.completionTokens
        reasoningTokens = totals.reasoningTokens
        costUSD = totals.costUSD
        savingUSD = totals.savingUSD
        averageLatencyMs = totals.averageLatencyMs
    }

    enum CodingKeys: String, CodingKey {
        case group, requests, errors, promptTokens = "prompt_tokens", cachedTokens = "cached_tokens", completionTokens = "completion_tokens"
        case reasoningTokens = "reasoning_tokens", costUSD = "cost_usd", savingUSD = "saving_usd", averageLatencyMs = "avg_latency_ms"
    }
}

/// Times in usage questions: milliseconds since 1970, an ISO-8601 date or time, or a span back
/// from now (`90m`, `24h`, `7d`).
public enum UsageTime {
    public static func parse(_ text: String, now: Int64) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 64 else { return nil }
        if trimmed.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            guard trimmed.utf8.count <= 16, let ms = Int64(trimmed) else { return nil }
            return ms
        }
        if let span = ConfigDuration(parsing: trimmed), trimmed.last?.isLetter == true {
            return max(0, now.saturatingMinus(span.milliseconds))
        }
        let full = ISO8601DateFormatter()
        if let date = full.date(from: trimmed) { return milliseconds(date) }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        if let date = day.date(from: trimmed) { return milliseconds(date) }
        return nil
    }

    private static func milliseconds(_ date: Date) -> Int64? {
        Int64(scaling: date.timeIntervalSince1970, by: 1000).flatMap { $0 >= 0 ? $0 : nil }
    }

    public static func iso8601(_ ms: Int64) -> String { UTCPeriods.iso8601(ms) }

    /// The start of the UTC day and month holding `now`.
    public static func dayAndMonthStart(_ now: Int64) -> (day: Int64, month: Int64) { UTCPeriods.dayAndMonthStart(now) }
}

/// Ledger rows as CSV (RFC 4180): a header line, then one line per row.
public enum UsageCSV {
    public static func render(_ rows: [UsageRowView]) -> String {
        var lines = [UsageRowView.CodingKeys.allCases.map(\.stringValue).joined(separator: ",")]
        for row in rows { lines.append(row.cells.map(quote).joined(separator: ",")) }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    static func quote(_ cell: String) -> String {
        // A cell a spreadsheet would run as a formula is prefixed with a quote mark.
        let guarded = cell.first.map { "=+-@\t\r".contains($0) && Double(cell) == nil } == true ? "'" + cell : cell
        guard guarded.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return guarded }
        return "\"" + guarded.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
