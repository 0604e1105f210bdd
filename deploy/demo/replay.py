#!/usr/bin/env python3
"""Replays Clowder-shaped traffic into NGINX as real HTTP requests and keeps a tally.

The requests come from ../shared/tools/gen-clowder-log (a Clowder-shaped access log and
its ground truth, by the rules of DESIGN.md). Each well-formed line of the generated log
becomes one request with the same method, target and User-Agent; the status the
generator chose is asked for with the header X-Demo-Status (deploy/nginx/demo-site.conf
answers with it). Lines that are not an HTTP request (TLS junk, "", "-", "HELP") and
malformed lines cannot be sent as HTTP requests and are skipped; the tally is the
generator's truth minus those skipped lines, with the status classes and body bytes
counted from the responses actually received.

Usage: replay.py --generator PATH --url http://127.0.0.1:PORT --lines N --seconds S --tally OUT.json
Stdlib only.
"""
import argparse, http.client, json, os, re, subprocess, sys, tempfile, threading, time, urllib.parse

LINE = re.compile(r'^(\S+) - (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"')
REQUEST = re.compile(r'^([A-Z]+) (\S+) (HTTP/[0-9.]+)$')


def unescape(s):
    """NGINX's default log escaping: \\xHH for '"', '\\' and bytes outside printable ASCII."""
    return re.sub(r'\\x([0-9A-Fa-f]{2})', lambda m: chr(int(m.group(1), 16)), s)


def generate(generator, lines, seed, workdir):
    log, truth = os.path.join(workdir, "generated.log"), os.path.join(workdir, "truth.json")
    subprocess.run([sys.executable, generator, "--lines", str(lines), "--seed", str(seed), "--format", "clowder",
                    "--out", log, "--truth", truth], check=True)
    with open(truth) as f:
        t = json.load(f)
    requests, skipped = [], {"junk_request_lines": 0, "malformed_lines": 0, "junk_bytes": 0}
    with open(log, encoding="utf-8") as f:
        for raw in f:
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                skipped["malformed_lines"] += 1
                continue
            r = REQUEST.match(m.group(4))
            if not r:
                skipped["junk_request_lines"] += 1
                skipped["junk_bytes"] += int(m.group(6))
                continue
            requests.append((r.group(1), r.group(2), int(m.group(5)), unescape(m.group(8)), unescape(m.group(7))))
    return t, requests, skipped


def send_all(url, requests, seconds, workers):
    u = urllib.parse.urlsplit(url)
    results = [None] * len(requests)
    start = time.monotonic()
    per = seconds / max(1, len(requests))

    def worker(k):
        conn = None
        for i in range(k, len(requests), workers):
            # Pace the replay over `seconds` so that it spans several aggregation windows.
            delay = start + i * per - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            method, target, status, ua, referer = requests[i]
            headers = {"User-Agent": ua, "X-Demo-Status": str(status), "Host": "clowder.example.org"}
            if referer != "-":
                headers["Referer"] = referer
            if method in ("POST", "PUT"):
                headers["Content-Length"] = "0"
            for attempt in range(3):
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
                    conn.request(method, target, headers=headers)
                    resp = conn.getresponse()
                    body = resp.read()
                    results[i] = (resp.status, len(body))
                    if resp.getheader("Connection", "").lower() == "close" or (i // workers) % 7 == 6:
                        conn.close()  # new connections now and then, as browsers do
                        conn = None
                    break
                except (OSError, http.client.HTTPException):
                    if conn is not None:
                        conn.close()
                    conn = None
                    if attempt == 2:
                        raise

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--generator", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--lines", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=50)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--tally", required=True)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        truth, requests, skipped = generate(a.generator, a.lines, a.seed, work)
    results = send_all(a.url, requests, a.seconds, a.workers)
    totals = truth["totals"]
    tally = {k: v for k, v in totals.items() if isinstance(v, int) and k not in ("distinct_clients", "distinct_connections")}
    # The skipped junk lines counted as requests answered 400 in the truth; malformed lines were never requests.
    tally["requests"] -= skipped["junk_request_lines"]
    tally["status_4xx"] -= skipped["junk_request_lines"]
    tally["malformed_lines"] = 0
    # What was actually sent and answered.
    received = {"status_%dxx" % c: 0 for c in range(1, 6)}
    mismatched = 0
    body_bytes = 0
    for (method, target, status, ua, _), (got, size) in zip(requests, results):
        received["status_%dxx" % (got // 100)] += 1
        body_bytes += size
        mismatched += got != status
    tally["bytes_sent"] = body_bytes
    out = {"tally": tally, "sent": len(requests), "received_status": received, "status_mismatches": mismatched,
           "skipped": skipped, "generator_totals": totals}
    with open(a.tally, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
    print("replay: sent %d requests (%d junk and %d malformed generated lines skipped), %d answered with another status than asked"
          % (len(requests), skipped["junk_request_lines"], skipped["malformed_lines"], mismatched))
    return 1 if mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
