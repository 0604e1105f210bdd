#!/usr/bin/env python3
"""Writes deploy/grafana/provisioning/alerting/clowder-alerts.json: Grafana alert rules
(file provisioning, apiVersion 1) on the provisioned InfluxDB datasource `clowder-influxdb`.

Each rule is: A = a raw InfluxQL query over the rule's relative time range, B = a reduce
expression of A (one number per series), C = a math expression on B (the condition).
Tests/DeployTests/AlertRuleTests.swift runs every query A against a real InfluxDB on data
where the rule must fire and where it must stay quiet, and evaluates B and C the same way.

The p95 threshold is Grafana's environment-variable interpolation of provisioning files:
set CLOWDER_ALERT_P95_SECONDS (e.g. 2) in Grafana's environment.
Re-run after editing:  python3 deploy/tools/gen-grafana-alerts.py
"""
import json, pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "deploy/grafana/provisioning/alerting/clowder-alerts.json"
DS = "clowder-influxdb"

RULES = [
    dict(uid="clowder-target-down", title="Target down by quorum",
         query='SELECT last("down") AS "down" FROM "service_verdict" WHERE $timeFilter GROUP BY "service_name"',
         range=300, reducer="last", condition="$B > 0", for_="2m", severity="critical",
         summary="{{ $labels.service_name }} is down: a quorum of regions (or every reporting region) sees it down for 2 minutes."),
    dict(uid="clowder-p95-slow", title="p95 response time above the limit",
         query='SELECT percentile("response_time", 95) AS "p95" FROM "http_response" WHERE "result" = \'success\' AND $timeFilter GROUP BY "server", "region"',
         range=900, reducer="last", condition="$B > ${CLOWDER_ALERT_P95_SECONDS}", for_="5m", severity="warning",
         summary="{{ $labels.server }} from {{ $labels.region }}: p95 response time over 15 minutes is above ${CLOWDER_ALERT_P95_SECONDS} s."),
    dict(uid="clowder-tls-expiry", title="TLS certificate expiring within 14 days",
         query='SELECT last("tls_cert_expiry") AS "tls_cert_expiry" FROM "http_response" WHERE $timeFilter GROUP BY "server"',
         range=3600, reducer="last", condition="$B < 1209600", for_="10m", severity="warning",
         summary="{{ $labels.server }}: the TLS certificate expires in less than 14 days."),
    dict(uid="clowder-agent-silent", title="Agent silent for 5 minutes",
         query='SELECT last("regions_silent") AS "regions_silent" FROM "service_verdict" WHERE $timeFilter GROUP BY "service_name"',
         range=300, reducer="last", condition="$B > 0", for_="5m", severity="warning",
         summary="{{ $labels.service_name }}: a region's agent has sent no round for 5 minutes (see the verdict's silent_regions)."),
    dict(uid="clowder-spool-dropping", title="Agent spool dropping batches",
         query='SELECT non_negative_difference(last("batches_dropped")) AS "dropped" FROM "agent" WHERE $timeFilter GROUP BY time(1m), "agent" fill(none)',
         range=900, reducer="sum", condition="$B > 0", for_="0s", severity="critical",
         summary="Agent {{ $labels.agent }}: its spool is full and drops the oldest batches (the centre has been unreachable too long)."),
    dict(uid="clowder-malformed-lines", title="Malformed log lines above 1 %",
         query='SELECT sum("malformed_lines") / (sum("requests") + sum("malformed_lines")) AS "malformed_ratio" FROM "nginx_access" WHERE $timeFilter GROUP BY "host"',
         range=900, reducer="last", condition="$B > 0.01", for_="0s", severity="warning",
         summary="{{ $labels.host }}: more than 1 % of log lines do not match the log_format (check LOG_FORMAT against nginx.conf)."),
]


def rule(r):
    return {
        "uid": r["uid"], "title": r["title"], "condition": "C",
        "data": [
            {"refId": "A", "relativeTimeRange": {"from": r["range"], "to": 0}, "datasourceUid": DS,
             "model": {"refId": "A", "rawQuery": True, "query": r["query"], "resultFormat": "time_series",
                       "intervalMs": 60000, "maxDataPoints": 43200}},
            {"refId": "B", "datasourceUid": "__expr__",
             "model": {"refId": "B", "type": "reduce", "expression": "A", "reducer": r["reducer"],
                       "settings": {"mode": "dropNN"}}},
            {"refId": "C", "datasourceUid": "__expr__",
             "model": {"refId": "C", "type": "math", "expression": r["condition"]}},
        ],
        "noDataState": "OK", "execErrState": "Error", "for": r["for_"],
        "annotations": {"summary": r["summary"]},
        "labels": {"severity": r["severity"], "team": "clowder-metrics"},
    }


doc = {"apiVersion": 1, "groups": [{"orgId": 1, "name": "clowder-metrics", "folder": "Clowder Metrics",
                                    "interval": "1m", "rules": [rule(r) for r in RULES]}]}
OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text(json.dumps(doc, indent=2) + "\n")
print("wrote", OUT.relative_to(ROOT))
