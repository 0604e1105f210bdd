import Broker
import Logging

extension IngestServer {
    /// The status store and its feed, when the page is enabled and a broker is configured.
    /// - Throws: ``IngestError`` `storage` when the status file cannot be opened.
    static func statusPage(_ c: IngestConfiguration, logger: Logger) throws -> (store: StatusStore?, feed: StatusFeed?) {
        guard c.status.enabled, !c.brokerURLs.isEmpty else { return (nil, nil) }
        let store: StatusStore
        do { store = try StatusStore(path: c.status.path) } catch {
            throw IngestError(.storage, "cannot open the status file \(c.status.path) (CLOWDER_INGEST_STATUS_PATH): \(error)")
        }
        let feed = StatusFeed(store: store, urls: c.brokerURLs, exchange: c.exchange, queue: c.status.queueName(exchange: c.exchange), logger: logger)
        return (store, feed)
    }
}
