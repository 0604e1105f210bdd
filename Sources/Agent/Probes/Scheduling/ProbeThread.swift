#if canImport(Glibc)
import Glibc
#endif

/// Starts a detached POSIX thread running `body`.
///
/// Probes block (libcurl's easy interface, `poll` on an ICMP socket), so each
/// target runs on a thread of its own, outside Swift's cooperative pool: a slow
/// target never delays another, and never starves the async code of the agent.
/// - Returns: `false` if `pthread_create` failed.
@discardableResult
func startProbeThread(_ body: @escaping @Sendable () -> Void) -> Bool {
    final class Box { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var attr = pthread_attr_t()
    pthread_attr_init(&attr)
    defer { pthread_attr_destroy(&attr) }
    pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
    // 512 KiB is ample for libcurl + OpenSSL and keeps the address space small.
    pthread_attr_setstacksize(&attr, 512 * 1024)
    var thread = pthread_t()
    let rc = pthread_create(&thread, &attr, { raw in
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        box.body()
        return nil
    }, context)
    if rc != 0 {
        Unmanaged<Box>.fromOpaque(context).release()
        return false
    }
    return true
}
