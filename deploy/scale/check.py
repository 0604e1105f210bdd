#!/usr/bin/env python3
"""The figures of deploy/scale/run.sh, checked once the store has settled.

- Truth: the sum over the agents' gen-clowder-log truth files (`totals`) of every counter
  (every key but the distinct_* estimates, which do not add up across windows).
- Store: PostgreSQL's sum of the same field over every nginx_access row of the sinks' `points`
  table (one row per message_id), read with psql.
- Queues: `rabbitmqctl list_queues name type messages messages_unacknowledged consumers` output;
  every dead-letter queue must hold nothing.
- Events: the events table holds one row per resource view, download, upload, delete and extraction
  of the truth (the agents emit one Clowder-style event each, one message each).
- Also printed: rows per measurement, the agents' own counters (their health files), and how many
  batches NGINX passed on to the other replica (its access log: two upstream addresses).

Prints one `figure` line per counter (`figure <name> truth=<n> store=<n> ok|DIFFERS`) and a last
line `scale-run: PASS` or `scale-run: FAIL (...)`; exits 0 only on PASS. Standard library only.
"""
import argparse
import json
import subprocess
import sys


def psql(url, sql):
    out = subprocess.run(["psql", url, "-tAF", "\t", "-c", sql], check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def health(path):
    values = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, _, value = line.rpartition(" ")
            values[name.split("{", 1)[0].strip()] = float(value)
    return values


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg-url", required=True)
    ap.add_argument("--truth", action="append", required=True, help="a truth.json of gen-clowder-log (one per agent)")
    ap.add_argument("--health", action="append", default=[], help="an agent's health file (Prometheus text)")
    ap.add_argument("--queues", required=True, help="rabbitmqctl list_queues output (tab-separated)")
    ap.add_argument("--dead-letter-queue", action="append", default=["clowder.metrics.dlx"])
    ap.add_argument("--nginx-log", help="the balancer's access log")
    ap.add_argument("--seconds", type=int, help="time the run took")
    a = ap.parse_args()
    problems = []

    truth = {}
    for path in a.truth:
        with open(path) as f:
            for name, value in json.load(f)["totals"].items():
                if name.startswith("distinct_") or value is None:
                    continue
                truth[name] = truth.get(name, 0) + value
    rows = psql(a.pg_url, "select f.key, sum(f.value::numeric)::text from points, jsonb_each_text(fields) f "
                          "where measurement = 'nginx_access' and jsonb_typeof(fields -> f.key) = 'number' group by f.key")
    # Integer counters only (request_time quantiles are numbers too, and do not add up).
    store = {k: int(v) for k, v in rows if v.lstrip("-").isdigit()}
    print(f"{'':7}{'counter':<20} {'truth':<20} store")
    for name in sorted(truth):
        got = store.get(name, 0)
        ok = got == truth[name]
        if not ok:
            problems.append(f"{name}: store {got} != truth {truth[name]}")
        print(f"figure {name:<20} truth={truth[name]:<14} store={got:<14} {'ok' if ok else 'DIFFERS'}")
    late = store.get("late_lines", 0)
    print(f"figure {'late_lines':<20} truth={0:<14} store={late:<14} {'ok' if late == 0 else 'DIFFERS'}")
    if late:
        problems.append(f"late_lines {late} (lines counted late, not in their window)")

    # Events (CLOWDER_METRICS_EMIT_EVENTS): one per resource view, download, upload, delete and extraction,
    # each its own message; the store must hold exactly that many.
    kinds = ["view_file", "view_dataset", "view_collection", "view_space", "download_file", "download_dataset",
             "download_collection", "uploads", "deletes", "extractions"]
    want = sum(truth.get(k, 0) for k in kinds)
    events = int(psql(a.pg_url, "select count(*) from events")[0][0])
    print(f"figure {'events':<20} truth={want:<14} store={events:<14} {'ok' if events == want else 'DIFFERS'}")
    if events != want:
        problems.append(f"events: store {events} != truth {want}")
    counts = psql(a.pg_url, "select measurement, count(*) from points group by measurement order by measurement")
    print("rows: " + ", ".join(f"{m} {n}" for m, n in counts) + f"; events {events}")

    print("queues (name, type, messages, unacknowledged, consumers):")
    with open(a.queues) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 5 or cols[0] == "name":
                continue
            print("  " + "  ".join(cols))
            name, messages, unacked = cols[0], cols[2], cols[3]
            if name in a.dead_letter_queue or ".dlx" in name or "dead" in name:
                print(f"figure dead_letters[{name}] messages={messages} unacknowledged={unacked}")
                if messages != "0" or unacked != "0":
                    problems.append(f"dead-letter queue {name} holds {messages} messages")
    for q in a.dead_letter_queue:
        if not any(line.split("\t")[0] == q for line in open(a.queues)):
            problems.append(f"dead-letter queue {q} is not in the cluster")

    for i, path in enumerate(a.health, 1):
        h = health(path)
        fields = ["batches_sent_total", "batches_retried_total", "batches_dead_lettered_total", "batches_dropped_total"]
        print(f"agent {i}: " + ", ".join(f"{k} {int(h.get('clowder_agent_' + k, -1))}" for k in fields))
        for k in ("batches_dead_lettered_total", "batches_dropped_total"):
            if h.get("clowder_agent_" + k, 0) != 0:
                problems.append(f"agent {i}: {k} {int(h['clowder_agent_' + k])}")
    if a.nginx_log:
        total = passed_on = 0
        statuses = {}
        with open(a.nginx_log) as f:
            for line in f:
                if '"POST /v1/batches' not in line:
                    continue
                total += 1
                if "," in line.split(" upstream=", 1)[1].split(" upstream_status=", 1)[0]:
                    passed_on += 1
                status = line.split('" ', 1)[1].split(" ", 1)[0]
                statuses[status] = statuses.get(status, 0) + 1
        print(f"balancer: {total} batch requests, answered {dict(sorted(statuses.items()))}; "
              f"{passed_on} passed on to the other replica")
    if a.seconds is not None:
        print(f"figure seconds={a.seconds}")
    if problems:
        print("scale-run: FAIL (" + "; ".join(problems) + ")")
        return 1
    print("scale-run: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
