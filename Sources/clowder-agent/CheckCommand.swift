import Agent
import ArgumentParser

/// `clowder-agent check` (placeholder: to be implemented).
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check", abstract: "Not implemented yet.")

    func run() async throws {
        throw ValidationError("clowder-agent check is not implemented yet")
    }
}
