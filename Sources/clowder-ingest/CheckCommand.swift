import ArgumentParser
import Broker
import Foundation
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
            if !c.brokerURLs.isEmpty {
                print("destination: rabbitmq \(c.brokerURLs.map(\.description).joined(separator: ",")) exchange \(c.exchange)")
            } else {
                print("destination: journal \(c.journalPath)")
            }
            print("dedupe: \(c.dedupePath) (ttl \(Int(c.dedupeTTL)) s, at most \(c.dedupeMaxEntries))")
            print("limits: body \(c.maxBodyBytes) bytes, decoded \(c.maxDecodedBytes) bytes, \(c.rateLimit) req/s per key (burst \(Int(c.rateBurst)))")
            let l = c.limits
            print(
                "bounds: \(l.maxPoints) points, \(l.maxEvents) events per request, messages up to \(l.maxMessageBytes) bytes, times -\(l.maxAgeSeconds) s...+\(l.maxFutureSeconds) s of now")
            print(
                "connections: at most \(c.maxConnections), \(c.maxBodiesInFlight) bodies in flight, headers up to \(c.maxHeaderBytes) bytes, timeouts idle \(c.idleTimeout) s, header \(c.headerTimeout) s, body \(c.bodyTimeout) s; \(c.authFailuresPerMinute) failed authentications per address per minute")
            if let dir = c.swaggerUIDirectory {
                let ok = FileManager.default.fileExists(atPath: dir + "/swagger-ui-bundle.js") && FileManager.default.fileExists(atPath: dir + "/swagger-ui.css")
                print(ok ? "docs: Swagger UI from \(dir)" : "warning: CLOWDER_INGEST_SWAGGER_UI_DIR=\(dir) has no swagger-ui-bundle.js and swagger-ui.css: /docs answers 404")
            } else {
                print("docs: CLOWDER_INGEST_SWAGGER_UI_DIR is not set: /docs answers 404 (pip install swagger-ui-py==25.7.1; <site-packages>/swagger_ui/static)")
            }
            for w in keys.permissionWarnings() { print("warning: \(w)") }
            print("ok")
        } catch {
            printError("clowder-ingest: \(error)")
            throw ExitCode(78)  // EX_CONFIG
        }
    }
}
