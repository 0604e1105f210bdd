import Agent
import ArgumentParser
import MetricsModel

#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

/// `clowder-agent probe URL|HOST…`: one probe round per target, printed like
/// `curl -w` or `ping` would, with each phase.
///
/// A target with `://` is probed over HTTP (libcurl), anything else with ICMP
/// echo. `--json` prints one line per target: `{"point": <Point JSON>, "event":
/// <event or null>}`. `--watch S` instead runs the targets through the agent's
/// scheduler every S seconds (as `run` does) and prints one JSON line per point
/// and per event until interrupted or `--duration` has passed.
///
/// Exit status: 0 the target answered (HTTP `result` success; ping at least one
/// reply); 1 it did not (any other result, or 100 % loss); 77 (`EX_NOPERM`,
/// sysexits.h) the agent may not open an ICMP socket (no `CAP_NET_RAW`, group
/// outside `net.ipv4.ping_group_range`): that says nothing about the target;
/// 64 bad arguments. With several targets, the highest of these.
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Probe one URL (HTTP) or host (ICMP echo) once and print each phase.",
        discussion: """
            HTTP phases (dns, connect, tls, ttfb, transfer) are each phase's own duration in seconds; \
            curl -w's time_* values are running totals from the start (time_connect = dns + connect). \
            Exit status: 0 up, 1 down or failed, 77 no permission to ping (CAP_NET_RAW or \
            net.ipv4.ping_group_range), 64 usage error.
            """
    )

    @Argument(help: "URLs (http://, https://) for HTTP probes, host names or addresses for ping.")
    var targets: [String]

    @Option(help: "Echo requests (ping). Default 5.")
    var count: Int = 5

    @Option(help: "Seconds between echo requests (ping). Default 1.")
    var interval: Double = 1.0

    @Option(help: "Seconds: whole request (HTTP), or wait after the last echo (ping). Default 10 (HTTP), 2 (ping).")
    var timeout: Double?

    @Option(name: .customLong("expect-status"), help: "Status the HTTP target must answer (default: any 2xx/3xx).")
    var expectStatus: Int?

    @Option(name: .customLong("expect-body"), help: "Text the HTTP body must contain, e.g. healthy.")
    var expectBody: String?

    @Flag(name: .customLong("no-follow"), help: "Do not follow HTTP redirects.")
    var noFollow = false

    @Flag(help: "Print the point (and event) as one JSON line.")
    var json = false

    @Option(help: "Probe every S seconds through the scheduler, printing JSON lines, until interrupted.")
    var watch: Double?

    @Option(help: "With --watch: stop after S seconds.")
    var duration: Double?

    func validate() throws {
        guard !targets.isEmpty else { throw ValidationError("give at least one URL or host") }
        if let w = watch, !(w > 0) { throw ValidationError("--watch must be > 0 seconds") }
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        guard interval >= 0 else { throw ValidationError("--interval must be ≥ 0 seconds") }
        if let t = timeout, !(t > 0) { throw ValidationError("--timeout must be > 0 seconds") }
    }

    func run() async throws {
        let identity = AgentIdentity(id: hostName(), host: hostName(), region: "", version: AgentVersion.current)
        if let watch {
            try await runWatch(every: watch, identity: identity)
            return
        }
        var worst: Int32 = 0
        for target in targets {
            worst = max(worst, probeOnce(target, identity: identity))
        }
        if worst != 0 { throw ExitCode(worst) }
    }

    private func runWatch(every seconds: Double, identity: AgentIdentity) async throws {
        let settings = ProbeSettings(
            httpTargets: targets.filter { $0.contains("://") }, pingTargets: targets.filter { !$0.contains("://") },
            interval: seconds, pingCount: count, pingInterval: interval, pingTimeout: timeout ?? min(2, seconds),
            httpTimeout: timeout ?? 10, expectStatus: expectStatus, expectBody: expectBody,
            followRedirects: !noFollow)
        let scheduler = ProbeScheduler(settings: settings, identity: identity)
        let task = Task {
            await scheduler.run { points, events in
                var out = ""
                for p in points { out += JSONValue.object(["point": p.json]).jsonString + "\n" }
                for e in events { out += JSONValue.object(["event": e.json]).jsonString + "\n" }
                writeAll(1, out)
            }
        }
        if let duration {
            try? await Task.sleep(for: .milliseconds(Int64(duration * 1000)))
            task.cancel()
        }
        await task.value
    }

    /// Probes one target once and prints it. - Returns: the exit status it deserves.
    private func probeOnce(_ target: String, identity: AgentIdentity) -> Int32 {
        let now = wallNanoseconds()
        if target.contains("://") {
            let options = HTTPProbeOptions(timeout: timeout ?? 10, expectedStatus: expectStatus,
                                           expectedBody: expectBody, followRedirects: !noFollow)
            let r = HTTPProbe(url: target, options: options).run()
            if json {
                let event = ServiceStatusEvent.make(
                    serviceName: target, url: target, up: r.isUp, responseTimes: r.isUp ? [r.phases.total] : [],
                    lossPercent: r.isUp ? 0 : 100, uptimeRatio: r.isUp ? 1 : 0, identity: identity,
                    createdMilliseconds: now / 1_000_000)
                printJSON(point: r.point(identity: identity, timeNanoseconds: now), event: event)
            } else {
                printHTTP(r)
            }
            return r.isUp ? 0 : 1
        } else {
            let r = PingProbe(target: target, options: PingOptions(count: count, interval: interval,
                                                                   timeout: timeout ?? 2)).run()
            if r.outcome != .success, let m = r.message { printError(m) }
            if json {
                let event: ClowderEvent? = r.outcome == .permission ? nil : ServiceStatusEvent.make(
                    serviceName: target, url: target, up: r.isUp, responseTimes: r.roundTripTimes,
                    lossPercent: r.percentPacketLoss, uptimeRatio: r.isUp ? 1 : 0, identity: identity,
                    createdMilliseconds: now / 1_000_000)
                printJSON(point: r.point(identity: identity, timeNanoseconds: now), event: event)
            } else {
                printPing(r)
            }
            if r.outcome == .permission { return 77 }
            return r.isUp ? 0 : 1
        }
    }

    private func printJSON(point: Point, event: ClowderEvent?) {
        print(JSONValue.object(["point": point.json, "event": event?.json ?? .null]).jsonString)
    }

    private func printHTTP(_ r: HTTPResult) {
        func s(_ v: Double) -> String { fixed(v, 6) + " s" }
        var lines: [(String, String)] = [
            ("url", r.url),
            ("result", r.outcome.rawValue),
            ("http_code", r.statusCode.map(String.init) ?? "-"),
            ("remote_ip", r.remoteAddress ?? "-"),
            ("time_namelookup", s(r.phases.dns)),
            ("time_connect", s(r.phases.connect)),
            ("time_tls", s(r.phases.tls)),
            ("time_ttfb", s(r.phases.firstByte)),
            ("time_transfer", s(r.phases.transfer)),
            ("time_total", s(r.phases.total)),
            ("size_download", "\(r.contentLength) bytes"),
            ("num_redirects", "\(r.redirects)"),
        ]
        if let e = r.tlsCertificateExpiry { lines.append(("tls_cert_expiry", fixed(e / 86400, 1) + " days")) }
        if let u = r.effectiveURL, u != r.url { lines.append(("url_effective", u)) }
        if let m = r.message { lines.append(("error", m)) }
        for (k, v) in lines { print(k.padding(16) + v) }
    }

    private func printPing(_ r: PingResult) {
        guard r.outcome == .success else { return }
        print("PING \(r.target) (\(r.address ?? "?")): \(r.transmitted) echo requests, \(r.socketKind ?? "?") socket")
        print("--- \(r.target) ping statistics ---")
        print("\(r.transmitted) packets transmitted, \(r.received) received, \(fixed(r.percentPacketLoss, 1))% packet loss")
        if let mn = r.minimumResponseMilliseconds, let av = r.averageResponseMilliseconds,
           let mx = r.maximumResponseMilliseconds, let sd = r.standardDeviationMilliseconds {
            print("rtt min/avg/max/mdev = \(fixed(mn, 3))/\(fixed(av, 3))/\(fixed(mx, 3))/\(fixed(sd, 3)) ms")
        }
    }

    private func printError(_ s: String) {
        writeAll(2, s + "\n")
    }

    private func hostName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, buf.count)
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func wallNanoseconds() -> Int64 {
        SystemClock.wallNanoseconds()
    }
}

/// Writes all of `text` to file descriptor `fd` (one `write(2)` for a short text,
/// so lines from different probe threads do not interleave).
private func writeAll(_ fd: Int32, _ text: String) {
    var text = text
    text.withUTF8 { buf in
        var off = 0
        while off < buf.count {
            let n = write(fd, buf.baseAddress! + off, buf.count - off)
            if n <= 0 { return }
            off += n
        }
    }
}

/// `v` with exactly `digits` decimals (no Foundation `String(format:)`).
private func fixed(_ v: Double, _ digits: Int) -> String {
    guard v.isFinite else { return "\(v)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(v) * scale).rounded()
    let whole = Int64(scaled / scale)
    var frac = String(Int64(scaled) - whole * Int64(scale))
    while frac.count < digits { frac = "0" + frac }
    return (v < 0 && scaled != 0 ? "-" : "") + String(whole) + (digits > 0 ? "." + frac : "")
}

extension String {
    fileprivate func padding(_ n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
}
