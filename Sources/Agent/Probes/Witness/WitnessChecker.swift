import Synchronization

/// Checks the agent's own way out when a probe round fails: a round whose
/// target failed while *none* of the witnesses answered either is
/// `agent_network_down`, not `down` (issue 13, item 1; Clowder's own
/// healthmonitor pings a well-known outside host for the same reason).
///
/// Witnesses are tried in order and the check stops at the first that answers,
/// so a healthy network costs one answer. Each witness gets ``timeout`` seconds.
/// The report is shared by every probe thread for ``reuse`` seconds, so that
/// several targets failing in the same instant check the network once (a
/// thread that finds no fresh report checks on its own; two may overlap, which
/// costs a second check, never a wrong answer).
///
/// With no witnesses configured every failure is `down`, as before.
///
/// ```swift
/// let checker = WitnessChecker(witnesses: [.dns(host: "192.0.2.53", port: 53)], timeout: 3)
/// if !checker.report().reachable { /* the round is agent_network_down */ }
/// ```
public final class WitnessChecker: Sendable {
    /// What one check found.
    public struct Report: Sendable, Hashable {
        /// Whether at least one witness answered (always true with no witnesses).
        public var reachable: Bool
        /// Each witness tried, in order, with what happened (e.g. `refused`, `no answer within 3.0 s`).
        public var results: [(witness: WitnessTarget, answered: Bool, detail: String)]

        public static func == (a: Report, b: Report) -> Bool {
            a.reachable == b.reachable && a.results.map(\.witness) == b.results.map(\.witness)
                && a.results.map(\.answered) == b.results.map(\.answered)
        }
        public func hash(into h: inout Hasher) {
            h.combine(reachable)
            h.combine(results.map(\.witness))
        }
        /// One line for the log, e.g. `dns://10.0.0.53:53: no answer within 3.0 s; https://…: …`.
        public var summary: String {
            results.map { "\($0.witness): \($0.detail)" }.joined(separator: "; ")
        }
    }

    /// The witnesses, in the order they are tried.
    public let witnesses: [WitnessTarget]
    /// Seconds each witness may take to answer.
    public let timeout: Double
    /// Seconds a report is reused by other failing rounds.
    public let reuse: Double
    private let last = Mutex<(time: Int64, report: Report)?>(nil)

    /// - Parameters:
    ///   - witnesses: tried in order; empty disables witness checks.
    ///   - timeout: seconds per witness (default 3).
    ///   - reuse: seconds a report is shared with other rounds (default 2).
    public init(witnesses: [WitnessTarget], timeout: Double = 3, reuse: Double = 2) {
        self.witnesses = witnesses
        self.timeout = timeout
        self.reuse = reuse
    }

    /// Checks the witnesses (or returns a report younger than ``reuse`` seconds).
    /// Blocks the calling thread up to `timeout` × witnesses seconds.
    public func report() -> Report {
        if witnesses.isEmpty { return Report(reachable: true, results: []) }
        let now = ProbeClock.monotonicNanoseconds()
        if let l = last.withLock({ $0 }), now - l.time <= ProbeClock.nanoseconds(reuse) { return l.report }
        var results: [(witness: WitnessTarget, answered: Bool, detail: String)] = []
        var reachable = false
        for w in witnesses {
            let (ok, detail) = Self.check(w, timeout: timeout)
            results.append((w, ok, detail))
            if ok { reachable = true; break }
        }
        let r = Report(reachable: reachable, results: results)
        last.withLock { $0 = (ProbeClock.monotonicNanoseconds(), r) }
        return r
    }

    /// One witness: whether it answered, and how.
    static func check(_ w: WitnessTarget, timeout: Double) -> (Bool, String) {
        switch w {
        case .tcp(let h, let p): return WitnessSockets.tcp(host: h, port: p, timeout: timeout)
        case .dns(let h, let p): return WitnessSockets.dns(host: h, port: p, timeout: timeout)
        case .http(let url):
            let probe = HTTPProbe(url: url, options: HTTPProbeOptions(timeout: timeout, followRedirects: false))
            let r = probe.run()
            if let s = r.statusCode { return (true, "HTTP \(s)") }
            if r.outcome == .tlsError { return (true, "TLS handshake failed (the host answered)") }
            return (false, "\(r.outcome.rawValue): \(r.message ?? "")")
        }
    }
}
