import AsyncHTTPClient
import MeshCore
import MeshStore
import NIOCore

/// Polls a starting model's health endpoint until it answers 200, the process exits, the
/// deadline passes or the check is cancelled (the model is being stopped).
enum HealthCheck {
    enum Outcome: Sendable, Equatable {
        case healthy
        case exited
        case timedOut
        case cancelled
    }

    static func wait(http: HTTPClient, url: String, child: ChildProcess, deadline: ContinuousClock.Instant) async -> Outcome {
        let started = ContinuousClock.now
        while ContinuousClock.now < deadline {
            if Task.isCancelled { return .cancelled }
            if child.hasExited { return .exited }
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            let attempt = min(.seconds(2), deadline - ContinuousClock.now)
            if attempt > .zero, let response = try? await http.execute(request, timeout: .nanoseconds(max(1_000_000, attempt.inNanoseconds))) {
                _ = try? await response.body.collect(upTo: 1 << 20)
                if response.status == .ok { return .healthy }
            }
            // Poll briskly: a loopback health check costs microseconds, and every interval of
            // sleep is latency added to the swap. Slow down only for models that load for long.
            try? await Task.sleep(for: ContinuousClock.now - started < .seconds(10) ? .milliseconds(10) : .milliseconds(100))
        }
        return child.hasExited ? .exited : .timedOut
    }

    /// The slots a llama-server says it has (`total_slots` of `/props`), when it answers that
    /// within a second; nil from any other server.
    static func slots(http: HTTPClient, baseURL: String) async -> Int? {
        var request = HTTPClientRequest(url: baseURL + "/props")
        request.method = .GET
        guard let response = try? await http.execute(request, timeout: .seconds(1)), response.status == .ok,
              let body = try? await response.body.collect(upTo: 1 << 20),
              let slots = (try? JSONValue.parse(body.readableBytesView))?["total_slots"]?.intValue, ModelLoadRecord.slotRange.contains(Int(clamping: slots))
        else { return nil }
        return Int(slots)
    }
}
