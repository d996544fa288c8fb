import Foundation
import Hummingbird
import MeshCore
import MeshHTTP
import MeshStore
import MeshViews
import NIOCore

/// The web dashboard at `/ui`: a page, its script and its styles, compiled into the binary (no
/// build step, no CDN: it works offline), and the two documents it reads besides `/v1/usage`
/// and `/v1/providers`: the whole status report and metric series for the sparklines.
///
/// The page is administration (this machine, or the admin token); the documents are node
/// information. Its content security policy lets it load nothing from anywhere but this node.
struct DashboardAPI {
    let store: MeshStore
    let audience: Audience

    /// What the browser may do with the page: nothing off this node.
    static let contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

    func register(on router: Router<MeshRequestContext>) {
        router.get("/") { request, _ in
            // Browsers ask for HTML; API clients get the usual 404.
            guard request.headers[.accept]?.contains("text/html") == true else {
                throw APIError.notFound("nothing at /: the API is under /v1, the dashboard at /ui", code: "not_found")
            }
            return Response(status: .found, headers: [.location: "/ui"])
        }
        router.get("/ui") { request, context in
            try audience.requireAdmin(request, context)
            return Self.asset(PackageResources.index_html, type: "text/html; charset=utf-8")
        }
        router.get("/ui/app.js") { request, context in
            try audience.requireAdmin(request, context)
            return Self.asset(PackageResources.app_js, type: "text/javascript; charset=utf-8")
        }
        router.get("/ui/app.css") { request, context in
            try audience.requireAdmin(request, context)
            return Self.asset(PackageResources.app_css, type: "text/css; charset=utf-8")
        }
        router.get("/v1/status") { request, context in
            try await audience.requireInfo(request, context)
            return try JSONResponse.make(StatusReport(try await store.state(), now: store.clock.wallMilliseconds(), spentToday: try await store.spentToday()))
        }
        router.get("/v1/metrics/series") { request, context in
            try await audience.requireInfo(request, context)
            return try await series(request)
        }
    }

    static func asset(_ bytes: [UInt8], type: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: type, .contentSecurityPolicy: contentSecurityPolicy, .init("x-content-type-options")!: "nosniff",
                .cacheControl: "no-cache",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }

    /// The metrics a chart may ask for.
    static let chartable: Set<String> = ["cpu_percent", "mem_used_bytes", "gpu_util_percent", "vram_used_bytes", "load1", "disk_used_bytes"]

    /// `GET /v1/metrics/series?node=ID&metric=cpu_percent,mem_used_bytes&minutes=60`:
    /// `{"node":…, "series": {"cpu_percent": [[ts, value], …], …}}`.
    private func series(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        guard let node = query.get("node"), MeshName.isValid(node) else {
            throw APIError.badRequest("node must be a node id", code: "invalid_parameter", param: "node")
        }
        let minutes = try QueryInteger.read(query.get("minutes"), name: "minutes", in: 1...1440) ?? 60
        let names = (query.get("metric") ?? "cpu_percent,mem_used_bytes,gpu_util_percent").split(separator: ",").map(String.init)
        guard !names.isEmpty, names.count <= Self.chartable.count, names.allSatisfy(Self.chartable.contains) else {
            throw APIError.badRequest(
                "metric must list some of \(Self.chartable.sorted().joined(separator: ", "))", code: "invalid_parameter", param: "metric"
            )
        }
        let since = store.clock.wallMilliseconds() - Int64(minutes) * 60_000
        var series: [String: JSONValue] = [:]
        for name in Set(names) {
            let points = try await store.metricSeries(nodeID: node, metric: name, since: since, limit: 1500)
            series[name] = .array(points.map { [.int($0.ts), .number($0.value.isFinite ? $0.value : 0)] })
        }
        return JSONResponse.make(["node": .string(node), "minutes": .int(Int64(minutes)), "series": .object(series)])
    }
}
