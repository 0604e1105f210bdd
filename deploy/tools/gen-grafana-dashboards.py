#!/usr/bin/env python3
"""Writes the Grafana dashboards in deploy/grafana/dashboards/ (InfluxQL, InfluxDB 1.x).

Every query is raw InfluxQL, so that what Grafana sends is exactly what is written
here (after it substitutes $timeFilter, $__interval and the template variables).
Every selected value has an alias or is a plain field: Tests/DeployTests runs each
query against a real InfluxDB loaded with data shaped like the sinks write and
checks that the aliases come back. Re-run after editing:
    python3 deploy/tools/gen-grafana-dashboards.py
Measurements, tags and fields are the ones in DESIGN.md (Aggregator, Probes) and
the code: nginx_access, http_response, ping, nginx, agent, events, rabbitmq_queue.
"""
import json, pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "deploy/grafana/dashboards"
DS = {"type": "influxdb", "uid": "clowder-influxdb"}
PING_TARGET_TAG = "url"  # Telegraf's ping tag for the target, which the agent's ping points carry


def variable(name, query, label=None):
    return {
        "name": name, "label": label or name, "type": "query", "datasource": DS,
        "query": query, "definition": query, "refresh": 2, "multi": True, "includeAll": True,
        # "All" as a match-anything regex rather than the list of values: points without the tag
        # (vhost is absent when the log format has neither $host nor $server_name) still match.
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "sort": 1, "hide": 0,
        "options": [], "regex": "",
    }


class Board:
    def __init__(self, uid, title, description, variables):
        self.uid, self.title, self.description, self.variables = uid, title, description, variables
        self.panels, self.y, self.x, self.next_id = [], 0, 0, 1

    def row(self, title):
        if self.x:
            self.y, self.x = self.y + 8, 0
        self.panels.append({"type": "row", "title": title, "id": self.next_id, "collapsed": False,
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": []})
        self.next_id += 1
        self.y += 1

    def panel(self, title, queries, kind="timeseries", unit="short", width=12, description="",
              fmt="time_series", interval="1m", transformations=None, stack=False, options=None):
        if self.x + width > 24:
            self.y, self.x = self.y + 8, 0
        targets = []
        for i, q in enumerate(queries):
            targets.append({"refId": chr(65 + i), "datasource": DS, "rawQuery": True, "query": q,
                            "resultFormat": fmt})
        p = {"type": kind, "title": title, "description": description, "id": self.next_id, "datasource": DS,
             "gridPos": {"h": 8, "w": width, "x": self.x, "y": self.y}, "interval": interval,
             "targets": targets,
             "fieldConfig": {"defaults": {"unit": unit, "custom": {"stacking": {"mode": "normal" if stack else "none"}}
                             if kind == "timeseries" else {}}, "overrides": []},
             "options": options or {}}
        if transformations:
            p["transformations"] = transformations
        self.panels.append(p)
        self.next_id += 1
        self.x += width
        if self.x >= 24:
            self.y, self.x = self.y + 8, 0

    def json(self):
        return {
            "uid": self.uid, "title": self.title, "description": self.description,
            "tags": ["clowder", "clowder-metrics"], "timezone": "utc", "schemaVersion": 39, "version": 1,
            "editable": True, "graphTooltip": 1, "refresh": "1m",
            "time": {"from": "now-6h", "to": "now"},
            "templating": {"list": self.variables},
            "annotations": {"list": []},
            "panels": self.panels,
        }


def alias_series(fields, agg="sum"):
    return ", ".join('%s("%s") AS "%s"' % (agg, f, f) for f in fields)


def traffic():
    w = '"region" =~ /^$region$/ AND "host" =~ /^$host$/ AND "vhost" =~ /^$vhost$/ AND $timeFilter'
    b = Board("clowder-traffic", "Clowder traffic (NGINX access logs)",
              "Counters from measurement nginx_access (one point per window and virtual host), "
              "connections from stub_status (nginx), and the Clowder events (views, downloads).", [
                  variable("region", 'SHOW TAG VALUES FROM "nginx_access" WITH KEY = "region"'),
                  variable("host", 'SHOW TAG VALUES FROM "nginx_access" WITH KEY = "host" WHERE "region" =~ /^$region$/'),
                  variable("vhost", 'SHOW TAG VALUES FROM "nginx_access" WITH KEY = "vhost" WHERE "region" =~ /^$region$/ AND "host" =~ /^$host$/'),
              ])

    def q(fields, agg="sum", extra=""):
        return 'SELECT %s FROM "nginx_access" WHERE %s GROUP BY time($__interval)%s fill(0)' % (alias_series(fields, agg), w, extra)

    b.row("Requests")
    b.panel("Requests, page views, API calls", [q(["requests", "page_views", "api_calls", "asset_requests", "bot_requests"])],
            unit="short", description="Sums over the selected hosts and virtual hosts, per interval.")
    b.panel("Resource views", [q(["view_file", "view_dataset", "view_collection", "view_space"])], stack=True,
            description="GET answered 200 of a file, dataset, collection or space page (bots excluded).")
    b.panel("Downloads", [q(["download_file", "download_dataset", "download_collection", "partial_downloads"])], stack=True,
            description="Whole downloads answered 200; partial downloads (206) apart. tracking=false / increment=false excluded.")
    b.panel("Uploads, deletes, extractions", [q(["uploads", "deletes", "extractions"])], stack=True)
    b.row("Responses")
    b.panel("Status classes", [q(["status_1xx", "status_2xx", "status_3xx", "status_4xx", "status_5xx"])], stack=True)
    b.panel("Bytes sent, downloaded and uploaded", [q(["bytes_sent", "download_bytes", "upload_bytes"])], unit="bytes",
            description="bytes_sent: every response body ($body_bytes_sent); download_bytes: of downloads; upload_bytes: "
            "$request_length of answered uploads (needs $request_length, in the recommended format). Bytes removed by deletes "
            "cannot be seen in an access log.")
    b.panel("Request time quantiles (worst virtual host)",
            [q(["request_time_p50", "request_time_p90", "request_time_p99", "request_time_max"], agg="max", extra="").replace(" fill(0)", " fill(none)")],
            unit="s", description="The largest per-window quantile among the selected virtual hosts ($request_time; "
            "empty when the log format has no $request_time).")
    b.panel("Totals in range", [
        'SELECT sum("requests") AS "requests", sum("page_views") AS "page_views", sum("view_file") + sum("view_dataset") + sum("view_collection") + sum("view_space") AS "resource_views", '
        'sum("download_file") + sum("download_dataset") + sum("download_collection") AS "downloads", sum("status_5xx") AS "status_5xx" FROM "nginx_access" WHERE ' + w],
        kind="stat", fmt="table", description="Sums over the whole time range.",
        options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}, "textMode": "value_and_name"})
    b.row("Clients and connections")
    b.panel("Distinct clients and connections per window",
            [q(["distinct_clients", "distinct_connections"], agg="max").replace(" fill(0)", " fill(none)")],
            description="Per window and virtual host (distinct $remote_addr and $connection); the largest among the selected. "
            "distinct_connections needs $connection in the log format.")
    b.panel("Active connections (stub_status)",
            ['SELECT mean("active") AS "active", mean("reading") AS "reading", mean("writing") AS "writing", mean("waiting") AS "waiting" '
             'FROM "nginx" WHERE "region" =~ /^$region$/ AND "host" =~ /^$host$/ AND $timeFilter GROUP BY time($__interval), "host" fill(none)'],
            description="NGINX's own counters from stub_status, per host.")
    b.row("Top resources (Clowder events)")
    top = [{"id": "groupBy", "options": {"fields": {
        "resource_id": {"aggregations": [], "operation": "groupby"},
        "type": {"aggregations": [], "operation": "groupby"},
        "message_id": {"aggregations": ["count"], "operation": "aggregate"}}}},
        {"id": "sortBy", "options": {"sort": [{"field": "message_id (count)", "desc": True}]}},
        {"id": "limit", "options": {"limitField": 20}}]
    b.panel("Top resources by views",
            ['SELECT "resource_id", "type", "message_id" FROM "events" WHERE "category" = \'view_resource\' AND $timeFilter'],
            kind="table", fmt="table", transformations=top,
            description="Clowder's view_resource events (its own and the agent's, source=nginx); counted per resource_id.")
    b.panel("Top resources by downloads",
            ['SELECT "resource_id", "type", "message_id" FROM "events" WHERE "category" = \'download\' AND $timeFilter'],
            kind="table", fmt="table", transformations=top,
            description="Clowder's download events; counted per resource_id.")
    def topk(field):
        return [{"id": "sortBy", "options": {"sort": [{"field": field, "desc": True}]}}, {"id": "limit", "options": {"limitField": 20}}]
    tw = '"region" =~ /^$region$/ AND "host" =~ /^$host$/ AND $timeFilter'
    b.panel("Top resources by views (agent, per window)",
            ['SELECT sum("count") AS "views" FROM "nginx_top_resources" WHERE "kind" = \'view\' AND ' + tw + ' GROUP BY "resource_id", "type"'],
            kind="table", fmt="table", transformations=topk("views"),
            description="From the agent's nginx_top_resources points: each window's top K resources by views (Space-Saving "
            "sketch, CLOWDER_METRICS_TOP_RESOURCES), summed over the range; needs no per-request events. A resource outside "
            "a window's top K is not counted for that window; within it, count may exceed the truth by count_error.")
    b.panel("Top resources by downloads (agent, per window)",
            ['SELECT sum("count") AS "downloads" FROM "nginx_top_resources" WHERE "kind" = \'download\' AND ' + tw + ' GROUP BY "resource_id", "type"'],
            kind="table", fmt="table", transformations=topk("downloads"),
            description="From the agent's nginx_top_resources points: each window's top K resources by downloads, summed over the range.")
    b.panel("Events by category", [
        'SELECT count("message_id") AS "events" FROM "events" WHERE $timeFilter GROUP BY time($__interval), "category" fill(0)'],
        width=24, description="Every event on the clowder.metrics exchange that reached InfluxDB, by category.")
    return b


def probes():
    wh = '"region" =~ /^$region$/ AND "server" =~ /^$server$/ AND $timeFilter'
    wp = '"region" =~ /^$region$/ AND "%s" =~ /^$ping_target$/ AND $timeFilter' % PING_TARGET_TAG
    b = Board("clowder-probes", "Clowder uptime and response time (probes)",
              "HTTP probes (http_response) and ICMP probes (ping) from every region.", [
                  variable("region", 'SHOW TAG VALUES WITH KEY = "region"'),
                  variable("server", 'SHOW TAG VALUES FROM "http_response" WITH KEY = "server" WHERE "region" =~ /^$region$/', "target"),
                  variable("ping_target", 'SHOW TAG VALUES FROM "ping" WITH KEY = "%s" WHERE "region" =~ /^$region$/' % PING_TARGET_TAG, "ping target"),
              ])
    b.row("Uptime")
    b.panel("Uptime per region and target", [
        'SELECT mean("up") * 100 AS "uptime" FROM "http_response" WHERE %s GROUP BY "region", "server"' % wh],
        kind="table", fmt="table", unit="percent", description="Share of probe rounds that were up (field up: 0/1), over the range.")
    b.panel("Up (share of rounds)", [
        'SELECT mean("up") AS "up" FROM "http_response" WHERE %s GROUP BY time($__interval), "region", "server" fill(none)' % wh],
        unit="percentunit")
    b.panel("Probe results", [
        'SELECT count("up") AS "rounds" FROM "http_response" WHERE %s GROUP BY time($__interval), "result" fill(0)' % wh],
        stack=True, description="success, timeout, connection_failed, dns_error, tls_error, response_status_code_mismatch, body_mismatch.")
    b.panel("TLS certificate expiry", [
        'SELECT last("tls_cert_expiry") / 86400 AS "days_left" FROM "http_response" WHERE %s GROUP BY "server"' % wh],
        kind="table", fmt="table", unit="d", description="Days until the server certificate expires (https targets only).")
    b.row("Response time")
    b.panel("Response time per region and target", [
        'SELECT mean("response_time") AS "response_time" FROM "http_response" WHERE %s GROUP BY time($__interval), "region", "server" fill(none)' % wh],
        unit="s")
    b.panel("Response-time phases per region", [
        'SELECT mean("dns_time") AS "dns_time", mean("connect_time") AS "connect_time", mean("tls_time") AS "tls_time", '
        'mean("ttfb_time") AS "ttfb_time", mean("transfer_time") AS "transfer_time" FROM "http_response" '
        'WHERE %s GROUP BY time($__interval), "region" fill(none)' % wh],
        unit="s", stack=True, description="Each phase alone (DNS, TCP connect, TLS, waiting for the first byte, transfer): they add up to response_time.")
    b.row("Ping")
    b.panel("Packet loss per region", [
        'SELECT mean("percent_packet_loss") AS "percent_packet_loss" FROM "ping" WHERE %s GROUP BY time($__interval), "region", "%s" fill(none)' % (wp, PING_TARGET_TAG)],
        unit="percent")
    b.panel("Round-trip time per region", [
        'SELECT mean("average_response_ms") AS "average_response_ms", max("maximum_response_ms") AS "maximum_response_ms", '
        'mean("standard_deviation_ms") AS "standard_deviation_ms" FROM "ping" WHERE %s GROUP BY time($__interval), "region", "%s" fill(none)' % (wp, PING_TARGET_TAG)],
        unit="ms")
    return b


def agents():
    w = '"region" =~ /^$region$/ AND "host" =~ /^$host$/ AND "agent" =~ /^$agent$/ AND $timeFilter'
    b = Board("clowder-agents", "Clowder Metrics agents (health)",
              "The agents' own counters (measurement agent, one point per window): spool, deliveries, drops, retries, log lines.", [
                  variable("region", 'SHOW TAG VALUES FROM "agent" WITH KEY = "region"'),
                  variable("host", 'SHOW TAG VALUES FROM "agent" WITH KEY = "host" WHERE "region" =~ /^$region$/'),
                  variable("agent", 'SHOW TAG VALUES FROM "agent" WITH KEY = "agent" WHERE "region" =~ /^$region$/ AND "host" =~ /^$host$/'),
              ])
    b.row("Spool")
    b.panel("Spool size", ['SELECT last("spool_bytes") AS "spool_bytes" FROM "agent" WHERE %s GROUP BY time($__interval), "agent" fill(previous)' % w],
            unit="bytes", description="Bytes on disk (database and WAL); bounded by CLOWDER_METRICS_SPOOL_MAX_BYTES.")
    b.panel("Batches waiting", ['SELECT last("spool_batches") AS "spool_batches" FROM "agent" WHERE %s GROUP BY time($__interval), "agent" fill(previous)' % w])
    b.row("Delivery")
    rate = lambda f: 'non_negative_difference(last("%s")) AS "%s"' % (f, f)
    b.panel("Batches sent, retried, dead-lettered, dropped", [
        'SELECT %s FROM "agent" WHERE %s GROUP BY time($__interval), "agent" fill(none)' % (
            ", ".join(rate(f) for f in ["batches_sent", "batches_retried", "batches_dead_lettered", "batches_dropped"]), w)],
        description="Per interval (the counters are totals since the agent started). Drops mean the spool was full; dead letters, a 4xx from the ingest.")
    b.panel("Log lines read and malformed", [
        'SELECT %s FROM "agent" WHERE %s GROUP BY time($__interval), "agent" fill(none)' % (
            ", ".join(rate(f) for f in ["lines_read", "malformed_lines"]), w)])
    b.panel("Malformed and late lines per virtual host", [
        'SELECT sum("malformed_lines") AS "malformed_lines", sum("late_lines") AS "late_lines" FROM "nginx_access" '
        'WHERE "region" =~ /^$region$/ AND "host" =~ /^$host$/ AND $timeFilter GROUP BY time($__interval), "vhost" fill(0)'],
        description="From the nginx_access windows: lines that did not match the log format, and lines that came after their window closed.")
    b.panel("Agents last seen", [
        'SELECT last("lines_read") AS "lines_read", last("batches_sent") AS "batches_sent", last("spool_bytes") AS "spool_bytes" '
        'FROM "agent" WHERE %s GROUP BY "agent", "host", "region", "version"' % w],
        kind="table", fmt="table", description="The newest counters of every agent in range, with its version.")
    return b


def extractors():
    w = '"region" =~ /^$region$/ AND "queue" =~ /^$queue$/ AND $timeFilter'
    b = Board("clowder-extractors", "Clowder extractor queues (RabbitMQ)",
              "Measurement rabbitmq_queue: one point per queue and round of the agent's queue probe "
              "(CLOWDER_METRICS_RABBITMQ_URL, RabbitMQ's management API). The alert rule "
              "\"Extractor queue growing with no consumer\" is in provisioning/alerting/clowder-extractors.yaml.", [
                  variable("region", 'SHOW TAG VALUES FROM "rabbitmq_queue" WITH KEY = "region"'),
                  variable("queue", 'SHOW TAG VALUES FROM "rabbitmq_queue" WITH KEY = "queue" WHERE "region" =~ /^$region$/'),
              ])
    b.row("Queues")
    b.panel("Messages waiting per queue", [
        'SELECT last("messages_ready") AS "messages_ready" FROM "rabbitmq_queue" WHERE %s GROUP BY time($__interval), "queue" fill(previous)' % w],
        description="Messages ready for an extractor (not yet delivered). A line that keeps rising while its queue has no "
        "consumer is what the alert fires on.")
    b.panel("Consumers per queue", [
        'SELECT last("consumers") AS "consumers" FROM "rabbitmq_queue" WHERE %s GROUP BY time($__interval), "queue" fill(previous)' % w],
        description="Extractor processes attached to each queue; 0 means nothing works it off.")
    b.panel("Publish and deliver rates", [
        'SELECT mean("messages_publish_rate") AS "messages_publish_rate", mean("messages_deliver_rate") AS "messages_deliver_rate" '
        'FROM "rabbitmq_queue" WHERE %s GROUP BY time($__interval), "queue" fill(none)' % w],
        unit="short", description="Messages per second, RabbitMQ's own rates (message_stats publish_details / deliver_get_details).")
    b.panel("Being processed (unacknowledged)", [
        'SELECT last("messages_unacknowledged") AS "messages_unacknowledged" FROM "rabbitmq_queue" WHERE %s GROUP BY time($__interval), "queue" fill(previous)' % w],
        description="Delivered to an extractor and not yet acknowledged.")
    b.panel("Queues now", [
        'SELECT last("messages_ready") AS "messages_ready", last("messages_unacknowledged") AS "messages_unacknowledged", '
        'last("consumers") AS "consumers", last("idle") AS "idle" FROM "rabbitmq_queue" WHERE %s GROUP BY "queue", "kind"' % w],
        kind="table", fmt="table", width=24,
        description="The newest figures of each queue in range; idle = 1: messages wait and no consumer is attached. "
        "kind: extractor (extractors.NAME), error (error.NAME), other.")
    return b


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for b in (traffic(), probes(), agents(), extractors()):
        path = OUT / (b.uid + ".json")
        path.write_text(json.dumps(b.json(), indent=2) + "\n")
        print("wrote", path.relative_to(ROOT))


if __name__ == "__main__":
    main()
