import Foundation
import MetricsModel
import Parsers
import TestSupport
import Testing

@testable import Agent

/// Memory of the aggregation does not depend on what clients send (issue 12, item 2): distinct
/// clients and connections are estimated (exact up to 512, then HyperLogLog with a relative
/// standard error of 1.6 %), vhosts are capped (the rest under `vhost=other`), `$remote_user`
/// leaves the agent only as a keyed pseudonym.
@Suite("Bounded aggregation", .serialized, .ownThreads)
struct BoundedAggregationTests {
    /// Three standard errors: a HyperLogLog estimate of precision 12 is within this 99.7 % of the time.
    static let bound = 3 * DistinctCounter.relativeStandardError

    static func relativeError(_ estimate: Int64, _ truth: Int) -> Double {
        abs(Double(estimate) - Double(truth)) / Double(truth)
    }

    @Test("DistinctCounter: exact up to 512, within 3 standard errors (4.9 %) from 1,000 to 1,000,000, 4 KiB of registers")
    func estimator() {
        var c = DistinctCounter()
        for v in 0..<512 { c.insert(hash: DistinctCounter.hash(Int64(v))); c.insert(hash: DistinctCounter.hash(Int64(v))) }
        #expect(c.isExact && c.estimate == 512)
        var small = DistinctCounter()
        for v in 0..<17 { small.insert(hash: DistinctCounter.hash(Int64(v))) }
        #expect(small.estimate == 17 && small.byteCount <= 1024, "small sets stay small")

        var big = DistinctCounter()
        var n = 0
        for checkpoint in [1_000, 10_000, 100_000, 1_000_000] {
            while n < checkpoint {
                // Distinct byte strings, as client addresses are.
                var s = "198.\(n >> 16 & 255).\(n >> 8 & 255).\(n & 255)"
                s.withUTF8 { big.insert(hash: DistinctCounter.hash(UnsafeRawBufferPointer($0))) }
                n += 1
            }
            let e = Self.relativeError(big.estimate, checkpoint)
            #expect(e <= Self.bound, "\(checkpoint) distinct: estimate \(big.estimate), error \(e)")
            #expect(big.byteCount <= 8 << 10)
        }
        #expect(!big.isExact && big.byteCount < 2 * DistinctCounter.registerCount)

        // Union (register-wise max) of two halves estimates the whole.
        var a = DistinctCounter(), b = DistinctCounter()
        for v in 0..<50_000 { a.insert(hash: DistinctCounter.hash(Int64(v))) }
        for v in 25_000..<80_000 { b.insert(hash: DistinctCounter.hash(Int64(v))) }
        a.formUnion(b)
        #expect(Self.relativeError(a.estimate, 80_000) <= Self.bound, "union: \(a.estimate)")
    }

    /// `$msec $remote_addr … $connection $host`, like WindowTests.
    static let format = try! LogFormat(string: #"$msec $remote_addr $remote_user "$request" $status $body_bytes_sent "$http_user_agent" $request_time $connection $host"#)

    /// Writes line `i` into `out`: client `10.a.b.c` = i, connection i, host `h<i % hosts>.example.org`.
    static func line(_ i: Int, hosts: Int, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        func num(_ v: Int) {
            if v >= 10 { num(v / 10) }
            out.append(UInt8(48 + v % 10))
        }
        out += Array("1764583200.".utf8)  // 2025-12-01T10:00:00Z, every line in one window
        num(100 + i % 900)
        out += Array(" 10.".utf8)
        num(i >> 16 & 255); out.append(46); num(i >> 8 & 255); out.append(46); num(i & 255)
        out += Array(#" - "GET / HTTP/1.1" 200 10 "Mozilla/5.0" 0.010 "#.utf8)
        num(i)
        out += Array(" h".utf8)
        num(i % hosts)
        out += Array(".example.org".utf8)
    }

    /// Runs `/usr/bin/time -f %M <command>`: standard output and the peak resident set (VmHWM), bytes.
    static func peakRSS(_ arguments: [String]) throws -> (out: Data, peak: Int) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        p.arguments = ["-f", "%M"] + arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let kb = e.split(separator: "\n").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? -1
        return (data, kb * 1024)
    }

    @Test("100,000 Host headers and 1,000,000 client addresses in one window: 21 points, peak RSS within 16 MiB of the agent at rest, estimates within 4.9 %")
    func hostileWindow() throws {
        let hosts = 100_000, lines = 1_000_000
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clowder-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = dir.appendingPathComponent("access.log")
        var text: [UInt8] = []
        text.reserveCapacity(lines * 100)
        var buffer: [UInt8] = []
        for i in 0..<lines {
            Self.line(i, hosts: hosts, into: &buffer)
            text += buffer
            text.append(10)
        }
        try Data(text).write(to: log)
        text = []

        // The agent's own executable, measured from outside (this test process runs other tests meanwhile):
        // `parse` runs the same pipeline as `run`, with every line in one window and the default cap of 20 vhosts.
        let agent = AgentProcess.executable
        let rest = try Self.peakRSS([agent, "--version"]).peak
        let (json, peak) = try Self.peakRSS([agent, "parse", "--json", "--log-format", Self.format.string, log.path])
        print("hostile window: clowder-agent parse peak RSS \(peak >> 10) KiB, at rest \(rest >> 10) KiB (+\((peak - rest) >> 10) KiB)")
        #expect(rest > 0 && peak > 0)
        // The exact sets of before took 82 MB for 500,000 addresses and 440 MB for 64,000 hosts.
        #expect(peak - rest <= 16 << 20, "peak RSS \(peak >> 10) KiB, at rest \(rest >> 10) KiB")

        let report = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let windows = report["windows"] as? [[String: Any]] ?? []
        // The first 20 hosts seen (h0…h19) have their own point; the other 99,980 are `other`.
        #expect(windows.count == 21)
        var byHost: [String: [String: Any]] = [:]
        for w in windows { byHost[w["vhost"] as? String ?? ""] = w }
        #expect(Set(byHost.keys) == Set((0..<20).map { "h\($0).example.org" } + ["other"]))
        #expect(windows.reduce(0) { $0 + ($1["requests"] as? Int ?? 0) } == lines)
        for k in 0..<20 {
            let own = byHost["h\(k).example.org"] ?? [:]
            // Lines k, k + 100,000, …: 10 lines, 10 clients, 10 connections (exact below 512).
            #expect(own["requests"] as? Int == 10 && own["distinct_clients"] as? Int == 10 && own["distinct_connections"] as? Int == 10)
        }
        let other = byHost["other"] ?? [:]
        let truth = lines - 200
        #expect(other["requests"] as? Int == truth)
        let clients = Int64(other["distinct_clients"] as? Int ?? 0), connections = Int64(other["distinct_connections"] as? Int ?? 0)
        #expect(Self.relativeError(clients, truth) <= Self.bound, "distinct_clients \(clients) for \(truth)")
        #expect(Self.relativeError(connections, truth) <= Self.bound, "distinct_connections \(connections) for \(truth)")
        let totals = report["totals"] as? [String: Any] ?? [:]
        #expect(Self.relativeError(Int64(totals["distinct_clients"] as? Int ?? 0), lines) <= Self.bound, "totals \(totals)")
    }

    @Test("the state's own accounting stays under 512 KiB with 100,000 hosts and 200,000 clients; the snapshot restores the estimates")
    func stateAccounting() throws {
        let p = try AccessLogPipeline(configuration: .init(logFormat: Self.format, vhostLimit: VhostLimit(maxVhosts: 20)))
        var buffer: [UInt8] = []
        var peakState = 0
        for i in 0..<200_000 {
            Self.line(i, hosts: 100_000, into: &buffer)
            _ = buffer.withUnsafeBytes { p.add(line: $0) }
            if i % 20_000 == 19_999 { peakState = max(peakState, p.stateByteCount) }
        }
        let snapshot = p.snapshot()
        print("state accounting: \(peakState) bytes, snapshot \(snapshot.count) bytes")
        // 21 aggregates of at most 2 × 8 KiB of distinct counters and a small histogram.
        #expect(peakState <= 512 << 10)
        #expect(snapshot.count <= 512 << 10)
        let points = p.closeAll().points
        let restored = try AccessLogPipeline(configuration: p.configuration, snapshot: snapshot)
        #expect(restored.closeAll().points == points)
        let other = points.first { $0.tags["vhost"] == "other" }
        #expect(Self.relativeError(other?.int("distinct_clients") ?? 0, 200_000 - 40) <= Self.bound)
    }

    @Test("server names: exact names tagged as themselves, wildcards under their name, the rest and regexes under other")
    func serverNames() throws {
        let limit = VhostLimit(serverNames: ["Clowder.Example.org", "*.data.example.org", ".files.example.org", "~^api", "_"], maxVhosts: 3)
        #expect(limit.serverNames == ["clowder.example.org", "*.data.example.org", ".files.example.org"])
        let p = try AccessLogPipeline(configuration: .init(logFormat: Self.format, vhostLimit: limit))
        var buffer: [UInt8] = []
        func add(_ host: String, _ i: Int) {
            Self.line(i, hosts: 1, into: &buffer)
            buffer.removeLast("h0.example.org".utf8.count)
            buffer += Array(host.utf8)
            _ = buffer.withUnsafeBytes { p.add(line: $0) }
        }
        let hosts = ["attacker.invalid", "clowder.example.org", "a.data.example.org", "b.data.example.org",
                     "files.example.org", "x.files.example.org", "api.example.org", "data.example.org"]
        for (i, h) in hosts.enumerated() { add(h, i) }
        let counts = Dictionary(uniqueKeysWithValues: p.closeAll().points.map { ($0.tags["vhost"] ?? "", $0.int("requests") ?? 0) })
        // maxVhosts 3: clowder.example.org, *.data.example.org, .files.example.org; data.example.org matches neither wildcard.
        #expect(counts == ["other": 3, "clowder.example.org": 1, "*.data.example.org": 2, ".files.example.org": 2])

        let capped = VhostLimit(serverNames: ["a.org", "b.org", "c.org"], maxVhosts: 2)
        let q = try AccessLogPipeline(configuration: .init(logFormat: Self.format, vhostLimit: capped))
        for (i, h) in ["c.org", "a.org", "b.org", "b.org"].enumerated() {
            Self.line(i, hosts: 1, into: &buffer)
            buffer.removeLast("h0.example.org".utf8.count)
            buffer += Array(h.utf8)
            _ = buffer.withUnsafeBytes { q.add(line: $0) }
        }
        let capCounts = Dictionary(uniqueKeysWithValues: q.closeAll().points.map { ($0.tags["vhost"] ?? "", $0.int("requests") ?? 0) })
        #expect(capCounts == ["c.org": 1, "a.org": 1, "other": 2])
    }

    @Test("settings: MAX_VHOSTS, TOP_RESOURCES, REMOTE_USER=hash with its key file; server_names from NGINX_CONFIG")
    func settings() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clowder-bounded-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let conf = dir.appendingPathComponent("nginx-T.txt").path
        try """
            http {
                server { listen 80; server_name clowder.example.org www.example.org; }
                server { listen 81; server_name _ *.data.example.org; }
            }
            """.write(toFile: conf, atomically: true, encoding: .utf8)
        let key = dir.appendingPathComponent("user.key").path
        try "k3y\n".write(toFile: key, atomically: true, encoding: .utf8)
        let base = ["CLOWDER_METRICS_ACCESS_LOG": dir.appendingPathComponent("access.log").path,
                    "CLOWDER_METRICS_NGINX_CONFIG": conf, "CLOWDER_METRICS_SPOOL_PATH": dir.appendingPathComponent("spool.db").path]
        let (defaults, _) = try await AgentConfiguration.load(envFile: nil, environment: base)
        #expect(defaults.maxVhosts == 20 && defaults.topResources == 10 && defaults.remoteUserKeyFile == nil)
        #expect(try defaults.remoteUserKey() == nil)
        var env = base
        env["CLOWDER_METRICS_MAX_VHOSTS"] = "5"
        env["CLOWDER_METRICS_TOP_RESOURCES"] = "3"
        env["CLOWDER_METRICS_REMOTE_USER"] = "hash"
        env["CLOWDER_METRICS_REMOTE_USER_KEY_FILE"] = key
        let (c, _) = try await AgentConfiguration.load(envFile: nil, environment: env)
        #expect(c.maxVhosts == 5 && c.topResources == 3)
        let limit = try c.resolvedVhostLimit()
        #expect(limit.serverNames == ["clowder.example.org", "www.example.org", "*.data.example.org"] && limit.maxVhosts == 5)
        #expect(try c.remoteUserKey() == Array("k3y".utf8))
        env["CLOWDER_METRICS_REMOTE_USER_KEY_FILE"] = nil
        await #expect(throws: ConfigError.self) { try await AgentConfiguration.load(envFile: nil, environment: env) }
        env["CLOWDER_METRICS_REMOTE_USER"] = "keep"
        await #expect(throws: ConfigError.self) { try await AgentConfiguration.load(envFile: nil, environment: env) }
        await #expect(throws: ConfigError.self) {
            try await AgentConfiguration.load(envFile: nil, environment: base.merging(["CLOWDER_METRICS_MAX_VHOSTS": "0"]) { $1 })
        }
    }

    @Test("$remote_user: never in events by default; with a key, HMAC-SHA256 pseudonym (checked against Python's hmac)")
    func remoteUser() throws {
        let id = "5f0c3b2a9d1e4f7a8b6c5d4e"
        let line = Array(#"1764583200.000 10.0.0.1 alice "GET /files/\#(id) HTTP/1.1" 200 10 "Mozilla/5.0" 0.010 1 clowder.example.org"#.utf8)
        let plain = try AccessLogPipeline(configuration: .init(logFormat: Self.format, emitEvents: true))
        _ = line.withUnsafeBytes { plain.add(line: $0) }
        let points = plain.closeAll()
        #expect(points.events.count == 1)
        #expect(points.events.first?.members["user_id"] == nil)
        #expect(points.points.allSatisfy { !$0.tags.values.contains("alice") && $0.tags["user_id"] == nil })

        let keyed = try AccessLogPipeline(
            configuration: .init(logFormat: Self.format, emitEvents: true, remoteUserKey: Array("pseudonym-key-for-tests".utf8)))
        _ = line.withUnsafeBytes { keyed.add(line: $0) }
        let events = keyed.closeAll().events
        // python3 -c "import hmac,hashlib;print(hmac.new(b'pseudonym-key-for-tests',b'alice',hashlib.sha256).hexdigest()[:32])"
        #expect(events.first?.members["user_id"] == "u-32c32472c604243b1e89aa32c4d6c4f8")
    }
}
