import Foundation
import MetricsModel

@testable import Agent

enum Samples {
    static let agent = AgentIdentity(id: "test-agent", host: "test-host", region: "test-region", version: "0.1.0")
    static let secret = Array("delivery test secret, 32 bytes!!".utf8)
    static let keyID = "test-agent"

    /// A point whose `seq` field is `n`; `padding` adds that many random
    /// (incompressible) characters in a string field.
    static func point(_ n: Int, padding: Int = 0) -> Point {
        var fields: [String: JSONValue] = ["seq": .int(Int64(n)), "requests": .int(Int64(n % 7)), "request_time_p50": .double(0.25)]
        if padding > 0 {
            // xorshift64 over a random seed: fast, and incompressible enough for gzip.
            let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/".utf8)
            var x = UInt64.random(in: 1...UInt64.max)
            var bytes = [UInt8](repeating: 0, count: padding)
            for i in 0..<padding {
                x ^= x << 13
                x ^= x >> 7
                x ^= x << 17
                bytes[i] = alphabet[Int(x & 63)]
            }
            fields["padding"] = .string(String(decoding: bytes, as: UTF8.self))
        }
        return Point(measurement: "nginx_access", tags: ["vhost": "example.org"], fields: fields,
                     timeNanoseconds: 1_732_900_000_000_000_000 + Int64(n) * 60_000_000_000)
    }

    /// A batch with id `test-<n>`-style UUID and `points` points.
    static func batch(_ n: Int, points: Int = 3, padding: Int = 0) -> Batch {
        Batch(id: Batcher.uuidV4(), created: 1_732_900_000_000 + Int64(n), agent: agent,
              points: (0..<points).map { point(n * 1000 + $0, padding: padding) }, events: [])
    }

    /// Writes the API key file and returns a configuration for `receiver`.
    static func configuration(_ dir: URL, ingestURL: String, maxBytes: Int64 = 64 << 20) throws -> DeliveryConfiguration {
        let keyFile = dir.appendingPathComponent("api-key")
        try (String(decoding: secret, as: UTF8.self) + "\n").write(to: keyFile, atomically: true, encoding: .utf8)
        var c = DeliveryConfiguration(
            ingestURL: ingestURL, apiKeyID: keyID, apiKeyFile: keyFile.path,
            spoolPath: dir.appendingPathComponent("spool.db").path)
        c.spoolMaxBytes = maxBytes
        c.retryInitial = 0.05
        c.retryMax = 0.5
        c.requestTimeout = 10
        return c
    }
}
