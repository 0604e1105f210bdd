/// The latest round per target and region, and the verdicts they give.
///
/// Pure state, no clock of its own: every decision is made at a time the
/// caller gives, from the rounds' own `created` times, so replicas that saw
/// the same rounds give the same verdicts (see ``VerdictService``).
///
/// Bounded: at most ``maxPairs`` (target, region) pairs are kept; a round for
/// a new pair beyond that is refused and counted in ``refusedPairs``. Pairs
/// whose latest round is older than ``VerdictPolicy/forgetAfter`` are dropped
/// at each evaluation.
///
/// ```swift
/// var board = VerdictBoard(policy: VerdictPolicy())
/// board.record(round)
/// let verdicts = board.verdicts(periodStart: 1_700_000_000_000, periodEnd: 1_700_000_060_000)
/// ```
public struct VerdictBoard: Sendable {
    /// The rule.
    public let policy: VerdictPolicy
    /// Most (target, region) pairs kept.
    public let maxPairs: Int
    /// Rounds refused because ``maxPairs`` was reached.
    public private(set) var refusedPairs: Int = 0
    /// target → region → latest round.
    public private(set) var latest: [String: [String: RegionRound]] = [:]
    private var pairs = 0

    /// - Parameters:
    ///   - policy: the quorum and times.
    ///   - maxPairs: most (target, region) pairs kept (default 10 000).
    public init(policy: VerdictPolicy, maxPairs: Int = 10_000) {
        self.policy = policy
        self.maxPairs = maxPairs
    }

    /// Keeps `round` when it is newer than the region's latest for its target.
    /// - Returns: false when it was older, or refused by the bound.
    @discardableResult
    public mutating func record(_ round: RegionRound) -> Bool {
        if let old = latest[round.target]?[round.region] {
            guard round.createdMilliseconds >= old.createdMilliseconds else { return false }
        } else {
            guard pairs < maxPairs else {
                refusedPairs += 1
                return false
            }
            pairs += 1
        }
        latest[round.target, default: [:]][round.region] = round
        return true
    }

    /// Each known target's verdict for the period `[periodStart, periodEnd)` (epoch ms):
    /// per region the latest round created before `periodEnd`; a region whose
    /// latest round is more than ``VerdictPolicy/silentAfter`` before `periodEnd`
    /// is `agent_silent`. Forgets pairs older than ``VerdictPolicy/forgetAfter``.
    ///
    /// A round created at or after `periodEnd` belongs to a later period; the
    /// board keeps only the latest round, so such a region counts with that
    /// round (a replica evaluating late sees the newer state, never an older one).
    public mutating func verdicts(periodStart: Int64, periodEnd: Int64) -> [ServiceVerdict] {
        let silentMs = Int64(policy.silentAfter * 1000)
        let forgetMs = Int64(policy.forgetAfter * 1000)
        var out: [ServiceVerdict] = []
        for (target, regions) in latest.sorted(by: { $0.key < $1.key }) {
            var states: [String: ServiceVerdict.RegionState] = [:]
            for (region, round) in regions {
                if periodEnd - round.createdMilliseconds > forgetMs {
                    latest[target]?[region] = nil
                    pairs -= 1
                    continue
                }
                if periodEnd - round.createdMilliseconds > silentMs {
                    states[region] = .agentSilent
                } else {
                    switch round.outcome {
                    case .up: states[region] = .up
                    case .down: states[region] = .down
                    case .agentNetworkDown: states[region] = .agentNetworkDown
                    }
                }
            }
            if latest[target]?.isEmpty == true { latest[target] = nil }
            if states.isEmpty { continue }
            out.append(ServiceVerdict(
                target: target, periodStartMilliseconds: periodStart, regions: states, quorum: policy.quorum,
                verdict: ServiceVerdict.decide(states, quorum: policy.quorum)))
        }
        return out
    }
}
