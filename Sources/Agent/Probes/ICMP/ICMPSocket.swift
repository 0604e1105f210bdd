#if canImport(Glibc)
import Glibc
#endif

/// A resolved ping target: one socket address (IPv4 or IPv6).
struct ICMPAddress: @unchecked Sendable {
    var storage = sockaddr_storage()
    var length: socklen_t = 0
    /// IPv6 (ICMPv6) rather than IPv4.
    var isIPv6: Bool { Int32(storage.ss_family) == AF_INET6 }

    /// The numeric address, e.g. `127.0.0.1` or `::1`.
    var text: String {
        var buf = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var s = storage
        let rc = withUnsafePointer(to: &s) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &buf, socklen_t(buf.count), nil, 0, NI_NUMERICHOST)
            }
        }
        guard rc == 0 else { return "?" }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether `other` (from `recvfrom`) is the same host address (port ignored).
    func sameHost(_ other: sockaddr_storage) -> Bool {
        guard other.ss_family == storage.ss_family else { return false }
        var a = storage, b = other
        if isIPv6 {
            return withUnsafeBytes(of: &a) { pa in withUnsafeBytes(of: &b) { pb in
                let oa = MemoryLayout<sockaddr_in6>.offset(of: \sockaddr_in6.sin6_addr)!
                return memcmp(pa.baseAddress! + oa, pb.baseAddress! + oa, 16) == 0
            } }
        }
        return withUnsafeBytes(of: &a) { pa in withUnsafeBytes(of: &b) { pb in
            let oa = MemoryLayout<sockaddr_in>.offset(of: \sockaddr_in.sin_addr)!
            return memcmp(pa.baseAddress! + oa, pb.baseAddress! + oa, 4) == 0
        } }
    }

    /// Resolves `host` (a name or a numeric IPv4/IPv6 address) with
    /// `getaddrinfo(3)`; the first address returned wins (RFC 6724 order).
    /// - Returns: `nil` when the name does not resolve.
    static func resolve(_ host: String) -> ICMPAddress? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        // Accept "[::1]" as written in URLs.
        var name = host
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        guard getaddrinfo(name, nil, &hints, &res) == 0, let first = res else { return nil }
        defer { freeaddrinfo(res) }
        var a = ICMPAddress()
        a.length = first.pointee.ai_addrlen
        withUnsafeMutableBytes(of: &a.storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        return a
    }
}

/// An ICMP socket for echo requests.
///
/// Linux offers two kinds: `SOCK_RAW` (needs `CAP_NET_RAW`; sees every ICMP
/// message reaching the host, so replies are matched by identifier, sequence
/// and source) and the unprivileged "ping socket" `SOCK_DGRAM` +
/// `IPPROTO_ICMP`/`IPPROTO_ICMPV6` (allowed for groups in
/// `net.ipv4.ping_group_range`; the kernel sets the identifier and delivers
/// only this socket's replies). See `icmp(7)` and `raw(7)`.
final class ICMPSocket {
    /// Why a socket could not be opened.
    enum OpenFailure: Error {
        /// `EPERM`/`EACCES` for both kinds: neither `CAP_NET_RAW` nor a group in `ping_group_range`.
        case permission(errno: Int32)
        /// Any other `socket(2)` failure.
        case other(errno: Int32)
    }

    let fd: Int32
    let isIPv6: Bool
    /// A raw socket (else a datagram ping socket).
    let isRaw: Bool

    private init(fd: Int32, isIPv6: Bool, isRaw: Bool) {
        self.fd = fd
        self.isIPv6 = isIPv6
        self.isRaw = isRaw
    }

    deinit { close(fd) }

    /// Opens a raw socket, or a datagram ping socket when raw is refused.
    /// - Throws: ``OpenFailure/permission(errno:)`` when both are refused for lack
    ///   of privilege, ``OpenFailure/other(errno:)`` otherwise.
    static func open(ipv6: Bool) throws(OpenFailure) -> ICMPSocket {
        let family = ipv6 ? AF_INET6 : AF_INET
        let proto = ipv6 ? Int32(IPPROTO_ICMPV6) : Int32(IPPROTO_ICMP)
        let flags = Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        var fd = socket(family, Int32(SOCK_RAW.rawValue) | flags, proto)
        if fd >= 0 { return ICMPSocket(fd: fd, isIPv6: ipv6, isRaw: true) }
        let rawErrno = errno
        fd = socket(family, Int32(SOCK_DGRAM.rawValue) | flags, proto)
        if fd >= 0 { return ICMPSocket(fd: fd, isIPv6: ipv6, isRaw: false) }
        let dgramErrno = errno
        let denied: Set<Int32> = [EPERM, EACCES]
        if denied.contains(rawErrno) && denied.contains(dgramErrno) { throw .permission(errno: dgramErrno) }
        throw .other(errno: denied.contains(dgramErrno) ? rawErrno : dgramErrno)
    }

    /// Sends one datagram to `to`. - Returns: `errno` on failure, else `nil`.
    func send(_ bytes: [UInt8], to address: ICMPAddress) -> Int32? {
        var a = address.storage
        let n = bytes.withUnsafeBytes { buf in
            withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buf.baseAddress, buf.count, Int32(MSG_NOSIGNAL), $0, address.length)
                }
            }
        }
        return n < 0 ? errno : nil
    }

    /// Asks the kernel to stamp each received datagram with its arrival time
    /// (`SO_TIMESTAMPNS`, socket(7)), as iputils `ping` does: a round trip then
    /// excludes the time this thread took to wake up.
    func enableReceiveTimestamps() {
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, 35 /* SO_TIMESTAMPNS */, &on, socklen_t(4))
    }

    /// Reads one pending datagram into `buffer`, or returns `nil` when none is waiting.
    /// - Returns: its length, source, and the kernel's arrival time stamp
    ///   (epoch nanoseconds, `CLOCK_REALTIME`) when one came with it.
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> (count: Int, from: sockaddr_storage, kernelTime: Int64?)? {
        var from = sockaddr_storage()
        // Control buffer for one cmsghdr + struct timespec, 8-byte aligned.
        var control = [UInt64](repeating: 0, count: 8)
        var iov = iovec(iov_base: buffer.baseAddress, iov_len: buffer.count)
        let result: (Int, Int) = withUnsafeMutablePointer(to: &from) { fromPtr in
            withUnsafeMutablePointer(to: &iov) { iovPtr in
                control.withUnsafeMutableBytes { ctl in
                    var msg = msghdr()
                    msg.msg_name = UnsafeMutableRawPointer(fromPtr)
                    msg.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
                    msg.msg_iov = iovPtr
                    msg.msg_iovlen = 1
                    msg.msg_control = ctl.baseAddress
                    msg.msg_controllen = ctl.count
                    let n = recvmsg(fd, &msg, 0)
                    return (n, Int(msg.msg_controllen))
                }
            }
        }
        let (n, controlLength) = result
        guard n >= 0 else { return nil }
        return (n, from, Self.timestamp(control, length: controlLength))
    }

    /// The `SCM_TIMESTAMPNS` time in a control buffer (struct cmsghdr:
    /// `size_t cmsg_len; int cmsg_level; int cmsg_type;` then the data, 8-aligned).
    private static func timestamp(_ control: [UInt64], length: Int) -> Int64? {
        control.withUnsafeBytes { raw in
            var offset = 0
            let header = 16
            while offset + header <= min(length, raw.count) {
                let len = Int(raw.load(fromByteOffset: offset, as: UInt64.self))
                let level = raw.load(fromByteOffset: offset + 8, as: Int32.self)
                let type = raw.load(fromByteOffset: offset + 12, as: Int32.self)
                if len < header { return nil }
                if level == SOL_SOCKET && type == 35 /* SCM_TIMESTAMPNS */ && offset + header + 16 <= raw.count {
                    let sec = raw.load(fromByteOffset: offset + header, as: Int64.self)
                    let nsec = raw.load(fromByteOffset: offset + header + 8, as: Int64.self)
                    return sec * 1_000_000_000 + nsec
                }
                offset += (len + 7) & ~7
            }
            return nil
        }
    }
}
