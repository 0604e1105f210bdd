import Agent
import ArgumentParser

/// `clowder-agent parse` (placeholder: to be implemented).
struct ParseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "parse", abstract: "Not implemented yet.")

    func run() async throws {
        throw ValidationError("clowder-agent parse is not implemented yet")
    }
}
