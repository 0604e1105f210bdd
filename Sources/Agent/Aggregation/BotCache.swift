import Parsers

/// Remembers ``ClowderClassifier/isBot(_:)`` for recently seen user agents: a site sees few
/// distinct user agents, and hashing one is several times cheaper than scanning it for the bot
/// words. Direct-mapped, 256 entries, each verified byte for byte (never a wrong answer).
///
/// The slot comes from the length and four 8-byte samples of the agent (start, a quarter, the
/// middle, the end), not from all of its bytes: user agents that differ only elsewhere share a
/// slot and take turns in it (slower, never wrong), and a line costs a few loads plus one `memcmp`.
struct BotCache {
    private var hashes = [UInt32](repeating: 0, count: 256)
    private var agents = [[UInt8]](repeating: [], count: 256)
    private var answers = [Bool](repeating: false, count: 256)
    private var used = [Bool](repeating: false, count: 256)

    @inline(__always)
    mutating func isBot(_ ua: UnsafeRawBufferPointer) -> Bool {
        let h = Self.sampleHash(ua)
        let i = Int(h & 255)
        if used[i], hashes[i] == h, agents[i].count == ua.count,
           agents[i].withUnsafeBytes({ $0.count == 0 || memcmp($0.baseAddress!, ua.baseAddress!, ua.count) == 0 })
        {
            return answers[i]
        }
        let answer = ClowderClassifier.isBot(ua)
        used[i] = true
        hashes[i] = h
        agents[i] = Array(ua)
        answers[i] = answer
        return answer
    }

    @inline(__always)
    static func sampleHash(_ b: UnsafeRawBufferPointer) -> UInt32 {
        let n = b.count
        guard n >= 8 else { return ByteStringSet.hash(b) }
        var h = UInt64(n) &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ b.loadUnaligned(fromByteOffset: 0, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
        h = (h ^ b.loadUnaligned(fromByteOffset: (n - 8) / 4, as: UInt64.self)) &* 0xC4CE_B9FE_1A85_EC53
        h = (h ^ b.loadUnaligned(fromByteOffset: (n - 8) / 2, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
        h = (h ^ b.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)) &* 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 29
        h = h &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 32
        return UInt32(truncatingIfNeeded: h)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
