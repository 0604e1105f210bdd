import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A small client for InfluxDB 1.x's HTTP API (`/ping`, `/query`, `/write`), for tests.
/// https://docs.influxdata.com/influxdb/v1/tools/api/
struct InfluxDB {
    /// Base URL, `CLOWDER_TEST_INFLUX_URL` or `http://127.0.0.1:8086`.
    var base: String = ProcessInfo.processInfo.environment["CLOWDER_TEST_INFLUX_URL"] ?? "http://127.0.0.1:8086"

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// One series of a query result.
    struct Series {
        var name: String
        var tags: [String: String]
        var columns: [String]
        var values: [[Any?]]

        /// The values of one column.
        func column(_ name: String) -> [Any?] {
            guard let i = columns.firstIndex(of: name) else { return [] }
            return values.map { i < $0.count ? $0[i] : nil }
        }
    }

    /// Whether `/ping` answers 204.
    func isUp() async -> Bool {
        guard let url = URL(string: base + "/ping") else { return false }
        var request = URLRequest(url: url)
        request.timeoutInterval = 2
        guard let (_, response) = try? await URLSession.shared.data(for: request) else { return false }
        return (response as? HTTPURLResponse)?.statusCode == 204
    }

    /// Runs one InfluxQL statement; returns its series, or throws with InfluxDB's error text.
    func query(_ q: String, database: String? = nil, post: Bool = false) async throws -> [Series] {
        var components = URLComponents(string: base + "/query")!
        var items = [URLQueryItem(name: "q", value: q), URLQueryItem(name: "epoch", value: "ns")]
        if let database { items.append(URLQueryItem(name: "db", value: database)) }
        components.queryItems = items
        // `+` is a space in a query string: encode it, InfluxQL uses it for addition.
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        var request = URLRequest(url: components.url!)
        request.httpMethod = post ? "POST" : "GET"
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Failure(description: "InfluxDB answered \(status) with \(String(decoding: data, as: UTF8.self)) to \(q)")
        }
        if let error = object["error"] as? String { throw Failure(description: "InfluxDB: \(error) — query: \(q)") }
        let results = object["results"] as? [[String: Any]] ?? []
        var series: [Series] = []
        for result in results {
            if let error = result["error"] as? String { throw Failure(description: "InfluxDB: \(error) — query: \(q)") }
            for s in result["series"] as? [[String: Any]] ?? [] {
                let values = (s["values"] as? [[Any]] ?? []).map { row in row.map { $0 is NSNull ? nil : Optional($0) } }
                series.append(Series(name: s["name"] as? String ?? "", tags: s["tags"] as? [String: String] ?? [:],
                                     columns: s["columns"] as? [String] ?? [], values: values))
            }
        }
        return series
    }

    /// Writes line protocol (precision ns).
    func write(_ lines: String, database: String) async throws {
        let url = URL(string: base + "/write?db=\(database)&precision=ns")!
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = Data(lines.utf8)
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 204 else {
            throw Failure(description: "InfluxDB write answered \(status): \(String(decoding: data, as: UTF8.self))")
        }
    }
}
