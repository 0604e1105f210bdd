import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MetricsModel
import TestSupport
import Testing

@testable import Agent

/// Witness checks (issue 13, item 1) against real sockets on loopback: a
/// listening TCP port, a closed one, a DNS responder, a UDP port that never
/// answers; and the probe round they turn into `agent_network_down`.
@Suite("Witness checks", .serialized, .ownThreads)
struct WitnessTests {
    /// A loopback UDP socket; with `answer` a thread replies to each datagram with the
    /// same id and the QR bit set (a DNS response header, RFC 1035 §4.1.1), else it stays silent.
    final class UDPPeer: @unchecked Sendable {
        let fd: Int32
        let port: UInt16
        private var thread: Thread?
        init(answer: Bool) throws {
            let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_addr.s_addr = inet_addr("127.0.0.1")
            _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
            fd = s
            port = UInt16(bigEndian: a.sin_port)
            guard answer else { return }
            let sock = self.fd
            thread = Thread {
                var buf = [UInt8](repeating: 0, count: 512)
                var from = sockaddr_storage()
                var fl = socklen_t(MemoryLayout<sockaddr_storage>.size)
                while true {
                    let n = withUnsafeMutablePointer(to: &from) { p in
                        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(sock, &buf, 512, 0, $0, &fl) }
                    }
                    if n < 12 { return }
                    var reply = Array(buf[0..<n])
                    reply[2] |= 0x80  // QR: a response
                    reply[3] = 0x05   // RCODE 5, refused: any answer counts
                    _ = withUnsafePointer(to: &from) { p in
                        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(sock, reply, reply.count, 0, $0, fl) }
                    }
                }
            }
            thread?.start()
        }
        func close() { shutdown(fd, Int32(SHUT_RDWR)); Glibc.close(fd) }
    }

    /// A listening loopback TCP socket.
    static func listener() -> (Int32, UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(fd, 8)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return (fd, UInt16(bigEndian: a.sin_port))
    }

    /// A loopback port nothing listens on (bound, read, closed).
    static func closedPort() -> UInt16 {
        let (fd, port) = listener()
        close(fd)
        return port
    }

    @Test("TCP: accepted and refused both prove the path; DNS: an answer with any RCODE does; silence does not")
    func sockets() throws {
        let (fd, open) = Self.listener()
        defer { close(fd) }
        #expect(WitnessChecker.check(.tcp(host: "127.0.0.1", port: open), timeout: 1) == (true, "accepted"))
        #expect(WitnessChecker.check(.tcp(host: "127.0.0.1", port: Self.closedPort()), timeout: 1) == (true, "refused"))
        let dns = try UDPPeer(answer: true)
        defer { dns.close() }
        #expect(WitnessChecker.check(.dns(host: "127.0.0.1", port: dns.port), timeout: 1) == (true, "answered, rcode 5"))
        let silent = try UDPPeer(answer: false)
        defer { silent.close() }
        let start = Date()
        let r = WitnessChecker.check(.dns(host: "127.0.0.1", port: silent.port), timeout: 0.3)
        #expect(r.0 == false && r.1.contains("no answer"))
        #expect(Date().timeIntervalSince(start) >= 0.29)
        #expect(WitnessChecker.check(.tcp(host: "no-such-host.invalid", port: 80), timeout: 0.3).0 == false)
    }

    @Test("the checker stops at the first witness that answers and reuses its report")
    func order() throws {
        let silent = try UDPPeer(answer: false)
        defer { silent.close() }
        let checker = WitnessChecker(
            witnesses: [.dns(host: "127.0.0.1", port: silent.port), .tcp(host: "127.0.0.1", port: Self.closedPort()),
                        .dns(host: "127.0.0.1", port: silent.port)],
            timeout: 0.2, reuse: 30)
        let r = checker.report()
        #expect(r.reachable)
        #expect(r.results.map(\.answered) == [false, true])
        #expect(checker.report() == r)
        #expect(WitnessChecker(witnesses: [], timeout: 1).report().reachable)
    }

    @Test("a failed round with every witness silent is agent_network_down and does not count against uptime")
    func networkDownRound() throws {
        let silent = try UDPPeer(answer: false)
        defer { silent.close() }
        let target = "http://127.0.0.1:\(Self.closedPort())/healthz"
        let identity = AgentIdentity(id: "a1", host: "h", region: "eu", version: "test")
        let settings = ProbeSettings(httpTargets: [target], httpTimeout: 1)
        let blind = WitnessChecker(witnesses: [.dns(host: "127.0.0.1", port: silent.port)], timeout: 0.2, reuse: 0)
        let job = HTTPProbeJob(url: target, settings: settings, identity: identity, witness: blind)
        let (points, events) = job.round(stop: ProbeStopSignal())
        let p = try #require(points.first)
        #expect(p.tags["result"] == "agent_network_down" && p.tags["failure"] == "connection_failed")
        #expect(p.fields["agent_network_down"] == .int(1) && p.fields["up"] == nil)
        #expect(p.fields["uptime"] == .double(1))  // no round counted yet: 1 by definition
        let e = try #require(events.first)
        #expect(e.type == "agent_network_down" && e.members["healthy"] == nil && e.members["agent_network_down"] == .bool(true))
        let witnessText = e.members["witnesses"]?.stringValue ?? ""
        #expect(witnessText.contains("no answer"))

        // The same failure with a witness that answers (refused is an answer): down, counted.
        let seeing = WitnessChecker(witnesses: [.tcp(host: "127.0.0.1", port: Self.closedPort())], timeout: 0.5, reuse: 0)
        let job2 = HTTPProbeJob(url: target, settings: settings, identity: identity, witness: seeing)
        let (points2, events2) = job2.round(stop: ProbeStopSignal())
        #expect(points2.first?.tags["result"] == "connection_failed" && points2.first?.fields["up"] == .int(0))
        #expect(points2.first?.fields["uptime"] == .double(0))
        #expect(events2.first?.type == "down" && events2.first?.members["healthy"] == .bool(false))
    }

    @Test("settings: ingest and resolver stand for INGEST_URL/healthz and the first nameserver; bad witnesses name the key")
    func settings() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("witness-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = dir.appendingPathComponent("k")
        try Data("secret".utf8).write(to: key)
        let base = ["CLOWDER_METRICS_HTTP_TARGETS": "https://c.example.org/healthz",
                    "CLOWDER_METRICS_INGEST_URL": "https://metrics.example.org/", "CLOWDER_METRICS_API_KEY_ID": "k",
                    "CLOWDER_METRICS_API_KEY_FILE": key.path]
        let (config, _) = try await AgentConfiguration.load(envFile: nil, environment: base)
        var expected: [WitnessTarget] = [.http(url: "https://metrics.example.org/healthz")]
        if let ns = Values.firstNameserver("/etc/resolv.conf") { expected.append(.dns(host: ns, port: 53)) }
        #expect(config.witnessTargets == expected)
        #expect(config.probeSettings.witnesses == expected && config.witnessTimeoutSeconds == 3)

        var env = base
        env["CLOWDER_METRICS_WITNESS_TARGETS"] = "tcp://10.0.0.1:443, dns://[fd00::53]:5353,none"
        await #expect(throws: ConfigError.self) { _ = try await AgentConfiguration.load(envFile: nil, environment: env) }
        env["CLOWDER_METRICS_WITNESS_TARGETS"] = "tcp://10.0.0.1:443, dns://[fd00::53]:5353"
        #expect(try await AgentConfiguration.load(envFile: nil, environment: env).0.witnessTargets
                == [.tcp(host: "10.0.0.1", port: 443), .dns(host: "fd00::53", port: 5353)])
        env["CLOWDER_METRICS_WITNESS_TARGETS"] = "none"
        #expect(try await AgentConfiguration.load(envFile: nil, environment: env).0.witnessTargets.isEmpty)
        env["CLOWDER_METRICS_WITNESS_TARGETS"] = "tcp://10.0.0.1"
        do {
            _ = try await AgentConfiguration.load(envFile: nil, environment: env)
            Issue.record("a tcp witness without a port was accepted")
        } catch let e as ConfigError {
            #expect("\(e)".contains("CLOWDER_METRICS_WITNESS_TARGETS") && "\(e)".contains("port"))
        }
        let conf = dir.appendingPathComponent("resolv.conf")
        try Data("# c\nsearch x\nnameserver fe80::1%eth0\nnameserver 10.0.0.2\n".utf8).write(to: conf)
        #expect(Values.firstNameserver(conf.path) == "fe80::1")
    }
}
