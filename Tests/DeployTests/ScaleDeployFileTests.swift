import Foundation
import TestSupport
import Testing

/// The deploy files of the scaled-out centre (issue 15): deploy/compose.scale.yaml with
/// deploy/docker/scale/, and deploy/k8s/{clowder-ingest,clowder-sink,rabbitmq-cluster}.yaml. No container
/// engine or Kubernetes runs here: the YAML is parsed for real (PyYAML), the names that must agree
/// across files are checked against each other, and NGINX itself accepts the balancer's configuration.
@Suite("Scaled-out deploy files (compose, Kubernetes, balancer)", .serialized, .ownThreads)
struct ScaleDeployFileTests {
    /// Every document of a YAML file, parsed by PyYAML's safe loader and handed over as JSON.
    static func yaml(_ relative: String) throws -> [[String: Any]] {
        let script = "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))"
        let r = try Run.run("/usr/bin/python3", ["-c", script, Repo.root.appendingPathComponent(relative).path])
        guard r.status == 0 else { throw Failure(message: "\(relative) does not parse as YAML: \(r.stderr)") }
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String: Any]]
    }

    struct Failure: Error, CustomStringConvertible { let message: String; var description: String { message } }

    /// `KEY=value` lines of an env file (comments and blank lines left out).
    static func env(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            result[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return result
    }

    /// The hosts of a comma-separated list of amqp:// URLs (`…@host:port/`).
    static func brokerHosts(_ list: String) -> [String] {
        list.split(separator: ",").compactMap { (url: Substring) -> String? in
            guard let at = url.lastIndex(of: "@") else { return nil }
            return String(url[at...].dropFirst().prefix { $0 != ":" && $0 != "/" })
        }
    }

    static func dict(_ any: Any?) -> [String: Any] { any as? [String: Any] ?? [:] }
    static func list(_ any: Any?) -> [Any] { any as? [Any] ?? [] }

    @Test("compose.scale.yaml: three RabbitMQ nodes named as the cluster formation names them, one cookie, two ingests, competing sinks")
    func compose() throws {
        let compose = try #require(try Self.yaml("deploy/compose.scale.yaml").first)
        let services = Self.dict(compose["services"])
        let conf = try Repo.text("deploy/docker/scale/rabbitmq.conf")
        // classic_config peers: rabbit@<hostname> of each node service.
        let peers = conf.split(separator: "\n").filter { $0.hasPrefix("cluster_formation.classic_config.nodes.") }
            .map { String($0.split(separator: "=")[1].trimmingCharacters(in: .whitespaces)) }
        #expect(conf.contains("cluster_formation.peer_discovery_backend = classic_config"))
        let nodes = ["rabbitmq-1", "rabbitmq-2", "rabbitmq-3"]
        #expect(peers == nodes.map { "rabbit@\($0)" })
        for name in nodes {
            let node = Self.dict(services[name])
            #expect(node["hostname"] as? String == name, "\(name) must have hostname \(name) (its node name is rabbit@hostname)")
            #expect((node["image"] as? String)?.hasPrefix("rabbitmq:3.") == true)
            #expect(Self.list(node["secrets"]) as? [String] == ["erlang.cookie"], "\(name) reads the shared cookie")
            #expect((Self.list(node["entrypoint"]) as? [String])?.last?.contains("/run/secrets/erlang.cookie /var/lib/rabbitmq/.erlang.cookie") == true)
            let volumes = Self.list(node["volumes"]) as? [String] ?? []
            #expect(volumes.contains("./docker/scale/rabbitmq.conf:/etc/rabbitmq/clowder/rabbitmq.conf:ro"))
            #expect(volumes.contains("\(name)-data:/var/lib/rabbitmq"), "\(name) has a data volume of its own")
            if name != "rabbitmq-1" {
                #expect(Self.dict(Self.dict(node["depends_on"])["rabbitmq-1"])["condition"] as? String == "service_healthy",
                        "\(name) starts after rabbitmq-1 (and joins it)")
            }
        }
        let cookie = try Repo.text("deploy/docker/scale/erlang.cookie")
        #expect(!cookie.isEmpty && !cookie.contains("\n"), "the cookie is one line without a newline")
        #expect(Self.dict(Self.dict(compose["secrets"])["erlang.cookie"])["file"] as? String == "./docker/scale/erlang.cookie")

        // Two ingest replicas of one env file, distinct host names (their status queues), every node in the broker list.
        let ingestEnv = Self.env(try Repo.text("deploy/docker/scale/ingest.env"))
        #expect(Self.brokerHosts(ingestEnv["CLOWDER_INGEST_BROKER_URL"] ?? "") == nodes)
        #expect(ingestEnv["CLOWDER_INGEST_PUBLIC_URL"] != nil, "the replicas verify signatures made for the balancer's address")
        var hostnames: Set<String> = []
        for name in ["ingest-1", "ingest-2"] {
            let ingest = Self.dict(services[name])
            #expect(Self.dict(ingest["build"])["dockerfile"] as? String == "deploy/docker/clowder-ingest.Dockerfile")
            #expect((Self.list(ingest["volumes"]) as? [String] ?? []).contains("./docker/scale/ingest.env:/etc/clowder-metrics/ingest.env:ro"))
            hostnames.insert(ingest["hostname"] as? String ?? "")
        }
        #expect(hostnames == ["ingest-1", "ingest-2"])

        // The balancer in front of both, and the competing sinks on a quorum queue.
        let balancer = try Repo.text("deploy/docker/scale/balancer.conf")
        for name in ["ingest-1", "ingest-2"] { #expect(balancer.contains("server \(name):8080 max_fails=")) }
        #expect((Self.list(Self.dict(services["balancer"])["volumes"]) as? [String] ?? []).contains("./docker/scale/balancer.conf:/etc/nginx/nginx.conf:ro"))
        let sink = Self.dict(services["sink-postgres"])
        #expect((Self.dict(sink["deploy"])["replicas"] as? Int ?? 0) >= 2, "at least two competing consumers")
        let sinkEnv = Self.env(try Repo.text("deploy/docker/scale/sink.env"))
        #expect(sinkEnv["CLOWDER_SINK_QUEUE_TYPE"] == "quorum")
        #expect(Self.brokerHosts(sinkEnv["CLOWDER_SINK_AMQP_URL"] ?? "") == nodes)
        #expect(sinkEnv["CLOWDER_SINK_POSTGRES_URL"]?.contains("@postgres:5432/") == true)
        #expect(services["postgres"] != nil)
        // Every file a service mounts exists.
        for (name, service) in services {
            for case let volume as String in Self.list(Self.dict(service)["volumes"]) where volume.hasPrefix("./") {
                let path = String(volume.split(separator: ":")[0].dropFirst(2))
                #expect(FileManager.default.fileExists(atPath: Repo.deploy.appendingPathComponent(path).path), "\(name) mounts \(path), which is missing")
            }
        }
    }

    @Test("the balancer's nginx.conf (compose) and deploy/scale/start.sh's are accepted by nginx -t, with next upstream only for batches")
    func balancerNginx() throws {
        let nginx = try #require(Run.which("nginx"), "nginx is not installed (scripts/install-deps.sh installs it)")
        let dir = try Repo.temporaryDirectory("balancer")
        defer { try? FileManager.default.removeItem(at: dir) }
        // The compose file's names resolve inside compose only; the official image's user `nginx` is not Debian's.
        let text = try Repo.text("deploy/docker/scale/balancer.conf")
            .replacingOccurrences(of: "server ingest-1:8080", with: "server 127.0.0.1:1")
            .replacingOccurrences(of: "server ingest-2:8080", with: "server 127.0.0.1:2")
            .replacingOccurrences(of: "user nginx;\n", with: "")
            .replacingOccurrences(of: "/var/log/nginx/", with: dir.path + "/")
            .replacingOccurrences(of: "/var/run/nginx.pid", with: dir.path + "/nginx.pid")
        let conf = dir.appendingPathComponent("nginx.conf")
        try text.write(to: conf, atomically: true, encoding: .utf8)
        let r = try Run.run(nginx, ["-t", "-c", conf.path, "-p", dir.path + "/"])
        #expect(r.status == 0, "nginx -t: \(r.stderr)")
        // non_idempotent only where requests carry an Idempotency-Key (batches), never for events.
        let batches = try #require(text.range(of: "location = /v1/batches {"))
        let rest = text[batches.upperBound...]
        let end = try #require(rest.range(of: "}"))
        #expect(rest[..<end.lowerBound].contains("proxy_next_upstream error timeout http_502 http_503 non_idempotent;"))
        #expect(text.components(separatedBy: "non_idempotent").count == 3, "non_idempotent once in a directive (and once in the comment)")
        // start.sh writes the same upstream and next-upstream rules.
        let start = try Repo.text("deploy/scale/start.sh")
        for directive in ["proxy_next_upstream error timeout http_502 http_503 non_idempotent;", "proxy_next_upstream error timeout http_502 http_503;",
                          "max_fails=3 fail_timeout=3s;", "proxy_next_upstream_tries 2;", "proxy_read_timeout 40s;"] {
            #expect(start.contains(directive) && text.contains(directive), "\(directive) differs between start.sh and balancer.conf")
        }
    }

    @Test("k8s: ingest Deployment (2 replicas, readiness /healthz), Service and PDB select its pods; the broker is the operator's RabbitmqCluster")
    func kubernetes() throws {
        let ingest = try Self.yaml("deploy/k8s/clowder-ingest.yaml")
        func kind(_ docs: [[String: Any]], _ k: String) -> [String: Any] { docs.first { $0["kind"] as? String == k } ?? [:] }
        let deployment = kind(ingest, "Deployment")
        let spec = Self.dict(deployment["spec"])
        let replicas = spec["replicas"] as? Int ?? 0
        #expect(replicas >= 2)
        let podLabels = Self.dict(Self.dict(Self.dict(spec["template"])["metadata"])["labels"]) as? [String: String] ?? [:]
        #expect(Self.dict(spec["selector"])["matchLabels"] as? [String: String] == podLabels)
        let rolling = Self.dict(Self.dict(spec["strategy"])["rollingUpdate"])
        #expect(rolling["maxUnavailable"] as? Int == 0, "a rollout never goes below the replicas wanted")
        let pod = Self.dict(Self.dict(spec["template"])["spec"])
        let container = Self.dict(Self.list(pod["containers"]).first)
        let ports = Self.list(container["ports"]).map(Self.dict)
        #expect(ports.contains { $0["name"] as? String == "http" && $0["containerPort"] as? Int == 8080 })
        let readiness = Self.dict(Self.dict(container["readinessProbe"])["httpGet"])
        #expect(readiness["path"] as? String == "/healthz" && readiness["port"] as? String == "http")
        let liveness = Self.dict(Self.dict(container["livenessProbe"])["httpGet"])
        #expect(liveness["port"] as? String == "http" && liveness["path"] != nil)
        // The env file's port is the container port, and the keys file is where the Secret is mounted.
        let configMap = kind(ingest, "ConfigMap")
        let env = Self.env(Self.dict(configMap["data"])["ingest.env"] as? String ?? "")
        #expect(env["CLOWDER_INGEST_PORT"] == "8080" && env["CLOWDER_INGEST_HOST"] == "0.0.0.0")
        let mounts = Self.list(container["volumeMounts"]).map(Self.dict)
        let keysMount = try #require(mounts.first { $0["name"] as? String == "ingest-keys" })
        #expect(env["CLOWDER_INGEST_KEYS_FILE"]?.hasPrefix((keysMount["mountPath"] as? String ?? "?") + "/") == true)
        let secret = kind(ingest, "Secret")
        let keys = Self.dict(secret["stringData"])["keys"] as? String ?? ""
        #expect(keys.contains(keysMount["mountPath"] as? String ?? "?"), "the keys file names its secret files under the mount")
        #expect(Self.dict(Self.list(pod["volumes"]).map(Self.dict).first { $0["name"] as? String == "ingest-keys" }?["secret"])["secretName"] as? String
                == Self.dict(secret["metadata"])["name"] as? String)
        // Service and PodDisruptionBudget select exactly the Deployment's pods.
        let service = Self.dict(kind(ingest, "Service")["spec"])
        #expect(service["selector"] as? [String: String] == podLabels)
        #expect(Self.list(service["ports"]).map(Self.dict).first?["targetPort"] as? String == "http")
        let pdb = kind(ingest, "PodDisruptionBudget")
        #expect(pdb["apiVersion"] as? String == "policy/v1")
        let pdbSpec = Self.dict(pdb["spec"])
        #expect(Self.dict(pdbSpec["selector"])["matchLabels"] as? [String: String] == podLabels)
        #expect((pdbSpec["minAvailable"] as? Int ?? 0) >= 1 && (pdbSpec["minAvailable"] as? Int ?? 99) < replicas)

        // The broker: the operator's RabbitmqCluster, whose Secret and pod names the ingest and the sinks use.
        let cluster = try #require(try Self.yaml("deploy/k8s/rabbitmq-cluster.yaml").first)
        #expect(cluster["apiVersion"] as? String == "rabbitmq.com/v1beta1" && cluster["kind"] as? String == "RabbitmqCluster")
        let name = Self.dict(cluster["metadata"])["name"] as? String ?? ""
        let nodes = Self.dict(cluster["spec"])["replicas"] as? Int ?? 0
        #expect(nodes >= 3 && nodes % 2 == 1, "an odd number of nodes, 3 or more (quorum queues need a majority)")
        let expectedHosts = (0..<nodes).map { "\(name)-server-\($0).\(name)-nodes" }
        let sinkDocs = try Self.yaml("deploy/k8s/clowder-sink.yaml")
        let sinkDeployment = Self.dict(kind(sinkDocs, "Deployment")["spec"])
        #expect((sinkDeployment["replicas"] as? Int ?? 0) >= 2, "competing consumers")
        let sinkEnv = Self.env(Self.dict(kind(sinkDocs, "ConfigMap")["data"])["sink.env"] as? String ?? "")
        #expect(sinkEnv["CLOWDER_SINK_QUEUE_TYPE"] == "quorum")
        for (label, c, key) in [("ingest", container, "CLOWDER_INGEST_BROKER_URL"),
                                ("sink", Self.dict(Self.list(Self.dict(Self.dict(sinkDeployment["template"])["spec"])["containers"]).first), "CLOWDER_SINK_AMQP_URL")] {
            let vars = Self.list(c["env"]).map(Self.dict)
            let url = vars.first { $0["name"] as? String == key }?["value"] as? String ?? ""
            #expect(Self.brokerHosts(url) == expectedHosts, "\(label): \(key) lists \(Self.brokerHosts(url)), the cluster's pods are \(expectedHosts)")
            let secrets = Set(vars.compactMap { Self.dict(Self.dict($0["valueFrom"])["secretKeyRef"])["name"] as? String })
            #expect(secrets == ["\(name)-default-user"], "\(label) reads the operator's default-user Secret")
            // Each $(VAR) in the URL is defined before it (Kubernetes expands only earlier variables).
            let index = vars.firstIndex { $0["name"] as? String == key } ?? 0
            for v in ["RABBITMQ_USER", "RABBITMQ_PASSWORD"] {
                #expect(vars[..<index].contains { $0["name"] as? String == v }, "\(label): $(\(v)) is not defined before \(key)")
            }
        }
    }

    /// Runs `<product> check --env-file <path>` (an absolute path) with `environment` added; expects exit 0.
    static func check(_ product: String, _ path: String, environment: [String: String]) throws {
        let exe = try #require(Repo.debugProduct(product), "\(product) is not built: swift build --build-tests")
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let r = try Run.run(exe.path, ["check", "--env-file", path], environment: env)
        #expect(r.status == 0, "\(product) check --env-file \(path) exited \(r.status):\n\(r.stdout)\(r.stderr)")
    }

    /// The value of `name` in a container's `env`, with `$(VAR)` references replaced by `values`.
    static func containerEnv(_ container: [String: Any], _ name: String, _ values: [String: String]) -> String {
        var v = list(container["env"]).map(dict).first { $0["name"] as? String == name }?["value"] as? String ?? ""
        for (k, x) in values { v = v.replacingOccurrences(of: "$(\(k))", with: x) }
        return v
    }

    @Test("clowder-ingest check and clowder-sink check accept the scaled-out settings (compose env files, k8s ConfigMaps with the Deployments' broker URLs)",
          .disabled(if: DemoTests.agentOnly, "CLOWDER_AGENT_ONLY=1 builds no clowder-ingest or clowder-sink"))
    func settingsPassCheck() throws {
        let dir = try Repo.temporaryDirectory("scale-check")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("0123456789abcdef0123456789abcdef\n".utf8).write(to: dir.appendingPathComponent("agent.key"))
        try Data("scale-agent  batches,events  hmac:file:\(dir.path)/agent.key\n".utf8).write(to: dir.appendingPathComponent("keys"))
        try Data("secret\n".utf8).write(to: dir.appendingPathComponent("postgres.password"))
        let ingestPaths = [
            "CLOWDER_INGEST_KEYS_FILE": dir.appendingPathComponent("keys").path,
            "CLOWDER_INGEST_DEDUPE_PATH": dir.appendingPathComponent("dedupe.db").path,
            "CLOWDER_INGEST_JOURNAL_PATH": dir.appendingPathComponent("journal.db").path,
            "CLOWDER_INGEST_STATUS_PATH": dir.appendingPathComponent("status.db").path,
        ]
        let sinkPaths = ["CLOWDER_SINK_POSTGRES_PASSWORD_FILE": dir.appendingPathComponent("postgres.password").path]
        try Self.check("clowder-ingest", Repo.deploy.appendingPathComponent("docker/scale/ingest.env").path, environment: ingestPaths)
        try Self.check("clowder-sink", Repo.deploy.appendingPathComponent("docker/scale/sink.env").path, environment: sinkPaths)

        // The Kubernetes ConfigMaps' env files, with the broker URL the Deployment builds from the operator's Secret.
        let credentials = ["RABBITMQ_USER": "clowder", "RABBITMQ_PASSWORD": "s3cret-Pass_word"]
        for (file, product, key, urlKey, extra) in [
            ("deploy/k8s/clowder-ingest.yaml", "clowder-ingest", "ingest.env", "CLOWDER_INGEST_BROKER_URL", ingestPaths),
            ("deploy/k8s/clowder-sink.yaml", "clowder-sink", "sink.env", "CLOWDER_SINK_AMQP_URL", sinkPaths),
        ] {
            let docs = try Self.yaml(file)
            let configMap = docs.first { $0["kind"] as? String == "ConfigMap" } ?? [:]
            let envFile = dir.appendingPathComponent("\(product).env")
            try (Self.dict(configMap["data"])[key] as? String ?? "").write(to: envFile, atomically: true, encoding: .utf8)
            let deployment = Self.dict((docs.first { $0["kind"] as? String == "Deployment" } ?? [:])["spec"])
            let container = Self.dict(Self.list(Self.dict(Self.dict(deployment["template"])["spec"])["containers"]).first)
            var environment = extra
            environment[urlKey] = Self.containerEnv(container, urlKey, credentials)
            #expect(environment[urlKey]?.contains("amqp://clowder:s3cret-Pass_word@") == true)
            try Self.check(product, envFile.path, environment: environment)
        }
    }
}
