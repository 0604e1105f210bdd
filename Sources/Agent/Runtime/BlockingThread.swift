#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking work (file reads, SQLite, libcurl) on its own POSIX thread,
/// off Swift's cooperative pool, and lets async code await its end.
enum BlockingThread {
    final class Box: @unchecked Sendable {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Starts `body` on a new detached thread and returns when it has finished.
    static func run(_ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let box = Box {
                body()
                continuation.resume()
            }
            var thread = pthread_t()
            let unmanaged = Unmanaged.passRetained(box)
            let rc = pthread_create(&thread, nil, { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                box.body()
                return nil
            }, unmanaged.toOpaque())
            if rc != 0 {
                unmanaged.release()
                body()
                continuation.resume()
            } else {
                pthread_detach(thread)
            }
        }
    }
}
