import Synchronization

/// A counting limit on request bodies held in memory at once
/// (`CLOWDER_INGEST_MAX_BODIES_IN_FLIGHT`): a request that finds none free is
/// answered 503 with `Retry-After` before a byte of its body is read.
public final class BodySlots: Sendable {
    /// Most bodies at once.
    public let capacity: Int
    private let used = Atomic<Int>(0)

    public init(capacity: Int) { self.capacity = capacity }

    /// Takes a slot; false when all are taken.
    public func acquire() -> Bool {
        var current = used.load(ordering: .relaxed)
        while current < capacity {
            let (exchanged, original) = used.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives a slot back.
    public func release() { used.wrappingSubtract(1, ordering: .acquiringAndReleasing) }

    /// Slots taken now.
    package var inUse: Int { used.load(ordering: .relaxed) }
}
