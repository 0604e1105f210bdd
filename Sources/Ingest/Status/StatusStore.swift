import MetricsModel
import Sinks
import Storage
import Synchronization

/// What the status page shows, kept in a small SQLite file per ingest replica
/// and derived only from the stream the ingest publishes to (see ``StatusFeed``):
/// each region's latest round per target (from the agents' `service_status`
/// events) and each period's verdict (from the `service_verdict` points of
/// `clowder-sink verdicts`).
///
/// Tables: `status_rounds (target, region)` → latest round (a newer `created`
/// replaces it, an older one never does); `status_verdicts (target, period_ms)`
/// → verdict, written with `INSERT OR REPLACE`, so the same verdict published by
/// several verdict replicas (one `message_id`) is one row. Verdicts older than
/// 31 days are deleted; at most ``maxTargets`` targets and ``maxRegions``
/// regions per target are kept (rounds beyond are counted in ``refused``), so
/// the file stays small whatever agents send: 31 days × 1 440 periods × targets rows.
///
/// Uptime (``StatusSnapshot``): the share of periods whose verdict was `up` or
/// `degraded` (the site answered from most regions) among the periods judged
/// `up`, `degraded` or `down`; `unknown` periods (no region reporting) count
/// neither way. The 24 h figure covers 24 UTC hours (the current one
/// included), the 30 d figure 30 UTC days (today included); each bar is one
/// hour or one day, `nil` when no period was judged in it.
///
/// Thread-safe: one connection behind a mutex.
public final class StatusStore: Sendable {
    /// The SQLite file.
    public let path: String
    /// Most targets kept.
    public let maxTargets: Int
    /// Most regions kept per target.
    public let maxRegions: Int
    private let db: Mutex<SQLiteDatabase>
    private let refusedCount = Atomic<Int>(0)

    /// Opens (creates) the file.
    /// - Throws: `SQLiteError` when it cannot be opened.
    public init(path: String, maxTargets: Int = 1000, maxRegions: Int = 100) throws {
        self.path = path
        self.maxTargets = maxTargets
        self.maxRegions = maxRegions
        let d = try SQLiteDatabase(path: path, wal: path != ":memory:", synchronous: "NORMAL")
        try d.execute("""
            CREATE TABLE IF NOT EXISTS status_rounds (
              target TEXT NOT NULL, region TEXT NOT NULL, agent TEXT NOT NULL, outcome TEXT NOT NULL,
              created_ms INTEGER NOT NULL, response_time REAL, PRIMARY KEY (target, region));
            CREATE TABLE IF NOT EXISTS status_verdicts (
              target TEXT NOT NULL, period_ms INTEGER NOT NULL, verdict TEXT NOT NULL,
              up_regions TEXT NOT NULL, down_regions TEXT NOT NULL, silent_regions TEXT NOT NULL,
              network_down_regions TEXT NOT NULL, PRIMARY KEY (target, period_ms));
            """)
        db = Mutex(d)
    }

    /// Rounds or verdicts refused by the bounds.
    public var refused: Int { refusedCount.load(ordering: .relaxed) }

    /// Keeps `round` unless an equal or newer one is there.
    /// - Throws: `SQLiteError`.
    public func record(_ round: RegionRound) throws {
        try db.withLock { d in
            let known = try d.query("SELECT created_ms FROM status_rounds WHERE target = ? AND region = ?",
                                    .text(round.target), .text(round.region))
            if let c = known.first?[0].integer {
                guard round.createdMilliseconds > c else { return }
            } else {
                let regions = try d.query("SELECT COUNT(*) FROM status_rounds WHERE target = ?", .text(round.target))
                let targets = try d.query("SELECT COUNT(DISTINCT target) FROM status_rounds")
                let newTarget = (regions.first?[0].integer ?? 0) == 0
                if (regions.first?[0].integer ?? 0) >= Int64(maxRegions) || (newTarget && (targets.first?[0].integer ?? 0) >= Int64(maxTargets)) {
                    refusedCount.add(1, ordering: .relaxed)
                    return
                }
            }
            try d.run("INSERT OR REPLACE INTO status_rounds VALUES (?, ?, ?, ?, ?, ?)",
                      .text(round.target), .text(round.region), .text(round.agent), .text(round.outcome.rawValue),
                      .integer(round.createdMilliseconds), round.responseTime.map { .real($0) } ?? .null)
        }
    }

    /// Keeps a `service_verdict` point (see `ServiceVerdict.point`); other points are ignored.
    /// - Returns: whether it was one.
    /// - Throws: `SQLiteError`.
    @discardableResult
    public func record(verdict p: Point) throws -> Bool {
        guard p.measurement == "service_verdict", let target = p.tags["service_name"], let verdict = p.tags["verdict"],
              ServiceVerdict.Verdict(rawValue: verdict) != nil else { return false }
        func s(_ k: String) -> SQLiteValue { .text(p.fields[k]?.stringValue ?? "") }
        let period = p.timeNanoseconds / 1_000_000
        try db.withLock { d in
            let known = try d.query("SELECT COUNT(DISTINCT target), SUM(target = ?) FROM status_verdicts WHERE period_ms >= ?",
                                    .text(target), .integer(period - 86_400_000))
            if (known.first?[1].integer ?? 0) == 0 && (known.first?[0].integer ?? 0) >= Int64(maxTargets) {
                refusedCount.add(1, ordering: .relaxed)
                return
            }
            try d.run("INSERT OR REPLACE INTO status_verdicts VALUES (?, ?, ?, ?, ?, ?, ?)",
                      .text(target), .integer(period), .text(verdict), s("up_regions"), s("down_regions"),
                      s("silent_regions"), s("network_down_regions"))
        }
        return true
    }

    /// Deletes verdicts older than 31 days before `nowMilliseconds`.
    /// - Throws: `SQLiteError`.
    public func prune(nowMilliseconds: Int64) throws {
        _ = try db.withLock { try $0.run("DELETE FROM status_verdicts WHERE period_ms < ?", .integer(nowMilliseconds - 31 * 86_400_000)) }
    }

    /// Everything the page shows, as of `nowMilliseconds`.
    /// - Throws: `SQLiteError`.
    public func snapshot(nowMilliseconds now: Int64) throws -> StatusSnapshot {
        let hour: Int64 = 3_600_000, day: Int64 = 86_400_000
        let hourStart = now / hour * hour - 23 * hour
        let dayStart = now / day * day - 29 * day
        return try db.withLock { d in
            var targets: [String: StatusSnapshot.Target] = [:]
            for r in try d.query("SELECT target, region, agent, outcome, created_ms, response_time FROM status_rounds") {
                let t = r[0].text ?? ""
                targets[t, default: .init(name: t)].regions.append(.init(
                    region: r[1].text ?? "", agent: r[2].text ?? "", lastOutcome: r[3].text ?? "",
                    lastRoundMilliseconds: r[4].integer ?? 0, responseTime: r[5].real))
            }
            for r in try d.query("""
                SELECT v.target, v.period_ms, v.verdict, v.up_regions, v.down_regions, v.silent_regions, v.network_down_regions
                FROM status_verdicts v JOIN (SELECT target, MAX(period_ms) AS p FROM status_verdicts GROUP BY target) l
                ON v.target = l.target AND v.period_ms = l.p
                """) {
                let t = r[0].text ?? ""
                var entry = targets[t] ?? .init(name: t)
                entry.verdict = r[2].text
                entry.verdictPeriodMilliseconds = r[1].integer
                func list(_ v: SQLiteValue) -> [String] { (v.text ?? "").split(separator: ",").map(String.init) }
                var states: [String: String] = [:]
                for x in list(r[3]) { states[x] = "up" }
                for x in list(r[4]) { states[x] = "down" }
                for x in list(r[5]) { states[x] = "agent_silent" }
                for x in list(r[6]) { states[x] = "agent_network_down" }
                for region in states.keys where !entry.regions.contains(where: { $0.region == region }) {
                    entry.regions.append(.init(region: region, agent: "", lastOutcome: "", lastRoundMilliseconds: nil, responseTime: nil))
                }
                for i in entry.regions.indices { entry.regions[i].state = states[entry.regions[i].region] }
                targets[t] = entry
            }
            func bars(_ start: Int64, _ width: Int64, _ count: Int) throws -> [String: [StatusSnapshot.Bar]] {
                var out: [String: [StatusSnapshot.Bar]] = [:]
                for r in try d.query("""
                    SELECT target, (period_ms - ?) / ? AS b, SUM(verdict IN ('up','degraded')), SUM(verdict = 'down')
                    FROM status_verdicts WHERE period_ms >= ? AND period_ms < ? GROUP BY target, b
                    """, .integer(start), .integer(width), .integer(start), .integer(start + width * Int64(count))) {
                    let t = r[0].text ?? ""
                    if out[t] == nil {
                        out[t] = (0..<count).map { StatusSnapshot.Bar(startMilliseconds: start + Int64($0) * width, up: 0, down: 0) }
                    }
                    let b = Int(r[1].integer ?? 0)
                    out[t]![b].up = Int(r[2].integer ?? 0)
                    out[t]![b].down = Int(r[3].integer ?? 0)
                }
                return out
            }
            let hours = try bars(hourStart, hour, 24), days = try bars(dayStart, day, 30)
            for name in Set(hours.keys).union(days.keys).union(targets.keys) {
                var entry = targets[name] ?? .init(name: name)
                entry.hours = hours[name] ?? (0..<24).map { .init(startMilliseconds: hourStart + Int64($0) * hour, up: 0, down: 0) }
                entry.days = days[name] ?? (0..<30).map { .init(startMilliseconds: dayStart + Int64($0) * day, up: 0, down: 0) }
                entry.regions.sort { $0.region < $1.region }
                targets[name] = entry
            }
            return StatusSnapshot(generatedMilliseconds: now, targets: targets.values.sorted { $0.name < $1.name })
        }
    }
}
