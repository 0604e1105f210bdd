#!/usr/bin/env python3
"""Load and measurement for Benchmarks/footprint/run.sh (not a test).

For DURATION seconds, at once:
  - appends RATE lines/s to LOG (in 20 slices a second), taken in turn from POOL (a
    gen-clowder-log file) with each line's `[$time_local]` rewritten to the current second,
    so that the agent's windows close on time as they would beside a live NGINX;
  - drives prometheus-blackbox-exporter as Prometheus would scrape it: every second, one
    /probe request for each HTTP and each ICMP target, all at once (a thread each);
  - every 2 s reads /proc/PID/status (VmRSS, VmHWM) and /proc/PID/smaps_rollup (Pss,
    Anonymous) of each measured process.

Prints one JSON object: lines written, blackbox probes (and successes), and per process name
the last and the largest readings in kB plus CPU seconds (utime + stime from /proc/PID/stat).

  load.py --log LOG --pool POOL --rate 5000 --duration 600 --blackbox 127.0.0.1:PORT \
          --http URL... --ping ADDR... --measure NAME=PID...
"""
import argparse
import json
import os
import threading
import time
import urllib.parse
import urllib.request

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def time_local(t):
    g = time.gmtime(t)
    return f"{g.tm_mday:02d}/{MONTHS[g.tm_mon - 1]}/{g.tm_year:04d}:{g.tm_hour:02d}:{g.tm_min:02d}:{g.tm_sec:02d} +0000"


def write_lines(log, pool, rate, duration, stop, written):
    with open(pool, "rb") as f:
        lines = [l for l in f.read().split(b"\n") if l]
    slices = 20
    per_slice = rate / slices
    start = time.time()
    i = 0
    owed = 0.0
    with open(log, "ab", buffering=0) as out:
        for k in range(int(duration * slices)):
            if stop.is_set():
                break
            stamp = time_local(time.time()).encode()
            owed += per_slice
            n = int(owed)
            owed -= n
            chunk = []
            for _ in range(n):
                line = lines[i % len(lines)]
                i += 1
                a = line.find(b"[")
                b = line.find(b"]", a)
                chunk.append(line[: a + 1] + stamp + line[b:] if a >= 0 and b > a else line)
            if chunk:
                out.write(b"\n".join(chunk) + b"\n")  # whole lines only, as NGINX writes them
                written[0] += len(chunk)
            left = start + (k + 1) / slices - time.time()
            if left > 0:
                time.sleep(left)


def drive_blackbox(address, http, ping, duration, stop, results):
    def probe(module, target):
        url = f"http://{address}/probe?module={module}&target={urllib.parse.quote(target, safe='')}"
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                ok = any(l.strip() == b"probe_success 1" for l in r.read().split(b"\n"))
        except Exception:
            ok = False
        with lock:
            results["probes"] += 1
            results["ok"] += int(ok)

    lock = threading.Lock()
    start = time.time()
    threads = []
    for s in range(int(duration)):
        if stop.is_set():
            break
        for t in http:
            threads.append(threading.Thread(target=probe, args=("http_2xx", t)))
            threads[-1].start()
        for t in ping:
            threads.append(threading.Thread(target=probe, args=("icmp", t)))
            threads[-1].start()
        threads = [t for t in threads if t.is_alive()]
        left = start + s + 1 - time.time()
        if left > 0:
            time.sleep(left)
    for t in threads:
        t.join()


def read_kb(path, keys):
    out = {}
    try:
        with open(path) as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name in keys:
                    out[name] = int(rest.split()[0])
    except OSError:
        pass
    return out


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sample(measure, stats):
    for name, pid in measure.items():
        s = read_kb(f"/proc/{pid}/status", {"VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads"})
        s.update(read_kb(f"/proc/{pid}/smaps_rollup", {"Pss", "Anonymous", "Pss_Anon", "Pss_File"}))
        if not s:
            continue
        st = stats.setdefault(name, {"last": {}, "max": {}})
        st["last"] = s
        for k, v in s.items():
            st["max"][k] = max(v, st["max"].get(k, 0))
        try:
            st["cpu_seconds"] = cpu_seconds(pid)
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--pool", required=True)
    ap.add_argument("--rate", type=float, default=5000)
    ap.add_argument("--duration", type=float, default=600)
    ap.add_argument("--blackbox", required=True)
    ap.add_argument("--http", nargs="*", default=[])
    ap.add_argument("--ping", nargs="*", default=[])
    ap.add_argument("--measure", nargs="*", default=[])
    a = ap.parse_args()
    measure = dict(m.split("=", 1) for m in a.measure)

    stop = threading.Event()
    written = [0]
    results = {"probes": 0, "ok": 0}
    stats = {}
    writer = threading.Thread(target=write_lines, args=(a.log, a.pool, a.rate, a.duration, stop, written))
    driver = threading.Thread(target=drive_blackbox, args=(a.blackbox, a.http, a.ping, a.duration, stop, results))
    writer.start()
    driver.start()
    while writer.is_alive() or driver.is_alive():
        sample(measure, stats)
        writer.join(2)
    sample(measure, stats)
    print(json.dumps({"lines_written": written[0], "blackbox": results, "processes": stats}))


if __name__ == "__main__":
    main()
