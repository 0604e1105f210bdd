import Broker
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import OpenAPIHummingbird
package import OpenAPIRuntime
import ServiceLifecycle
import UnixSignals

/// The assembled ingest: keys, de-duplication, destination (RabbitMQ when a
/// broker URL is configured, else the local journal), the generated OpenAPI
/// server on Hummingbird 2, `/docs` and `/openapi.yaml`.
///
/// ```swift
/// let config = try await IngestConfiguration.load(environmentFile: "ingest.env")
/// let server = try IngestServer(configuration: config)
/// try await server.run()   // until SIGTERM/SIGINT; SIGHUP re-reads the keys file
/// ```
public final class IngestServer: Sendable {
    /// The request handling core.
    public let service: IngestService
    /// The RabbitMQ publisher, when a broker URL is configured.
    public let publisher: BrokerPublisher?
    /// Open-connection count and deadlines (``ConnectionLimits``).
    public let connections: ConnectionLimits
    /// The status page's store, when the page is served (a broker is configured and the page enabled).
    public let status: StatusStore?
    let statusFeed: StatusFeed?
    let logger: Logger

    /// Opens the keys file, the de-duplication database and the destination.
    /// - Throws: ``IngestError`` (`keysFile`, `storage`).
    public init(configuration c: IngestConfiguration, logger: Logger = Logger(label: "clowder.ingest")) throws {
        self.logger = logger
        let keys = try KeyStore(path: c.keysFile)
        let dedupe = try DedupeStore(path: c.dedupePath, ttl: c.dedupeTTL, maxEntries: c.dedupeMaxEntries)
        let destination: any MessageDestination
        if !c.brokerURLs.isEmpty {
            let p = BrokerPublisher(
                urls: c.brokerURLs, exchange: ExchangeDeclaration(name: c.exchange), confirmTimeout: c.confirmTimeout, logger: logger)
            publisher = p
            destination = BrokerDestination(publisher: p)
        } else {
            publisher = nil
            destination = try JournalDestination(path: c.journalPath)
        }
        service = IngestService(configuration: c, keys: keys, dedupe: dedupe, destination: destination, logger: logger)
        connections = ConnectionLimits(maxConnections: c.maxConnections, headerTimeout: c.headerTimeout, bodyTimeout: c.bodyTimeout)
        let page = try Self.statusPage(c, logger: logger)
        status = page.store
        statusFeed = page.feed
    }

    /// The Hummingbird router with the generated handlers, the body middleware and the docs routes.
    /// - Throws: what handler registration throws.
    public func router() throws -> Router<IngestRequestContext> {
        let router = Router(context: IngestRequestContext.self)
        router.add(middleware: ClientAddressMiddleware())
        router.add(middleware: MethodNotAllowedMiddleware())
        try IngestAPI(service: service).registerHandlers(on: router, middlewares: [IngestMiddleware(service: service)])
        DocsRoutes.add(to: router, swaggerUI: service.configuration.swaggerUIDirectory)
        if let status { StatusRoutes.add(to: router, store: status) }
        return router
    }

    /// The Hummingbird application (a `Service`), plus the publisher and SIGHUP services.
    /// - Parameter onListening: called with the bound port once the server listens.
    /// - Throws: what ``router()`` throws.
    public func application(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        let c = service.configuration
        var services: [any Service] = [KeysReloadService(keys: service.keys, logger: logger)]
        if let publisher { services.insert(PublisherService(publisher: publisher), at: 0) }
        let limits = connections
        // Header limits are the HTTP decoder's, checked while it parses (before a request exists).
        let decoder = HTTP1Channel.Configuration.DecoderConfiguration(
            maxHeaderFieldSize: c.maxHeaderBytes, maxHeaderListSize: c.maxHeaderBytes, maxHeaderFieldCount: 100)
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [ConnectionGuard(limits: limits)],
            idleTimeout: .milliseconds(Int64(c.idleTimeout * 1000)), httpDecoderConfiguration: decoder)
        if let statusFeed { services.append(statusFeed) }
        return Application(
            router: try router(),
            server: .http1(configuration: http1),
            configuration: .init(address: .hostname(c.host, port: c.port), serverName: "clowder-ingest"),
            services: services,
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? c.port) },
            logger: logger)
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully (server first, then the broker connection).
    /// - Throws: what the server throws.
    public func run() async throws {
        let app = try application { [logger] port in
            logger.info("clowder-ingest listening", metadata: ["port": "\(port)"])
        }
        try await app.runService()
    }
}

/// Starts the publisher's thread, and stops it after graceful shutdown.
struct PublisherService: Service {
    let publisher: BrokerPublisher

    func run() async throws {
        publisher.start()
        try? await gracefulShutdown()
        await publisher.shutdown()
    }
}

/// Re-reads the keys file on SIGHUP; a failed reload keeps the previous keys.
struct KeysReloadService: Service {
    let keys: KeyStore
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            do {
                let n = try keys.reload()
                logger.info("keys file reloaded", metadata: ["file": "\(keys.path)", "keys": "\(n)"])
            } catch {
                logger.error("keys file reload failed; keeping the previous keys", metadata: ["error": "\(error)"])
            }
        }
    }
}
