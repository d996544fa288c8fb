import HTTPTypes
import MeshCore
import MeshHTTP
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// How an exchange ends: an upstream's error answer, a failure before or after the first byte,
/// the client hanging up, and the ledger entry each leaves.
extension Exchange {
    /// An answer that is not relayed: a failover status tries the next candidate; anything
    /// else is the client's error, answered in the client's API with the upstream's message.
    func errorAnswered(_ head: HTTPResponseHead, body: ByteBuffer) {
        let code = Int(head.status.code)
        let message = RequestRouter.errorMessage(in: body)
        if code == 429, let candidate {
            // The upstream says when to come back: it is left alone until then (a provider's
            // Retry-After, or Gemini's RetryInfo), else for the usual cooldown.
            router.health.rest(candidate.key, for: ProviderErrors.retryAfter(headers: head.headers, body: body) ?? router.config.cooldown.duration)
        }
        if candidate?.place == .provider, code == 401 || code == 403 {
            // The node's key, not the client's, was refused: another candidate may serve. The
            // provider's text stays out (it can quote part of the key).
            return attemptFailed("the provider refused this node's API key (\(code))")
        }
        // Too long a prompt for this model is no reason to fail: a bigger one may take it.
        let tooLong = code == 400 && ProviderErrors.isContextLength(status: code, body: body)
        if code >= 500 || code == 429 || code < 200 || tooLong || candidate?.place == .remote && (code == 401 || code == 403 || code == 404) {
            return attemptFailed("answered \(code)\(message.isEmpty ? "" : ": \(message)")")
        }
        timer?.cancel()
        detachUpstream(recycle: false)
        phase = .done
        let error = APIError(
            status: .init(code: code), code: RequestRouter.errorCode(in: body) ?? APIError.code(for: .init(code: code)),
            message: message.isEmpty ? "the model server answered \(code)" : message
        )
        writer.error(error, route: candidate)
        finished(status: code, error: nil, metered: Metered(usage: TokenUsage(), estimated: false, costUSD: 0, savingUSD: 0))
    }

    // MARK: - Ending

    func upstreamFailed(_ error: any Error) {
        switch phase {
        case .connecting, .awaitingHead, .readingError:
            attemptFailed(RequestRouter.describe(error))
        case .relaying:
            relayFailed(error)
        case .preparing, .done:
            break
        }
    }

    /// The answer broke after its first byte: end the client's stream with an error it can see.
    func relayFailed(_ error: any Error) {
        guard case .relaying = phase else { return }
        phase = .done
        detachUpstream(recycle: false)
        if let head = heldHead {
            // A whole answer that broke before it was sent: the client gets a clean error.
            _ = head
            heldHead = nil
            writer.error(APIError(status: .badGateway, code: "upstream_failed", message: "the model server failed mid-answer: \(RequestRouter.describe(error))"), route: candidate)
            return finished(status: 502, error: error)
        }
        if let trailer = adapter?.errorTrailer("the model server failed mid-answer: \(RequestRouter.describe(error))", requestID: request.requestID) {
            // A length the client was told no longer holds: the connection ends with the answer,
            // so no next answer is read against the wrong framing. Chunked answers end cleanly.
            writer.body(trailer, flush: true)
            writer.end(closing: announcedLength)
        } else {
            // A whole answer cut short cannot be told; the client sees the connection close.
            writer.abort()
        }
        finished(status: 502, error: error)
    }

    /// The client hung up: stop the upstream at once so the model stops generating — unless
    /// others wait on this answer (a flight's followers): then it goes on for them, read as fast
    /// as it comes, until the last of them leaves too.
    func clientClosed() {
        if case .done = phase { return }
        if let flight = writer.flight {
            let exchange = NIOLoopBound(self, eventLoop: eventLoop)
            let stop: @Sendable () -> Void = { exchange.eventLoop.execute { exchange.value.stopForNoOne() } }
            guard flight.leaderLeft(stop: stop) else {
                writer.clientLeft()
                upstream?.setOption(.autoRead, value: true).whenFailure { _ in }
                return
            }
        }
        stopForNoOne()
    }

    /// No client waits on the answer any more: the upstream is stopped.
    private func stopForNoOne() {
        writer.flight = nil
        switch phase {
        case .done: return
        case .relaying:
            phase = .done
            heldHead = nil
            detachUpstream(recycle: false)
            // A client that read to the end of the answer and closed before the upstream's own
            // end (OpenAI's SDK stops at `[DONE]`) was served. The end is the adapter's final
            // event, or for bytes relayed unchanged the usage the tap read (it comes last).
            let ended = adapter.map { $0.answerEnded || ($0.usage == nil && tap.reportedUsage != nil) } ?? false
            if ended { return finished(status: 200, error: nil) }
            finished(status: 499, error: ClientWentAway())
        default:
            var requestSent = false
            if case .awaitingHead = phase { requestSent = true }
            phase = .done
            timer?.cancel()
            waiting?.cancel()
            detachUpstream(recycle: false)
            if requestSent, let candidate, candidate.isCloud {
                // The provider may bill the prompt it was sent: it is counted (estimated) in the
                // ledger and the budgets, not forgotten because the client left early.
                return finished(status: 499, error: ClientWentAway(), metered: meter(), health: false)
            }
            call?.release?()
            call = nil
            if let candidate {
                if let attempt { router.health.end(attempt) }
                releaseReservation(candidate)
            }
        }
    }

    func clientWritabilityChanged(_ writable: Bool) {
        refreshReading()
    }

    /// Reads the upstream at the client's pace — unless others wait on the answer too (the
    /// client is cut off instead if it falls too far behind) or the client left.
    func refreshReading() {
        let read = writer.readsAheadOfClient || writer.context.channel.isWritable
        upstream?.setOption(.autoRead, value: read).whenFailure { _ in }
    }

    func finishWithError(_ error: any Error) {
        phase = .done
        if let candidate { releaseReservation(candidate) }
        let apiError = error as? APIError ?? APIError(status: .internalServerError, code: "internal_error", message: "internal error")
        writer.error(apiError, route: nil)
        router.metrics.rejected(status: Int(apiError.status.code), code: apiError.code)
    }

    /// The answer's usage and cost (see ``RequestRouter/meter(_:request:reported:tap:)``).
    func meter() -> Metered {
        guard let candidate else { return Metered(usage: TokenUsage(), estimated: true, costUSD: 0, savingUSD: 0) }
        return router.meter(candidate, request: request, reported: adapter?.usage ?? tap.reportedUsage, tap: tap)
    }

    /// The exchange's end: its ledger row and budget settling; `health: false` when the
    /// candidate is not to blame (the client left).
    func finished(status: Int, error: (any Error)?, metered: Metered? = nil, health: Bool = true) {
        timer?.cancel()
        guard let candidate else { return }
        let release = call?.release
        call = nil
        let reservation = self.reservation
        self.reservation = nil
        router.finish(
            candidate: candidate, request: request, sent: sent, tap: tap, metered: metered ?? meter(), status: status, error: error,
            release: release, reservation: reservation, health: health, attempt: attempt
        )
    }

    /// Gives back the current attempt's reservation: it was not sent, or failed before any byte.
    func releaseReservation(_ candidate: Candidate) {
        guard let reservation else { return }
        self.reservation = nil
        router.settleBudget(reservation, candidate: candidate, request: request, costUSD: 0)
    }

    func detachUpstream(recycle: Bool) {
        guard let channel = upstream else { return }
        upstream = nil
        if let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) { handler.exchange = nil }
        if recycle, let call {
            channel.setOption(.autoRead, value: true).whenFailure { _ in }
            pool.recycle(channel, target: call.target)
        } else {
            channel.close(promise: nil)
        }
    }

    /// Upstream headers that describe the upstream's connection or identity, not the answer.
    static let notRelayed: Set<String> = [
        "connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "server", "date", "x-request-id",
    ]

    /// The only upstream headers a cloud provider's answer passes on.
    static let relayedFromProviders: Set<String> = ["content-length", "cache-control", "retry-after"]

    struct ClientWentAway: Error, CustomStringConvertible {
        var description: String { "the client went away" }
    }
}
