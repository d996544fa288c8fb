import AsyncHTTPClient
import Foundation
import Logging
import MeshCore
import NIOCore
import ServiceLifecycle

/// Sends the budget alerts (logged as they happen) as JSON with a `text` field — what
/// Slack-style and chat-bot webhooks show — to the webhook in `alerts.webhook_url_env`, each
/// retried with backoff on its own (a webhook that is down delays no other alert). The URL is a
/// secret (it carries the webhook's token): it is never logged.
public struct BudgetAlertService: Service {
    let alerts: AsyncStream<BudgetAlert>
    let webhook: URL
    let http: HTTPClient
    let logger: Logger
    /// Attempts per alert, waiting 1, 2, 4, ... seconds between them.
    static let attempts = 5

    /// - Parameter webhook: a URL ``validURL(_:)`` accepted.
    public init(router: RequestRouter, webhook: URL, http: HTTPClient, logger: Logger) {
        alerts = router.budgets.alerts
        self.webhook = webhook
        self.http = http
        var logger = logger
        logger[metadataKey: "component"] = "budgets"
        self.logger = logger
    }

    /// An http(s) URL with a host, else nil.
    public static func validURL(_ text: String) -> URL? {
        guard let url = URL(string: text.trimmingCharacters(in: .whitespaces)), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", url.host?.isEmpty == false
        else { return nil }
        return url
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for await alert in alerts {
                    group.addTask { await post(alert, to: webhook) }
                }
            }
        }
    }

    private func post(_ alert: BudgetAlert, to webhook: URL) async {
        let body: JSONValue = [
            "text": .string(alert.text), "kind": .string(alert.kind.rawValue), "budget": .string(alert.scope), "period": .string(alert.period.rawValue),
            "spent_usd": .number(alert.spentUSD), "limit_usd": .number(alert.limitUSD), "percent": .number(alert.percent),
            "on_exceed": .string(alert.action.rawValue), "resets_at": .string(UTCPeriods.iso8601(alert.resetsAt)),
        ]
        var request = HTTPClientRequest(url: webhook.absoluteString)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body.serialized()))
        var outcome = ""
        for attempt in 0..<Self.attempts {
            if attempt > 0 {
                guard (try? await Task.sleep(for: .seconds(1 << (attempt - 1)))) != nil else { return }
            }
            do {
                let response = try await http.execute(request, timeout: .seconds(10))
                _ = try? await response.body.collect(upTo: 64 << 10)
                if (200..<300).contains(response.status.code) { return }
                outcome = "answered \(response.status.code)"
            } catch {
                outcome = "unreachable"
            }
        }
        logger.error("the budget alert webhook \(outcome) \(Self.attempts) times; the alert is in the log and GET /v1/budgets")
    }
}
