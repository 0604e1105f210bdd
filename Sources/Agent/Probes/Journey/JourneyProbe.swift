#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import MetricsModel
import SystemSupport

/// Clowder's healthmonitor `download` and `filewrite` checks as one traced transaction: what a
/// user does to get a file out and put one in, each step timed and the first failing one named.
///
/// A round: `GET /healthz` answers `healthy` (exactly, blanks around it aside) → `GET /api/status` answers JSON (its `counts`
/// become `status_<name>` fields, its version the `clowder_version` tag) → the configured file
/// downloads (`X-API-Key` from a file, never in the query string) → a small generated file uploads
/// to the test dataset (multipart `File`; v2 `file`) and its id is read from the JSON answer → it
/// downloads again and must equal what was sent → it is deleted. Routes: ``JourneyStep``.
///
/// Nothing is left behind silently: when the upload worked but a later step failed, the delete
/// is still tried; a delete that fails is logged as an error, remembered in
/// ``JourneySettings/pendingFile`` and tried again at the start of every round (404 counts as
/// gone) until it succeeds. `pending_deletes` says how many wait.
///
/// One `clowder_journey` point per round. Fields: `<step>_time` (s, each step run), `total_time`
/// (s), `bytes_down` (bytes of the configured file), `bytes_up` (bytes of the generated file),
/// `download_throughput` (bytes/s), `up` (1: every step passed), `pending_deletes`,
/// `status_<count>` (from `/api/status`), `http_status` (of the failed step, when it answered).
/// Tags: `server`, `api`, `failed_step` (a ``JourneyStep`` or `none`), `result` (`ok`, `status`,
/// `body`, or curl's `timeout`, `connection_failed`, `dns_error`, `tls_error`), `clowder_version`,
/// and the agent's.
final class JourneyProbe {
    let settings: JourneySettings
    private let apiKey: String
    private let exchange = HTTPExchange(maxBodyBytes: 256 << 20)
    /// Uploaded files whose delete has not succeeded yet.
    private(set) var pending: [String] = []
    /// What the last round wants the operator to read (errors first).
    private(set) var messages: [(error: Bool, text: String)] = []

    /// - Throws: ``AgentError`` `.journey` when the key file cannot be read or holds no key.
    init(settings: JourneySettings) throws {
        self.settings = settings
        apiKey = try Self.readKey(settings.apiKeyFile)
        pending = Self.readPending(settings.pendingFile)
    }

    static func readKey(_ path: String) throws -> String {
        let data: [UInt8]
        do { data = try FileContents.read(path, limit: 64 << 10) } catch {
            throw AgentError(.journey, "CLOWDER_METRICS_JOURNEY_API_KEY_FILE=\(path): cannot read this file (\(error))", underlying: error)
        }
        let key = String(decoding: data, as: UTF8.self).trimmingWhitespace
        guard !key.isEmpty, !key.contains("\n") else {
            throw AgentError(.journey, "CLOWDER_METRICS_JOURNEY_API_KEY_FILE=\(path): the file must hold one Clowder API key")
        }
        return key
    }

    static func readPending(_ path: String) -> [String] {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    private func savePending() {
        let text = pending.map { $0 + "\n" }.joined()
        do {
            if pending.isEmpty, FileManager.default.fileExists(atPath: settings.pendingFile) {
                try FileManager.default.removeItem(atPath: settings.pendingFile)
            } else if !pending.isEmpty {
                try Data(text.utf8).write(to: URL(fileURLWithPath: settings.pendingFile), options: .atomic)
            }
        } catch {
            messages.append((true, "journey: cannot write \(settings.pendingFile) (the files still to delete: \(pending.joined(separator: ", "))): \(error)"))
        }
    }

    private var headers: [(String, String)] { [("X-API-Key", apiKey)] }

    private func url(_ path: String) -> String { settings.baseURL + path }

    /// One step's outcome.
    private struct Failure {
        var result: String
        var status: Int?
        var message: String
    }

    /// Runs one round. Blocks for at most about 7 × the step timeout.
    func run(tags: [String: String], timeNanoseconds: Int64) -> Point {
        messages = []
        var fields: [String: JSONValue] = [:]
        var t = tags
        t["server"] = settings.baseURL
        t["api"] = settings.api.rawValue
        retryPendingDeletes()
        var failedStep: JourneyStep?
        var failure: Failure?
        var uploadedID: String?
        var uploaded: [UInt8] = []
        var total = 0.0
        let s = settings
        func fail(_ step: JourneyStep, _ f: Failure) {
            if failedStep == nil {
                failedStep = step
                failure = f
            }
        }
        func perform(_ step: JourneyStep, body: [UInt8]? = nil, extraHeaders: [(String, String)] = []) -> HTTPExchange.Response? {
            let (method, path) = step.route(s.api, fileID: s.fileID, datasetID: s.datasetID, uploadedID: uploadedID ?? "")
            let r = exchange.perform(method, url(path), headers: headers + extraHeaders, body: body, timeout: s.stepTimeoutSeconds)
            fields[step.rawValue + "_time"] = .double(r.seconds)
            total += r.seconds
            if let f = r.failure {
                fail(step, Failure(result: f.outcome, status: nil, message: "\(method) \(path): \(f.message)"))
                return nil
            }
            return r
        }
        steps: do {
            // healthz
            guard let h = perform(.healthz) else { break steps }
            guard h.status == 200 else { fail(.healthz, statusFailure(.healthz, h)); break steps }
            // Clowder's /healthz answers exactly `healthy` (a substring test would pass `unhealthy`).
            guard h.bodyText.trimmingWhitespace == "healthy" else {
                fail(.healthz, Failure(result: "body", status: h.status, message: "GET /healthz: the body is not \"healthy\": \(Self.excerpt(h.body))"))
                break steps
            }
            // status
            guard let st = perform(.status) else { break steps }
            guard st.status == 200 else { fail(.status, statusFailure(.status, st)); break steps }
            guard let json = try? JSONValue(parsing: st.body), json.objectValue != nil else {
                fail(.status, Failure(result: "body", status: st.status, message: "\(route(.status)): not a JSON object: \(Self.excerpt(st.body))"))
                break steps
            }
            Self.statusFields(json, into: &fields, tags: &t)
            // download
            guard let d = perform(.download) else { break steps }
            guard d.status == 200 else { fail(.download, statusFailure(.download, d)); break steps }
            if d.bytesDown == 0 || Self.looksLikeHTML(d.body) {
                fail(.download, Failure(result: "body", status: d.status,
                                        message: "\(route(.download)): \(d.bytesDown == 0 ? "an empty body" : "an HTML page instead of the file (a login page?)")"))
                break steps
            }
            fields["bytes_down"] = .int(d.bytesDown)
            if d.seconds > 0 { fields["download_throughput"] = .double(Double(d.bytesDown) / d.seconds) }
            // upload
            uploaded = Self.generatedFile(bytes: s.uploadBytes, time: timeNanoseconds)
            let boundary = "clowder-metrics-\(timeNanoseconds)"
            let body = Self.multipart(field: s.api == .v1 ? "File" : "file", filename: "clowder-metrics-journey-\(timeNanoseconds / 1_000_000).txt",
                                      content: uploaded, boundary: boundary)
            guard let u = perform(.upload, body: body, extraHeaders: [("Content-Type", "multipart/form-data; boundary=\(boundary)")]) else { break steps }
            guard u.status == 200 || u.status == 201 else { fail(.upload, statusFailure(.upload, u)); break steps }
            guard let id = (try? JSONValue(parsing: u.body))?["id"]?.stringValue, !id.isEmpty, !id.contains("/") else {
                fail(.upload, Failure(result: "body", status: u.status, message: "\(route(.upload)): no \"id\" in the answer: \(Self.excerpt(u.body))"))
                break steps
            }
            uploadedID = id
            fields["bytes_up"] = .int(Int64(uploaded.count))
            // readback
            guard let rb = perform(.readback) else { break steps }
            guard rb.status == 200 else { fail(.readback, statusFailure(.readback, rb)); break steps }
            guard rb.body == uploaded else {
                fail(.readback, Failure(result: "body", status: rb.status,
                                        message: "\(route(.readback)): the file read back (\(rb.bytesDown) bytes) differs from the one uploaded (\(uploaded.count) bytes)"))
                break steps
            }
        }
        // The delete runs whenever something was uploaded, also after a later step failed.
        if let id = uploadedID {
            if let dr = perform(.delete) {
                if dr.status == 200 || dr.status == 204 {
                    // deleted
                } else {
                    fail(.delete, statusFailure(.delete, dr))
                    remember(id)
                }
            } else {
                remember(id)
            }
        }
        fields["total_time"] = .double(total)
        fields["up"] = .int(failedStep == nil ? 1 : 0)
        fields["pending_deletes"] = .int(Int64(pending.count))
        if let f = failure, let status = f.status { fields["http_status"] = .int(Int64(status)) }
        t["failed_step"] = failedStep?.rawValue ?? "none"
        t["result"] = failure?.result ?? "ok"
        if let step = failedStep, let f = failure {
            messages.append((step == .delete, "journey \(settings.baseURL): step \(step.rawValue) failed (\(f.result)): \(f.message)"))
        }
        return Point(measurement: "clowder_journey", tags: t, fields: fields, timeNanoseconds: timeNanoseconds)
    }

    private func route(_ step: JourneyStep) -> String {
        let (m, p) = step.route(settings.api, fileID: settings.fileID, datasetID: settings.datasetID, uploadedID: "…")
        return "\(m) \(p)"
    }

    private func statusFailure(_ step: JourneyStep, _ r: HTTPExchange.Response) -> Failure {
        Failure(result: "status", status: r.status, message: "\(route(step)): status \(r.status): \(Self.excerpt(r.body))")
    }

    private func remember(_ id: String) {
        if !pending.contains(id) { pending.append(id) }
        savePending()
        messages.append((true, "journey \(settings.baseURL): the test file \(id) uploaded to dataset \(settings.datasetID) could NOT be deleted; the agent tries again next round (remembered in \(settings.pendingFile))"))
    }

    /// Deletes what earlier rounds could not (404: already gone).
    private func retryPendingDeletes() {
        guard !pending.isEmpty else { return }
        var still: [String] = []
        for id in pending {
            let (method, path) = JourneyStep.delete.route(settings.api, fileID: settings.fileID, datasetID: settings.datasetID, uploadedID: id)
            let r = exchange.perform(method, url(path), headers: headers, timeout: settings.stepTimeoutSeconds)
            if r.failure == nil, [200, 204, 404].contains(r.status) {
                messages.append((false, "journey \(settings.baseURL): the test file \(id) left by an earlier round is deleted now"))
            } else {
                still.append(id)
                messages.append((true, "journey \(settings.baseURL): the test file \(id) left by an earlier round still cannot be deleted (\(r.failure?.message ?? "status \(r.status)"))"))
            }
        }
        pending = still
        savePending()
    }

    /// `counts` members of `/api/status` as `status_<name>` integer fields; the version as a tag.
    static func statusFields(_ json: JSONValue, into fields: inout [String: JSONValue], tags: inout [String: String]) {
        if let counts = json["counts"]?.objectValue {
            for (k, v) in counts { if let n = v.intValue { fields["status_" + k] = .int(n) } }
        }
        if let v = json["version"] {
            if let s = v.stringValue { tags["clowder_version"] = s }
            else if let s = v["number"]?.stringValue { tags["clowder_version"] = s }
        }
    }

    static func looksLikeHTML(_ body: [UInt8]) -> Bool {
        let head = String(decoding: body.prefix(64), as: UTF8.self).lowercased().trimmingWhitespace
        return head.hasPrefix("<!doctype html") || head.hasPrefix("<html")
    }

    /// A printable file of `bytes` bytes that names its origin and differs every round.
    static func generatedFile(bytes: Int, time: Int64) -> [UInt8] {
        var out = Array("clowder-metrics journey probe test file, \(time) ns; safe to delete\n".utf8)
        var x = UInt64(bitPattern: time) | 1
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789\n".utf8)
        while out.count < bytes {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17  // xorshift64
            out.append(alphabet[Int(x % UInt64(alphabet.count))])
        }
        return Array(out.prefix(max(1, bytes)))
    }

    /// A `multipart/form-data` body with one file part (RFC 7578).
    static func multipart(field: String, filename: String, content: [UInt8], boundary: String) -> [UInt8] {
        var b = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"; filename=\"\(filename)\"\r\nContent-Type: text/plain\r\n\r\n".utf8)
        b += content
        b += Array("\r\n--\(boundary)--\r\n".utf8)
        return b
    }

    /// The start of a body for a message: at most 120 bytes, made printable.
    static func excerpt(_ body: [UInt8]) -> String {
        Array(body.prefix(120)).withUnsafeBytes { AccessLogPipeline.printable($0) }
    }
}
