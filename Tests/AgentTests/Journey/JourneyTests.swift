@testable import Agent
import Foundation
import MetricsModel
import TestSupport
import Testing

/// The journey probe against ``StandInClowder`` (NGINX in front of a small app, real HTTP): every
/// step timed; each step made to fail (wrong status, wrong body, slow) is the one named in
/// `failed_step`; connection refused names the first step; and the test file is gone after every
/// round, also after a round whose delete failed once.
@Suite("Journey probe against a stand-in Clowder", .serialized, .ownThreads)
struct JourneyTests {
    static let tags = ["agent": "a1", "host": "h1", "region": "test"]

    /// Step timeout 1.5 s; the stand-in's `slow` answers after 4 s.
    func probe(_ server: String, api: JourneySettings.API, dir: TemporaryDirectory, timeout: Double = 1.5) throws -> JourneyProbe {
        try StandInClowder.apiKey.write(toFile: dir.file("key"), atomically: true, encoding: .utf8)
        return try JourneyProbe(settings: JourneySettings(
            baseURL: server, api: api, apiKeyFile: dir.file("key"), fileID: StandInClowder.fileID,
            datasetID: StandInClowder.datasetID, uploadBytes: 4096, stepTimeoutSeconds: timeout,
            pendingFile: dir.file("pending")))
    }

    static func double(_ p: Point, _ f: String) -> Double? { p.fields[f]?.doubleValue }
    static func int(_ p: Point, _ f: String) -> Int64? { p.fields[f]?.intValue }

    @Test("a good round, v1 and v2: every step timed, bytes down and up, up = 1, nothing left behind",
          arguments: [JourneySettings.API.v1, .v2])
    func goodRound(_ api: JourneySettings.API) throws {
        let clowder = try StandInClowder()
        defer { clowder.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let p = try probe(clowder.baseURL, api: api, dir: dir)
        let point = p.run(tags: Self.tags, timeNanoseconds: 1_000)
        #expect(point.measurement == "clowder_journey")
        #expect(point.tags["failed_step"] == "none", "\(p.messages)")
        #expect(point.tags["result"] == "ok")
        #expect(point.tags["api"] == api.rawValue)
        #expect(point.tags["clowder_version"] == "1.22.0")
        #expect(Self.int(point, "up") == 1)
        var sum = 0.0
        for step in JourneyStep.allCases {
            let t = try #require(Self.double(point, step.rawValue + "_time"), "\(step) not timed")
            #expect(t > 0 && t < 1.5, "\(step): \(t) s")
            sum += t
        }
        #expect(abs((Self.double(point, "total_time") ?? 0) - sum) < 1e-9)
        #expect(Self.int(point, "bytes_down") == Int64(StandInClowder.fileBytes))
        #expect(Self.int(point, "bytes_up") == 4096)
        #expect((Self.double(point, "download_throughput") ?? 0) > 0)
        #expect(Self.int(point, "status_files") == 1)  // the stand-in counts its files at /api/status time
        #expect(Self.int(point, "pending_deletes") == 0)
        #expect(try clowder.fileIDs() == [StandInClowder.fileID])
        // NGINX saw the key in a header, never in the query string.
        let log = try String(contentsOfFile: clowder.nginx.accessLogPath, encoding: .utf8)
        #expect(!log.contains(StandInClowder.apiKey))
        #expect(!log.contains("key="))
    }

    static let failures: [(String, String, String)] = {
        var cases: [(String, String, String)] = []
        for step in ["healthz", "status", "download", "upload", "readback", "delete"] {
            for mode in ["status", "body", "slow"] where !(step == "delete" && mode == "body") {
                cases.append((step, mode, mode == "slow" ? "timeout" : mode))
            }
        }
        return cases
    }()

    @Test("each step made to fail is the one named in failed_step; the test file is gone after the round (or the next)")
    func eachStepFails() throws {
        let clowder = try StandInClowder()
        defer { clowder.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for api in [JourneySettings.API.v1, .v2] {
            let p = try probe(clowder.baseURL, api: api, dir: dir)
            for (step, mode, result) in Self.failures {
                try clowder.inject(step, mode)
                let point = p.run(tags: Self.tags, timeNanoseconds: 2_000)
                let context = "\(api) \(step) \(mode): \(p.messages.map(\.text))"
                #expect(point.tags["failed_step"] == step, "\(context)")
                #expect(point.tags["result"] == result, "\(context)")
                #expect(Self.int(point, "up") == 0, "\(context)")
                #expect(Self.double(point, step + "_time") != nil, "\(context): the failed step is timed")
                if mode == "status" { #expect(Self.int(point, "http_status") == 500, "\(context)") }
                // Steps after the failed one did not run, except the delete, which cleans up.
                let order = JourneyStep.allCases.map(\.rawValue)
                for later in order[(order.firstIndex(of: step)! + 1)...] where later != "delete" {
                    #expect(Self.double(point, later + "_time") == nil, "\(context): \(later) should not have run")
                }
                if step == "delete" {
                    // Said loudly, and the file is still there until the next round deletes it.
                    #expect(p.messages.contains { $0.error && $0.text.contains("could NOT be deleted") }, "\(context)")
                    #expect(Self.int(point, "pending_deletes") == 1, "\(context)")
                    #expect(try clowder.fileIDs().count == 2, "\(context)")
                    #expect(FileManager.default.fileExists(atPath: dir.file("pending")))
                    let next = p.run(tags: Self.tags, timeNanoseconds: 3_000)
                    #expect(next.tags["failed_step"] == "none", "\(context): \(p.messages.map(\.text))")
                    #expect(Self.int(next, "pending_deletes") == 0, "\(context)")
                    #expect(!FileManager.default.fileExists(atPath: dir.file("pending")))
                }
                #expect(try clowder.fileIDs() == [StandInClowder.fileID], "\(context): a test file was left behind")
            }
        }
    }

    @Test("a delete that fails is remembered across a restart of the agent and done by the next probe")
    func pendingSurvivesRestart() throws {
        let clowder = try StandInClowder()
        defer { clowder.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try clowder.inject("delete", "status")
        let first = try probe(clowder.baseURL, api: .v1, dir: dir)
        #expect(first.run(tags: Self.tags, timeNanoseconds: 1).tags["failed_step"] == "delete")
        #expect(try clowder.fileIDs().count == 2)
        let second = try probe(clowder.baseURL, api: .v1, dir: dir)  // a new agent process reads the pending file
        #expect(second.pending.count == 1)
        let point = second.run(tags: Self.tags, timeNanoseconds: 2)
        #expect(point.tags["failed_step"] == "none")
        #expect(try clowder.fileIDs() == [StandInClowder.fileID])
    }

    @Test("connection refused: the first step is the one named, with curl's connection_failed")
    func connectionRefused() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let port = try NginxServer.freePort()  // bound and closed: nothing listens
        let p = try probe("http://127.0.0.1:\(port)", api: .v1, dir: dir)
        let point = p.run(tags: Self.tags, timeNanoseconds: 1)
        #expect(point.tags["failed_step"] == "healthz")
        #expect(point.tags["result"] == "connection_failed")
        #expect(Self.int(point, "up") == 0)
        #expect(Self.double(point, "status_time") == nil)
    }
}

/// The journey probe as the agent runs it: `clowder-agent check` and `run` with only
/// `CLOWDER_METRICS_JOURNEY_*` set, against the stand-in Clowder.
@Suite("clowder-agent run: journey probe settings", .serialized, .ownThreads)
struct JourneyRunTests {
    @Test("check lists the keys' problems; run writes clowder_journey points with every step passed")
    func run() throws {
        let clowder = try StandInClowder()
        defer { clowder.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try StandInClowder.apiKey.write(toFile: dir.file("key"), atomically: true, encoding: .utf8)
        var env = """
            CLOWDER_METRICS_JOURNEY_URL=\(clowder.baseURL)
            CLOWDER_METRICS_JOURNEY_API=v2
            CLOWDER_METRICS_JOURNEY_API_KEY_FILE=\(dir.file("key"))
            CLOWDER_METRICS_JOURNEY_FILE_ID=\(StandInClowder.fileID)
            CLOWDER_METRICS_JOURNEY_INTERVAL=1
            CLOWDER_METRICS_OUTPUT_FILE=\(dir.file("out.jsonl"))
            CLOWDER_METRICS_SPOOL_PATH=\(dir.file("state.db"))
            """
        try env.write(toFile: dir.file("agent.env"), atomically: true, encoding: .utf8)
        let missing = try AgentProcess.run(["check", "--env-file", dir.file("agent.env")])
        #expect(missing.status == 78, "\(missing.out)\(missing.err)")
        #expect((missing.out + missing.err).contains("CLOWDER_METRICS_JOURNEY_DATASET_ID"))
        env += "\nCLOWDER_METRICS_JOURNEY_DATASET_ID=\(StandInClowder.datasetID)\n"
        try env.write(toFile: dir.file("agent.env"), atomically: true, encoding: .utf8)
        let check = try AgentProcess.run(["check", "--env-file", dir.file("agent.env")])
        #expect(check.status == 0, "\(check.out)\(check.err)")

        let agent = try AgentProcess(["run", "--env-file", dir.file("agent.env")])
        var points: [[String: Any]] = []
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, points.count < 2 {
            let text = (try? String(contentsOfFile: dir.file("out.jsonl"), encoding: .utf8)) ?? ""
            points = text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .filter { $0["measurement"] as? String == "clowder_journey" }
            usleep(200_000)
        }
        #expect(agent.terminate() == 0)
        #expect(points.count >= 2)
        for p in points {
            let tags = p["tags"] as? [String: String] ?? [:]
            let fields = p["fields"] as? [String: Any] ?? [:]
            #expect(tags["failed_step"] == "none", "\(p)")
            #expect(tags["api"] == "v2")
            #expect(fields["up"] as? Int == 1)
            #expect(fields["bytes_up"] as? Int == 4096)
        }
        #expect(try clowder.fileIDs() == [StandInClowder.fileID])
    }
}
