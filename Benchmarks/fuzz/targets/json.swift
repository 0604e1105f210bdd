// Fuzz target: JSON bodies and broker messages (MetricsModel: JSONValue parsing, Batch, ClowderEvent,
// MetricsMessage.decode and decodeAll as the sinks and the status feed run them). Built by ../build.sh together with the MetricsModel sources.
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
    // Any message, a points message (`metric_points`) among them: items or an error, never a trap;
    // the points it holds, cut into a points message again, decode to the same points in the same order.
    if let items = try? MetricsMessage.decodeAll(bytes, messageID: "fuzz:1") {
        var points: [Point] = []
        for case .success(.point(let p)) in items.map(\.decoded) { points.append(p) }
        if !points.isEmpty {
            let again = MetricsMessage.pointsMessageBytes(
                id: "k:b", first: 0, agentID: "fuzz", keyID: nil, elements: points.map(MetricsMessage.elementBytes(for:)))
            guard let back = try? MetricsMessage.decodeAll(again, messageID: nil), back.count == points.count else {
                fatalError("re-cut points do not decode")
            }
            for (p, item) in zip(points, back) {
                guard case .success(.point(let q)) = item.decoded, q.timeNanoseconds == p.timeNanoseconds,
                    q.measurement == p.measurement
                else { fatalError("a re-cut point does not survive: \(p)") }
            }
        }
    }
    return 0
}
