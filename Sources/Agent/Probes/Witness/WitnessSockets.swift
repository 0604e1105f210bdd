#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

/// The TCP and DNS witness checks: one socket each, non-blocking, bounded by a
/// timeout with `poll(2)`. Our own code rather than libcurl because libcurl has
/// no "did the host answer at all" outcome for a refused connection (both
/// refused and unreachable are `CURLE_COULDNT_CONNECT`) and no DNS-over-UDP
/// query to a given server.
enum WitnessSockets {
    /// Whether `host:port` answers a TCP connect (accepted, or refused with a
    /// reset) within `timeout` seconds.
    /// - Returns: `(true, "accepted" | "refused")`, or `(false, why)`.
    static func tcp(host: String, port: UInt16, timeout: Double) -> (Bool, String) {
        guard var address = ICMPAddress.resolve(host) else { return (false, "\(host) does not resolve") }
        setPort(&address, port)
        let fd = socket(Int32(address.storage.ss_family), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return (false, "socket: \(Errno.text(errno))") }
        defer { close(fd) }
        let length = address.length
        let rc = withUnsafePointer(to: &address.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) }
        }
        if rc == 0 { return (true, "accepted") }
        if errno == ECONNREFUSED { return (true, "refused") }
        guard errno == EINPROGRESS else { return (false, "connect: \(Errno.text(errno))") }
        guard wait(fd, events: Int16(POLLOUT), timeout: timeout) else { return (false, "no answer within \(timeout) s") }
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
        if err == 0 { return (true, "accepted") }
        if err == ECONNREFUSED { return (true, "refused") }
        return (false, "connect: \(Errno.text(err))")
    }

    /// Whether the DNS server at `host:port` answers a query (root `NS`, class
    /// `IN`, RFC 1035 §4.1.1 header with a random id) within `timeout` seconds.
    /// Any response carrying the query's id counts, whatever its RCODE; so does
    /// ICMP port unreachable (`ECONNREFUSED` on a connected UDP socket).
    static func dns(host: String, port: UInt16, timeout: Double) -> (Bool, String) {
        guard var address = ICMPAddress.resolve(host) else { return (false, "\(host) does not resolve") }
        setPort(&address, port)
        let fd = socket(Int32(address.storage.ss_family), Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return (false, "socket: \(Errno.text(errno))") }
        defer { close(fd) }
        let length = address.length
        let rc = withUnsafePointer(to: &address.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) }
        }
        guard rc == 0 else { return (false, "connect: \(Errno.text(errno))") }
        let id = UInt16.random(in: 0...UInt16.max)
        // Header: id, flags RD, QDCOUNT 1; question: the root name, type NS (2), class IN (1).
        let query: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1]
        guard query.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == query.count else {
            return (false, "send: \(Errno.text(errno))")
        }
        let deadline = ProbeClock.monotonicNanoseconds() + ProbeClock.nanoseconds(timeout)
        var buffer = [UInt8](repeating: 0, count: 1500)
        while true {
            let left = Double(deadline - ProbeClock.monotonicNanoseconds()) / 1e9
            guard left > 0, wait(fd, events: Int16(POLLIN), timeout: left) else { return (false, "no answer within \(timeout) s") }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == ECONNREFUSED { return (true, "port unreachable (the host answered)") }
                if errno == EAGAIN || errno == EINTR { continue }
                return (false, "recv: \(Errno.text(errno))")
            }
            if n >= 12, buffer[0] == UInt8(id >> 8), buffer[1] == UInt8(id & 0xff), buffer[2] & 0x80 != 0 {
                return (true, "answered, rcode \(buffer[3] & 0x0f)")
            }
        }
    }

    private static func setPort(_ a: inout ICMPAddress, _ port: UInt16) {
        if a.isIPv6 {
            withUnsafeMutablePointer(to: &a.storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_port = port.bigEndian }
            }
        } else {
            withUnsafeMutablePointer(to: &a.storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_port = port.bigEndian }
            }
        }
    }

    /// `poll(2)` for `events` up to `timeout` seconds, retried on EINTR.
    private static func wait(_ fd: Int32, events: Int16, timeout: Double) -> Bool {
        let deadline = ProbeClock.monotonicNanoseconds() + ProbeClock.nanoseconds(timeout)
        while true {
            let left = max(0, (deadline - ProbeClock.monotonicNanoseconds()) / 1_000_000)
            var p = pollfd(fd: fd, events: events, revents: 0)
            let r = poll(&p, 1, Int32(min(left, Int64(Int32.max))))
            if r > 0 { return true }
            if r == 0 { return false }
            if errno != EINTR { return false }
        }
    }
}
