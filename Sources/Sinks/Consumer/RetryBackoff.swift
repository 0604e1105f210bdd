import SystemSupport

/// The sink runner's retry pause: SystemSupport's full-jitter ``Backoff`` starting at 0.2 s,
/// never under 0.05 s (the n-th retry waits a random time in [0.05, min(cap, 0.2·2ⁿ⁻¹)]).
typealias RetryBackoff = Backoff

extension Backoff {
    /// The sink runner's backoff, capped at `cap` seconds.
    init(cap: Double) { self.init(initial: 0.2, cap: cap, floor: 0.05) }

    /// Retries so far (0 before the first failure).
    var attempt: Int { failures }
}
