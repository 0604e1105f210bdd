import Agent
import Foundation
import Testing

/// Replays the committed fuzz corpus of settings files (`Tests/Fixtures/fuzz/settings`; the first byte picks
/// YAML when odd, as in `Benchmarks/fuzz/targets/settings.swift`): each gives entries or a ConfigError, no crash.
@Suite struct SettingsFuzzCorpusTests {
    @Test func corpus() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/fuzz/settings")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(names.count >= 2)
        var read = 0
        for name in names {
            let input = [UInt8](try Data(contentsOf: dir.appendingPathComponent(name)))
            guard let first = input.first else { continue }
            let text = String(decoding: input.dropFirst(), as: UTF8.self)
            do {
                _ = try SettingsFile(path: first & 1 == 1 ? "agent.yaml" : "agent.env", text: text)
                read += 1
            } catch is ConfigError {}
        }
        #expect(read >= 2)
    }
}
