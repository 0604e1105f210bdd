import Parsers

/// Remembers ``ClowderClassifier/isBot(_:)`` for recently seen user agents: a site sees few
/// distinct user agents, and hashing one is several times cheaper than scanning it for the bot
/// words. Direct-mapped, 256 entries, each verified byte for byte (never a wrong answer).
struct BotCache {
    private var hashes = [UInt32](repeating: 0, count: 256)
    private var agents = [[UInt8]](repeating: [], count: 256)
    private var answers = [Bool](repeating: false, count: 256)
    private var used = [Bool](repeating: false, count: 256)

    @inline(__always)
    mutating func isBot(_ ua: UnsafeRawBufferPointer) -> Bool {
        let h = ByteStringSet.hash(ua)
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
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
