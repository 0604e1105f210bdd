import NIOCore
import NIOHTTPTypes
import Synchronization

/// Connection-level limits, enforced on the event loop before any request
/// reaches a handler (so before authentication):
///
/// - at most `maxConnections` open connections: one more is closed as soon as it is accepted;
/// - the header section of a request must be complete within `headerTimeout`
///   seconds of the connection opening (or of the previous response ending);
/// - its body within `bodyTimeout` seconds of the header section (a slow
///   sender that trickles one byte at a time is cut off; a silent one is
///   closed sooner by the idle timeout).
///
/// Header size limits are the HTTP decoder's (`NIOHTTPDecoderLimitConfiguration`,
/// checked while llhttp parses, before the request exists).
public final class ConnectionLimits: Sendable {
    /// Most open connections.
    public let maxConnections: Int
    /// Seconds.
    public let headerTimeout: Double
    /// Seconds.
    public let bodyTimeout: Double
    let open = Atomic<Int>(0)
    let refused = Atomic<Int>(0)
    let timedOut = Atomic<Int>(0)

    public init(maxConnections: Int, headerTimeout: Double, bodyTimeout: Double) {
        self.maxConnections = maxConnections
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
    }

    /// Connections open now.
    package var openConnections: Int { open.load(ordering: .relaxed) }
    /// Connections closed because `maxConnections` were open.
    package var refusedConnections: Int { refused.load(ordering: .relaxed) }
    /// Connections closed by the header or body deadline.
    package var timedOutConnections: Int { timedOut.load(ordering: .relaxed) }
}

/// The channel handler applying ``ConnectionLimits`` to one connection
/// (added through Hummingbird's `additionalChannelHandlers`).
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let limits: ConnectionLimits
    var counted = false
    var deadline: Scheduled<Void>?

    init(limits: ConnectionLimits) { self.limits = limits }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if !counted { admit(context) }
        context.fireChannelActive()
    }

    func admit(_ context: ChannelHandlerContext) {
        counted = true
        let n = limits.open.wrappingAdd(1, ordering: .relaxed).newValue
        if n > limits.maxConnections {
            limits.refused.wrappingAdd(1, ordering: .relaxed)
            context.close(promise: nil)
            return
        }
        arm(context, limits.headerTimeout)
    }

    func release() {
        deadline?.cancel()
        deadline = nil
        if counted {
            counted = false
            limits.open.wrappingSubtract(1, ordering: .relaxed)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { release() }

    func arm(_ context: ChannelHandlerContext, _ seconds: Double) {
        deadline?.cancel()
        let channel = context.channel
        let limits = self.limits
        deadline = context.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
            limits.timedOut.wrappingAdd(1, ordering: .relaxed)
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: arm(context, limits.bodyTimeout)
        case .body: break
        case .end:
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(context, limits.headerTimeout) }
        context.write(data, promise: promise)
    }
}
