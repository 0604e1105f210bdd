import MetricsModel
import Synchronization

/// Points and events handed over from the probe threads to the collector loop.
final class ProbeQueue: Sendable {
    private let items = Mutex<([Point], [ClowderEvent])>(([], []))

    /// Adds one round's output (called from probe threads).
    func append(_ points: [Point], _ events: [ClowderEvent]) {
        items.withLock {
            $0.0.append(contentsOf: points)
            $0.1.append(contentsOf: events)
        }
    }

    /// Takes everything queued so far.
    func drain() -> ([Point], [ClowderEvent]) {
        items.withLock {
            let taken = $0
            $0 = ([], [])
            return taken
        }
    }
}
