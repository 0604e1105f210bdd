import Hummingbird

/// Answers `405 Method Not Allowed` with an `Allow` header (RFC 9110 §15.5.6)
/// and a problem document when a known path is requested with a method it
/// does not serve (the router alone would answer 404).
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Path → the methods it serves.
    static var allowed: [String: [HTTPRequest.Method]] {
        ["/v1/batches": [.post], "/v1/events": [.post], "/healthz": [.get], "/metrics": [.get], "/openapi.yaml": [.get], "/docs": [.get],
            "/docs/swagger-ui-bundle.js": [.get], "/docs/swagger-ui.css": [.get]]
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if let methods = Self.allowed[path], !methods.contains(request.method) {
            let allow = methods.map(\.rawValue).joined(separator: ", ")
            let problem = Problem(
                status: 405, name: "method-not-allowed", title: "The method is not allowed on this path",
                detail: "\(request.method.rawValue) \(path) is not served; use \(allow)")
            return Response(
                status: .methodNotAllowed, headers: [.contentType: "application/problem+json", .allow: allow],
                body: .init(byteBuffer: ByteBuffer(bytes: problem.json(instance: path))))
        }
        return try await next(request, context)
    }
}
