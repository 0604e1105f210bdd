/// The HTML of `GET /status` and the stylesheet of `GET /status.css`.
///
/// Self-contained by design, so that it works on a site with no internet and
/// while Clowder itself is down: no script at all, no font, no image, nothing
/// from another host; the only other resource is `/status.css` on the same
/// origin, and the response carries `Content-Security-Policy: default-src 'self'`
/// (``StatusRoutes``), under which a browser would refuse anything else. Bars are
/// inline SVG (`<rect>` heights are attributes, allowed by that policy, unlike
/// inline `style`). The page refreshes itself every 30 s (`<meta http-equiv="refresh">`).
///
/// Every name that comes from agents (targets, regions) is HTML-escaped.
enum StatusPage {
    /// The page for `snapshot`.
    static func html(_ snapshot: StatusSnapshot) -> String {
        var h = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="refresh" content="30">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Clowder status</title>
            <link rel="stylesheet" href="/status.css">
            </head>
            <body>
            <header><h1>Clowder status</h1><p class="generated">As of \(utc(snapshot.generatedMilliseconds)) · from the probes of every region, \
            judged by quorum · <a href="/status.json">status.json</a></p></header>
            <main>

            """
        if snapshot.targets.isEmpty { h += "<p class=\"empty\">No probe has reported yet.</p>\n" }
        for t in snapshot.targets {
            let verdict = t.verdict ?? "unknown"
            h += """
                <section class="target" data-target="\(escape(t.name))">
                <h2><span class="name">\(escape(t.name))</span> <span class="verdict verdict-\(escape(verdict))" data-verdict="\(escape(verdict))">\(escape(verdict))</span></h2>
                <table class="regions">
                <thead><tr><th>Region</th><th>State</th><th>Last round (UTC)</th><th>Response time</th></tr></thead>
                <tbody>

                """
            for r in t.regions {
                let state = r.state ?? (r.lastOutcome.isEmpty ? "unknown" : r.lastOutcome)
                let rt = r.responseTime.map { fixed($0 * 1000, 1) + " ms" } ?? "–"
                h += "<tr data-region=\"\(escape(r.region))\"><td>\(escape(r.region))</td>"
                    + "<td class=\"state state-\(escape(state))\">\(escape(state.replacingUnderscores))</td>"
                    + "<td>\(r.lastRoundMilliseconds.map(utc) ?? "–")</td><td class=\"rt\">\(rt)</td></tr>\n"
            }
            h += "</tbody></table>\n"
            h += uptime("Last 24 hours", "24h", t.uptime24h, t.hours, label: { String(utc($0).prefix(13)) + ":00 UTC" })
            h += uptime("Last 30 days", "30d", t.uptime30d, t.days, label: { String(utc($0).prefix(10)) })
            h += "</section>\n"
        }
        h += "</main>\n</body>\n</html>\n"
        return h
    }

    static func uptime(_ title: String, _ key: String, _ figure: Double?, _ bars: [StatusSnapshot.Bar],
                       label: (Int64) -> String) -> String {
        let shown = figure.map { fixed($0, 2) + " %" } ?? "no data"
        var s = "<div class=\"uptime\"><h3>\(title): <span class=\"figure\" data-uptime=\"\(key)\">\(shown)</span></h3>\n"
        let width = 10, gap = 2, height = 40
        s += "<svg class=\"bars\" role=\"img\" aria-label=\"\(title) uptime\" width=\"\(bars.count * (width + gap))\" height=\"\(height)\" viewBox=\"0 0 \(bars.count * (width + gap)) \(height)\">\n"
        for (i, b) in bars.enumerated() {
            let x = i * (width + gap)
            if let u = b.uptime {
                let hgt = max(2, Int((u / 100 * Double(height)).rounded()))
                let cls = u >= 99.9 ? "good" : (u >= 95 ? "fair" : "bad")
                s += "<rect class=\"\(cls)\" x=\"\(x)\" y=\"\(height - hgt)\" width=\"\(width)\" height=\"\(hgt)\"><title>\(label(b.startMilliseconds)): \(fixed(u, 2)) %</title></rect>\n"
            } else {
                s += "<rect class=\"none\" x=\"\(x)\" y=\"\(height - 2)\" width=\"\(width)\" height=\"2\"><title>\(label(b.startMilliseconds)): no data</title></rect>\n"
            }
        }
        return s + "</svg></div>\n"
    }

    /// The stylesheet (system fonts only).
    static let css = """
        body { font-family: system-ui, sans-serif; margin: 2rem; color: #1b1f23; background: #fafbfc; }
        header h1 { margin: 0 0 .25rem 0; }
        .generated { color: #586069; margin-top: 0; }
        section.target { background: #fff; border: 1px solid #e1e4e8; border-radius: 6px; padding: 1rem 1.5rem; margin: 1rem 0; }
        h2 { font-size: 1.2rem; display: flex; gap: .75rem; align-items: center; }
        .verdict { padding: .1rem .6rem; border-radius: 1rem; color: #fff; font-size: .95rem; }
        .verdict-up { background: #28a745; } .verdict-degraded { background: #dbab09; }
        .verdict-down { background: #d73a49; } .verdict-unknown { background: #6a737d; }
        table.regions { border-collapse: collapse; margin: .5rem 0 1rem 0; }
        table.regions th, table.regions td { text-align: left; padding: .25rem 1rem .25rem 0; border-bottom: 1px solid #eaecef; }
        .state-up { color: #22863a; } .state-down { color: #cb2431; }
        .state-agent_silent, .state-agent_network_down, .state-unknown { color: #6a737d; }
        .uptime h3 { font-size: 1rem; font-weight: normal; margin: .5rem 0 .25rem 0; }
        .figure { font-weight: bold; }
        rect.good { fill: #28a745; } rect.fair { fill: #dbab09; } rect.bad { fill: #d73a49; } rect.none { fill: #d1d5da; }
        """

    /// `&`, `<`, `>`, `"` and `'` as character references.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// `v` with exactly `digits` decimals, rounded half away from zero (e.g. 99.305 → "99.31" for 2).
    static func fixed(_ v: Double, _ digits: Int) -> String {
        guard v.isFinite else { return "–" }
        var scale: Int64 = 1
        for _ in 0..<digits { scale *= 10 }
        let n = Int64((abs(v) * Double(scale)).rounded(.toNearestOrAwayFromZero))
        let whole = n / scale, frac = n % scale
        var f = String(frac)
        while f.count < digits { f = "0" + f }
        return (v < 0 && n != 0 ? "-" : "") + String(whole) + (digits > 0 ? "." + f : "")
    }

    /// `YYYY-MM-DD HH:MM:SS UTC` for epoch milliseconds (civil-from-days, H. Hinnant's algorithm).
    static func utc(_ ms: Int64) -> String {
        let s = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        var days = s >= 0 ? s / 86_400 : (s - 86_399) / 86_400
        let secs = s - days * 86_400
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(y)-\(two(m))-\(two(d)) \(two(secs / 3600)):\(two(secs % 3600 / 60)):\(two(secs % 60)) UTC"
    }
}

extension String {
    /// `agent_network_down` → `agent network down`, for display.
    fileprivate var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}
