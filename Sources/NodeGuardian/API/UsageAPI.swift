import Foundation
import Hummingbird
import MeshCore
import MeshHTTP
import MeshStore
import MeshViews
import NIOCore

/// The usage ledger over HTTP, answered by any node for the whole mesh from its replica:
///
/// - `GET /v1/usage` — ledger rows (newest first) or, with `group_by`, totals per group; filters
///   `agent`, `model`, `provider`, `node`, `route`, `since`, `until` (ms, ISO-8601, or a span back
///   from now such as `24h`), `limit`; `format=csv` for a spreadsheet.
/// - `GET /v1/costs` — today, this month, by agent, provider, model and node, and the saving.
///
/// An agent reading with its own key sees its own usage only.
struct UsageAPI {
    let store: MeshStore
    let audience: Audience

    func register(on router: Router<MeshRequestContext>) {
        router.get("/v1/usage") { request, context in try await usage(request, context) }
        router.get("/v1/costs") { request, context in
            let reader = try await audience.requireInfo(request, context)
            let report = try await CostsReport.load(store, now: store.clock.wallMilliseconds(), agent: try Self.agent(of: reader))
            return try JSONResponse.make(report)
        }
    }

    private func usage(_ request: Request, _ context: MeshRequestContext) async throws -> Response {
        let reader = try await audience.requireInfo(request, context)
        let query = request.uri.queryParameters
        let now = store.clock.wallMilliseconds()
        func time(_ name: String) throws -> Int64? {
            guard let text = query.get(name) else { return nil }
            guard let ms = UsageTime.parse(text, now: now) else {
                throw APIError.badRequest("\(name) must be milliseconds since 1970, an ISO-8601 date or time, or a span such as 24h", code: "invalid_parameter", param: name)
            }
            return ms
        }
        var filter = UsageFilter(
            agent: query.get("agent"), model: query.get("model"), provider: query.get("provider"), node: query.get("node"),
            route: query.get("route"), since: try time("since"), until: try time("until")
        )
        if let own = try Self.agent(of: reader) {
            guard filter.agent == nil || filter.agent == own else {
                throw APIError(status: .forbidden, code: "forbidden", message: "an agent's key reads that agent's usage only")
            }
            filter.agent = own
        }
        let groups: [UsageGrouping]
        do {
            groups = try UsageGrouping.list(query.get("group_by") ?? "")
        } catch {
            throw APIError.badRequest(error.description, code: "invalid_parameter", param: "group_by")
        }
        let format = query.get("format") ?? "json"
        guard format == "json" || format == "csv" && groups.isEmpty else {
            throw APIError.badRequest("format takes json or csv (csv lists rows, without group_by)", code: "invalid_parameter", param: "format")
        }
        let limit = try QueryInteger.read(query.get("limit"), name: "limit", in: 1...100_000) ?? 1000
        let csv = format == "csv"
        if !groups.isEmpty {
            let totals = try await store.usageTotals(filter, groupBy: groups).prefix(limit).map { UsageGroupView($0, groupedBy: groups) }
            return try JSONResponse.make(UsageGroupsDocument(groupBy: groups.map(\.rawValue), data: totals))
        }
        let rows = try await store.usage(filter, limit: limit).map(UsageRowView.init)
        if csv {
            return Response(
                status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"usage.csv\""],
                body: .init(byteBuffer: ByteBuffer(string: UsageCSV.render(rows)))
            )
        }
        return try JSONResponse.make(UsageRowsDocument(data: rows))
    }

    /// The agent whose usage `reader` may read, or nil for all of it. The ledger is never
    /// public: `node.public_info` opens status, not who spent what.
    static func agent(of reader: Audience.Reader) throws -> String? {
        switch reader {
        case .operatorOrPeer: return nil
        case .agent(let agent): return agent
        case .anyone:
            throw APIError(status: .unauthorized, code: "credentials_required", message: "usage and costs need an agent's key or the admin token")
        }
    }
}

struct UsageRowsDocument: Encodable {
    var object = "list"
    var data: [UsageRowView]
}

struct UsageGroupsDocument: Encodable {
    var object = "list"
    var groupBy: [String]
    var data: [UsageGroupView]

    enum CodingKeys: String, CodingKey { case object, groupBy = "group_by", data }
}
