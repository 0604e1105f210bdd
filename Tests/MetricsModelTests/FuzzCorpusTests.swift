import Foundation
import MetricsModel
import Testing

/// Replays the committed fuzz corpus (`Tests/Fixtures/fuzz/json` and `…/signature`, seeds plus what
/// `Benchmarks/fuzz/run.sh` found) through the same calls as the fuzz targets: none may crash.
@Suite struct FuzzCorpusTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz")

    static func inputs(_ target: String) throws -> [[UInt8]] {
        let dir = root.appendingPathComponent(target)
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().map {
            [UInt8](try Data(contentsOf: dir.appendingPathComponent($0)))
        }
    }

    @Test func jsonCorpus() throws {
        let inputs = try Self.inputs("json")
        #expect(inputs.count >= 5)
        var decoded = 0
        for bytes in inputs {
            if let v = try? JSONValue(parsing: bytes) {
                #expect((try? JSONValue(parsing: v.jsonBytes)) != nil)
                _ = try? Batch(json: v)
                _ = try? ClowderEvent(json: v)
                _ = try? Point(json: v)
            }
            if (try? MetricsMessage.decode(bytes)) != nil { decoded += 1 }
        }
        #expect(decoded >= 1)
    }

    @Test func signatureCorpus() throws {
        let inputs = try Self.inputs("signature")
        #expect(inputs.count >= 2)
        let verifier = HTTPMessageVerifier(allowedSkew: 300) { id in id == "agent-1" ? Array("secret".utf8) : nil }
        for bytes in inputs {
            let parts = String(decoding: bytes, as: UTF8.self).split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false)
            let headers = zip(["signature-input", "signature", "content-digest", "idempotency-key"], parts).map {
                (name: $0, value: String($1))
            }
            // Refused (these are not valid signatures), and without a crash.
            #expect(throws: ModelError.self) {
                try verifier.verify(
                    method: "POST", targetURI: "https://ingest.example.org/v1/batches", headers: headers,
                    body: Array("{}".utf8), now: 1_795_953_600)
            }
        }
    }
}
