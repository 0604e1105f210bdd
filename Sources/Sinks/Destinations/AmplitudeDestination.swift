import MetricsModel

/// Forwards Clowder events (not metric points) to Amplitude's Batch Event
/// Upload API (https://amplitude.com/docs/apis/analytics/batch-event-upload):
///
/// ```
/// POST https://api2.amplitude.com/batch
/// Content-Type: application/json
/// {"api_key": "<key>", "events": [{"user_id": "…" | "device_id": "…", "event_type": "download_file",
///   "time": <epoch ms>, "insert_id": "<message_id>", "event_properties": {…}}, …]}
/// ```
///
/// - `user_id`: the event's `user_id` when it is a non-empty string; otherwise
///   `device_id` from ``EventSelection/deviceID(_:)`` (Amplitude requires one of the two).
/// - `event_type`: ``EventSelection/eventName(_:)``.
/// - `time`: `created` (epoch ms).
/// - `insert_id`: the message id, so Amplitude drops a redelivered event
///   (it de-duplicates on `insert_id` for 7 days).
/// - `event_properties`: every other member of the event except `created` and `user_id`.
///
/// At most ``maxEventsPerRequest`` events go in one request (the HTTP V2 API
/// allows 2,000; the batch API's limit is 20 MB). Answers, from Amplitude's
/// documentation of the endpoint: 200 is success; 400 (invalid upload), 413
/// (payload too large: the consumer splits the batch) and other 4xx are
/// permanent, except a 400 about the API key and 401/403 (a configuration
/// problem: retryable, so that a wrong key does not dead-letter every event);
/// 408, 429 (throttled), 5xx and network errors are retryable.
public struct AmplitudeDestination: Destination {
    public var kind: String { "amplitude" }
    /// The batch endpoint, e.g. `https://api2.amplitude.com/batch`.
    public let endpoint: String
    let apiKey: String
    /// Which events are sent.
    public let selection: EventSelection
    /// Events per request.
    public let maxEventsPerRequest: Int
    let client: HTTPClient

    /// - Parameters:
    ///   - endpoint: the batch endpoint URL.
    ///   - apiKey: the project's API key (read from a file by the configuration).
    ///   - selection: which categories are sent.
    ///   - maxEventsPerRequest: events per request (1…2000).
    public init(
        endpoint: String = "https://api2.amplitude.com/batch", apiKey: String, selection: EventSelection = .init(),
        maxEventsPerRequest: Int = 1000
    ) {
        self.endpoint = endpoint
        self.apiKey = apiKey
        self.selection = selection
        self.maxEventsPerRequest = min(2000, max(1, maxEventsPerRequest))
        self.client = HTTPClient(label: "amplitude")
    }

    /// Sends the batch's selected events.
    /// - Throws: ``SinkError`` classified as described on the type.
    public func write(_ messages: [SinkMessage]) async throws {
        let events = selection.events(in: messages)
        var start = 0
        while start < events.count {
            let chunk = events[start..<min(events.count, start + maxEventsPerRequest)]
            start += chunk.count
            let body: JSONValue = ["api_key": .string(apiKey), "events": .array(chunk.map { Self.event($0.event, messageID: $0.messageID) })]
            let r = try await client.post(url: endpoint, headers: ["Content-Type: application/json", "Accept: */*"], body: body.jsonBytes)
            switch r.status {
            case 200..<300: continue
            case 400 where r.text(limit: 2000).lowercased().contains("api key") || r.text(limit: 2000).contains("api_key"):
                throw SinkError.retryable("Amplitude answered \(r.status) (check the API key): \(r.text())")
            case 401, 403:
                throw SinkError.retryable("Amplitude answered \(r.status) (check the API key): \(r.text())")
            case 408, 429:
                throw SinkError.retryable("Amplitude answered \(r.status): \(r.text())")
            case 400..<500:
                throw SinkError.permanent("Amplitude answered \(r.status): \(r.text())")
            default:
                throw SinkError.retryable("Amplitude answered \(r.status): \(r.text())")
            }
        }
    }

    /// One event object of the upload.
    static func event(_ e: ClowderEvent, messageID: String) -> JSONValue {
        var o: [String: JSONValue] = [
            "event_type": .string(EventSelection.eventName(e)),
            "time": .int(e.created ?? 0),
            "insert_id": .string(messageID),
        ]
        if let u = e.members["user_id"]?.stringValue, !u.isEmpty {
            o["user_id"] = .string(u)
        } else {
            o["device_id"] = .string(EventSelection.deviceID(e))
        }
        var properties = e.members
        properties["created"] = nil
        properties["user_id"] = nil
        o["event_properties"] = .object(properties)
        return .object(o)
    }
}
