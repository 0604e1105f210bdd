import Foundation
import Testing

/// deploy/docker and deploy/k8s cannot be built here (no container engine); these
/// tests keep them consistent with what CI builds and runs.
@Suite("Container and Kubernetes files")
struct ContainerFileTests {
    static let products = ["clowder-agent", "clowder-ingest", "clowder-sink"]

    /// The -dev packages (and pkg-config) of scripts/install-deps.sh's PACKAGES list.
    static func installDepsBuildPackages() throws -> Set<String> {
        let text = try Repo.text("scripts/install-deps.sh")
        let start = text.range(of: "PACKAGES=(")!.upperBound
        let end = text[start...].range(of: ")")!.lowerBound
        let words = text[start..<end].split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        return Set(words.filter { $0.hasSuffix("-dev") || $0 == "pkg-config" })
    }

    @Test("each Dockerfile installs the same -dev packages as scripts/install-deps.sh and builds with SwiftPM", arguments: products)
    func dockerfile(_ product: String) throws {
        let text = try Repo.text("deploy/docker/\(product).Dockerfile")
        let install = text.split(separator: "\n").first { $0.contains("apt-get install") && $0.contains("-dev") }
        let packages = Set((install ?? "").split(separator: " ").map(String.init).filter { $0.hasSuffix("-dev") || $0 == "pkg-config" })
        #expect(packages == (try Self.installDepsBuildPackages()), "\(product).Dockerfile build packages differ from scripts/install-deps.sh")
        #expect(text.contains("FROM swift:6.3-bookworm AS build"))
        #expect(text.contains("swift build -c release --static-swift-stdlib --product \(product)"))
        #expect(text.contains("FROM debian:bookworm-slim"))
        for lib in ["libcurl4", "libpcre2-8-0", "librabbitmq4", "libsqlite3-0", "zlib1g", "ca-certificates"] {
            #expect(text.contains(" \(lib)"), "\(product).Dockerfile runtime lacks \(lib)")
        }
        #expect(text.contains("USER 10001:10001"), "runs as a non-root user")
    }

    @Test("compose.yaml runs the whole chain, with the agent as a sidecar of NGINX")
    func compose() throws {
        let text = try Repo.text("deploy/compose.yaml")
        for service in ["nginx:", "agent:", "ingest:", "rabbitmq:", "influxdb:", "sink-influxdb:", "grafana:"] {
            #expect(text.contains("\n  \(service)"), "compose.yaml lacks service \(service)")
        }
        #expect(text.contains("network_mode: \"service:nginx\""))
        #expect(text.contains("image: influxdb:1.8"))
        for product in Self.products { #expect(text.contains("dockerfile: deploy/docker/\(product).Dockerfile")) }
        #expect(text.contains("./grafana/provisioning:/etc/grafana/provisioning:ro"))
    }

    @Test("the Kubernetes sidecar shares an emptyDir of logs, reads a ConfigMap env file and a Secret key")
    func kubernetes() throws {
        let text = try Repo.text("deploy/k8s/clowder-agent-sidecar.yaml")
        for expected in ["kind: ConfigMap", "kind: Secret", "kind: Deployment", "emptyDir: {}", "name: nginx-logs",
                         "mountPath: /var/log/nginx", "secretName: clowder-agent-key", "--env-file", "readOnly: true"] {
            #expect(text.contains(expected), "k8s manifest lacks \(expected)")
        }
        // Liveness and start-up from `clowder-agent health`; no readinessProbe (it would take NGINX out of the Service).
        let health = #"exec: { command: ["/usr/local/bin/clowder-agent", "health", "--env-file", "/etc/clowder-metrics/agent.env"] }"#
        for probe in ["startupProbe:", "livenessProbe:"] {
            let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let i = lines.firstIndex(of: probe) else { Issue.record("k8s manifest lacks \(probe)"); continue }
            #expect(lines[i + 1] == health, "\(probe) runs clowder-agent health")
        }
        #expect(!text.contains("readinessProbe:"))
    }
}
