import CRabbitMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One blocking AMQP 0-9-1 connection with one channel (channel 1), over
/// librabbitmq (rabbitmq-c 0.11, `<amqp.h>`).
///
/// Every call blocks the calling thread on the socket. **Not thread-safe**:
/// use one connection from one thread at a time (``BrokerPublisher`` and
/// ``BrokerConsumer`` each run theirs on a dedicated thread, off Swift's
/// cooperative pool). Tests and benchmarks may use it directly.
///
/// ```swift
/// let c = try AMQPConnection(url: BrokerURL("amqp://guest:guest@127.0.0.1:5672"))
/// try c.declareExchange(.clowderMetrics)
/// try c.confirmSelect()
/// let tag = try c.publish(exchange: "clowder.metrics", message: OutgoingMessage(body: Array("{}".utf8)))
/// ```
///
/// Any error leaves the connection unusable unless documented otherwise: close it and open a new one.
public final class AMQPConnection: @unchecked Sendable {
    let state: amqp_connection_state_t
    /// The channel every method uses.
    public let channel: amqp_channel_t = 1
    /// The broker address (password redacted in `description`).
    public let url: BrokerURL
    /// Next publish sequence number once ``confirmSelect()`` was called (AMQP delivery tags start at 1).
    public private(set) var nextPublishSequence: UInt64 = 1
    private var closed = false

    /// Opens the TCP connection, logs in with SASL PLAIN and opens channel 1.
    /// - Parameters:
    ///   - heartbeat: heartbeat interval proposed to the broker, seconds (0 = none).
    ///     librabbitmq services heartbeats only inside its calls (publish, wait frame).
    ///   - connectTimeout: TCP connect timeout, seconds.
    ///   - frameMax: largest frame, bytes (131072 is RabbitMQ's default).
    /// - Throws: ``BrokerError`` with code `connect`.
    public init(url: BrokerURL, heartbeat: Int32 = 30, connectTimeout: Double = 5, frameMax: Int32 = 131_072) throws {
        self.url = url
        self.state = try Self.open(url: url, channel: 1, heartbeat: heartbeat, connectTimeout: connectTimeout, frameMax: frameMax)
    }

    /// TCP connect, login, channel open; frees everything on failure.
    private static func open(
        url: BrokerURL, channel: amqp_channel_t, heartbeat: Int32, connectTimeout: Double, frameMax: Int32
    ) throws -> amqp_connection_state_t {
        guard let state = amqp_new_connection() else { throw BrokerError(.connect, "amqp_new_connection failed") }
        guard let socket = amqp_tcp_socket_new(state) else {
            amqp_destroy_connection(state)
            throw BrokerError(.connect, "amqp_tcp_socket_new failed")
        }
        var tv = timeval(tv_sec: Int(connectTimeout), tv_usec: Int((connectTimeout - Double(Int(connectTimeout))) * 1e6))
        let rc = amqp_socket_open_noblock(socket, url.host, Int32(url.port), &tv)
        if rc != AMQP_STATUS_OK.rawValue {
            amqp_destroy_connection(state)
            throw BrokerError(.connect, "cannot connect to \(url.host):\(url.port): \(statusString(rc))")
        }
        // Bounded waits: a broker that accepts TCP while starting up must not hold the thread forever.
        var rpc = timeval(tv_sec: 10, tv_usec: 0)
        amqp_set_handshake_timeout(state, &rpc)
        amqp_set_rpc_timeout(state, &rpc)
        let login = crabbitmq_login_plain(state, url.virtualHost, 0, frameMax, heartbeat, url.user, url.password)
        if let e = replyError(login, state: state, what: "login to \(url) as \(url.user)", code: .connect) {
            amqp_destroy_connection(state)
            throw e
        }
        amqp_channel_open(state, channel)
        if let e = replyError(amqp_get_rpc_reply(state), state: state, what: "channel.open", code: .connect) {
            amqp_destroy_connection(state)
            throw e
        }
        return state
    }

    deinit { close() }

    /// Closes the channel and the connection politely when possible, then frees everything. Idempotent.
    public func close() {
        guard !closed else { return }
        closed = true
        // A short timeout so a dead peer does not hold us for long.
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        amqp_set_rpc_timeout(state, &tv)
        _ = amqp_connection_close(state, Int32(AMQP_REPLY_SUCCESS))
        amqp_destroy_connection(state)
    }

    /// The socket's file descriptor, to `poll(2)` on.
    public var socketDescriptor: Int32 { amqp_get_sockfd(state) }

    /// True when librabbitmq already holds decoded frames or undecoded bytes:
    /// read them before polling the socket.
    public var hasBufferedInput: Bool { amqp_frames_enqueued(state) != 0 || amqp_data_in_buffer(state) != 0 }

    // MARK: Declarations

    /// `exchange.declare`.
    /// - Throws: ``BrokerError`` (`protocolError`, e.g. 406 when it exists with other properties).
    public func declareExchange(_ e: ExchangeDeclaration) throws {
        let arena = ByteArena()
        defer { withExtendedLifetime(arena) {} }
        amqp_exchange_declare(
            state, channel, arena.bytes(e.name), arena.bytes(e.type), 0, e.durable ? 1 : 0, e.autoDelete ? 1 : 0, 0, amqp_empty_table)
        try check("exchange.declare \(e.name)")
    }

    /// `queue.declare` with the declaration's `x-…` arguments.
    /// - Returns: the queue name (generated by the broker when `q.name` is empty), its message and consumer counts.
    /// - Throws: ``BrokerError`` (`protocolError`).
    @discardableResult
    public func declareQueue(_ q: QueueDeclaration, passive: Bool = false) throws -> (name: String, messageCount: UInt32, consumerCount: UInt32) {
        let arena = ByteArena()
        defer { withExtendedLifetime(arena) {} }
        let args = q.arguments
        let entries = UnsafeMutablePointer<amqp_table_entry_t>.allocate(capacity: max(args.count, 1))
        defer { entries.deallocate() }
        for (i, (key, value)) in args.enumerated() {
            var fv = amqp_field_value_t()
            switch value {
            case .string(let s):
                fv.kind = UInt8(AMQP_FIELD_KIND_UTF8.rawValue)
                fv.value.bytes = arena.bytes(s)
            case .int(let v):
                fv.kind = UInt8(AMQP_FIELD_KIND_I64.rawValue)
                fv.value.i64 = v
            }
            entries[i] = amqp_table_entry_t(key: arena.bytes(key), value: fv)
        }
        let table = amqp_table_t(num_entries: Int32(args.count), entries: args.isEmpty ? nil : entries)
        let ok = amqp_queue_declare(
            state, channel, arena.bytes(q.name), passive ? 1 : 0, q.durable ? 1 : 0, q.exclusive ? 1 : 0, q.autoDelete ? 1 : 0, table)
        try check("queue.declare \(q.name)")
        guard let ok else { throw BrokerError(.protocolError, "queue.declare \(q.name): no declare-ok") }
        return (Self.string(ok.pointee.queue), ok.pointee.message_count, ok.pointee.consumer_count)
    }

    /// `queue.bind`.
    /// - Throws: ``BrokerError`` (`protocolError`, e.g. 404 when the exchange does not exist).
    public func bindQueue(_ queue: String, exchange: String, routingKey: String = "") throws {
        let arena = ByteArena()
        defer { withExtendedLifetime(arena) {} }
        amqp_queue_bind(state, channel, arena.bytes(queue), arena.bytes(exchange), arena.bytes(routingKey), amqp_empty_table)
        try check("queue.bind \(queue) to \(exchange)")
    }

    /// `queue.delete` (unconditional).
    /// - Throws: ``BrokerError``.
    public func deleteQueue(_ queue: String) throws {
        _ = withBytes(queue) { amqp_queue_delete(state, channel, $0, 0, 0) }
        try check("queue.delete \(queue)")
    }

    /// `exchange.delete` (unconditional).
    /// - Throws: ``BrokerError``.
    public func deleteExchange(_ exchange: String) throws {
        _ = withBytes(exchange) { amqp_exchange_delete(state, channel, $0, 0) }
        try check("exchange.delete \(exchange)")
    }

    /// `queue.purge`.
    /// - Returns: the number of messages removed.
    /// - Throws: ``BrokerError``.
    @discardableResult
    public func purgeQueue(_ queue: String) throws -> UInt32 {
        let ok = withBytes(queue) { amqp_queue_purge(state, channel, $0) }
        try check("queue.purge \(queue)")
        return ok?.pointee.message_count ?? 0
    }

    // MARK: Publishing

    /// `confirm.select`: from now on the broker answers every publish with
    /// `basic.ack` or `basic.nack` carrying its sequence number (RabbitMQ publisher confirms).
    /// - Throws: ``BrokerError``.
    public func confirmSelect() throws {
        amqp_confirm_select(state, channel)
        try check("confirm.select")
        nextPublishSequence = 1
    }

    /// `basic.publish` of one message.
    /// - Returns: its publish sequence number (the delivery tag its confirm will carry, after ``confirmSelect()``).
    /// - Throws: ``BrokerError`` with code `connectionLost` when the socket fails.
    @discardableResult
    public func publish(exchange: String, message m: OutgoingMessage) throws -> UInt64 {
        let arena = ByteArena()
        defer { withExtendedLifetime(arena) {} }
        var props = amqp_basic_properties_t()
        var flags: UInt32 = UInt32(AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG)
        props.content_type = arena.bytes(m.contentType)
        props.delivery_mode = m.persistent ? 2 : 1
        if let id = m.messageID {
            flags |= UInt32(AMQP_BASIC_MESSAGE_ID_FLAG)
            props.message_id = arena.bytes(id)
        }
        if let ts = m.timestamp {
            flags |= UInt32(AMQP_BASIC_TIMESTAMP_FLAG)
            props.timestamp = UInt64(max(0, ts))
        }
        if let type = m.type {
            flags |= UInt32(AMQP_BASIC_TYPE_FLAG)
            props.type = arena.bytes(type)
        }
        // Headers (additive, for dead letters' x-clowder-reason): a field table of long strings.
        let headerEntries = UnsafeMutablePointer<amqp_table_entry_t>.allocate(capacity: max(m.headers.count, 1))
        defer { headerEntries.deallocate() }
        if !m.headers.isEmpty {
            flags |= UInt32(AMQP_BASIC_HEADERS_FLAG)
            for (i, (key, value)) in m.headers.sorted(by: { $0.key < $1.key }).enumerated() {
                var fv = amqp_field_value_t()
                fv.kind = UInt8(AMQP_FIELD_KIND_UTF8.rawValue)
                fv.value.bytes = arena.bytes(value)
                headerEntries[i] = amqp_table_entry_t(key: arena.bytes(key), value: fv)
            }
            props.headers = amqp_table_t(num_entries: Int32(m.headers.count), entries: headerEntries)
        }
        props._flags = flags
        let rc = m.body.withUnsafeBytes { body in
            amqp_basic_publish(
                state, channel, arena.bytes(exchange), arena.bytes(m.routingKey), 0, 0, &props,
                amqp_bytes_t(len: body.count, bytes: UnsafeMutableRawPointer(mutating: body.baseAddress)))
        }
        if rc != AMQP_STATUS_OK.rawValue {
            throw BrokerError(.connectionLost, "basic.publish to \(exchange): \(Self.statusString(rc))")
        }
        defer { nextPublishSequence += 1 }
        return nextPublishSequence
    }

    /// A frame read by ``nextFrame(timeout:)``, decoded into what the publisher and consumer care about.
    public enum Frame: Sendable, Equatable {
        /// `basic.ack`: the message with this sequence number (and all before it when `multiple`) is stored.
        case ack(deliveryTag: UInt64, multiple: Bool)
        /// `basic.nack`: not stored.
        case nack(deliveryTag: UInt64, multiple: Bool)
        /// Anything else (heartbeat, `basic.return`, content frames, …).
        case other
    }

    /// Waits for one frame (AMQP `amqp_simple_wait_frame_noblock`).
    /// - Parameter timeout: seconds to wait; 0 returns at once when nothing is buffered or readable.
    /// - Returns: the frame, or nil on timeout.
    /// - Throws: ``BrokerError`` `connectionLost` on a socket error or when the broker closes the channel or connection.
    public func nextFrame(timeout: Double) throws -> Frame? {
        var frame = amqp_frame_t()
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        let rc = amqp_simple_wait_frame_noblock(state, &frame, &tv)
        if rc == AMQP_STATUS_TIMEOUT.rawValue { return nil }
        if rc != AMQP_STATUS_OK.rawValue {
            throw BrokerError(.connectionLost, "waiting for a frame from \(url.host):\(url.port): \(Self.statusString(rc))")
        }
        return try decode(frame)
    }

    func decode(_ frame: amqp_frame_t) throws -> Frame {
        guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { return .other }
        let method = frame.payload.method
        switch method.id {
        case AMQPMethod.basicAck:
            let a = method.decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            return .ack(deliveryTag: a.delivery_tag, multiple: a.multiple != 0)
        case AMQPMethod.basicNack:
            let n = method.decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            return .nack(deliveryTag: n.delivery_tag, multiple: n.multiple != 0)
        case AMQPMethod.channelClose:
            let c = method.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            throw BrokerError(.connectionLost, "broker closed the channel: \(Self.string(c.reply_text))", replyCode: c.reply_code)
        case AMQPMethod.connectionClose:
            let c = method.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            throw BrokerError(.connectionLost, "broker closed the connection: \(Self.string(c.reply_text))", replyCode: c.reply_code)
        default:
            return .other
        }
    }

    /// Releases the memory librabbitmq keeps for decoded frames when nothing refers to it.
    public func releaseBuffers() { amqp_maybe_release_buffers(state) }

    // MARK: Consuming

    /// `basic.qos`: at most `prefetchCount` unacknowledged deliveries on this channel.
    /// - Throws: ``BrokerError``.
    public func qos(prefetchCount: UInt16) throws {
        amqp_basic_qos(state, channel, 0, prefetchCount, 0)
        try check("basic.qos \(prefetchCount)")
    }

    /// `basic.consume` with manual acknowledgements.
    /// - Returns: the consumer tag.
    /// - Throws: ``BrokerError`` (`protocolError`, e.g. 404 when the queue does not exist).
    @discardableResult
    public func consume(queue: String, consumerTag: String = "") throws -> String {
        let arena = ByteArena()
        defer { withExtendedLifetime(arena) {} }
        let ok = amqp_basic_consume(state, channel, arena.bytes(queue), arena.bytes(consumerTag), 0, 0, 0, amqp_empty_table)
        try check("basic.consume \(queue)")
        return ok.map { Self.string($0.pointee.consumer_tag) } ?? consumerTag
    }

    /// Waits for the next `basic.deliver` (`amqp_consume_message`).
    /// - Parameter timeout: seconds; 0 returns at once when nothing is buffered or readable.
    /// - Returns: the delivery, or nil on timeout or when another frame (e.g. a heartbeat) was read instead.
    /// - Throws: ``BrokerError`` `connectionLost` on a socket error or when the broker closes the channel or connection
    ///   (e.g. the queue was deleted: 404, or the broker is stopping: 320).
    public func nextDelivery(timeout: Double, generation: UInt64 = 0) throws -> BrokerDelivery? {
        var envelope = amqp_envelope_t()
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        amqp_maybe_release_buffers(state)
        let reply = amqp_consume_message(state, &envelope, &tv, 0)
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            defer { amqp_destroy_envelope(&envelope) }
            return Self.delivery(
                properties: envelope.message.properties, body: envelope.message.body, exchange: envelope.exchange,
                routingKey: envelope.routing_key, redelivered: envelope.redelivered != 0, tag: envelope.delivery_tag,
                generation: generation)
        case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_TIMEOUT.rawValue:
            return nil
        case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_UNEXPECTED_STATE.rawValue:
            // A frame other than basic.deliver: read it (it may be a channel or connection close).
            var frame = amqp_frame_t()
            var zero = timeval(tv_sec: 0, tv_usec: 0)
            let rc = amqp_simple_wait_frame_noblock(state, &frame, &zero)
            if rc == AMQP_STATUS_TIMEOUT.rawValue { return nil }
            if rc != AMQP_STATUS_OK.rawValue {
                throw BrokerError(.connectionLost, "reading a frame from \(url.host):\(url.port): \(Self.statusString(rc))")
            }
            _ = try decode(frame)
            return nil
        default:
            throw Self.replyError(reply, state: state, what: "basic.consume", code: .connectionLost)
                ?? BrokerError(.connectionLost, "basic.consume: unknown reply")
        }
    }

    /// `basic.get`: takes one message from `queue` without a consumer.
    /// - Parameter autoAck: acknowledge at once (`no_ack`); otherwise call ``ack(deliveryTag:multiple:)``.
    /// - Returns: the message, or nil when the queue is empty.
    /// - Throws: ``BrokerError``.
    public func get(queue: String, autoAck: Bool = true) throws -> BrokerDelivery? {
        let reply = withBytes(queue) { amqp_basic_get(state, channel, $0, autoAck ? 1 : 0) }
        if let e = Self.replyError(reply, state: state, what: "basic.get \(queue)", code: .protocolError) { throw e }
        guard reply.reply.id == AMQPMethod.basicGetOk else { return nil }  // basic.get-empty
        let ok = reply.reply.decoded.assumingMemoryBound(to: amqp_basic_get_ok_t.self).pointee
        let exchange = Self.string(ok.exchange), routingKey = Self.string(ok.routing_key)
        var message = amqp_message_t()
        let read = amqp_read_message(state, channel, &message, 0)
        if let e = Self.replyError(read, state: state, what: "reading message from \(queue)", code: .connectionLost) { throw e }
        defer { amqp_destroy_message(&message) }
        return Self.delivery(
            properties: message.properties, body: message.body, exchange: amqp_bytes_t(), routingKey: amqp_bytes_t(),
            redelivered: ok.redelivered != 0, tag: ok.delivery_tag, generation: 0
        ).with { $0.exchange = exchange; $0.routingKey = routingKey }
    }

    /// `basic.ack`.
    /// - Throws: ``BrokerError`` `connectionLost`.
    public func ack(deliveryTag: UInt64, multiple: Bool = false) throws {
        let rc = amqp_basic_ack(state, channel, deliveryTag, multiple ? 1 : 0)
        if rc != AMQP_STATUS_OK.rawValue { throw BrokerError(.connectionLost, "basic.ack: \(Self.statusString(rc))") }
    }

    /// `basic.nack`: with `requeue` false the message goes to the queue's dead-letter exchange, if any.
    /// - Throws: ``BrokerError`` `connectionLost`.
    public func nack(deliveryTag: UInt64, multiple: Bool = false, requeue: Bool) throws {
        let rc = amqp_basic_nack(state, channel, deliveryTag, multiple ? 1 : 0, requeue ? 1 : 0)
        if rc != AMQP_STATUS_OK.rawValue { throw BrokerError(.connectionLost, "basic.nack: \(Self.statusString(rc))") }
    }

    /// `basic.reject`: with `requeue` false the message goes to the queue's dead-letter exchange, if any.
    /// - Throws: ``BrokerError`` `connectionLost`.
    public func reject(deliveryTag: UInt64, requeue: Bool) throws {
        let rc = amqp_basic_reject(state, channel, deliveryTag, requeue ? 1 : 0)
        if rc != AMQP_STATUS_OK.rawValue { throw BrokerError(.connectionLost, "basic.reject: \(Self.statusString(rc))") }
    }

    // MARK: Helpers

    private func check(_ what: String) throws {
        if let e = Self.replyError(amqp_get_rpc_reply(state), state: state, what: what, code: .protocolError) { throw e }
    }

    private func withBytes<R>(_ s: String, _ body: (amqp_bytes_t) throws -> R) rethrows -> R {
        var s = s
        return try s.withUTF8 { u in
            try body(amqp_bytes_t(len: u.count, bytes: UnsafeMutableRawPointer(mutating: u.baseAddress)))
        }
    }

    static func string(_ b: amqp_bytes_t) -> String {
        guard b.len > 0, let p = b.bytes else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: b.len), as: UTF8.self)
    }

    static func statusString(_ rc: Int32) -> String { String(cString: amqp_error_string2(rc)) }

    static func delivery(
        properties p: amqp_basic_properties_t, body: amqp_bytes_t, exchange: amqp_bytes_t, routingKey: amqp_bytes_t,
        redelivered: Bool, tag: UInt64, generation: UInt64
    ) -> BrokerDelivery {
        let flags = p._flags
        func has(_ f: Int32) -> Bool { flags & UInt32(f) != 0 }
        let bytes: [UInt8] = body.len > 0 && body.bytes != nil ? Array(UnsafeRawBufferPointer(start: body.bytes, count: body.len)) : []
        var headers: [String: String] = [:]
        if has(AMQP_BASIC_HEADERS_FLAG), let entries = p.headers.entries {
            for i in 0..<Int(p.headers.num_entries) {
                let e = entries[i]
                let v = e.value
                switch Int(v.kind) {
                case Int(AMQP_FIELD_KIND_UTF8.rawValue), Int(AMQP_FIELD_KIND_BYTES.rawValue): headers[string(e.key)] = string(v.value.bytes)
                case Int(AMQP_FIELD_KIND_I64.rawValue): headers[string(e.key)] = String(v.value.i64)
                case Int(AMQP_FIELD_KIND_I32.rawValue): headers[string(e.key)] = String(v.value.i32)
                case Int(AMQP_FIELD_KIND_BOOLEAN.rawValue): headers[string(e.key)] = v.value.boolean != 0 ? "true" : "false"
                default: continue
                }
            }
        }
        return BrokerDelivery(
            body: bytes,
            messageID: has(AMQP_BASIC_MESSAGE_ID_FLAG) ? string(p.message_id) : nil,
            contentType: has(AMQP_BASIC_CONTENT_TYPE_FLAG) ? string(p.content_type) : nil,
            timestamp: has(AMQP_BASIC_TIMESTAMP_FLAG) ? Int64(p.timestamp) : nil,
            deliveryMode: has(AMQP_BASIC_DELIVERY_MODE_FLAG) ? p.delivery_mode : 0,
            type: has(AMQP_BASIC_TYPE_FLAG) ? string(p.type) : nil,
            exchange: string(exchange), routingKey: string(routingKey), redelivered: redelivered,
            deliveryTag: tag, connectionGeneration: generation
        ).with { $0.headers = headers }
    }

    /// The one funnel from `amqp_rpc_reply_t` to ``BrokerError``; nil when the reply is normal.
    static func replyError(_ r: amqp_rpc_reply_t, state: amqp_connection_state_t, what: String, code: BrokerError.Code) -> BrokerError? {
        switch r.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return nil
        case AMQP_RESPONSE_NONE:
            return BrokerError(.connectionLost, "\(what): missing RPC reply")
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            let lost = r.library_error == AMQP_STATUS_SOCKET_ERROR.rawValue || r.library_error == AMQP_STATUS_CONNECTION_CLOSED.rawValue
                || r.library_error == AMQP_STATUS_SOCKET_CLOSED.rawValue || r.library_error == AMQP_STATUS_HEARTBEAT_TIMEOUT.rawValue
            return BrokerError(lost && code != .connect ? .connectionLost : code, "\(what): \(statusString(r.library_error))")
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            switch r.reply.id {
            case AMQPMethod.connectionClose:
                let c = r.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
                return BrokerError(code, "\(what): broker closed the connection: \(string(c.reply_text))", replyCode: c.reply_code)
            case AMQPMethod.channelClose:
                let c = r.reply.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
                return BrokerError(code, "\(what): broker closed the channel: \(string(c.reply_text))", replyCode: c.reply_code)
            default:
                return BrokerError(code, "\(what): unexpected server method \(r.reply.id)")
            }
        default:
            return BrokerError(code, "\(what): unknown reply type")
        }
    }
}

/// AMQP 0-9-1 method ids (class id << 16 | method id, spec §1.4); librabbitmq's
/// `AMQP_*_METHOD` macros are casts Swift cannot import.
enum AMQPMethod {
    static let connectionClose: amqp_method_number_t = 0x000A_0032  // 10, 50
    static let channelClose: amqp_method_number_t = 0x0014_0028  // 20, 40
    static let basicGetOk: amqp_method_number_t = 0x003C_0047  // 60, 71
    static let basicAck: amqp_method_number_t = 0x003C_0050  // 60, 80
    static let basicNack: amqp_method_number_t = 0x003C_0078  // 60, 120
}

/// Owns C copies of strings for the duration of one librabbitmq call.
final class ByteArena {
    private var pointers: [UnsafeMutableRawPointer] = []

    func bytes(_ s: String) -> amqp_bytes_t {
        let u = Array(s.utf8)
        guard !u.isEmpty else { return amqp_bytes_t(len: 0, bytes: nil) }
        let p = UnsafeMutableRawPointer.allocate(byteCount: u.count, alignment: 1)
        u.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: u.count) }
        pointers.append(p)
        return amqp_bytes_t(len: u.count, bytes: p)
    }

    deinit { for p in pointers { p.deallocate() } }
}

extension BrokerDelivery {
    func with(_ change: (inout BrokerDelivery) -> Void) -> BrokerDelivery {
        var d = self
        change(&d)
        return d
    }
}
