import Agent
import MetricsModel
import Parsers
import Testing

/// `upload_bytes` (from `$request_length` of answered uploads) and `download_bytes` (from
/// `$body_bytes_sent` of downloads), with hand-made lines whose sums are worked out in the comments.
/// The same sums over a whole generated log are checked against gen-clowder-log's truth in
/// ``GroundTruthTests`` (`--format clowder_rl`).
@Suite("AccessLogPipeline upload and download bytes")
struct TransferBytesTests {
    static let format = try! LogFormat(
        string: #"$msec $remote_addr "$request" $status $body_bytes_sent "$http_user_agent" $request_length"#)
    static let id = "5f0c3b2a9d1e4f7a8b6c5d4e"
    static let ua = "python-requests/2.32.3"

    static func line(_ t: Int, _ method: String, _ target: String, status: Int, bytes: Int, length: Int) -> String {
        "\(t).000 198.51.100.7 \"\(method) \(target) HTTP/1.1\" \(status) \(bytes) \"\(ua)\" \(length)"
    }

    @Test("upload_bytes sums $request_length of 2xx uploads only; download_bytes sums $body_bytes_sent of downloads")
    func sums() throws {
        let p = try AccessLogPipeline(configuration: .init(logFormat: Self.format, windowSeconds: 60, latenessSeconds: 0,
                                                           emitEvents: true))
        let lines = [
            Self.line(1, "POST", "/api/uploadToDataset/\(Self.id)", status: 200, bytes: 40, length: 5_000),  // upload +5000
            Self.line(2, "POST", "/api/files", status: 201, bytes: 40, length: 70_000),  // upload +70000
            Self.line(3, "POST", "/api/files", status: 500, bytes: 40, length: 9_999),  // not answered: not an upload
            Self.line(4, "GET", "/api/files/\(Self.id)/blob", status: 200, bytes: 1_234, length: 300),  // download +1234
            Self.line(5, "GET", "/api/files/\(Self.id)/blob", status: 206, bytes: 100, length: 320),  // partial +100
            Self.line(6, "GET", "/datasets/\(Self.id)", status: 200, bytes: 8_000, length: 400),  // page view: neither
            Self.line(7, "DELETE", "/api/files/\(Self.id)", status: 200, bytes: 20, length: 350),  // delete: no size seen
        ]
        for l in lines { _ = p.add(l) }
        let (all, events) = p.closeAll()
        // Besides the window's nginx_access point: the top-resource points (views, downloads).
        let points = all.filter { $0.measurement == "nginx_access" }
        #expect(points.count == 1)
        #expect(points[0].int("uploads") == 2)
        #expect(points[0].int("upload_bytes") == 75_000)
        #expect(points[0].int("download_bytes") == 1_334)
        let allBytes: Int64 = 40 * 3 + 1_234 + 100 + 8_000 + 20
        #expect(points[0].int("bytes_sent") == allBytes)
        // Each upload event carries the bytes the client sent.
        let uploads = events.filter { $0.category == "upload" }
        #expect(uploads.map { $0.members["size"] } == [.int(5_000), .int(70_000)])
    }

    @Test("without $request_length there is no upload_bytes field (not a misleading 0); download_bytes stays")
    func withoutRequestLength() throws {
        let format = try LogFormat(string: #"$msec $remote_addr "$request" $status $body_bytes_sent"#)
        let p = try AccessLogPipeline(configuration: .init(logFormat: format, windowSeconds: 60, latenessSeconds: 0))
        _ = p.add("1.000 198.51.100.7 \"POST /api/files HTTP/1.1\" 200 40")
        _ = p.add("2.000 198.51.100.7 \"GET /api/files/\(Self.id)/blob HTTP/1.1\" 200 777")
        let points = p.closeAll().points.filter { $0.measurement == "nginx_access" }
        #expect(points.count == 1)
        #expect(points[0].int("uploads") == 1)
        #expect(points[0].fields["upload_bytes"] == nil)
        #expect(points[0].int("download_bytes") == 777)
    }
}
