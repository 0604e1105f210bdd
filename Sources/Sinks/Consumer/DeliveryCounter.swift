import Broker

/// How many times each message has been delivered to this sink, so that a
/// message that keeps coming back (the sink stopped, crashed or lost its
/// connection while holding it) is dead-lettered after
/// ``SinkSettings/maxDeliveries`` deliveries instead of looping for ever.
///
/// Two sources, the larger wins:
/// - quorum queues: the broker's own `x-delivery-count` header, the number of
///   earlier deliveries that were returned to the queue
///   (https://www.rabbitmq.com/docs/quorum-queues#poison-message-handling);
///   it survives a crash of the sink;
/// - classic queues (no such header): a counter kept here, per message id,
///   of deliveries flagged `redelivered` (AMQP 0-9-1 `basic.deliver`). It
///   lives as long as the process: it catches messages returned by lost
///   connections and by shutdowns of competing consumers, not a crash loop
///   of this process — use quorum queues (`CLOWDER_SINK_QUEUE_TYPE=quorum`)
///   for that.
///
/// The table holds at most ``capacity`` ids (the oldest half is forgotten when
/// full), so a flood of redeliveries cannot grow memory without bound.
struct DeliveryCounter {
    /// Most ids remembered.
    let capacity: Int
    private var counts: [String: Int] = [:]
    private var order: [String] = []

    init(capacity: Int = 100_000) { self.capacity = max(2, capacity) }

    /// The delivery number of `d` (1 for a first delivery), counting this one.
    mutating func record(_ d: BrokerDelivery, id: String) -> Int {
        var n = 1
        if let header = d.headers["x-delivery-count"], let earlier = Int(header), earlier >= 0 {
            n = earlier < Int.max ? earlier + 1 : earlier
        }
        guard d.redelivered else { return n }
        let mine: Int
        if let c = counts[id] {
            mine = c < Int.max ? c + 1 : c
        } else {
            mine = 2  // flagged redelivered: delivered at least once before
            if order.count >= capacity {
                for old in order.prefix(capacity / 2) { counts[old] = nil }
                order.removeFirst(capacity / 2)
            }
            order.append(id)
        }
        counts[id] = mine
        return max(n, mine)
    }

    /// Forgets an acknowledged message.
    mutating func forget(_ id: String) {
        if counts.removeValue(forKey: id) != nil, let i = order.firstIndex(of: id) { order.remove(at: i) }
    }

    /// Ids remembered.
    var count: Int { counts.count }
}
