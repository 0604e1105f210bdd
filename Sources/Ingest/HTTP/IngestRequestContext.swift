import HTTPTypes
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

/// Sets ``ClientAddress/current`` to the connection's IP address (without port), or, when the peer is one of
/// ``IngestConfiguration/trustedProxies``, to the rightmost `X-Forwarded-For` entry that is not a trusted proxy
/// (each proxy appends the address it received from; entries to the left of it are the client's to choose).
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = IngestRequestContext
    let trustedProxies: Set<String>

    init(trustedProxies: Set<String> = []) { self.trustedProxies = trustedProxies }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var address = context.remoteAddress?.ipAddress ?? "unknown"
        if trustedProxies.contains(address), let name = HTTPField.Name("X-Forwarded-For") {
            let hops = request.headers[values: name].flatMap { $0.split(separator: ",") }.map { String($0).trimmingSpaces }
            if let client = hops.last(where: { !$0.isEmpty && !trustedProxies.contains($0) }) {
                address = String(client.prefix(64))
            }
        }
        return try await ClientAddress.$current.withValue(address) { try await next(request, context) }
    }
}
