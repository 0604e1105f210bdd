#!/usr/bin/env python3
"""Driver for Benchmarks/delivery/run.sh (see there). Standard library only,
plus the test receiver (Tests/AgentTests/Delivery/Support/receiver.py), which
this venv's http-message-signatures uses to verify every request."""
import argparse
import base64
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RECEIVER = os.path.join(ROOT, "Tests/AgentTests/Delivery/Support/receiver.py")
GEN = os.path.join(ROOT, "..", "shared", "tools", "gen-clowder-log")
CLK = os.sysconf("SC_CLK_TCK")


def proc_stats(pid):
    """(rss KiB, peak rss KiB, cpu seconds) of a live process, from /proc."""
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return rss, hwm, (int(fields[11]) + int(fields[12])) / CLK


def size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def spooled(path):
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute("SELECT count(*) FROM batches").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", required=True)
    ap.add_argument("--rate", type=int, default=5000, help="lines per second appended to the log")
    ap.add_argument("--before", type=float, default=30, help="seconds with the receiver up first")
    ap.add_argument("--outage", type=float, default=60, help="seconds with the receiver down")
    ap.add_argument("--after", type=float, default=60, help="seconds with the receiver up again")
    ap.add_argument("--window", type=int, default=10, help="CLOWDER_METRICS_WINDOW, seconds")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="clowder-delivery-bench-")
    secret = b"delivery benchmark secret 32 b!!"
    keys = os.path.join(work, "keys.json")
    with open(keys, "w") as f:
        json.dump({"bench-agent": base64.b64encode(secret).decode()}, f)
    keyfile = os.path.join(work, "api-key")
    with open(keyfile, "wb") as f:
        f.write(secret)
    duration = args.before + args.outage + args.after
    total = int(args.rate * duration)
    source, truth = os.path.join(work, "source.log"), os.path.join(work, "truth.json")
    # Log time advances at `rate` lines per second from now, so windows close as the run goes.
    start_iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    subprocess.run([sys.executable, GEN, "--lines", str(total), "--seed", "11", "--format", "clowder",
                    "--rate", str(args.rate), "--start", start_iso, "--out", source, "--truth", truth], check=True)
    with open(source, "rb") as f:
        lines = f.readlines()
    access, spool = os.path.join(work, "access.log"), os.path.join(work, "spool.db")
    open(access, "wb").close()

    recv = subprocess.Popen([sys.executable, RECEIVER, "serve", "--keys", keys], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    ports = json.loads(recv.stdout.readline())
    control = f"http://127.0.0.1:{ports['control_port']}"

    def ctl(path, post=True):
        req = urllib.request.Request(control + path, method="POST" if post else "GET", data=b"" if post else None)
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read())

    def received():
        s = ctl("/state", post=False)
        req = sum(p["fields"].get("requests", 0) for b in s["batches"] for p in b.get("points", [])
                  if p.get("measurement") == "nginx_access")
        return s["accepted"], req

    env_file = os.path.join(work, "agent.env")
    with open(env_file, "w") as f:
        f.write(f"""CLOWDER_METRICS_INGEST_URL=http://127.0.0.1:{ports['port']}
CLOWDER_METRICS_API_KEY_ID=bench-agent
CLOWDER_METRICS_API_KEY_FILE={keyfile}
CLOWDER_METRICS_ACCESS_LOG={access}
CLOWDER_METRICS_LOG_FORMAT=clowder_metrics
CLOWDER_METRICS_READ_FROM=start
CLOWDER_METRICS_SPOOL_PATH={spool}
CLOWDER_METRICS_WINDOW={args.window}
""")
    agent = subprocess.Popen([args.agent, "run", "--env-file", env_file], stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(work, "agent.stderr"), "wb"))
    samples = []  # dicts, one per second
    t0 = time.monotonic()
    written = 0
    t_up_again = args.before + args.outage
    first_after = None  # (t, accepted, requests) at the first delivery after the outage
    cleared = None      # (t, accepted, requests) when the spool is back to steady state
    at_up = None
    with open(access, "ab", buffering=0) as out:
        for phase, length in (("up", args.before), ("down", args.outage), ("up", args.after)):
            ctl("/up" if phase == "up" else "/down")
            phase_start = time.monotonic() - t0
            if phase == "up" and phase_start > 1:
                at_up = (phase_start, *received(), spooled(spool))
            next_sample = time.monotonic()
            while time.monotonic() - t0 < phase_start + length:
                due = min(total, int((time.monotonic() - t0) * args.rate))
                if due > written:
                    out.write(b"".join(lines[written:due]))
                    written = due
                now = time.monotonic() - t0
                if at_up and (first_after is None or cleared is None):
                    acc, req = received()
                    if first_after is None and acc > at_up[1]:
                        first_after = (now, acc, req)
                    if first_after is not None and cleared is None and spooled(spool) <= 1:
                        cleared = (now, acc, req)
                if time.monotonic() >= next_sample:
                    if agent.poll() is not None:
                        sys.exit(f"the agent exited ({agent.returncode}): "
                                 + open(os.path.join(work, "agent.stderr")).read()[-2000:])
                    rss, hwm, cpu = proc_stats(agent.pid)
                    acc, req = received()
                    samples.append(dict(t=now, phase=phase, written=written, rss=rss, cpu=cpu,
                                        spool=size(spool) + size(spool + "-wal"), batches=spooled(spool),
                                        accepted=acc, requests=req))
                    next_sample += 1.0
                time.sleep(0.005)
    rss, hwm, cpu = proc_stats(agent.pid)
    agent.send_signal(signal.SIGTERM)
    code = agent.wait(timeout=120)
    acc, req = received()
    recv.kill()
    with open(truth) as f:
        truth_requests = json.load(f)["totals"]["requests"]

    print(f"run: {duration:.0f} s, {written} lines at {args.rate}/s, window {args.window} s, receiver down "
          f"from {args.before:.0f} s to {t_up_again:.0f} s; agent exit code after SIGTERM {code}")
    print(f"agent: peak RSS {hwm / 1024:.1f} MiB, CPU {cpu:.2f} s ({cpu / duration * 100:.1f}% of one core)")
    print(f"delivered: {acc} batches, requests sum {req} (truth {truth_requests})")
    print(f"{'t(s)':>6} {'phase':5} {'lines':>8} {'rss(MiB)':>8} {'cpu(s)':>6} {'spool(B)':>9} {'spooled':>7} "
          f"{'recv':>5} {'requests':>8}")
    for s in samples[:: max(1, len(samples) // 50)]:
        print(f"{s['t']:6.1f} {s['phase']:5} {s['written']:8d} {s['rss'] / 1024:8.1f} {s['cpu']:6.2f} "
              f"{s['spool']:9d} {s['batches']:7d} {s['accepted']:5d} {s['requests']:8d}")
    if at_up and first_after and cleared:
        backlog = cleared[2] - at_up[2]
        span = cleared[0] - first_after[0]
        print(f"after the outage: {at_up[3]} batches spooled; first delivery {first_after[0] - at_up[0]:.2f} s "
              f"after the receiver came back (backoff); backlog of {backlog} requests' worth delivered in "
              f"{span:.2f} s after that = {backlog / max(span, 0.005):.0f} lines/s, "
              f"{backlog / max(span, 0.005) / args.rate:.0f}x the arrival rate"
              + (" (lower bound: one poll interval)" if span < 0.01 else ""))
    print(f"work dir: {work}")


if __name__ == "__main__":
    main()
