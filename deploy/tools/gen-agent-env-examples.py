#!/usr/bin/env python3
"""Writes deploy/agent.env.example and deploy/agent-region.env.example from the
agent's settings table, Sources/Agent/Config/ConfigKeys.swift, so that every key
is documented with its default and unit and none is missing.

Each key gets its help line (meaning and unit) and its default; keys the
scenario sets are active `KEY=value` lines, the others are commented out at
their default. Re-run after a key is added:  python3 deploy/tools/gen-agent-env-examples.py
(Tests/DeployTests checks that the examples list every key of the table.)
"""
import pathlib, re, sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
TABLE = ROOT / "Sources/Agent/Config/ConfigKeys.swift"

SECTIONS = {"Identity": "Identity", "Access logs": "Access logs", "Probes": "Probes", "Extractor queues": "Extractor queues",
            "Journey probe": "Journey probe", "Delivery": "Delivery"}

SITE = {
    "title": "Clowder Metrics agent beside NGINX: tails the site's access log and probes the local site.",
    "usage": [
        "Install as /etc/clowder-metrics/agent.env (mode 0640, root:clowder-metrics), then",
        "  clowder-agent check --env-file /etc/clowder-metrics/agent.env",
        "  systemctl enable --now clowder-agent   (deploy/systemd/clowder-agent.service)",
        "NGINX must log with `log_format clowder_metrics` (deploy/nginx/clowder_metrics.conf);",
        "a site that keeps `combined` sets LOG_FORMAT=combined (see deploy/nginx/README.md).",
    ],
    "set": {
        "REGION": "us-central",
        "ACCESS_LOG": "/var/log/nginx/access.log",
        "LOG_FORMAT": "clowder_metrics",
        "READ_FROM": "end",
        "CONTEXT_PREFIX": "",
        "WINDOW": "60",
        "ALLOWED_LATENESS": "30",
        "HTTP_TARGETS": "https://clowder.example.org/healthz",
        "STUB_STATUS_URL": "http://127.0.0.1:8080/nginx_status",
        "HTTP_EXPECT_BODY": "healthy",
        "INGEST_URL": "https://metrics.example.org",
        "API_KEY_ID": "agent-clowder-example-org",
        "API_KEY_FILE": "/etc/clowder-metrics/agent.key",
        "SPOOL_PATH": "/var/lib/clowder-metrics/spool.db",
    },
}
REGION = {
    "title": "Clowder Metrics agent in a remote region, probe-only: measures the site as users there see it.",
    "usage": [
        "No NGINX here: ACCESS_LOG stays empty, so nothing is tailed. Give each region its own",
        "REGION and its own key (keys.example at the ingest).",
        "Install as /etc/clowder-metrics/agent.env, then",
        "  clowder-agent check --env-file /etc/clowder-metrics/agent.env",
        "  systemctl enable --now clowder-agent   (the same unit; it needs CAP_NET_RAW for ICMP)",
    ],
    "set": {
        "AGENT_ID": "probe-eu-west-1",
        "REGION": "eu-west",
        "ACCESS_LOG": "",
        "HTTP_TARGETS": "https://clowder.example.org/healthz",
        "PING_TARGETS": "clowder.example.org",
        "PROBE_INTERVAL": "30",
        "PING_COUNT": "5",
        "HTTP_EXPECT_BODY": "healthy",
        "INGEST_URL": "https://metrics.example.org",
        "API_KEY_ID": "agent-probe-eu-west-1",
        "API_KEY_FILE": "/etc/clowder-metrics/agent.key",
        "SPOOL_PATH": "/var/lib/clowder-metrics/spool.db",
    },
}


def settings():
    text = TABLE.read_text()
    body = text[text.index("public static let all"):]
    out, section = [], None
    for line in body.splitlines():
        m = re.match(r'\s*//\s*(.+)$', line)
        if m and m.group(1) in SECTIONS:
            section = m.group(1)
            continue
        m = re.match(r'\s*s\("([A-Z0-9_]+)",\s*"((?:[^"\\]|\\.)*)",\s*"((?:[^"\\]|\\.)*)"\),?\s*$', line)
        if m:
            out.append((section, "CLOWDER_METRICS_" + m.group(1), m.group(2), m.group(3).replace('\\"', '"')))
        elif line.strip() == "]":
            break
    if not out:
        sys.exit("no settings found in " + str(TABLE))
    return out


def render(profile):
    lines = ["# " + profile["title"], "#"]
    lines += ["# " + u for u in profile["usage"]]
    lines += ["#",
              "# Syntax: KEY=value lines (systemd EnvironmentFile= reads the same file), `#` comments.",
              "# Every key can be overridden by the process environment, which wins.",
              "# Commented-out keys show their default; unknown CLOWDER_METRICS_ keys are refused.",
              "# Generated from Sources/Agent/Config/ConfigKeys.swift by deploy/tools/gen-agent-env-examples.py."]
    section = None
    for sec, key, default, help_ in settings():
        if sec != section:
            section = sec
            lines += ["", "# ---- " + (sec or "Other")]
        short = key[len("CLOWDER_METRICS_"):]
        lines.append("# %s. Default: %s" % (help_[0].upper() + help_[1:], default if default else "unset"))
        if short in profile["set"]:
            lines.append("%s=%s" % (key, profile["set"][short]))
        else:
            lines.append("# %s=%s" % (key, default))
    return "\n".join(lines) + "\n"


def main():
    for name, profile in (("agent.env.example", SITE), ("agent-region.env.example", REGION)):
        (ROOT / "deploy" / name).write_text(render(profile))
        print("wrote deploy/" + name)


if __name__ == "__main__":
    main()
