/// How regions' rounds become a verdict (issue 13, item 2).
///
/// A region *reports* when its latest round is `up` or `down`; a region whose
/// latest round is `agent_network_down`, or whose latest round is older than
/// ``silentAfter`` (`agent_silent`), is *unknown* and never counts as up.
/// With `d` reporting regions down and `r` reporting:
/// - `down` when `d ≥ quorum`, or `d == r` and `r > 0` (every reporting region sees it down);
/// - `degraded` when `0 < d` below that;
/// - `up` when `d == 0` and `r > 0`;
/// - `unknown` when no region reports (a dead probe is never read as a healthy site).
///
/// ```swift
/// let policy = VerdictPolicy(quorum: 2, silentAfter: 120)
/// ```
public struct VerdictPolicy: Sendable, Hashable {
    /// Regions that must see a target down for the verdict `down` (default 2).
    public var quorum: Int
    /// Seconds after its latest round that a region becomes `agent_silent` (default 120).
    public var silentAfter: Double
    /// Seconds after its latest round that a region is forgotten for a target
    /// (no longer listed, not even as silent; default 86 400).
    public var forgetAfter: Double

    /// - Parameters: see the properties.
    public init(quorum: Int = 2, silentAfter: Double = 120, forgetAfter: Double = 86_400) {
        self.quorum = max(1, quorum)
        self.silentAfter = silentAfter
        self.forgetAfter = max(forgetAfter, silentAfter)
    }
}
