import Foundation
import Testing

/// deploy/systemd: the units carry the sandbox and the settings the brief asks for,
/// and `systemd-analyze verify` accepts them.
@Suite("systemd units")
struct SystemdUnitTests {
    static let units = ["clowder-agent", "clowder-ingest", "clowder-sink"]

    static func unit(_ name: String) throws -> [String] {
        try Repo.text("deploy/systemd/\(name).service").split(separator: "\n").map(String.init)
    }

    @Test("each unit runs as its own user with its env file, a check before start, a restart policy and a strict sandbox", arguments: units)
    func settings(_ name: String) throws {
        let lines = try Self.unit(name)
        let env = name.replacingOccurrences(of: "clowder-", with: "")
        for expected in [
            "User=clowder-metrics", "StateDirectory=clowder-metrics", "ProtectSystem=strict", "Restart=on-failure",
            "EnvironmentFile=/etc/clowder-metrics/\(env).env", "NoNewPrivileges=yes",
            "ExecStartPre=/usr/local/bin/\(name) check --env-file /etc/clowder-metrics/\(env).env",
        ] {
            #expect(lines.contains(expected), "\(name).service lacks \(expected)")
        }
        #expect(lines.contains { $0.hasPrefix("ExecStart=/usr/local/bin/\(name) ") && $0.hasSuffix("--env-file /etc/clowder-metrics/\(env).env") })
        let sysusers = try Repo.text("deploy/systemd/clowder-metrics.sysusers.conf")
        #expect(sysusers.contains("u clowder-metrics "))
    }

    @Test("the agent reads NGINX's logs read-only and may open raw ICMP sockets, nothing more")
    func agentPrivileges() throws {
        let lines = try Self.unit("clowder-agent")
        for expected in ["ReadOnlyPaths=/var/log/nginx", "SupplementaryGroups=adm", "AmbientCapabilities=CAP_NET_RAW",
                         "CapabilityBoundingSet=CAP_NET_RAW"] {
            #expect(lines.contains(expected), "clowder-agent.service lacks \(expected)")
        }
        // PCRE2's JIT writes the code it runs.
        #expect(!lines.contains("MemoryDenyWriteExecute=yes"))
    }

    @Test("the agent is active only once healthy, and a timer checks its health every minute and restarts it when hung")
    func agentHealth() throws {
        let agent = try Self.unit("clowder-agent")
        #expect(agent.contains("ExecStartPost=/usr/local/bin/clowder-agent health --env-file /etc/clowder-metrics/agent.env --wait 30"))
        let check = try Repo.text("deploy/systemd/clowder-agent-health.service").split(separator: "\n").map(String.init)
        #expect(check.contains("ExecStart=/usr/local/bin/clowder-agent health --env-file /etc/clowder-metrics/agent.env --max-age 30"))
        #expect(check.contains("User=clowder-metrics") && check.contains("Type=oneshot"))
        #expect(check.contains { $0.hasPrefix("ExecStopPost=+") && $0.contains("systemctl restart clowder-agent.service") })
        let timer = try Repo.text("deploy/systemd/clowder-agent-health.timer").split(separator: "\n").map(String.init)
        #expect(timer.contains("OnUnitActiveSec=1min") && timer.contains("WantedBy=timers.target"))
    }

    @Test("systemd-analyze verify accepts every unit")
    func verify() throws {
        guard let analyze = Run.which("systemd-analyze") else {
            // systemd is part of Debian's base system on this machine kind; without it there is nothing to verify with.
            Issue.record("systemd-analyze is not installed (Debian package systemd)")
            return
        }
        let dir = try Repo.temporaryDirectory("systemd")
        defer { try? FileManager.default.removeItem(at: dir) }
        // systemd-analyze checks that ExecStart binaries exist: point them at stand-ins.
        let bin = dir.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        var paths: [String] = []
        for name in Self.units {
            try FileManager.default.createSymbolicLink(atPath: bin.appendingPathComponent(name).path, withDestinationPath: "/bin/true")
        }
        for file in Self.units.map({ "\($0).service" }) + ["clowder-agent-health.service", "clowder-agent-health.timer", "clowder-sink-verdicts.service"] {
            let text = try Repo.text("deploy/systemd/\(file)").replacingOccurrences(of: "/usr/local/bin/", with: bin.path + "/")
            let unit = dir.appendingPathComponent(file)
            try Data(text.utf8).write(to: unit)
            paths.append(unit.path)
        }
        let r = try Run.run(analyze, ["verify", "--man=no"] + paths)
        #expect(r.status == 0 && r.stderr.isEmpty, "systemd-analyze verify: \(r.stderr)\(r.stdout)")
    }
}
