// Fuzz target: NGINX access-log lines (Parsers: AccessLogParser for `combined`, the recommended
// `clowder_metrics` format and an escape=json format; the Clowder route classifier; KeyRedaction).
// The first byte picks the format; the rest is the line.
nonisolated(unsafe) let parsers: [AccessLogParser] = [
    try! AccessLogParser(format: .combined),
    try! AccessLogParser(format: .clowderMetrics),
    try! AccessLogParser(
        format: LogFormat(
            string: #"{"t":"$time_iso8601","a":"$remote_addr","r":"$request","s":$status,"b":$bytes_sent,"rt":$request_time,"u":"$upstream_addr","us":"$upstream_status","urt":"$upstream_response_time","h":"$host","m":"$msec","x":"$http_x_forwarded_for","c":$connection}"#,
            escape: .json)),
]
nonisolated(unsafe) var records = parsers.map { $0.makeRecord() }
let classifier = ClowderClassifier(prefix: "/clowder")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLogLine(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let which = Int(data[0]) % parsers.count
    let line = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    if parsers[which].parse(line, into: &records[which]) {
        _ = classifier.classify(records[which], in: line)
        if let target = records[which].string(.target, in: line) { _ = KeyRedaction.redact(target) }
    } else {
        _ = parsers[which].recoverTime(line)
    }
    var bytes = Array(line)
    let changed = KeyRedaction.redact(bytes: &bytes)
    if changed {
        var twice = bytes
        guard !KeyRedaction.redact(bytes: &twice) else { fatalError("KeyRedaction is not idempotent") }
    }
    return 0
}
