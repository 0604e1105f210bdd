import ArgumentParser
import Broker
import Ingest

/// `clowder-ingest check --env-file F`: validates the settings and the keys
/// file without serving; exit status 0 when they are usable, 78 (EX_CONFIG, as
/// `clowder-agent check`) with the key, value and what is expected otherwise.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check", abstract: "Validate the settings and the keys file, then exit.")

    @OptionGroup var options: EnvFileOption

    func run() async throws {
        do {
            let c = try await IngestConfiguration.load(environmentFile: options.envFile)
            let keys = try KeyStore(path: c.keysFile)
            print("listen: \(c.host):\(c.port)")
            print("keys: \(keys.count) from \(c.keysFile)")
            if let url = c.brokerURL {
                print("destination: rabbitmq \(url) exchange \(c.exchange)")
            } else {
                print("destination: journal \(c.journalPath)")
            }
            print("dedupe: \(c.dedupePath) (ttl \(Int(c.dedupeTTL)) s, at most \(c.dedupeMaxEntries))")
            print("limits: body \(c.maxBodyBytes) bytes, decoded \(c.maxDecodedBytes) bytes, \(c.rateLimit) req/s per key (burst \(Int(c.rateBurst)))")
            print("ok")
        } catch {
            printError("clowder-ingest: \(error)")
            throw ExitCode(78)  // EX_CONFIG
        }
    }
}
