import Foundation
import MetricsModel
import TestSupport
import Testing

/// The permission path: `clowder-agent probe HOST` without CAP_NET_RAW and with
/// `net.ipv4.ping_group_range` closed reports "permission", never "down"; with
/// the range open it pings over a datagram ICMP socket.
///
/// Each case runs in a network namespace of its own (`unshare --net`):
/// `ping_group_range` is per namespace, so the test sets it there and never
/// touches the host's.
@Suite("Ping permission", .ownThreads)
struct PingPermissionTests {
    /// `agent probe args…` in a fresh network namespace with loopback up,
    /// `ping_group_range` set to `range`, and CAP_NET_RAW dropped.
    static func probeWithoutNetRaw(range: String, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let agent = try ProbeTestPaths.agentBinary()
        let script = """
            ip link set lo up && echo '\(range)' > /proc/sys/net/ipv4/ping_group_range && \
            exec setpriv --inh-caps=-net_raw --bounding-set=-net_raw -- "$@"
            """
        return try runCommand(["unshare", "--net", "sh", "-c", script, "sh", agent.path, "probe"] + args)
    }

    @Test("no CAP_NET_RAW, ping_group_range closed: result permission, one clear message, exit 77")
    func permissionDenied() throws {
        let r = try Self.probeWithoutNetRaw(range: "1 0", ["127.0.0.1", "--count", "1", "--json"])
        #expect(r.status == 77, "stdout: \(r.out) stderr: \(r.err)")
        let json = try JSONValue(parsing: r.out.trimmingCharacters(in: .whitespacesAndNewlines))
        let point = try Point(json: try #require(json["point"]))
        #expect(point.measurement == "ping")
        #expect(point.tags["result"] == "permission")
        #expect(point.fields == ["result_code": .int(3)])
        #expect(json["event"] == .null)  // no service_status: the target's state is unknown
        #expect(r.err.split(separator: "\n").count == 1)
        #expect(r.err.contains("permission denied"))
        #expect(r.err.contains("CAP_NET_RAW"))
        #expect(r.err.contains("net.ipv4.ping_group_range"))
        #expect(r.err.contains("not the target being down"))
    }

    @Test("no CAP_NET_RAW but the group inside ping_group_range: pings over a datagram ICMP socket",
          arguments: ["127.0.0.1", "::1"])
    func datagramSocket(target: String) throws {
        let r = try Self.probeWithoutNetRaw(range: "0 0", [target, "--count", "3", "--interval", "0.01"])
        #expect(r.status == 0, "\(r.out) \(r.err)")
        #expect(r.out.contains("datagram socket"), "\(r.out)")
        #expect(r.out.contains("3 packets transmitted, 3 received"), "\(r.out)")
    }

    @Test("with CAP_NET_RAW (root) the same probe uses a raw socket")
    func rawSocket() throws {
        let r = try runCommand([try ProbeTestPaths.agentBinary().path, "probe", "127.0.0.1", "--count", "1"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("raw socket"))
    }
}
