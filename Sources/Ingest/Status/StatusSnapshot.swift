import MetricsModel

/// The status page's content at one instant (``StatusStore/snapshot(nowMilliseconds:)``),
/// and its JSON form, `GET /status.json`:
///
/// ```json
/// {"generated_ms": 1764600000000,
///  "targets": [{"service_name": "https://clowder.example.org/healthz", "verdict": "up", "verdict_period_ms": …,
///               "uptime_24h": 99.31, "uptime_30d": 99.9,        // percent, null when no period was judged
///               "regions": [{"region": "eu-west", "state": "up", "last_outcome": "up", "last_round_ms": …,
///                            "response_time": 0.123, "agent": "probe-eu-1"}],
///               "hours": [{"start_ms": …, "up": 6, "down": 0, "uptime": 100.0}, … 24],
///               "days": [{"start_ms": …, "up": 1440, "down": 0, "uptime": 100.0}, … 30]}]}
/// ```
/// `up` counts periods judged `up` or `degraded`, `down` periods judged `down`;
/// `uptime` = up ÷ (up + down) × 100.
public struct StatusSnapshot: Sendable, Hashable {
    /// One hour or day.
    public struct Bar: Sendable, Hashable {
        /// Start, epoch ms (UTC-aligned).
        public var startMilliseconds: Int64
        /// Periods judged up or degraded.
        public var up: Int
        /// Periods judged down.
        public var down: Int
        /// Percent, nil when nothing was judged.
        public var uptime: Double? { StatusSnapshot.percent(up, down) }
    }

    /// One region of a target.
    public struct Region: Sendable, Hashable {
        public var region: String
        public var agent: String
        /// `type` of its latest round: `up`, `down`, `agent_network_down` (empty when only the verdict names it).
        public var lastOutcome: String
        /// `created` of its latest round, epoch ms.
        public var lastRoundMilliseconds: Int64?
        /// Seconds, when it answered.
        public var responseTime: Double?
        /// Its state in the latest verdict: `up`, `down`, `agent_silent`, `agent_network_down`.
        public var state: String?
    }

    /// One target.
    public struct Target: Sendable, Hashable {
        public var name: String
        /// The latest verdict: `up`, `degraded`, `down`, `unknown`; nil before the first.
        public var verdict: String?
        public var verdictPeriodMilliseconds: Int64?
        public var regions: [Region] = []
        public var hours: [Bar] = []
        public var days: [Bar] = []
        init(name: String) { self.name = name }

        /// Percent over the 24 hourly bars.
        public var uptime24h: Double? { StatusSnapshot.percent(hours.reduce(0) { $0 + $1.up }, hours.reduce(0) { $0 + $1.down }) }
        /// Percent over the 30 daily bars.
        public var uptime30d: Double? { StatusSnapshot.percent(days.reduce(0) { $0 + $1.up }, days.reduce(0) { $0 + $1.down }) }
    }

    /// When it was taken, epoch ms.
    public var generatedMilliseconds: Int64
    /// Sorted by name.
    public var targets: [Target]

    static func percent(_ up: Int, _ down: Int) -> Double? {
        up + down == 0 ? nil : Double(up) / Double(up + down) * 100
    }

    /// The JSON described above.
    public var json: JSONValue {
        func opt(_ d: Double?) -> JSONValue { d.map { .double($0) } ?? .null }
        func bars(_ b: [Bar]) -> JSONValue {
            .array(b.map { ["start_ms": .int($0.startMilliseconds), "up": .int(Int64($0.up)), "down": .int(Int64($0.down)), "uptime": opt($0.uptime)] })
        }
        return [
            "generated_ms": .int(generatedMilliseconds),
            "targets": .array(targets.map { t in
                [
                    "service_name": .string(t.name), "verdict": t.verdict.map { .string($0) } ?? .null,
                    "verdict_period_ms": t.verdictPeriodMilliseconds.map { .int($0) } ?? .null,
                    "uptime_24h": opt(t.uptime24h), "uptime_30d": opt(t.uptime30d),
                    "regions": .array(t.regions.map { r in
                        [
                            "region": .string(r.region), "agent": .string(r.agent), "state": r.state.map { .string($0) } ?? .null,
                            "last_outcome": .string(r.lastOutcome), "last_round_ms": r.lastRoundMilliseconds.map { .int($0) } ?? .null,
                            "response_time": opt(r.responseTime),
                        ]
                    }),
                    "hours": bars(t.hours), "days": bars(t.days),
                ]
            }),
        ]
    }
}
