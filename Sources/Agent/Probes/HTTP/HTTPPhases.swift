/// The phases of one HTTP request, each alone, in seconds.
///
/// libcurl reports cumulative times, each measured from the start of the
/// request (`curl_easy_getinfo(3)`, "TIMES"; the `*_TIME_T` variants, in
/// microseconds, https://curl.se/libcurl/c/curl_easy_getinfo.html):
///
/// ```
/// NAMELOOKUP ≤ CONNECT ≤ APPCONNECT ≤ PRETRANSFER ≤ STARTTRANSFER ≤ TOTAL
/// ```
///
/// Each phase here is the difference of two neighbours:
/// - `dns` = NAMELOOKUP
/// - `connect` = CONNECT − NAMELOOKUP (TCP handshake: one round trip)
/// - `tls` = APPCONNECT − CONNECT (0 for plain HTTP, where APPCONNECT is 0)
/// - `firstByte` (`ttfb_time`) = STARTTRANSFER − APPCONNECT (or − CONNECT without
///   TLS): sending the request and the server's think time, up to the first byte
/// - `transfer` = TOTAL − STARTTRANSFER: the rest of the response
///
/// so the five always add up to `total` exactly. When redirects are followed,
/// libcurl adds each hop's NAMELOOKUP…STARTTRANSFER together and TOTAL spans
/// the whole chain, so the sums still hold and `transfer` also holds the
/// earlier hops' body time. When a request fails part way, the phases not
/// reached are 0 and the time spent waiting goes to the phase that did not
/// finish (a connect that timed out shows as `connect`).
public struct HTTPPhases: Sendable, Hashable {
    /// Name resolution, seconds (`dns_time`).
    public var dns: Double
    /// TCP connect, seconds (`connect_time`).
    public var connect: Double
    /// TLS handshake, seconds (`tls_time`).
    public var tls: Double
    /// From connection ready to the first response byte, seconds (`ttfb_time`).
    public var firstByte: Double
    /// From the first to the last response byte, seconds (`transfer_time`).
    public var transfer: Double
    /// The whole request, seconds (`response_time`).
    public var total: Double

    /// - Parameters: see the properties.
    public init(dns: Double, connect: Double, tls: Double, firstByte: Double, transfer: Double, total: Double) {
        self.dns = dns
        self.connect = connect
        self.tls = tls
        self.firstByte = firstByte
        self.transfer = transfer
        self.total = total
    }

    /// Phases from libcurl's cumulative `*_TIME_T` values (microseconds, 0 = not reached).
    ///
    /// - Parameters:
    ///   - nameLookup: `CURLINFO_NAMELOOKUP_TIME_T`
    ///   - connect: `CURLINFO_CONNECT_TIME_T`
    ///   - appConnect: `CURLINFO_APPCONNECT_TIME_T`
    ///   - startTransfer: `CURLINFO_STARTTRANSFER_TIME_T`
    ///   - total: `CURLINFO_TOTAL_TIME_T`
    ///   - usesTLS: whether a TLS handshake was (to be) made; if not, `tls` is 0.
    public init(microsecondsNameLookup nameLookup: Int64, connect: Int64, appConnect: Int64,
                startTransfer: Int64, total: Int64, usesTLS: Bool) {
        let total = max(0, total)
        var marks = [nameLookup, connect, usesTLS ? appConnect : -1, startTransfer]
        var previous: Int64 = 0
        var lengths = [Int64](repeating: 0, count: 4)
        for i in 0..<4 {
            if marks[i] < 0 { continue }  // no TLS: skip the phase
            if marks[i] == 0 {
                // Not reached: if nothing later was reached either, the time
                // left belongs to this phase; else it took no time.
                let laterReached = marks[(i + 1)...].contains { $0 > 0 }
                marks[i] = laterReached ? previous : total
            }
            let end = min(max(marks[i], previous), total)
            lengths[i] = end - previous
            previous = end
        }
        let s = { (us: Int64) in Double(us) / 1e6 }
        self.init(dns: s(lengths[0]), connect: s(lengths[1]), tls: s(lengths[2]), firstByte: s(lengths[3]),
                  transfer: s(total - previous), total: s(total))
    }
}
