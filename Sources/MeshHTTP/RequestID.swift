import MeshCore
import Hummingbird
import HTTPTypes
import Synchronization

extension HTTPField.Name {
    public static let requestID = HTTPField.Name("x-request-id")!
}

/// Gives each request an id: the caller's `x-request-id` when it is sane, else a new one.
/// The id is echoed on the response, attached to the request's logger and put in error bodies.
public struct RequestIDMiddleware: RouterMiddleware {
    public typealias Context = MeshRequestContext

    public init() {}

    public func handle(
        _ request: Request, context: MeshRequestContext, next: (Request, MeshRequestContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        if let given = request.headers[.requestID], RequestIDMiddleware.isAcceptable(given) {
            context.requestID = given
        } else {
            context.requestID = RequestIDMiddleware.generate()
        }
        // The id is not put in the logger's metadata: that copies it for every request; the
        // few log lines about a request name it themselves.
        var response: Response
        // Each API answers errors in its own shape (Ollama's, the compatibility APIs', OpenAI's).
        let style = APIError.Style(path: request.uri.path)
        do {
            response = try await next(request, context)
        } catch let error as APIError {
            response = error.response(requestID: context.requestID, style: style)
        } catch let error as HTTPError {
            response = APIError(status: error.status, code: APIError.code(for: error.status), message: error.body ?? "\(error.status.reasonPhrase)")
                .response(requestID: context.requestID, style: style)
        } catch {
            context.logger.error("unhandled error: \(error)")
            response = APIError(status: .internalServerError, code: "internal_error", message: "internal error")
                .response(requestID: context.requestID, style: style)
        }
        response.headers[.requestID] = context.requestID
        return response
    }

    /// Printable ASCII, no spaces, at most 128 characters.
    public static func isAcceptable(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128 && id.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f }
    }

    /// `req_` and 20 hex digits: a random per-process prefix and a counter, unique without a
    /// system call per request.
    public static func generate() -> String {
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return "req_" + prefix + hex(n, width: 8)
    }

    private static let prefix: String = {
        var generator = SystemRandomNumberGenerator()
        let random: UInt64 = generator.next()
        return hex(random & 0xffff_ffff_ffff, width: 12)
    }()

    private static let counter = Atomic<UInt64>(0)

    private static func hex(_ value: UInt64, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
