import Foundation
import Testing

@testable import Ingest

/// Replays the committed fuzz corpus of keys files (`Tests/Fixtures/fuzz/keys`, as in
/// `Benchmarks/fuzz/targets/keys.swift`): each parses or gives an IngestError, no crash.
@Suite struct KeysFuzzCorpusTests {
    @Test func corpus() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/fuzz/keys")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(names.count >= 2)
        var parsed = 0
        for name in names {
            do {
                _ = try KeyStore.parse(file: name, text: [UInt8](try Data(contentsOf: dir.appendingPathComponent(name))))
                parsed += 1
            } catch is IngestError {}
        }
        #expect(parsed >= 1)
    }
}
