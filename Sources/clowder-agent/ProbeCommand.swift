import Agent
import ArgumentParser

/// `clowder-agent probe` (placeholder: to be implemented).
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "probe", abstract: "Not implemented yet.")

    func run() async throws {
        throw ValidationError("clowder-agent probe is not implemented yet")
    }
}
