import Foundation
import MetricsModel
import TestSupport
import Testing

@testable import Sinks

/// Amplitude and GA4 requests caught by a local HTTP receiver and checked field by field against the documented
/// formats: Amplitude's Batch Event Upload API (https://amplitude.com/docs/apis/analytics/batch-event-upload) and
/// GA4's Measurement Protocol (https://developers.google.com/analytics/devguides/collection/protocol/ga4/sending-events).
@Suite(.ownThreads) struct AnalyticsDestinationTests {
    static let base = Workload.baseMilliseconds

    /// Two downloads (one with a user, one without), a view, a deletion (not selected), and a metric point (never sent).
    var messages: [SinkMessage] {
        [
            SinkMessage(
                messageID: "b:0",
                decoded: .event(ClowderEvent([
                    "category": "download", "type": "file", "resource_id": "5f0000000000000000000001", "user_id": "5f0c1a2b3c4d5e6f7a8b9c0d",
                    "size": 1234, "created": .int(Self.base), "url": .string("https://clowder.example.org/files/" + String(repeating: "x", count: 150)),
                    "file-name": "a.csv", "1st": true, "google_thing": 2.5,
                ]))),
            SinkMessage(
                messageID: "b:1",
                decoded: .event(ClowderEvent([
                    "category": "download", "type": "dataset", "resource_id": "5f0000000000000000000002", "source": "nginx",
                    "agent": "web-1", "created": .int(Self.base + 1),
                ]))),
            SinkMessage(
                messageID: "b:2",
                decoded: .event(ClowderEvent([
                    "category": "view_resource", "type": "space", "resource_id": "5f0000000000000000000003", "user_id": "5f0c1a2b3c4d5e6f7a8b9c0d",
                    "created": .int(Self.base + 1),
                ]))),
            SinkMessage(messageID: "b:3", decoded: .event(ClowderEvent(["category": "delete", "type": "file", "created": .int(Self.base)]))),
            SinkMessage(messageID: "b:4", decoded: .point(Point(measurement: "nginx_access", fields: ["requests": 1], timeNanoseconds: 1))),
        ]
    }

    @Test func amplitudeBatchFormat() async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        let d = AmplitudeDestination(
            endpoint: receiver.url + "/batch", apiKey: "test-api-key",
            selection: EventSelection(categories: ["download", "view_resource"]))
        try await d.write(messages)

        let requests = receiver.requests
        try #require(requests.count == 1)
        let r = requests[0]
        #expect(r.method == "POST")
        #expect(r.path == "/batch")
        #expect(r.headers["content-type"] == "application/json")
        let body = try JSONValue(parsing: r.body)
        #expect(Set(body.objectValue?.keys.map { $0 } ?? []) == ["api_key", "events"])
        #expect(body["api_key"] == "test-api-key")
        let events = try #require(body["events"]?.arrayValue)
        #expect(events.count == 3)

        // Every key is one the HTTP V2 / batch event format documents, with its documented type.
        for e in events {
            let keys = Set(e.objectValue?.keys.map { $0 } ?? [])
            #expect(keys.isSubset(of: ["user_id", "device_id", "event_type", "time", "insert_id", "event_properties"]))
            #expect(e["user_id"] != nil || e["device_id"] != nil)
            #expect(e["event_type"]?.stringValue?.isEmpty == false)
            #expect(e["time"].map { if case .int = $0 { true } else { false } } == true)
            for id in [e["user_id"], e["device_id"]].compactMap({ $0?.stringValue }) { #expect(id.count >= 5) }
        }
        #expect(events[0] == [
            "user_id": "5f0c1a2b3c4d5e6f7a8b9c0d", "event_type": "download_file", "time": .int(Self.base), "insert_id": "b:0",
            "event_properties": [
                "category": "download", "type": "file", "resource_id": "5f0000000000000000000001", "size": 1234,
                "url": .string("https://clowder.example.org/files/" + String(repeating: "x", count: 150)),
                "file-name": "a.csv", "1st": true, "google_thing": 2.5,
            ],
        ])
        #expect(events[1] == [
            "device_id": "clowder-web-1", "event_type": "download_dataset", "time": .int(Self.base + 1), "insert_id": "b:1",
            "event_properties": [
                "category": "download", "type": "dataset", "resource_id": "5f0000000000000000000002", "source": "nginx", "agent": "web-1",
            ],
        ])
        #expect(events[2]["event_type"] == "view_resource_space")
        #expect(events[2]["insert_id"] == "b:2")
    }

    @Test func amplitudeAnswers() async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        let d = AmplitudeDestination(endpoint: receiver.url + "/batch", apiKey: "k")
        receiver.respond(status: 400, body: #"{"code":400,"error":"Request missing required field","missing_field":"event_type"}"#)
        await #expect { try await d.write(messages) } throws: { ($0 as? SinkError)?.code == .permanent }
        receiver.respond(status: 400, body: #"{"code":400,"error":"Invalid API key: k"}"#)
        await #expect { try await d.write(messages) } throws: { ($0 as? SinkError)?.code == .retryable }
        receiver.respond(status: 429, body: #"{"code":429,"error":"Too many requests for some devices and users"}"#)
        await #expect { try await d.write(messages) } throws: { ($0 as? SinkError)?.code == .retryable }
        receiver.respond(status: 503, body: "")
        await #expect { try await d.write(messages) } throws: { ($0 as? SinkError)?.code == .retryable }
    }

    @Test func ga4MeasurementProtocolFormat() async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        receiver.respond(status: 204, body: "")
        let d = GA4Destination(
            endpoint: receiver.url + "/mp/collect", measurementID: "G-TEST123", apiSecret: "s3cr3t",
            selection: EventSelection(categories: ["download", "view_resource"]))
        try await d.write(messages)

        let requests = receiver.requests
        // Requests group events by (client_id, user_id, created): three different groups here.
        try #require(requests.count == 3)
        let namePattern = /^[A-Za-z][A-Za-z0-9_]{0,39}$/
        var bodies: [JSONValue] = []
        for r in requests {
            #expect(r.method == "POST")
            #expect(r.path == "/mp/collect")
            #expect(r.query == ["measurement_id": "G-TEST123", "api_secret": "s3cr3t"])
            #expect(r.headers["content-type"] == "application/json")
            #expect(r.body.count < 130_000)
            let body = try JSONValue(parsing: r.body)
            bodies.append(body)
            let bodyKeys = Set(body.objectValue?.keys.map { $0 } ?? [])
            #expect(bodyKeys.isSubset(of: ["client_id", "user_id", "timestamp_micros", "events"]))
            #expect(body["client_id"]?.stringValue?.isEmpty == false)
            let events = try #require(body["events"]?.arrayValue)
            #expect((1...25).contains(events.count))
            for e in events {
                #expect(Set(e.objectValue?.keys.map { $0 } ?? []) == ["name", "params"])
                let name = try #require(e["name"]?.stringValue)
                #expect(name.wholeMatch(of: namePattern) != nil)
                for p in ["google_", "ga_", "firebase_"] { #expect(!name.lowercased().hasPrefix(p)) }
                let params = try #require(e["params"]?.objectValue)
                #expect(params.count <= 25)
                for (k, v) in params {
                    #expect(k.wholeMatch(of: namePattern) != nil, "parameter name \(k)")
                    for p in ["google_", "ga_", "firebase_"] { #expect(!k.lowercased().hasPrefix(p)) }
                    if let s = v.stringValue { #expect(s.count <= 100) }
                }
            }
        }
        #expect(bodies[0] == [
            "client_id": "clowder-server", "user_id": "5f0c1a2b3c4d5e6f7a8b9c0d", "timestamp_micros": .int(Self.base * 1000),
            "events": [[
                "name": "download_file",
                "params": [
                    "resource_id": "5f0000000000000000000001", "resource_type": "file", "size": 1234,
                    "url": .string(String(("https://clowder.example.org/files/" + String(repeating: "x", count: 150)).prefix(100))),
                    "file_name": "a.csv", "clowder_1st": 1, "clowder_google_thing": 2.5,
                ],
            ]],
        ])
        #expect(bodies[1] == [
            "client_id": "clowder-web-1", "timestamp_micros": .int((Self.base + 1) * 1000),
            "events": [["name": "download_dataset", "params": ["resource_id": "5f0000000000000000000002", "resource_type": "dataset", "source": "nginx", "agent": "web-1"]]],
        ])
        #expect(bodies[2]["events"]?.arrayValue?.first?["name"] == "view_resource_space")
    }

    @Test func ga4LimitsAndChunks() async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        let d = GA4Destination(endpoint: receiver.url + "/mp/collect", measurementID: "G-X", apiSecret: "s")
        // 60 events of one client in one millisecond, 40 members each: 3 requests (25 + 25 + 10), 25 params each.
        var members: [String: JSONValue] = ["category": "session_start", "created": .int(Self.base)]
        for i in 0..<40 { members["k\(i)"] = .int(Int64(i)) }
        let batch = (0..<60).map { SinkMessage(messageID: "m\($0)", decoded: .event(ClowderEvent(members))) }
        try await d.write(batch)
        let counts = try receiver.requests.map { try #require(JSONValue(parsing: $0.body)["events"]?.arrayValue?.count) }
        #expect(counts == [25, 25, 10])
        let first = try JSONValue(parsing: receiver.requests[0].body)["events"]?.arrayValue?.first
        // A reserved event name gets the prefix.
        #expect(first?["name"] == "clowder_session_start")
        #expect(first?["params"]?.objectValue?.count == 25)
    }
}
