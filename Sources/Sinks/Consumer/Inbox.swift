import Synchronization

/// A buffer between the broker's delivery stream and the batching loop,
/// with a receive that gives up at a deadline (the batch's maximum delay)
/// and can be woken for shutdown.
///
/// One consumer calls ``next(timeout:)`` at a time; any task may ``push(_:)``.
final class Inbox<Element: Sendable>: Sendable {
    private struct State {
        var items: [Element] = []
        var head = 0
        var waiter: (id: UInt64, continuation: CheckedContinuation<Element?, Never>)?
        var nextID: UInt64 = 0
        var closed = false
        var woken = false
        /// The id of a receive whose timer fired before it started waiting.
        var expiredID: UInt64 = 0
    }

    private let state = Mutex(State())

    private enum Fast {
        case element(Element)
        case none
        case wait(UInt64)
    }

    init() {}

    /// Adds an element, handing it straight to a waiting receiver if there is one.
    func push(_ e: Element) {
        let w = state.withLock { s -> CheckedContinuation<Element?, Never>? in
            if let w = s.waiter {
                s.waiter = nil
                return w.continuation
            }
            s.items.append(e)
            return nil
        }
        w?.resume(returning: e)
    }

    /// No more elements will come: a waiting or later receive returns nil once the buffer is empty.
    func close() {
        let w = state.withLock { s -> CheckedContinuation<Element?, Never>? in
            s.closed = true
            defer { s.waiter = nil }
            return s.waiter?.continuation
        }
        w?.resume(returning: nil)
    }

    /// Makes the current (or next) empty-buffer receive return nil at once.
    func wake() {
        let w = state.withLock { s -> CheckedContinuation<Element?, Never>? in
            if let w = s.waiter {
                s.waiter = nil
                return w.continuation
            }
            s.woken = true
            return nil
        }
        w?.resume(returning: nil)
    }

    /// True after ``close()`` once the buffer is drained.
    var isFinished: Bool { state.withLock { $0.closed && $0.head == $0.items.count } }

    /// Elements buffered.
    var count: Int { state.withLock { $0.items.count - $0.head } }

    /// The next element, or nil after `timeout` seconds, after ``wake()`` or once closed and empty.
    func next(timeout: Double) async -> Element? {
        let fast = state.withLock { s -> Fast in
            if s.head < s.items.count {
                let e = s.items[s.head]
                s.head += 1
                if s.head > 4096, s.head * 2 > s.items.count {
                    s.items.removeFirst(s.head)
                    s.head = 0
                }
                return .element(e)
            }
            if s.closed || s.woken || timeout <= 0 {
                s.woken = false
                return .none
            }
            s.nextID += 1
            return .wait(s.nextID)
        }
        switch fast {
        case .element(let e): return e
        case .none: return nil
        case .wait(let id):
            let timer = Task {
                try? await Task.sleep(for: .seconds(timeout))
                let w = self.state.withLock { s -> CheckedContinuation<Element?, Never>? in
                    guard let w = s.waiter, w.id == id else {
                        s.expiredID = id
                        return nil
                    }
                    s.waiter = nil
                    return w.continuation
                }
                w?.resume(returning: nil)
            }
            defer { timer.cancel() }
            return await withCheckedContinuation { (c: CheckedContinuation<Element?, Never>) in
                let immediate = state.withLock { s -> Element?? in
                    if s.head < s.items.count {
                        let e = s.items[s.head]
                        s.head += 1
                        return .some(e)
                    }
                    if s.closed || s.woken || s.expiredID == id {
                        s.woken = false
                        return .some(nil)
                    }
                    s.waiter = (id, c)
                    return nil
                }
                if let immediate { c.resume(returning: immediate) }
            }
        }
    }
}
