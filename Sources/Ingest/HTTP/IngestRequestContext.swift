import Hummingbird
import NIOCore

/// The ingest's Hummingbird request context: the basic one plus the
/// connection's remote address, which ``ClientAddressMiddleware`` hands to the
/// OpenAPI handlers (failed authentications are limited per client address).
public struct IngestRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's address (behind a proxy: the proxy's).
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// The client address of the request being served, for code that sees only
/// the OpenAPI request (set by ``ClientAddressMiddleware``).
enum ClientAddress {
    @TaskLocal static var current: String = "unknown"
}

/// Sets ``ClientAddress/current`` to the connection's IP address (without port).
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = IngestRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let address = context.remoteAddress?.ipAddress ?? "unknown"
        return try await ClientAddress.$current.withValue(address) { try await next(request, context) }
    }
}
