/// ICMP echo messages: ICMPv4 (RFC 792, type 8 request / 0 reply) and
/// ICMPv6 (RFC 4443 section 4.1-4.2, type 128 request / 129 reply).
///
/// Layout after any IP header: type (1), code (1), checksum (2),
/// identifier (2), sequence number (2), data. Identifier and sequence are
/// big-endian (network order).
enum ICMPEcho {
    /// Bytes of data after the 8-byte header (the classic `ping -s 56`).
    static let payloadSize = 56

    /// An echo request with identifier `id` and sequence `seq`.
    ///
    /// The ICMPv4 checksum is the RFC 1071 one's-complement sum over the whole
    /// message. For ICMPv6 the kernel fills the checksum (it covers a
    /// pseudo-header only the kernel knows; Linux sets `IPV6_CHECKSUM` on raw
    /// ICMPv6 sockets and computes it on datagram ones).
    static func request(v6: Bool, id: UInt16, seq: UInt16) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 8 + payloadSize)
        b[0] = v6 ? 128 : 8
        b[4] = UInt8(id >> 8); b[5] = UInt8(id & 0xff)
        b[6] = UInt8(seq >> 8); b[7] = UInt8(seq & 0xff)
        for i in 0..<payloadSize { b[8 + i] = UInt8(truncatingIfNeeded: 0x10 &+ i) }
        if !v6 {
            let c = checksum(b)
            b[2] = UInt8(c >> 8); b[3] = UInt8(c & 0xff)
        }
        return b
    }

    /// RFC 1071 Internet checksum.
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            sum &+= UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum &+= UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) &+ (sum >> 16) }
        return ~UInt16(sum)
    }

    /// Reads an echo reply from a received datagram.
    ///
    /// - Parameters:
    ///   - bytes: what `recvfrom` returned. A raw ICMPv4 socket delivers the IPv4
    ///     header first (its length is IHL × 4, RFC 791); raw ICMPv6 and datagram
    ///     sockets deliver the ICMP message alone.
    ///   - v6: ICMPv6.
    ///   - hasIPHeader: a raw IPv4 socket.
    /// - Returns: identifier and sequence of an echo reply, `nil` for anything else
    ///   (our own requests seen on loopback, unreachables, other types).
    static func parseReply(_ bytes: UnsafeRawBufferPointer, v6: Bool, hasIPHeader: Bool) -> (id: UInt16, seq: UInt16)? {
        var o = 0
        if hasIPHeader {
            guard bytes.count >= 20, bytes[0] >> 4 == 4 else { return nil }
            o = Int(bytes[0] & 0x0f) * 4
        }
        guard bytes.count >= o + 8 else { return nil }
        guard bytes[o] == (v6 ? 129 : 0), bytes[o + 1] == 0 else { return nil }
        let id = UInt16(bytes[o + 4]) << 8 | UInt16(bytes[o + 5])
        let seq = UInt16(bytes[o + 6]) << 8 | UInt16(bytes[o + 7])
        return (id, seq)
    }
}
