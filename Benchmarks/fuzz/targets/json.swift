// Fuzz target: JSON bodies and broker messages (MetricsModel: JSONValue parsing, Batch, ClowderEvent,
// MetricsMessage.decode as the sink runs it). Built by ../build.sh together with the MetricsModel sources.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    if let v = try? JSONValue(parsing: bytes) {
        // What the writer writes must parse again (it is what the ingest publishes).
        let again = v.jsonBytes
        guard (try? JSONValue(parsing: again)) != nil else { fatalError("written JSON does not parse: \(v)") }
        _ = try? Batch(json: v)
        _ = try? ClowderEvent(json: v)
        _ = try? Point(json: v)
    }
    if case .point(let p)? = try? MetricsMessage.decode(bytes) {
        // A decoded point republishes and decodes to the same time.
        let round = MetricsMessage.json(for: p, agentID: "fuzz").jsonBytes
        guard case .point(let q)? = try? MetricsMessage.decode(round), q.timeNanoseconds == p.timeNanoseconds else {
            fatalError("a decoded point does not survive republishing")
        }
    }
    return 0
}
