import Foundation
import MeshCore
import MeshStore

/// What the mesh spent, as `GET /v1/costs` and `dagi costs` show it: today and this month (UTC),
/// this month by agent, provider, model and node, and what running on the mesh saved — all from
/// this node's replica of the mesh-wide ledger.
public struct CostsReport: Codable, Sendable, Equatable {
    public struct Totals: Codable, Sendable, Equatable {
        public var requests: Int64
        public var costUSD: Double
        public var savingUSD: Double
        public var promptTokens: Int64
        public var completionTokens: Int64

        init(_ totals: UsageTotals?) {
            requests = totals?.requests ?? 0
            costUSD = totals?.costUSD ?? 0
            savingUSD = totals?.savingUSD ?? 0
            promptTokens = totals?.promptTokens ?? 0
            completionTokens = totals?.completionTokens ?? 0
        }

        enum CodingKeys: String, CodingKey {
            case requests, costUSD = "cost_usd", savingUSD = "saving_usd", promptTokens = "prompt_tokens", completionTokens = "completion_tokens"
        }
    }

    /// One line of a breakdown: a name and its month's totals.
    public struct Line: Codable, Sendable, Equatable {
        public var name: String
        public var requests: Int64
        public var costUSD: Double
        public var savingUSD: Double

        init(name: String, totals: UsageTotals) {
            self.name = name
            requests = totals.requests
            costUSD = totals.costUSD
            savingUSD = totals.savingUSD
        }

        enum CodingKeys: String, CodingKey { case name, requests, costUSD = "cost_usd", savingUSD = "saving_usd" }
    }

    public var currency = "USD"
    public var generatedAt: String
    public var today: Totals
    public var month: Totals
    public var byAgent: [Line]
    public var byProvider: [Line]
    public var byModel: [Line]
    public var byNode: [Line]
    /// Saved this month by serving on the mesh instead of the reference cloud model.
    public var totalSavingUSD: Double

    enum CodingKeys: String, CodingKey {
        case currency, generatedAt = "generated_at", today, month, byAgent = "by_agent", byProvider = "by_provider", byModel = "by_model"
        case byNode = "by_node", totalSavingUSD = "total_saving_usd"
    }

    /// Reads the report from the store; `agent` narrows it to one agent.
    public static func load(_ store: MeshStore, now: Int64, agent: String? = nil) async throws -> CostsReport {
        let (dayStart, monthStart) = UsageTime.dayAndMonthStart(now)
        let today = try await store.usageTotals(UsageFilter(agent: agent, since: dayStart)).first
        let monthFilter = UsageFilter(agent: agent, since: monthStart)
        let month = try await store.usageTotals(monthFilter).first
        func lines(_ grouping: UsageGrouping) async throws -> [Line] {
            try await store.usageTotals(monthFilter, groupBy: [grouping]).map { Line(name: $0.group.first ?? "", totals: $0) }
        }
        return CostsReport(
            generatedAt: UsageTime.iso8601(now), today: Totals(today), month: Totals(month), byAgent: try await lines(.agent),
            byProvider: try await lines(.provider).map { line in
                var line = line
                if line.name.isEmpty { line.name = "mesh" }
                return line
            },
            byModel: try await lines(.model), byNode: try await lines(.node), totalSavingUSD: month?.savingUSD ?? 0
        )
    }
}

/// `dagi usage` and `dagi costs` as tables.
public enum UsageRenderer {
    public static func rows(_ rows: [UsageRowView], color: Bool) -> String {
        var table = TextTable(["TIME", "AGENT", "MODEL", "ROUTE", "TOKENS IN/OUT", "COST", "LATENCY", "STATUS"])
        for row in rows {
            table.add([
                .init(String(row.time.prefix(19)).replacingOccurrences(of: "T", with: " ")),
                .init(row.agent),
                .init(row.model == row.physicalModel ? row.model : "\(row.model) → \(row.physicalModel)"),
                .init(row.route, row.route.hasPrefix("cloud:") ? .yellow : nil),
                .init("\(row.promptTokens)/\(row.completionTokens)" + (row.estimated ? " ~" : "")),
                .init(dollars(row.costUSD)),
                .init(String(format: "%.0f ms", row.latencyMs)),
                .init(String(row.status), row.status >= 400 ? .red : nil),
            ])
        }
        return rows.isEmpty ? "no usage in this window" : table.render(color: color)
    }

    public static func groups(_ groups: [UsageGroupView], by names: [String], color: Bool) -> String {
        var table = TextTable(names.map { $0.uppercased() } + ["REQUESTS", "ERRORS", "TOKENS IN", "TOKENS OUT", "COST", "SAVED", "AVG LATENCY"])
        for group in groups {
            table.add(names.map { TextTable.Cell(group.group[$0] ?? "") } + [
                .init(String(group.requests)), .init(String(group.errors), group.errors > 0 ? .red : nil), .init(String(group.promptTokens)),
                .init(String(group.completionTokens)), .init(dollars(group.costUSD)), .init(dollars(group.savingUSD), .green),
                .init(String(format: "%.0f ms", group.averageLatencyMs)),
            ])
        }
        return groups.isEmpty ? "no usage in this window" : table.render(color: color)
    }

    public static func costs(_ report: CostsReport, color: Bool) -> String {
        var out = [
            "Today:      \(dollars(report.today.costUSD)) over \(report.today.requests) requests (saved \(dollars(report.today.savingUSD)))",
            "This month: \(dollars(report.month.costUSD)) over \(report.month.requests) requests (saved \(dollars(report.totalSavingUSD)))",
        ]
        for (title, lines) in [("By agent", report.byAgent), ("By provider", report.byProvider), ("By model", report.byModel), ("By node", report.byNode)]
        where !lines.isEmpty {
            var table = TextTable([title.uppercased(), "REQUESTS", "COST", "SAVED"])
            for line in lines {
                table.add([.init(line.name), .init(String(line.requests)), .init(dollars(line.costUSD)), .init(dollars(line.savingUSD), .green)])
            }
            out.append("")
            out.append(table.render(color: color))
        }
        return out.joined(separator: "\n")
    }

    static func dollars(_ value: Double) -> String {
        abs(value) >= 0.01 || value == 0 ? String(format: "$%.2f", value) : String(format: "$%.6f", value)
    }
}
