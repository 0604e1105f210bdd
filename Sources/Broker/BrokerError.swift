/// The one error type of `Broker`: a code and the context a person needs
/// (the broker address, the exchange or queue, librabbitmq's or the broker's
/// own words).
///
/// Server-side failures carry the AMQP 0-9-1 reply code (e.g. 404 `NOT_FOUND`,
/// 406 `PRECONDITION_FAILED`, 320 `CONNECTION_FORCED`; AMQP 0-9-1 spec §1.9).
public struct BrokerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure.
    public enum Code: String, Sendable {
        /// The broker URL is not `amqp://user:password@host:port/vhost`.
        case invalidURL
        /// TCP connect, AMQP handshake or login failed.
        case connect
        /// An AMQP method (declare, bind, qos, consume, confirm.select) was refused or failed.
        case protocolError
        /// The broker answered `basic.nack` for a published message: it was not stored.
        case nack
        /// The connection was lost (socket error, `connection.close`, `channel.close`).
        case connectionLost
        /// No connection is up right now (connecting, backing off); retry later.
        case unavailable
        /// Publisher confirms did not arrive in time.
        case timeout
        /// The publisher or consumer was shut down.
        case closed
    }

    /// What kind of failure.
    public var code: Code
    /// Human-readable detail.
    public var message: String
    /// The AMQP reply code when the broker closed the channel or connection, else nil.
    public var replyCode: UInt16?

    public init(_ code: Code, _ message: String, replyCode: UInt16? = nil) {
        self.code = code
        self.message = message
        self.replyCode = replyCode
    }

    public var description: String {
        var s = "broker \(code.rawValue): \(message)"
        if let replyCode { s += " (AMQP reply code \(replyCode))" }
        return s
    }
}
