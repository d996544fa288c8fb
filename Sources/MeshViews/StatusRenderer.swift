import MeshCore

/// Renders a ``StatusReport`` as the three tables of `dagi status`.
public enum StatusRenderer {
    public static func render(_ report: StatusReport, color: Bool) -> String {
        var sections: [String] = []

        var nodes = TextTable(["NODE", "STATE", "HEARTBEAT", "LAST CHANGE", "CPU", "MEM", "GPU", "ADDRESS"])
        for node in report.nodes {
            nodes.add([
                .init(node.id + (node.local ? " *" : "")),
                .init(node.state.rawValue, liveColor(node.state)),
                .init(age(node.ageMs)),
                .init(node.local ? "local" : node.lastChangeAgeMs.map(age) ?? "never"),
                .init(node.cpuPercent.map { String(format: "%.0f%%", $0) } ?? "-"),
                .init(node.memUsed.map { "\(ByteSize.format($0))/\(ByteSize.format(node.memTotal))" } ?? "-"),
                .init(node.gpuCount > 0 ? "\(node.gpuCount)x " + (node.vramUsed.map(ByteSize.format) ?? "?") : "-"),
                .init(node.apiURL, .dim),
            ])
        }
        sections.append("Nodes (\(report.nodes.count))\n" + nodes.render(color: color))

        sections.append("Models (\(report.models.count))\n" + renderModels(report, color: color))

        sections.append("Agents (\(report.agents.count))\n" + renderAgents(report, color: color))
        return sections.joined(separator: "\n\n")
    }

    /// The agents table (also `dagi agents`): freshness, assignments and limits.
    public static func renderAgents(_ report: StatusReport, color: Bool) -> String {
        guard !report.agents.isEmpty else { return "  none" }
        var agents = TextTable(["AGENT", "TIER", "STATUS", "LAST SEEN", "ASSIGNED", "CLOUD", "MODELS", "DAILY BUDGET"])
        for agent in report.agents {
            agents.add([
                .init(agent.name),
                .init(agent.tier),
                .init(agent.status.rawValue, agent.status == .active ? .green : .yellow),
                .init(agent.lastSeenAgeMs.map(age) ?? "never"),
                .init(agent.assigned.isEmpty ? "-" : agent.assigned.joined(separator: ",")),
                .init(agent.allowCloud ? "yes" : "no"),
                .init(agent.models.isEmpty ? "all" : agent.models.joined(separator: ",")),
                budgetCell(spent: agent.spentTodayUSD ?? 0, budget: agent.budgetDailyUSD),
            ])
        }
        return agents.render(color: color)
    }

    /// `$0.21/$0.25 84%`: yellow from 80 % (the default `budgets.warn_at`), red once spent.
    static func budgetCell(spent: Double, budget: Double?) -> TextTable.Cell {
        guard let budget else { return .init(spent > 0 ? UsageRenderer.dollars(spent) + "/-" : "-") }
        // Replicated figures: clamped before they become an Int.
        let ratio = budget > 0 ? spent / budget * 100 : (spent > 0 ? 100 : 0)
        let percent = ratio.isFinite ? min(max(0, ratio), 999_999) : 999_999
        let text = "\(UsageRenderer.dollars(spent))/\(UsageRenderer.dollars(budget)) \(Int(percent.rounded(.down)))%"
        return .init(text, percent >= 100 ? .red : percent >= 80 ? .yellow : nil)
    }

    /// The models table (also `dagi models`).
    public static func renderModels(_ report: StatusReport, color: Bool) -> String {
        guard !report.models.isEmpty else { return "  none" }
        var models = TextTable(["NODE", "MODEL", "SOURCE", "STATE", "SIZE", "QUANT", "LAST USED"])
        for model in report.models {
            let state = model.reachable ? model.state : "unreachable"
            models.add([
                .init(model.node, model.nodeState == .online ? nil : .dim),
                .init(model.name),
                .init(model.source),
                .init(state, modelColor(state, node: model.nodeState)),
                .init(model.sizeBytes.map(ByteSize.format) ?? "-"),
                .init(model.quantization ?? "-"),
                .init(model.lastUsed.map { age(max(0, report.generatedAt.saturatingMinus($0))) } ?? "-"),
            ])
        }
        return models.render(color: color)
    }

    /// `850ms`, `12s`, `4m`, `3h`, `2d` ago.
    static func age(_ ms: Int64) -> String {
        switch ms {
        case ..<1000: return "\(ms)ms ago"
        case ..<60_000: return "\(ms / 1000)s ago"
        case ..<3_600_000: return "\(ms / 60_000)m ago"
        case ..<86_400_000: return "\(ms / 3_600_000)h ago"
        default: return "\(ms / 86_400_000)d ago"
        }
    }

    static func liveColor(_ state: NodeView.Liveness) -> TextTable.Color {
        switch state {
        case .online: return .green
        case .stale: return .yellow
        case .offline: return .red
        }
    }

    static func modelColor(_ state: String, node: NodeView.Liveness) -> TextTable.Color? {
        if node != .online { return .dim }
        switch state {
        case "loaded": return .green
        case "loading": return .yellow
        case "unreachable": return .red
        default: return nil
        }
    }
}
