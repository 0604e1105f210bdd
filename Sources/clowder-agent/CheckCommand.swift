import Agent
import ArgumentParser
import Parsers
#if canImport(Glibc)
import Glibc
#endif

/// `clowder-agent check --env-file FILE [--sample LINE]`: validates the settings,
/// prints the compiled PCRE2 pattern and parses a sample line.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the settings, print the compiled log pattern and parse a sample line.",
        discussion: "Exit status 0 when the settings are valid, 78 (EX_CONFIG) with a message naming the file, line, key, value and what is expected otherwise.")

    @Option(name: .customLong("env-file"), help: "The settings file.")
    var envFile: String?

    @Option(help: "An access-log line to parse with the configured format.")
    var sample: String?

    @Flag(help: "List every setting with its default and meaning, and exit.")
    var list = false

    func run() async throws {
        if list {
            for s in ConfigKeys.all {
                print("\(s.key)=\(s.defaultValue)\n    \(s.help)")
            }
            return
        }
        let c = try await AgentCommandSupport.loadConfiguration(envFile: envFile)
        print("settings: valid (\(envFile ?? "environment only"))")
        print("agent: \(c.agentID)  host: \(c.host)  region: \(c.region)")
        if c.discoversLogs {
            do {
                let report = try c.discoveryReport()
                print("access logs: found in CLOWDER_METRICS_NGINX_CONFIG=\(c.nginxConfig ?? "")\(c.nginxConfig == "auto" ? " (\(c.nginxCommand.joined(separator: " ")))" : "")")
                for line in report.findings { print("  \(line)") }
                for log in report.logs {
                    _ = try AccessLogParser(format: log.format)
                    print("  tail \(log.path) with log_format \(log.format.name ?? "(string)") \(log.format.string)")
                }
            } catch {
                AgentCommandSupport.printError("configuration: \(error)")
                throw ExitCode(AgentCommandSupport.configExitCode)
            }
        } else if c.tailsLogs {
            let format: LogFormat
            let parser: AccessLogParser
            do {
                format = try c.resolvedLogFormat()
                parser = try AccessLogParser(format: format)
            } catch {
                AgentCommandSupport.printError("configuration: \(error)")
                throw ExitCode(AgentCommandSupport.configExitCode)
            }
            print("access logs: \(c.accessLogs.joined(separator: ", ")) (read from \(c.readFromStart ? "start" : "end") at first start)")
            // What `run` refuses at the start is an error here too: the same LogTail start decides both
            // (a missing folder, a directory, an unreadable file); a file not written yet is waited for.
            do {
                _ = try LogTail(paths: c.accessLogs)
            } catch {
                AgentCommandSupport.printError("CLOWDER_METRICS_ACCESS_LOG: \(error)")
                throw ExitCode(AgentCommandSupport.configExitCode)
            }
            for path in c.accessLogs where !path.contains("*") && !path.contains("?") && !path.contains("[") && access(path, F_OK) != 0 {
                print("  note: \(path) does not exist yet; the agent waits for it and reads it from its start")
            }
            print("log_format: \(format.name ?? "(string)") \(format.string)")
            print("pattern: \(parser.pattern)")
            print("window: \(c.windowSeconds) s, allowed lateness \(c.allowedLatenessSeconds) s, context prefix \"\(c.contextPrefix)\"")
            if let sample {
                if let (record, bytes) = parser.parse(sample) {
                    print("sample: parsed")
                    bytes.withUnsafeBytes { line in
                        for field in AccessField.allCases {
                            guard let name = field.variableName, parser.logs(field),
                                let value = record.string(field, in: line)
                            else { continue }
                            print("  $\(name) = \(value)")
                        }
                    }
                } else {
                    print("sample: does NOT match the format")
                    throw ExitCode(1)
                }
            }
        } else {
            print("access logs: none (probe-only agent)")
        }
        if c.probes {
            print("probes every \(c.probeIntervalSeconds) s: http \(c.httpTargets), ping \(c.pingTargets), stub_status \(c.stubStatusURL ?? "-")")
            print("witnesses (a failed round with none answering is agent_network_down): "
                  + (c.witnessTargets.isEmpty ? "none" : c.witnessTargets.map(\.description).joined(separator: ", "))
                  + ", \(c.witnessTimeoutSeconds) s each")
        }
        print("output: \(c.ingestURL.map { "ingest \($0) as key \(c.apiKeyID ?? "")" } ?? "JSON lines to \(c.outputFile)")")
        print("spool: \(c.spoolPath) (at most \(c.spoolMaxBytes) bytes)")
    }
}
