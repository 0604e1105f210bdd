#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Configuration
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

extension AgentConfiguration {
    /// Loads and validates the configuration.
    ///
    /// Values come from, in order of precedence: the process `environment`, then
    /// the settings file `envFile` (`KEY=value` lines or flat YAML, see
    /// ``SettingsFile``), then the defaults in ``ConfigKeys``. Both sources are
    /// read through swift-configuration's `EnvironmentVariablesProvider` (a flat YAML file's
    /// values as ``SettingsFile`` read them).
    ///
    /// - Parameters:
    ///   - envFile: the settings file, or nil for the environment alone.
    ///   - environment: the process environment (injectable for tests).
    /// - Returns: the configuration and any warnings (e.g. keys without our prefix in the file).
    /// - Throws: ``ConfigError`` naming the file and line, the key, the value and what is expected.
    public static func load(
        envFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> (AgentConfiguration, warnings: [String]) {
        var warnings: [String] = []
        var file: SettingsFile?
        var providers: [any ConfigProvider] = [EnvironmentVariablesProvider(environmentVariables: environment)]
        if let envFile {
            let checked = try SettingsFile(path: envFile)
            for (key, entry) in checked.entries.sorted(by: { $0.value.line < $1.value.line }) {
                if key.hasPrefix(ConfigKeys.prefix) {
                    guard ConfigKeys.setting(key) != nil else {
                        throw ConfigError(
                            .unknownKey, key: key, value: entry.value, source: "\(envFile):\(entry.line)",
                            expected: "unknown setting\(suggestion(for: key)); `clowder-agent check --list` shows every key")
                    }
                } else {
                    warnings.append("\(envFile):\(entry.line): \(key) is not a Clowder Metrics setting and is ignored")
                }
            }
            file = checked
            do {
                switch checked.syntax {
                case .env:
                    providers.append(try await EnvironmentVariablesProvider(environmentFilePath: FilePath(envFile)))
                case .yaml:
                    // Flat YAML is what `SettingsFile` has already read, line by line: its values go in
                    // as they are. (swift-configuration's `FileProvider<YAMLSnapshot>` reads YAML with
                    // Yams, which imports full Foundation: Foundation, FoundationInternationalization and
                    // ICU back in the agent's build graph; see Benchmarks/footprint/RESULTS.md.)
                    providers.append(EnvironmentVariablesProvider(environmentVariables: checked.entries.mapValues(\.value)))
                }
            } catch {
                throw ConfigError(.syntax, source: envFile, expected: "cannot read settings: \(error)")
            }
        }
        for key in environment.keys where key.hasPrefix(ConfigKeys.prefix) && ConfigKeys.setting(key) == nil {
            throw ConfigError(.unknownKey, key: key, source: "the environment", expected: "unknown setting\(suggestion(for: key))")
        }
        let reader = ConfigReader(providers: providers)
        var values = Values(reader: reader, file: file, environment: environment)
        return (try values.build(), warnings)
    }

    /// "; did you mean X?" for a key one or two edits from a known one.
    static func suggestion(for key: String) -> String {
        let known = ConfigKeys.all.map(\.key)
        let best = known.min { editDistance($0, key) < editDistance($1, key) }
        if let best, editDistance(best, key) <= 3 { return "; did you mean \(best)?" }
        return ""
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var prev = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let cur = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
                prev = cur
            }
        }
        return row[b.count]
    }
}

/// Reads each key once, converts it and reports errors with their origin.
struct Values {
    let reader: ConfigReader
    let file: SettingsFile?
    let environment: [String: String]

    func source(_ key: String) -> String {
        if environment[key] != nil { return "the environment" }
        if let file, let e = file.entries[key] { return "\(file.path):\(e.line)" }
        return "the default"
    }

    /// The value (quotes removed), or the default; nil when both are empty.
    func raw(_ name: String) -> String? {
        let key = ConfigKeys.prefix + name
        let v = reader.string(forKey: ConfigKey([key])).map { SettingsFile.unquote($0.trimmingBlanks) }
        if let v, !v.isEmpty { return v }
        if v != nil, environment[key] != nil || file?.entries[key] != nil { return nil }  // explicitly empty
        let d = ConfigKeys.setting(key)?.defaultValue ?? ""
        return d.isEmpty ? nil : d
    }

    func fail(_ name: String, _ value: String, _ expected: String) -> ConfigError {
        let key = ConfigKeys.prefix + name
        return ConfigError(.invalidValue, key: key, value: value, source: source(key), expected: expected)
    }

    func string(_ name: String) -> String? { raw(name) }

    func list(_ name: String) -> [String] {
        (raw(name) ?? "").split(separator: ",").map { $0.trimmingBlanks }.filter { !$0.isEmpty }
    }

    /// The value of `name` checked by `check` (SystemSupport's ``SettingValue``, the wording the
    /// three programs share); an empty value is checked as "".
    func checked<T>(_ name: String, _ check: (String) throws(SettingValue.Invalid) -> T) throws(ConfigError) -> T {
        let v = raw(name) ?? ""
        do { return try check(v) } catch { throw fail(name, v, "\(error)") }
    }

    func int(_ name: String, _ range: ClosedRange<Int>, unit: String) throws -> Int {
        try checked(name) { v throws(SettingValue.Invalid) in try SettingValue.integer(v, in: range, unit: unit) }
    }

    func int64(_ name: String, _ range: ClosedRange<Int64>, unit: String) throws -> Int64 {
        try checked(name) { v throws(SettingValue.Invalid) in try SettingValue.integer(v, in: range, unit: unit) }
    }

    func seconds(_ name: String, _ range: ClosedRange<Double>) throws -> Double {
        try checked(name) { v throws(SettingValue.Invalid) in try SettingValue.seconds(v, in: range) }
    }

    func bool(_ name: String) throws -> Bool {
        try checked(name) { v throws(SettingValue.Invalid) in try SettingValue.boolean(v) }
    }

    func url(_ name: String, schemes: [String]) throws -> String? {
        guard raw(name) != nil else { return nil }
        return try checked(name) { v throws(SettingValue.Invalid) in try SettingValue.url(v, schemes: schemes) }
    }

    mutating func build() throws -> AgentConfiguration {
        let hostName = Self.hostName()
        let accessLogs = list("ACCESS_LOG")
        let readFrom = (raw("READ_FROM") ?? "end").lowercased()
        guard readFrom == "end" || readFrom == "start" else { throw fail("READ_FROM", readFrom, "expected end or start") }
        var prefix = raw("CONTEXT_PREFIX") ?? ""
        if !prefix.isEmpty {
            guard prefix.hasPrefix("/"), !prefix.contains(" "), !prefix.contains("?") else {
                throw fail("CONTEXT_PREFIX", prefix, "expected a path that starts with /, e.g. /clowder")
            }
            while prefix.hasSuffix("/") { prefix.removeLast() }
        }
        let window = try int("WINDOW", 1...86_400, unit: "seconds")
        let lateness = try int("ALLOWED_LATENESS", 0...86_400, unit: "seconds")
        for target in list("HTTP_TARGETS") {
            guard let u = URL(string: target), ["http", "https"].contains(u.scheme?.lowercased() ?? ""), u.host?.isEmpty == false else {
                throw fail("HTTP_TARGETS", target, "expected comma-separated absolute http(s) URLs, e.g. https://clowder.example.org/healthz")
            }
        }
        for target in list("PING_TARGETS") where target.contains("/") || target.contains(" ") {
            throw fail("PING_TARGETS", target, "expected comma-separated host names or IP addresses")
        }
        var expectStatus: Int?
        if let s = raw("HTTP_EXPECT_STATUS") {
            guard let i = Int(s), (100...599).contains(i) else { throw fail("HTTP_EXPECT_STATUS", s, "expected an HTTP status code from 100 to 599") }
            expectStatus = i
        }
        let ingest = try url("INGEST_URL", schemes: ["https", "http"])
        let keyID = raw("API_KEY_ID")
        let keyFile = raw("API_KEY_FILE")
        if ingest != nil {
            guard let keyID, !keyID.isEmpty else {
                throw ConfigError(.missingKey, key: ConfigKeys.prefix + "API_KEY_ID", source: source(ConfigKeys.prefix + "INGEST_URL"),
                                  expected: "INGEST_URL is set, so the agent needs API_KEY_ID (its key id at the ingest) and API_KEY_FILE")
            }
            guard let keyFile else {
                throw ConfigError(.missingKey, key: ConfigKeys.prefix + "API_KEY_FILE", source: source(ConfigKeys.prefix + "INGEST_URL"),
                                  expected: "INGEST_URL is set, so the agent needs API_KEY_FILE: a file holding its secret")
            }
            guard access(keyFile, R_OK) == 0 else {
                throw fail("API_KEY_FILE", keyFile, "cannot read this file (\(Errno.text(errno))); it must hold the agent's secret")
            }
            var st = stat()
            guard stat(keyFile, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                throw fail("API_KEY_FILE", keyFile, "not a regular file; it must be a file holding the agent's secret")
            }
            guard st.st_size > 0 else {
                throw fail("API_KEY_FILE", keyFile, "the file is empty; it must hold the agent's secret")
            }
        }
        if let ca = raw("CA_FILE"), access(ca, R_OK) != 0 {
            throw fail("CA_FILE", ca, "cannot read this file (\(Errno.text(errno)))")
        }
        let level = (raw("LOG_LEVEL") ?? "info").lowercased()
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(level) else {
            throw fail("LOG_LEVEL", level, "expected trace, debug, info, notice, warning, error or critical")
        }
        let remoteUser = (raw("REMOTE_USER") ?? "drop").lowercased()
        guard remoteUser == "drop" || remoteUser == "hash" else { throw fail("REMOTE_USER", remoteUser, "expected drop or hash") }
        var remoteUserKeyFile: String?
        if remoteUser == "hash" {
            guard let f = raw("REMOTE_USER_KEY_FILE") else {
                throw ConfigError(.missingKey, key: ConfigKeys.prefix + "REMOTE_USER_KEY_FILE", source: source(ConfigKeys.prefix + "REMOTE_USER"),
                                  expected: "REMOTE_USER=hash needs REMOTE_USER_KEY_FILE: a file holding the key of the hash")
            }
            var st = stat()
            guard access(f, R_OK) == 0, stat(f, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 else {
                throw fail("REMOTE_USER_KEY_FILE", f, "cannot read this file or it is empty; it must hold the key of the hash")
            }
            remoteUserKeyFile = f
        }
        let maxVhosts = try int("MAX_VHOSTS", 1...10_000, unit: "vhosts")
        let topResources = try int("TOP_RESOURCES", 0...1000, unit: "resources")
        let witnesses = try witnessTargets(ingest: ingest)
        var config = AgentConfiguration(
            agentID: raw("AGENT_ID") ?? hostName,
            host: raw("HOST") ?? hostName,
            region: raw("REGION") ?? "local",
            accessLogs: accessLogs,
            logFormat: raw("LOG_FORMAT") ?? "combined",
            nginxConfig: raw("NGINX_CONFIG"),
            readFromStart: readFrom == "start",
            contextPrefix: prefix,
            maxLineBytes: try int("MAX_LINE_BYTES", 256...16_777_216, unit: "bytes"),
            windowSeconds: window,
            allowedLatenessSeconds: lateness,
            emitEvents: try bool("EMIT_EVENTS"),
            httpTargets: list("HTTP_TARGETS"),
            pingTargets: list("PING_TARGETS"),
            stubStatusURL: try url("STUB_STATUS_URL", schemes: ["http", "https"]),
            probeIntervalSeconds: try seconds("PROBE_INTERVAL", 1...86_400),
            pingCount: try int("PING_COUNT", 1...1000, unit: "echoes"),
            pingIntervalSeconds: try seconds("PING_INTERVAL", 0.01...60),
            httpTimeoutSeconds: try seconds("HTTP_TIMEOUT", 0.1...600),
            httpExpectStatus: expectStatus,
            httpExpectBody: raw("HTTP_EXPECT_BODY"),
            httpFollowRedirects: try bool("HTTP_FOLLOW_REDIRECTS"),
            ingestURL: ingest,
            outputFile: raw("OUTPUT_FILE") ?? "-",
            apiKeyID: keyID,
            apiKeyFile: keyFile,
            caFile: raw("CA_FILE"),
            spoolPath: raw("SPOOL_PATH") ?? "/var/lib/clowder-metrics/spool.db",
            spoolMaxBytes: try int64("SPOOL_MAX_BYTES", 65_536...(1 << 40), unit: "bytes"),
            batchMaxPoints: try int("BATCH_MAX_POINTS", 1...1_000_000, unit: "points"),
            batchMaxBytes: try int("BATCH_MAX_BYTES", 1024...(256 << 20), unit: "bytes"),
            batchMaxAgeSeconds: try seconds("BATCH_MAX_AGE", 0.01...3600),
            retryInitialSeconds: try seconds("RETRY_INITIAL", 0.01...3600),
            retryMaxSeconds: try seconds("RETRY_MAX", 0.01...86_400),
            shutdownGraceSeconds: try seconds("SHUTDOWN_GRACE", 0...3600),
            logLevel: level
        )
        config.witnessTargets = witnesses
        config.witnessTimeoutSeconds = try seconds("WITNESS_TIMEOUT", 0.1...60)
        config.maxVhosts = maxVhosts
        config.healthFileSetting = raw("HEALTH_FILE")
        config.topResources = topResources
        config.remoteUserKeyFile = remoteUserKeyFile
        let command = (raw("NGINX_COMMAND") ?? "nginx -T").split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard !command.isEmpty else { throw fail("NGINX_COMMAND", "", "expected a command such as nginx -T") }
        config.nginxCommand = command
        config.queues = try queueSettings()
        config.journey = try journeySettings(spoolPath: config.spoolPath)
        if config.discoversLogs {
            // The configuration is read here too, so `check` and `run` refuse one that names no log to tail.
            do {
                _ = try config.discoverLogs()
            } catch let e as RuntimeError {
                throw ConfigError(.invalidValue, key: ConfigKeys.prefix + "NGINX_CONFIG", value: raw("NGINX_CONFIG"),
                                  source: source(ConfigKeys.prefix + "NGINX_CONFIG"), expected: e.message)
            }
        } else if config.tailsLogs {
            // The format is compiled here too, so `check` and `run` refuse a bad one with its file and line.
            do {
                _ = try config.resolvedLogFormat()
            } catch let e as RuntimeError {
                let key = ConfigKeys.prefix + (e.message.hasPrefix(ConfigKeys.prefix + "NGINX_CONFIG") ? "NGINX_CONFIG" : "LOG_FORMAT")
                let detail = e.message.firstRange(of: "\": ").map { String(e.message[$0.upperBound...]) } ?? e.message
                throw ConfigError(.invalidValue, key: key, value: raw(String(key.dropFirst(ConfigKeys.prefix.count))),
                                  source: source(key), expected: detail)
            }
        }
        if !config.tailsLogs && !config.probes {
            throw ConfigError(
                .missingKey, key: ConfigKeys.prefix + "ACCESS_LOG", source: file?.path ?? "the environment",
                expected: "nothing to measure: set ACCESS_LOG (logs to tail) and/or HTTP_TARGETS, PING_TARGETS or STUB_STATUS_URL (probes)")
        }
        return config
    }

    /// `WITNESS_TARGETS` resolved: `ingest` becomes `<INGEST_URL>/healthz` (left out when
    /// there is no ingest), `resolver` the first `nameserver` of `resolvConf` (left out
    /// when it names none), `none` no witness at all.
    func witnessTargets(ingest: String?, resolvConf: String = "/etc/resolv.conf") throws -> [WitnessTarget] {
        var out: [WitnessTarget] = []
        let items = list("WITNESS_TARGETS")
        if items.map({ $0.lowercased() }) == ["none"] { return [] }
        for item in items {
            switch item.lowercased() {
            case "ingest":
                if let ingest {
                    var base = Substring(ingest)
                    while base.hasSuffix("/") { base.removeLast() }
                    out.append(.http(url: base + "/healthz"))
                }
            case "resolver":
                if let ns = Self.firstNameserver(resolvConf) { out.append(.dns(host: ns, port: 53)) }
            case "none":
                throw fail("WITNESS_TARGETS", item, "none stands alone: it turns witness checks off")
            default:
                do { out.append(try WitnessTarget(parsing: item)) } catch {
                    throw fail("WITNESS_TARGETS", item, "expected \(error.expected)")
                }
            }
        }
        return out
    }

    /// The first `nameserver` line of a resolv.conf(5) file, or nil.
    static func firstNameserver(_ path: String) -> String? {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        for line in text.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if words.count >= 2, words[0] == "nameserver" {
                var ns = String(words[1])
                if let pct = ns.firstIndex(of: "%") { ns = String(ns[..<pct]) }  // fe80::1%eth0: scope ids are not kept
                return ns
            }
        }
        return nil
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
