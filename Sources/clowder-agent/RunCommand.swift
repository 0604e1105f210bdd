import Agent
import ArgumentParser

/// `clowder-agent run` (placeholder: to be implemented).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Not implemented yet.")

    func run() async throws {
        throw ValidationError("clowder-agent run is not implemented yet")
    }
}
