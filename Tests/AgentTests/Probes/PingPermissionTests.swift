import Foundation
import MetricsModel
import Testing

/// The permission path: `clowder-agent probe HOST` without CAP_NET_RAW and with
/// `net.ipv4.ping_group_range` closed reports "permission", never "down".
@Suite("Ping permission", .serialized)
struct PingPermissionTests {
    static let sysctl = "/proc/sys/net/ipv4/ping_group_range"

    @Test("no CAP_NET_RAW, ping_group_range closed: result permission, one clear message, exit 77")
    func permissionDenied() throws {
        let agent = try ProbeTestPaths.agentBinary()
        // Close ping_group_range ("1 0": no group may open datagram ICMP sockets); restore after.
        let original = try String(contentsOfFile: Self.sysctl, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let closed = original.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) == ["1", "0"]
        if !closed { try "1 0".write(toFile: Self.sysctl, atomically: false, encoding: .utf8) }
        defer { if !closed { try? original.write(toFile: Self.sysctl, atomically: false, encoding: .utf8) } }

        let r = try runCommand(["setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw", "--",
                                agent.path, "probe", "127.0.0.1", "--count", "1", "--json"])
        #expect(r.status == 77, "stdout: \(r.out) stderr: \(r.err)")
        let json = try JSONValue(parsing: r.out.trimmingCharacters(in: .whitespacesAndNewlines))
        let point = try Point(json: try #require(json["point"]))
        #expect(point.measurement == "ping")
        #expect(point.tags["result"] == "permission")
        #expect(point.fields == ["result_code": .int(3)])
        #expect(json["event"] == .null)  // no service_status: the target's state is unknown
        let lines = r.err.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(r.err.contains("permission denied"))
        #expect(r.err.contains("CAP_NET_RAW"))
        #expect(r.err.contains("net.ipv4.ping_group_range"))
        #expect(!r.err.lowercased().contains("down") || r.err.contains("not the target being down"))

        // The same binary with its capabilities pings fine.
        let ok = try runCommand([agent.path, "probe", "127.0.0.1", "--count", "1", "--json"])
        #expect(ok.status == 0, "\(ok.err)")
    }
}
