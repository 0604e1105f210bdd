@testable import Agent
import Foundation
import Testing

/// The agent's settings examples: every key of ConfigKeys documented with its
/// default, and each example accepted by the agent's own configuration loader
/// (and by `clowder-agent check` when the build has it).
@Suite("Agent env examples")
struct AgentEnvExampleTests {
    /// Every agent settings file shipped under deploy/ (the k8s ConfigMap's is extracted separately).
    static let examples = ["deploy/agent.env.example", "deploy/agent-region.env.example", "deploy/docker/env/agent.env"]
    /// The two documented examples, which must list every key.
    static let documented = ["deploy/agent.env.example", "deploy/agent-region.env.example"]

    /// A key file standing in for /etc/clowder-metrics/agent.key (the environment wins over the file).
    static func withKeyFile<T>(_ body: (String) async throws -> T) async throws -> T {
        let dir = try Repo.temporaryDirectory("agent-key")
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = dir.appendingPathComponent("agent.key")
        try Data("demo-secret-not-for-production\n".utf8).write(to: key)
        return try await body(key.path)
    }

    @Test("every setting of ConfigKeys is documented in place with its default", arguments: documented)
    func everyKeyDocumented(_ path: String) throws {
        let lines = try Repo.text(path).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for setting in ConfigKeys.all {
            let index = lines.firstIndex { $0.hasPrefix(setting.key + "=") || $0.hasPrefix("# " + setting.key + "=") }
            guard let index else {
                Issue.record("\(path): \(setting.key) is missing; run python3 deploy/tools/gen-agent-env-examples.py")
                continue
            }
            let doc = index > 0 ? lines[index - 1] : ""
            let def = setting.defaultValue.isEmpty ? "unset" : setting.defaultValue
            #expect(doc.hasPrefix("# ") && doc.hasSuffix("Default: \(def)"), "\(path):\(index): \(setting.key) needs its help and default, found \(doc)")
            if lines[index].hasPrefix("# ") {
                #expect(lines[index] == "# \(setting.key)=\(setting.defaultValue)", "\(path):\(index + 1): a commented key shows its default")
            }
        }
        for line in lines where line.hasPrefix("CLOWDER_METRICS_") || line.hasPrefix("# CLOWDER_METRICS_") {
            let key = String(line.drop(while: { $0 == "#" || $0 == " " }).prefix { $0 != "=" })
            #expect(ConfigKeys.setting(key) != nil, "\(path): \(key) is not a setting of ConfigKeys")
        }
    }

    @Test("AgentConfiguration.load accepts the example", arguments: examples)
    func loads(_ path: String) async throws {
        let file = Repo.root.appendingPathComponent(path).path
        try await Self.withKeyFile { key in
            let (config, warnings) = try await AgentConfiguration.load(
                envFile: file, environment: ["CLOWDER_METRICS_API_KEY_FILE": key])
            #expect(warnings.isEmpty, "\(path): \(warnings)")
            #expect(config.tailsLogs || config.probes)
            if path.contains("region") {
                #expect(!config.tailsLogs, "the region example is probe-only")
                #expect(!config.pingTargets.isEmpty && !config.httpTargets.isEmpty)
            } else {
                #expect(config.tailsLogs && config.logFormat == "clowder_metrics")
                #expect(config.stubStatusURL != nil)
            }
        }
    }

    @Test("the Kubernetes ConfigMap's agent.env is accepted too")
    func kubernetesConfigMap() async throws {
        let text = try KubernetesManifest.blockScalar(in: "deploy/k8s/clowder-agent-sidecar.yaml", key: "agent.env")
        let dir = try Repo.temporaryDirectory("k8s-env")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("agent.env")
        try Data(text.utf8).write(to: file)
        try await Self.withKeyFile { key in
            let (config, warnings) = try await AgentConfiguration.load(envFile: file.path, environment: ["CLOWDER_METRICS_API_KEY_FILE": key])
            #expect(warnings.isEmpty)
            #expect(config.tailsLogs && config.stubStatusURL != nil)
        }
    }
}

/// Reads a `key: |` block scalar out of a Kubernetes manifest (enough YAML for our own files).
enum KubernetesManifest {
    static func blockScalar(in path: String, key: String) throws -> String {
        let lines = try Repo.text(path).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "\(key): |" }) else {
            throw InfluxDB.Failure(description: "\(path): no `\(key): |` block")
        }
        let indent = lines[start].prefix { $0 == " " }.count + 2
        var out: [String] = []
        for line in lines[(start + 1)...] {
            if line.trimmingCharacters(in: .whitespaces).isEmpty { out.append(""); continue }
            guard line.prefix(while: { $0 == " " }).count >= indent else { break }
            out.append(String(line.dropFirst(indent)))
        }
        return out.joined(separator: "\n") + "\n"
    }
}
