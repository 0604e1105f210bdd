#!/usr/bin/env python3
"""Prints the dashboards' main figures from InfluxDB beside the traffic the demo sent.

The traffic figures are compared one by one with the replay's tally (replay.py); the
probe, event and agent figures are printed as the dashboards show them, using the
dashboards' own InfluxQL (deploy/grafana/dashboards/*.json) with Grafana's macros
substituted ($timeFilter: the last hour; $__interval: 10s; template variables: All).
Exit status 0 only if every compared figure is equal.

Usage: report.py --influx URL --database DB --tally tally.json [--wait SECONDS]
Stdlib only.
"""
import argparse, json, pathlib, re, sys, time, urllib.parse, urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
COUNTERS = ["requests", "page_views", "view_file", "view_dataset", "view_collection", "view_space",
            "download_file", "download_dataset", "download_collection", "partial_downloads", "uploads", "deletes",
            "extractions", "api_calls", "asset_requests", "bot_requests", "status_1xx", "status_2xx", "status_3xx",
            "status_4xx", "status_5xx", "bytes_sent", "malformed_lines"]


def query(influx, db, q):
    url = influx + "/query?" + urllib.parse.urlencode({"db": db, "q": q})
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    res = body.get("results", [{}])[0]
    if "error" in res:
        raise RuntimeError("%s: %s" % (res["error"], q))
    return res.get("series", [])


def regex_escape(s):
    return re.sub(r'([\\^$*+?.()|\[\]{}/])', r'\\\1', s)


def substitute(q, variables):
    q = q.replace("$timeFilter", "time > now() - 1h").replace("$__interval", "10s").replace("$interval", "10s")
    for name in sorted(variables, key=len, reverse=True):
        q = q.replace("$" + name, ".*")  # "All": the variables' allValue
    return q


def dashboard_panels(influx, db, uid, titles):
    board = json.loads((ROOT / "deploy/grafana/dashboards" / (uid + ".json")).read_text())
    variables = {}
    for v in board["templating"]["list"]:
        series = query(influx, db, substitute(v["query"], variables))
        variables[v["name"]] = [row[1] for s in series for row in s["values"]]
    out = []
    for p in board["panels"]:
        if p.get("title") in titles:
            for t in p.get("targets", []):
                out.append((p["title"], query(influx, db, substitute(t["query"], variables))))
    return out


def fmt(v):
    if isinstance(v, float):
        return "%.4g" % v
    return str(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--influx", required=True)
    ap.add_argument("--database", required=True)
    ap.add_argument("--tally", required=True)
    ap.add_argument("--wait", type=float, default=60)
    a = ap.parse_args()
    tally = json.load(open(a.tally))["tally"]
    sums = ", ".join('sum("%s") AS "%s"' % (c, c) for c in COUNTERS)
    q = 'SELECT %s FROM "nginx_access" WHERE time > now() - 1h' % sums

    # Wait until the sink has written every window (the counts stop changing at the tally).
    deadline, got = time.monotonic() + a.wait, {}
    while True:
        series = query(a.influx, a.database, q)
        got = dict(zip(series[0]["columns"], series[0]["values"][0])) if series else {}
        if got.get("requests") == tally["requests"] or time.monotonic() > deadline:
            break
        time.sleep(1)

    print()
    print("Traffic (nginx_access, summed over the run)      sent   InfluxDB")
    bad = 0
    for c in COUNTERS:
        sent, seen = tally.get(c, 0), got.get(c) or 0
        mark = "" if sent == seen else "   <-- differs"
        bad += sent != seen
        print("  %-28s %18s %10s%s" % (c, sent, seen, mark))
    views = sum(tally[k] for k in ("view_file", "view_dataset", "view_collection", "view_space"))
    downloads = sum(tally[k] for k in ("download_file", "download_dataset", "download_collection"))

    print()
    print("Traffic dashboard, 'Totals in range' panel:")
    for title, series in dashboard_panels(a.influx, a.database, "clowder-traffic", {"Totals in range"}):
        for s in series:
            print("  " + ", ".join("%s=%s" % (c, fmt(v)) for c, v in zip(s["columns"][1:], s["values"][0][1:])))
    print("  (sent: requests=%d, page_views=%d, resource_views=%d, downloads=%d, status_5xx=%d)"
          % (tally["requests"], tally["page_views"], views, downloads, tally["status_5xx"]))

    events = query(a.influx, a.database, 'SELECT count("message_id") AS "events" FROM "events" WHERE "source" = \'nginx\' AND time > now() - 1h GROUP BY "category"')
    seen_events = {s["tags"]["category"]: s["values"][0][1] for s in events}
    # One event per resource view, whole download, upload, delete and extraction (partial downloads: none).
    sent_events = {"view_resource": views, "download": downloads, "upload": tally["uploads"],
                   "delete": tally["deletes"], "extraction": tally["extractions"]}
    print()
    print("Clowder events from the agent (EMIT_EVENTS=true)     sent   InfluxDB")
    for c, sent in sent_events.items():
        seen = seen_events.get(c, 0)
        bad += sent != seen
        print("  %-28s %18s %10s%s" % (c, sent, seen, "" if sent == seen else "   <-- differs"))
    for title, series in dashboard_panels(a.influx, a.database, "clowder-traffic", {"Top resources by views"}):
        counts = {}
        for s in series:
            i = s["columns"].index("resource_id")
            for row in s["values"]:
                counts[row[i]] = counts.get(row[i], 0) + 1
        top = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
        print("  top resources by views: " + ", ".join("%s (%d)" % kv for kv in top))

    print()
    print("Probes dashboard:")
    for title, series in dashboard_panels(a.influx, a.database, "clowder-probes",
                                          {"Uptime per region and target", "Round-trip time per region"}):
        for s in series:
            tags = " ".join("%s=%s" % kv for kv in sorted(s.get("tags", {}).items()))
            if title.startswith("Round-trip"):
                vals = [r for r in s["values"] if r[1] is not None]
                if vals:
                    print("  %-30s %s: mean RTT %.3f ms over %d intervals" % (title, tags, sum(r[1] for r in vals) / len(vals), len(vals)))
            else:
                print("  %-30s %s: %s %%" % (title, tags, fmt(s["values"][0][1])))
    stub = query(a.influx, a.database, 'SELECT max("active") AS "active", max("requests") AS "requests" FROM "nginx" WHERE time > now() - 1h')
    if stub:
        print("  stub_status: max active %s, NGINX requests counter %s" % tuple(stub[0]["values"][0][1:]))

    print()
    print("Agents dashboard, 'Agents last seen':")
    for title, series in dashboard_panels(a.influx, a.database, "clowder-agents", {"Agents last seen"}):
        for s in series:
            print("  %s: %s" % (s.get("tags", {}).get("agent"), ", ".join("%s=%s" % (c, fmt(v)) for c, v in zip(s["columns"][1:], s["values"][0][1:]))))

    print()
    if bad:
        print("demo: %d figure(s) differ from the traffic sent" % bad)
        return 1
    print("demo: every traffic figure in InfluxDB equals the traffic sent (%d requests)" % tally["requests"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
