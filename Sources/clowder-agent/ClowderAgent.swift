import Agent
import ArgumentParser

/// `clowder-agent`: the per-host sidecar that measures Clowder from its NGINX logs and probes.
@main
struct ClowderAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clowder-agent",
        abstract: "Measure a Clowder site from its NGINX access logs and from probes, and forward what it measures.",
        version: AgentVersion.current,
        subcommands: [RunCommand.self, ParseCommand.self, CheckCommand.self, ProbeCommand.self, HealthCommand.self],
        defaultSubcommand: nil
    )
}
