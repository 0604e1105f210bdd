import Broker
import Logging
import MetricsModel
import ServiceLifecycle
import Sinks

/// Feeds the ``StatusStore`` from the exchange the ingest publishes to, through
/// the replica's **own** durable queue (`CLOWDER_INGEST_STATUS_QUEUE`, default
/// `<exchange>.status.<host name>`).
///
/// Why this keeps replicas stateless enough: a replica's status file is a
/// cache of the stream, never a source of truth. Every replica consumes the
/// whole stream (own queue: all replicas' publications, not only its own), so
/// any replica behind the load balancer shows the same page once it has been
/// running for a period; losing the file loses at most the bars' history from
/// before the replica's queue existed, never data elsewhere. Two replicas must
/// not share a queue (they would split the stream).
///
/// Each message is acknowledged after it is written to the file; one that is
/// not a round or a verdict is acknowledged and ignored, and so is a verdict
/// carrying `key_id` (published through an ingest key, not by `clowder-sink verdicts`).
struct StatusFeed: Service {
    let store: StatusStore
    let consumer: BrokerConsumer
    let logger: Logger

    init(store: StatusStore, urls: [BrokerURL], exchange: String, queue: String, logger: Logger) {
        self.store = store
        // Bounded: a replica gone for good leaves a queue of at most 100 000 messages, none older than a day.
        consumer = BrokerConsumer(
            urls: urls, exchange: ExchangeDeclaration(name: exchange),
            queue: QueueDeclaration(name: queue, durable: true, messageTTLMilliseconds: 86_400_000, maxLength: 100_000),
            prefetch: 200, logger: logger)
        self.logger = logger
    }

    func run() async throws {
        consumer.start()
        let pump = Task {
            var sincePrune = 0
            for await d in consumer.deliveries {
                let items: [MetricsMessage.Item]
                do { items = try MetricsMessage.decodeAll(d.body, messageID: d.messageID) } catch {
                    logger.debug("status feed: not a JSON message, ignored", metadata: ["error": "\(error)"])
                    consumer.ack(d)
                    continue
                }
                // A verdict comes from `clowder-sink verdicts`, which publishes without `key_id`; one that
                // carries the ingest's stamp came from a client (the ingest refuses the measurement, an older
                // replica may not have) and is never shown. Read only for a verdict: every other message of the
                // stream is parsed once, by `decodeAll`.
                func throughIngestKey() -> Bool { (try? JSONValue(parsing: d.body))?["key_id"] != nil }
                // Rounds are events (one per message); verdicts are points, alone or several to a message.
                for case .success(let decoded) in items.map(\.decoded) {
                    do {
                        switch decoded {
                        case .event(let e):
                            if var round = RegionRound(event: e) {
                                // Stamped ahead of this clock: counts as made now, so that the next real round of
                                // its region replaces it (the store keeps the newest; a round forged an hour ahead
                                // would otherwise hide the region's real rounds for that hour).
                                round.createdMilliseconds = min(round.createdMilliseconds, StatusRoutes.wallMilliseconds())
                                try store.record(round)
                            }
                        case .point(let p):
                            if p.measurement == "service_verdict", throughIngestKey() {
                                logger.warning("status feed: a service_verdict published through an ingest key, ignored")
                                break
                            }
                            if try store.record(verdict: p) {
                                sincePrune += 1
                                if sincePrune >= 1000 {
                                    sincePrune = 0
                                    try store.prune(nowMilliseconds: p.timeNanoseconds / 1_000_000)
                                }
                            }
                        }
                    } catch {
                        logger.warning(
                            "status feed: cannot write the status file; this message is not shown",
                            metadata: ["error": "\(error)", "file": "\(store.path)"])
                    }
                }
                consumer.ack(d)
            }
        }
        try? await gracefulShutdown()
        await consumer.shutdown()
        await pump.value
    }
}
