import Agent
import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

/// `clowder-agent health --env-file FILE [--ready]`: liveness (and readiness) of a running agent,
/// from the health file it rewrites every 5 s, for a Kubernetes exec probe or systemd.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Exit 0 when the running agent is alive (with --ready: also ready), 1 otherwise.",
        discussion: """
            Reads the health file the agent rewrites every 5 s (CLOWDER_METRICS_HEALTH_FILE, default \
            clowder-agent.prom beside CLOWDER_METRICS_SPOOL_PATH; Prometheus text format, also fit for \
            node_exporter's textfile collector). Alive: the file says clowder_agent_up 1 and was written \
            within --max-age seconds. Ready (--ready): alive, the spool at most --max-spool-fill full, and, \
            when batches wait for an ingest, a successful send within --max-send-age seconds. Prints one \
            line: what is wrong, or the figures.
            """)

    @Option(name: .customLong("env-file"), help: "The agent's settings file (to find the health file).")
    var envFile: String?

    @Option(help: "The health file, instead of the one the settings name.")
    var file: String?

    @Flag(help: "Check readiness too (spool fill, last successful send).")
    var ready = false

    @Option(name: .customLong("max-age"), help: "Longest age of the health file, seconds.")
    var maxAge: Double = 30

    @Option(name: .customLong("max-spool-fill"), help: "Readiness: largest spool fill, 0 to 1.")
    var maxSpoolFill: Double = 0.9

    @Option(name: .customLong("max-send-age"), help: "Readiness: longest time since the last successful send while batches wait, seconds.")
    var maxSendAge: Double = 300

    @Option(name: .customLong("max-line-age"), help: "Readiness: longest time since a log line was read, seconds (0: not checked).")
    var maxLineAge: Double = 0

    @Option(help: "Keep checking for up to this many seconds until healthy (a start-up check, e.g. systemd's ExecStartPost).")
    var wait: Double = 0

    func run() async throws {
        var check = HealthCheck()
        check.ready = ready
        check.maxAge = maxAge
        check.maxSpoolFill = maxSpoolFill
        check.maxSendAge = maxSendAge
        check.maxLineAge = maxLineAge
        let path: String
        if let file {
            path = file
        } else {
            let c = try await AgentCommandSupport.loadConfiguration(envFile: envFile)
            path = c.healthFile
            check.forwards = c.ingestURL != nil
        }
        let deadline = Self.now() + max(0, wait)
        while true {
            let verdict: String
            do {
                let (problems, summary) = check.evaluate(try HealthFile.read(path: path), now: Self.now())
                if problems.isEmpty {
                    print("\(ready ? "ready" : "alive"): \(summary)")
                    return
                }
                verdict = "\(ready ? "not ready" : "unhealthy"): \(problems.joined(separator: "; ")) (\(summary))"
            } catch {
                verdict = "unhealthy: \(error) (is the agent running?)"
            }
            if Self.now() >= deadline {
                print(verdict)
                throw ExitCode(1)
            }
            usleep(500_000)
        }
    }

    static func now() -> Double {
        SystemClock.wallSeconds()
    }
}
