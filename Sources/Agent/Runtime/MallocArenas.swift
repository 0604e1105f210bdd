#if canImport(Glibc)
import Glibc
#endif

/// Caps glibc's malloc arenas for the agent's process.
///
/// glibc gives threads their own malloc arenas, up to 8 per core, each with heap pages of its own
/// that stay resident; the agent runs a thread per probe target besides Swift's pool, and never
/// allocates enough in parallel to need them. Two arenas measured about 1 MB less anonymous memory
/// under the footprint load (Benchmarks/footprint/RESULTS.md).
///
/// `mallopt(M_ARENA_MAX, n)` (mallopt(3); `M_ARENA_MAX` is -8 in glibc's `<malloc.h>`), looked up
/// with `dlsym` because Swift's Glibc module does not carry `<malloc.h>`. Does nothing when the
/// environment sets `MALLOC_ARENA_MAX` (glibc's own tunable, which then wins), on a C library
/// without `mallopt`, or for `n < 1`. Call it before starting threads: it limits arenas created
/// afterwards.
public enum MallocArenas {
    /// The agent's default cap (2: the main thread's arena and one shared by every other thread).
    public static let defaultMaximum = 2

    /// - Returns: whether the cap was set.
    @discardableResult
    public static func limit(to n: Int = defaultMaximum) -> Bool {
        #if canImport(Glibc)
        guard n >= 1, getenv("MALLOC_ARENA_MAX") == nil, let sym = dlsym(nil, "mallopt") else { return false }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mallopt = unsafeBitCast(sym, to: Mallopt.self)
        let M_ARENA_MAX: Int32 = -8
        return mallopt(M_ARENA_MAX, Int32(clamping: n)) == 1
        #else
        return false
        #endif
    }
}
