import Agent
import ArgumentParser
import Logging
import ServiceLifecycle

/// `clowder-agent run --env-file FILE`: the agent, until SIGTERM or SIGINT.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Tail the access logs, probe, aggregate and forward (or print) what is measured.",
        discussion: """
            Settings come from --env-file (KEY=value lines or flat YAML) and the environment, which wins; \
            `clowder-agent check --list` shows every key. With no CLOWDER_METRICS_INGEST_URL, each closed \
            window is written as JSON lines to standard output or CLOWDER_METRICS_OUTPUT_FILE. SIGTERM closes \
            the open windows, spools them, tries to send for CLOWDER_METRICS_SHUTDOWN_GRACE seconds and exits 0.
            """)

    @Option(name: .customLong("env-file"), help: "The settings file.")
    var envFile: String?

    func run() async throws {
        // Before any probe or delivery thread exists (MallocArenas: about 1 MB less resident memory).
        MallocArenas.limit()
        let configuration = try await AgentCommandSupport.loadConfiguration(envFile: envFile)
        AgentCommandSupport.bootstrapLogging(level: configuration.logLevel)
        let logger = Logger(label: "clowder.agent")
        let agent: AgentRuntime
        do {
            agent = try AgentRuntime(configuration: configuration, logger: logger)
        } catch {
            // What stops the start is the setup (a log, the spool, the key): EX_CONFIG, as for bad settings.
            AgentCommandSupport.printError("cannot start: \(error)")
            throw ExitCode(AgentCommandSupport.configExitCode)
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: agent)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            AgentCommandSupport.printError("stopped: \(error)")
            throw ExitCode(1)
        }
    }
}
