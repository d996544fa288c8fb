import ArgumentParser
import AsyncHTTPClient
import Hummingbird
import Logging
import NIOCore
import NIOPosix

/// Experiment: the floor of a Hummingbird + AsyncHTTPClient proxy with no routing logic.
struct MiniProxy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mini-proxy")
    @Option var port: Int
    @Option var upstream: String
    @Flag var takeover = false

    func run() async throws {
        if takeover { NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() }
        var config = HTTPClient.Configuration()
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        let router = Router()
        let target = upstream
        router.post("/v1/chat/completions") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            var out = HTTPClientRequest(url: target)
            out.method = .POST
            out.headers.add(name: "content-type", value: "application/json")
            out.body = .bytes(body)
            let response = try await http.execute(out, timeout: .seconds(30))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: bytes))
        }
        var logger = Logger(label: "mini")
        logger.logLevel = .error
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        try await app.runService()
    }
}
