import MetricsModel

/// Forwards Clowder events (not metric points) to Google Analytics 4 with the
/// Measurement Protocol
/// (https://developers.google.com/analytics/devguides/collection/protocol/ga4/sending-events):
///
/// ```
/// POST https://www.google-analytics.com/mp/collect?measurement_id=G-XXXX&api_secret=<secret>
/// Content-Type: application/json
/// {"client_id": "clowder-web-1", "user_id": "…", "timestamp_micros": <epoch µs>,
///  "events": [{"name": "download_file", "params": {"resource_id": "…", …}}]}
/// ```
///
/// `client_id`, `user_id` and `timestamp_micros` belong to the request, so
/// events are grouped by (client, user, `created`) and each group is sent in
/// requests of at most 25 events. `client_id` is
/// ``EventSelection/deviceID(_:)``; `user_id` the event's `user_id`, if any;
/// `timestamp_micros` is `created` × 1000.
///
/// GA4's documented limits are applied
/// (https://developers.google.com/analytics/devguides/collection/protocol/ga4/sending-events#limitations):
/// at most 25 events per request and 25 parameters per event; event and
/// parameter names of at most 40 characters, letters, digits and `_` only,
/// starting with a letter (other characters become `_`, names starting
/// otherwise get the prefix `clowder_`, as do reserved names and the reserved
/// prefixes `google_`, `ga_`, `firebase_`); parameter values of at most 100
/// characters (longer strings are cut). Parameters are the event's members
/// except `created`, `user_id` and `category`; `type` is sent as `resource_type`;
/// booleans become 0/1; arrays and objects their JSON text.
///
/// The collection endpoint answers 2xx to anything it can read (use the
/// `/debug/mp/collect` endpoint to see validation messages); 4xx other than
/// 408/429 is permanent, 408, 429, 5xx and network errors retryable.
public struct GA4Destination: Destination {
    public var kind: String { "ga4" }
    /// The collection endpoint, e.g. `https://www.google-analytics.com/mp/collect`.
    public let endpoint: String
    /// The stream's measurement id (`G-…`).
    public let measurementID: String
    let apiSecret: String
    /// Which events are sent.
    public let selection: EventSelection
    let client: HTTPClient

    /// Events per request (GA4 limit).
    public static let maxEventsPerRequest = 25
    /// Parameters per event (GA4 limit).
    public static let maxParameters = 25
    /// Characters in an event or parameter name (GA4 limit).
    public static let maxNameLength = 40
    /// Characters in a parameter value (GA4 limit).
    public static let maxValueLength = 100
    /// Event names GA4 reserves.
    public static let reservedEventNames: Set<String> = [
        "ad_activeview", "ad_click", "ad_exposure", "ad_impression", "ad_query", "ad_reward", "adunit_exposure",
        "app_background", "app_clear_data", "app_exception", "app_remove", "app_store_refund",
        "app_store_subscription_cancel", "app_store_subscription_convert", "app_store_subscription_renew",
        "app_uninstall", "app_update", "app_upgrade", "dynamic_link_app_open", "dynamic_link_app_update",
        "dynamic_link_first_open", "error", "firebase_campaign", "firebase_in_app_message_action",
        "firebase_in_app_message_dismiss", "firebase_in_app_message_impression", "first_open", "first_visit",
        "in_app_purchase", "notification_dismiss", "notification_foreground", "notification_open",
        "notification_receive", "notification_send", "os_update", "session_start", "session_start_with_rollout",
        "user_engagement",
    ]
    /// Parameter names GA4 reserves.
    public static let reservedParameterNames: Set<String> = ["firebase_conversion"]

    /// - Parameters:
    ///   - endpoint: the collection URL without query.
    ///   - measurementID: the web stream's measurement id.
    ///   - apiSecret: the Measurement Protocol API secret (read from a file by the configuration).
    ///   - selection: which categories are sent.
    public init(
        endpoint: String = "https://www.google-analytics.com/mp/collect", measurementID: String, apiSecret: String,
        selection: EventSelection = .init()
    ) {
        self.endpoint = endpoint
        self.measurementID = measurementID
        self.apiSecret = apiSecret
        self.selection = selection
        self.client = HTTPClient(label: "ga4")
    }

    /// Sends the batch's selected events.
    /// - Throws: ``SinkError`` classified as described on the type.
    public func write(_ messages: [SinkMessage]) async throws {
        let url =
            "\(endpoint)?measurement_id=\(InfluxDestination.percentEncoded(measurementID))&api_secret=\(InfluxDestination.percentEncoded(apiSecret))"
        for body in Self.requests(selection.events(in: messages)) {
            let r = try await client.post(url: url, headers: ["Content-Type: application/json"], body: body.jsonBytes)
            switch r.status {
            case 200..<300: continue
            case 408, 429: throw SinkError.retryable("GA4 answered \(r.status): \(r.text())")
            case 400..<500: throw SinkError.permanent("GA4 answered \(r.status): \(r.text())")
            default: throw SinkError.retryable("GA4 answered \(r.status): \(r.text())")
            }
        }
    }

    /// The request bodies for the selected events, in order of first appearance.
    static func requests(_ events: [(messageID: String, event: ClowderEvent)]) -> [JSONValue] {
        struct Key: Hashable {
            var client: String
            var user: String?
            var created: Int64
        }
        var order: [Key] = []
        var groups: [Key: [JSONValue]] = [:]
        for (_, e) in events {
            let user = e.members["user_id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            let key = Key(client: EventSelection.deviceID(e), user: user, created: e.created ?? 0)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(event(e))
        }
        var bodies: [JSONValue] = []
        for key in order {
            let all = groups[key]!
            var i = 0
            while i < all.count {
                let chunk = Array(all[i..<min(all.count, i + maxEventsPerRequest)])
                i += chunk.count
                var o: [String: JSONValue] = [
                    "client_id": .string(key.client), "timestamp_micros": .int(key.created.multipliedReportingOverflow(by: 1000).overflow ? 0 : key.created * 1000),
                    "events": .array(chunk),
                ]
                if let u = key.user { o["user_id"] = .string(u) }
                bodies.append(.object(o))
            }
        }
        return bodies
    }

    /// One event item: `{"name": …, "params": {…}}`.
    static func event(_ e: ClowderEvent) -> JSONValue {
        var name = sanitizedName(EventSelection.eventName(e))
        if reservedEventNames.contains(name) { name = sanitizedName("clowder_" + name) }
        var params: [String: JSONValue] = [:]
        let preferred = ["resource_id", "type", "resource_name", "size", "author_id", "extractor_name", "source", "url"]
        let rest = e.members.keys.filter { !preferred.contains($0) }.sorted()
        for key in preferred + rest {
            guard params.count < maxParameters, let v = e.members[key] else { continue }
            if key == "created" || key == "user_id" || key == "category" { continue }
            var pname = sanitizedName(key == "type" ? "resource_type" : key)
            if reservedParameterNames.contains(pname) { pname = sanitizedName("clowder_" + pname) }
            guard params[pname] == nil, let value = parameterValue(v) else { continue }
            params[pname] = value
        }
        return ["name": .string(name), "params": .object(params)]
    }

    /// A GA4 parameter value: numbers as they are, strings cut to 100 characters.
    static func parameterValue(_ v: JSONValue) -> JSONValue? {
        switch v {
        case .null: return nil
        case .int, .double: return v
        case .bool(let b): return .int(b ? 1 : 0)
        case .string(let s): return .string(String(s.prefix(maxValueLength)))
        case .array, .object: return .string(String(v.jsonString.prefix(maxValueLength)))
        }
    }

    /// A name GA4 accepts: letters, digits and `_`, starting with a letter, at most 40 characters,
    /// not starting with a reserved prefix.
    static func sanitizedName(_ raw: String) -> String {
        var s = String(
            String.UnicodeScalarView(
                raw.unicodeScalars.map { c in
                    (c.properties.isASCIIHexDigit || ("a"..."z").contains(c) || ("A"..."Z").contains(c)
                        || ("0"..."9").contains(c) || c == "_") && c.isASCII ? c : "_"
                }))
        let lower = s.lowercased()
        let startsWithLetter = s.unicodeScalars.first.map { ("a"..."z").contains($0) || ("A"..."Z").contains($0) } ?? false
        if !startsWithLetter || lower.hasPrefix("google_") || lower.hasPrefix("ga_") || lower.hasPrefix("firebase_") {
            s = "clowder_" + s
        }
        return String(s.prefix(maxNameLength))
    }
}
