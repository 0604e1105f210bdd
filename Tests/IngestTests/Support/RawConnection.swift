import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to the ingest, for what an HTTP client will not do:
/// partial requests, stalled headers, idle sockets.
final class RawConnection {
    let fd: Int32

    /// Connects to 127.0.0.1:`port`.
    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw IngestHarness.HarnessError("socket: \(errno)") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw IngestHarness.HarnessError("connect: \(errno)")
        }
    }

    deinit { close(fd) }

    /// Writes all of `bytes` (false when the peer closed).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    /// Reads until the peer closes or `timeout` seconds pass.
    /// - Returns: the bytes read and whether the peer closed the connection.
    func readUntilClosed(timeout: Double) -> (bytes: [UInt8], closed: Bool) {
        var out: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return (out, false) }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, Int32(left * 1000))
            if r == 0 { return (out, false) }
            if r < 0 { return (out, true) }
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return (out, true) }
            out.append(contentsOf: buf[0..<n])
        }
    }

    /// Reads until the end of one response's header section and its `Content-Length` body, or `timeout`.
    func readResponse(timeout: Double) -> String {
        var out: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buf = [UInt8](repeating: 0, count: 65536)
        while deadline.timeIntervalSinceNow > 0 {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000))) <= 0 { break }
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
            let text = String(decoding: out, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") {
                let head = text[..<end.lowerBound].lowercased()
                let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.count - text[..<end.upperBound].utf8.count >= length { return text }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
