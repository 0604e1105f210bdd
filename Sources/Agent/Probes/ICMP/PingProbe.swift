#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import SystemSupport

/// Echo identifiers handed out to ping probes of this process, so two targets
/// (and two agents on one host) never claim each other's replies.
private let nextIdentifier = Atomic<UInt16>(UInt16.random(in: 0...UInt16.max))

/// One ping target: sends N ICMP echo requests per round, spaced by an
/// interval, and matches the replies by identifier, sequence number and source
/// address, so replies meant for other processes are ignored.
///
/// IPv4 uses ICMP (RFC 792), IPv6 ICMPv6 (RFC 4443). A raw socket is used when
/// the process has `CAP_NET_RAW` (root), a datagram "ping socket" otherwise;
/// when neither may be opened the round reports ``PingResult/Outcome/permission``
/// with a message saying how to fix it, never the target as down. Round trips
/// are timed on `CLOCK_MONOTONIC`, refined by the kernel's arrival time stamp
/// (`SO_TIMESTAMPNS`, as iputils `ping`) when it agrees with the monotonic
/// measure, so the probe thread's own wake-up delay is not counted.
///
/// A probe keeps its socket between rounds. It is not thread-safe: one thread
/// runs it (the scheduler gives each target its own).
///
/// ```swift
/// let probe = PingProbe(target: "10.0.0.1", options: PingOptions(count: 5))
/// let result = probe.run()   // blocks about (count - 1) × interval + up to timeout
/// ```
public final class PingProbe {
    /// The target as given: a host name or a numeric IPv4/IPv6 address.
    public let target: String
    /// Count, spacing and timeout.
    public let options: PingOptions
    private let identifier: UInt16
    private var nextSequence: UInt16 = 0
    private var socket: ICMPSocket?

    /// Creates a probe; nothing is opened until the first round.
    public init(target: String, options: PingOptions = PingOptions()) {
        self.target = target
        self.options = options
        self.identifier = nextIdentifier.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// Runs one round and returns what it measured. Blocks the calling thread.
    public func run() -> PingResult { run(stop: nil) }

    /// One round; returns early (with what it has) when `stop` fires.
    func run(stop: ProbeStopSignal?) -> PingResult {
        guard let address = ICMPAddress.resolve(target) else {
            return PingResult(target: target, outcome: .noSuchHost, message: "ping \(target): no such host")
        }
        let sock: ICMPSocket
        if let s = socket, s.isIPv6 == address.isIPv6 {
            sock = s
        } else {
            socket = nil
            do {
                sock = try ICMPSocket.open(ipv6: address.isIPv6)
                Self.installReplyFilter(sock)
                sock.enableReceiveTimestamps()
                socket = sock
            } catch {
                switch error {
                case .permission(let e):
                    return PingResult(target: target, address: address.text, outcome: .permission,
                                      message: Self.permissionMessage(target: target, errno: e))
                case .other(let e):
                    return PingResult(target: target, address: address.text, outcome: .pingError,
                                      message: "ping \(target): cannot open an ICMP socket: \(Errno.text(e))")
                }
            }
        }
        return echoRound(sock, address: address, stop: stop)
    }

    private func echoRound(_ sock: ICMPSocket, address: ICMPAddress, stop: ProbeStopSignal?) -> PingResult {
        let count = max(1, options.count)
        let intervalNs = ProbeClock.nanoseconds(max(0, options.interval))
        let timeoutNs = ProbeClock.nanoseconds(max(0.001, options.timeout))
        let base = nextSequence
        nextSequence = nextSequence &+ UInt16(truncatingIfNeeded: count)

        var sentAt = [Int64](repeating: -1, count: count)
        var sentAtWall = [Int64](repeating: 0, count: count)
        var rtt = [Double?](repeating: nil, count: count)
        var received = 0
        var sent = 0
        var lastError: Int32?
        let start = ProbeClock.monotonicNanoseconds()
        let end = start + Int64(count - 1) * intervalNs + timeoutNs
        var buffer = [UInt8](repeating: 0, count: 1500)
        var next = 0

        roundLoop: while true {
            var now = ProbeClock.monotonicNanoseconds()
            while next < count && now >= start + Int64(next) * intervalNs {
                let seq = base &+ UInt16(truncatingIfNeeded: next)
                sentAtWall[next] = ProbeClock.wallNanoseconds()
                sentAt[next] = ProbeClock.monotonicNanoseconds()
                if let e = sock.send(ICMPEcho.request(v6: address.isIPv6, id: identifier, seq: seq), to: address) {
                    lastError = e
                    sentAt[next] = -1
                } else {
                    sent += 1
                }
                next += 1
                now = ProbeClock.monotonicNanoseconds()
            }
            if next == count && (received == sent || now >= end) { break }
            let wake = next < count ? start + Int64(next) * intervalNs : end
            let waitMs = Int32(max(0, min((wake - now + 999_999) / 1_000_000, 60_000)))
            var fds = [pollfd(fd: sock.fd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stop?.fd ?? -1, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, stop == nil ? 1 : 2, waitMs)
            if stop?.isStopped == true { break roundLoop }
            guard fds[0].revents & Int16(POLLIN) != 0 else { continue }
            // Drain every waiting datagram.
            while true {
                let got = buffer.withUnsafeMutableBytes { sock.receive(into: $0) }
                guard let (n, from, kernelTime) = got else { break }
                let arrived = ProbeClock.monotonicNanoseconds()
                let reply = buffer.withUnsafeBytes {
                    ICMPEcho.parseReply(UnsafeRawBufferPointer(rebasing: $0[0..<n]), v6: address.isIPv6,
                                        hasIPHeader: sock.isRaw && !address.isIPv6)
                }
                guard let reply else { continue }
                // A datagram socket's identifier is chosen by the kernel, which
                // already delivers only this socket's replies.
                if sock.isRaw && (reply.id != identifier || !address.sameHost(from)) { continue }
                let index = Int(reply.seq &- base)
                guard index < count, sentAt[index] >= 0, rtt[index] == nil else { continue }
                // Prefer the kernel's arrival stamp (wall clock) over our wake-up
                // time (monotonic); use it only when consistent with the latter, so a
                // wall-clock step during the round cannot distort the result.
                let monotonic = arrived - sentAt[index]
                var elapsed = monotonic
                if let k = kernelTime {
                    let stamped = k - sentAtWall[index]
                    if stamped > 0 && stamped <= monotonic + 1_000_000 { elapsed = stamped }
                }
                rtt[index] = Double(elapsed) / 1e9
                received += 1
            }
        }
        if sent == 0, let e = lastError {
            return PingResult(target: target, address: address.text, outcome: .pingError,
                              socketKind: sock.isRaw ? "raw" : "datagram",
                              message: "ping \(target): send failed: \(Errno.text(e))")
        }
        return PingResult(target: target, address: address.text, outcome: .success,
                          socketKind: sock.isRaw ? "raw" : "datagram",
                          transmitted: sent, roundTripTimes: rtt.compactMap { $0 })
    }

    /// On raw sockets, asks the kernel to pass echo replies only (Linux
    /// `ICMP_FILTER`, raw(7); `ICMP6_FILTER`, RFC 3542 section 3.2), so other ICMP
    /// traffic on a busy host does not wake the probe. Best effort.
    private static func installReplyFilter(_ sock: ICMPSocket) {
        guard sock.isRaw else { return }
        if sock.isIPv6 {
            // struct icmp6_filter: 256 bits, a set bit blocks that type.
            var filter = [UInt32](repeating: 0xffff_ffff, count: 8)
            filter[129 >> 5] &= ~(UInt32(1) << (129 & 31))
            _ = setsockopt(sock.fd, Int32(IPPROTO_ICMPV6), 1 /* ICMP6_FILTER */, &filter, socklen_t(32))
        } else {
            // struct icmp_filter { __u32 data; }: a set bit blocks that type; 0 = echo reply.
            var mask: UInt32 = ~UInt32(1 << 0)
            _ = setsockopt(sock.fd, 255 /* SOL_RAW */, 1 /* ICMP_FILTER */, &mask, socklen_t(4))
        }
    }

    /// The one log line for a permission failure: what failed and how to fix it.
    static func permissionMessage(target: String, errno e: Int32) -> String {
        "ping \(target): permission denied opening an ICMP socket (\(Errno.text(e))): "
            + "this is not the target being down. Fix: give the agent CAP_NET_RAW "
            + "(setcap cap_net_raw+ep clowder-agent, or AmbientCapabilities=CAP_NET_RAW in its systemd unit), "
            + "or allow its group unprivileged ICMP with sysctl -w net.ipv4.ping_group_range=\"0 2147483647\""
    }
}

/// How a ping round runs. Defaults follow Telegraf's `inputs.ping` (`ping_interval`
/// 1 s, `timeout` per reply) except `count`, 5 per round as DESIGN.md asks.
public struct PingOptions: Sendable, Hashable {
    /// Echo requests per round. Default 5.
    public var count: Int
    /// Seconds between two echo requests of a round. Default 1.0.
    public var interval: Double
    /// Seconds to wait for replies after the last request was sent. Default 2.0.
    public var timeout: Double

    /// - Parameters: see the properties.
    public init(count: Int = 5, interval: Double = 1.0, timeout: Double = 2.0) {
        self.count = count
        self.interval = interval
        self.timeout = timeout
    }
}
