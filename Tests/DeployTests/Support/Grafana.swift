import Foundation

/// A Grafana dashboard file as far as the tests need it: template variables and
/// the InfluxQL of every panel target.
struct Dashboard {
    struct Variable { var name: String; var query: String; var allValue: String? }
    struct Target { var panel: String; var refID: String; var query: String; var rawQuery: Bool; var datasourceUID: String?; var interval: String? }

    var file: String
    var uid: String
    var variables: [Variable] = []
    var targets: [Target] = []

    init(file: URL) throws {
        self.file = file.lastPathComponent
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as! [String: Any]
        uid = object["uid"] as? String ?? ""
        for v in (object["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? [] where v["type"] as? String == "query" {
            variables.append(Variable(name: v["name"] as! String, query: v["query"] as? String ?? "", allValue: v["allValue"] as? String))
        }
        func walk(_ panels: [[String: Any]]) {
            for p in panels {
                walk(p["panels"] as? [[String: Any]] ?? [])
                for t in p["targets"] as? [[String: Any]] ?? [] {
                    targets.append(Target(
                        panel: p["title"] as? String ?? "?", refID: t["refId"] as? String ?? "?", query: t["query"] as? String ?? "",
                        rawQuery: t["rawQuery"] as? Bool ?? false,
                        datasourceUID: ((t["datasource"] ?? p["datasource"]) as? [String: Any])?["uid"] as? String,
                        interval: p["interval"] as? String))
                }
            }
        }
        walk(object["panels"] as? [[String: Any]] ?? [])
    }

    /// Every dashboard in `deploy/grafana/dashboards`.
    static func all() throws -> [Dashboard] {
        let dir = Repo.deploy.appendingPathComponent("grafana/dashboards")
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }.sorted()
            .map { try Dashboard(file: dir.appendingPathComponent($0)) }
    }
}

/// Substitutes Grafana's macros in an InfluxQL query the way Grafana's InfluxDB
/// datasource does (public/app/plugins/datasource/influxdb/datasource.ts):
/// - `$timeFilter` → `time >= <from>ms and time <= <to>ms`;
/// - `$__interval`, `$interval` → the interval (`1m`);
/// - template variables (`$name`, `${name}`, `[[name]]`) with multi-value/include-all
///   formatting: each value regex-escaped, several joined as `(a|b)`.
struct GrafanaMacros {
    var fromMilliseconds: Int64
    var toMilliseconds: Int64
    var interval: String = "1m"
    /// Selected values per variable; nil values mean "All", which our variables send as their `allValue` `.*`.
    var variables: [String: [String]?] = [:]

    /// Grafana's `escapeRegex` (@grafana/data): `[\\^$*+?.()|[\]{}\/]` get a backslash.
    static func escapeRegex(_ s: String) -> String {
        let special: Set<Character> = ["\\", "^", "$", "*", "+", "?", ".", "(", ")", "|", "[", "]", "{", "}", "/"]
        var o = ""
        for c in s {
            if special.contains(c) { o.append("\\") }
            o.append(c)
        }
        return o
    }

    func format(_ values: [String]) -> String {
        let escaped = values.map(Self.escapeRegex)
        return escaped.count == 1 ? escaped[0] : "(" + escaped.joined(separator: "|") + ")"
    }

    func apply(_ query: String) -> String {
        var q = query.replacingOccurrences(of: "$timeFilter", with: "time >= \(fromMilliseconds)ms and time <= \(toMilliseconds)ms")
        q = q.replacingOccurrences(of: "$__interval_ms", with: "60000")
        q = q.replacingOccurrences(of: "$__interval", with: interval).replacingOccurrences(of: "$interval", with: interval)
        for (name, values) in variables.sorted(by: { $0.key.count > $1.key.count }) {
            let v = values.map(format) ?? ".*"
            q = q.replacingOccurrences(of: "${\(name)}", with: v).replacingOccurrences(of: "[[\(name)]]", with: v)
            q = q.replacingOccurrences(of: "$\(name)", with: v)
        }
        return q
    }
}

/// What a panel's query must return: the column of every selected value
/// (its `AS "alias"`, or the field name for a plain `"field"`) and the tag of every `GROUP BY "tag"`.
struct ExpectedShape {
    var columns: [String]
    var groupTags: [String]

    init(_ query: String) {
        let upper = query.uppercased()
        let selectStart = upper.range(of: "SELECT ")!.upperBound
        let fromStart = upper.range(of: " FROM ")!.lowerBound
        let clause = String(query[selectStart..<fromStart])
        var items: [String] = []
        var depth = 0, current = ""
        for c in clause {
            if c == "(" { depth += 1 } else if c == ")" { depth -= 1 }
            if c == ",", depth == 0 { items.append(current); current = "" } else { current.append(c) }
        }
        items.append(current)
        columns = items.map { item in
            let t = item.trimmingCharacters(in: .whitespaces)
            if let r = t.range(of: " AS ", options: [.caseInsensitive, .backwards]) {
                return String(t[r.upperBound...]).trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
            }
            return t.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        }
        groupTags = []
        if let g = upper.range(of: "GROUP BY ") {
            var rest = String(query[g.upperBound...])
            if let f = rest.range(of: " fill(", options: .caseInsensitive) { rest = String(rest[..<f.lowerBound]) }
            for part in rest.split(separator: ",") {
                let p = part.trimmingCharacters(in: .whitespaces)
                if p.hasPrefix("\"") { groupTags.append(p.trimmingCharacters(in: CharacterSet(charactersIn: "\""))) }
            }
        }
    }
}
