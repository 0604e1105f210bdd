"""The probes of the attack trial (issue 11), run by trial.sh against a running clowder-ingest and clowder-sink.

Standard library only. Every request is written byte by byte on a raw socket, so that what is sent is exactly
what is printed. Signatures are computed here, independently of the Swift signer (RFC 9421 §2.5 signature base,
HMAC-SHA256, RFC 9530 Content-Digest). Each probe prints one line:

    <id> <verdict> <what was sent> -> <what came back> [what reached the stores]

verdict: HELD (the expected refusal or the expected safe storage), BROKE (crash, stall, cross-tenant write,
injection, false verdict, or an answer other than expected), NOTE (no defence expected; what happens is shown).
At the end: the good messages sent between the probes, counted in each store (each must be there exactly once),
and whether both processes are still alive.
"""
import base64, gzip, hashlib, hmac, json, os, socket, sqlite3, subprocess, sys, time, urllib.parse, urllib.request, uuid

WORK, PORT, TAG = os.environ["WORK"], int(os.environ["PORT"]), os.environ["TAG"]
INFLUX, INFLUX_DB, PG_DB, EXCHANGE = os.environ["INFLUX"], os.environ["INFLUX_DB"], os.environ["PG_DB"], os.environ["EXCHANGE"]
A = bytes.fromhex(open(f"{WORK}/a.secret").read().strip())
B = bytes.fromhex(open(f"{WORK}/b.secret").read().strip())
APIKEY = open(f"{WORK}/clowder.apikey").read().strip()
HOST = f"127.0.0.1:{PORT}"
RESULTS = []
GOOD = {"points": 0, "events": 0, "ids": []}   # good messages, counted in every store at the end
NOW_MS = lambda: int(time.time() * 1000)
NOW_NS = lambda: time.time_ns()


def record(pid, verdict, sent, got, stored=""):
    line = f"{pid:<5} {verdict:<5} {sent} -> {got}" + (f" [{stored}]" if stored else "")
    RESULTS.append((pid, verdict, line))
    print(line, flush=True)


# ---------------------------------------------------------------- HTTP on a raw socket

def exchange(data, timeout=15, send_delay=None):
    """Sends bytes, reads until the server closes (Connection: close); returns (status, headers, body, seconds)."""
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    try:
        s.sendall(data)
        buf = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            buf += chunk
            if b"\r\n\r\n" in buf:
                head, _, rest = buf.partition(b"\r\n\r\n")
                m = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if m and len(rest) >= int(m[0].split(b":")[1]):
                    break
    finally:
        s.close()
    secs = time.monotonic() - t0
    if not buf:
        return 0, {}, b"", secs
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        headers[k.decode().lower()] = v.decode().strip()
    return status, headers, body, secs


def http(method, path, headers=(), body=b"", extra=b""):
    h = [("Host", HOST), ("Connection", "close")] + list(headers)
    if not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in h) and method != "GET":
        h.append(("Content-Length", str(len(body))))
    data = f"{method} {path} HTTP/1.1\r\n".encode() + b"".join(
        k.encode() + b": " + (v if isinstance(v, bytes) else v.encode()) + b"\r\n" for k, v in h) + extra + b"\r\n" + body
    return exchange(data)


def digest(body):
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"


def sign(path, body, ident, key="agent-a", secret=A, created=None, label="sig1"):
    created = int(time.time()) if created is None else created
    params = f'("@method" "@target-uri" "content-digest" "idempotency-key");created={created};keyid="{key}";alg="hmac-sha256"'
    base = (f'"@method": POST\n"@target-uri": http://{HOST}{path}\n"content-digest": {digest(body)}\n'
            f'"idempotency-key": {ident}\n"@signature-params": {params}')
    mac = base64.b64encode(hmac.new(secret, base.encode(), hashlib.sha256).digest()).decode()
    return [("Content-Digest", digest(body)), ("Idempotency-Key", ident), ("Signature-Input", f"{label}={params}"),
            ("Signature", f"{label}=:{mac}:"), ("Content-Type", "application/json")]


def post_batch(body, ident, key="agent-a", secret=A, gz=False, path="/v1/batches", extra_headers=()):
    raw = gzip.compress(body) if gz else body
    h = sign(path, raw, ident, key, secret) + ([("Content-Encoding", "gzip")] if gz else []) + list(extra_headers)
    return http("POST", path, h, raw)


def post_events(body, key=APIKEY, idem=None):
    h = [("X-API-Key", key), ("Content-Type", "application/json")] + ([("Idempotency-Key", idem)] if idem else [])
    return http("POST", "/v1/events", h, body)


def agent(aid="web-a", host="web-a.example.org", region="eu-west"):
    return {"id": aid, "host": host, "region": region, "version": "0.1.0"}


def batch(points=(), events=(), ident=None, ag=None):
    ident = ident or "b-" + uuid.uuid4().hex
    return ident, json.dumps({"id": ident, "created": NOW_MS(), "agent": ag or agent(), "points": list(points),
                              "events": list(events)}).encode()


def point(m="trial", tags=None, fields=None, t=None):
    return {"measurement": m, "time_ns": t if t is not None else NOW_NS() - 60_000_000_000,
            "tags": tags if tags is not None else {"probe": "x"}, "fields": fields or {"v": 1}}


def short(b, n=160):
    s = b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)
    return s if len(s) <= n else s[:n] + f"…({len(s)} chars)"


def detail(body):
    try:
        j = json.loads(body)
        return j.get("detail") or j
    except Exception:
        return short(body)


GOOD_N = [0]


def good():
    """A good batch of agent-a (2 nginx_access points + 1 download event), counted in every store at the end."""
    GOOD_N[0] += 1
    n = GOOD_N[0]
    t = (NOW_NS() // 60_000_000_000 - 30) * 60_000_000_000 + n * 1_000_000_000
    pts = [point("nginx_access", {"vhost": "good", "agent": "web-a", "seq": str(n), "i": str(i)},
                 {"requests": 10 + i, "request_time_p99": 0.5}, t + i) for i in range(2)]
    evs = [{"category": "download", "type": "file", "resource_id": f"good-{n}", "created": NOW_MS() - 60_000, "size": 10}]
    ident, body = batch(pts, evs, ident=f"good-{n}")
    st, _, b, _ = post_batch(body, ident, gz=True)
    if st == 202:
        GOOD["points"] += 2
        GOOD["events"] += 1
        GOOD["ids"] += [f"agent-a:{ident}:{i}" for i in range(3)]
    else:
        record(f"G{n}", "BROKE", f"good batch {ident}", f"{st} {short(b)}")


def alive():
    out = []
    for name in ("INGEST_PID", "SINK_PID"):
        try:
            os.kill(int(os.environ[name]), 0)
            out.append(f"{name.split('_')[0].lower()} alive")
        except OSError:
            out.append(f"{name.split('_')[0].lower()} DEAD")
    return ", ".join(out)


# ---------------------------------------------------------------- stores

def influx(q):
    u = f"{INFLUX}/query?db={INFLUX_DB}&q=" + urllib.parse.quote(q)
    with urllib.request.urlopen(u, timeout=10) as f:
        return json.loads(f.read())


def influx_rows(q):
    r = influx(q)["results"][0]
    out = []
    for s in r.get("series", []):
        for v in s["values"]:
            out.append((s["name"], dict(zip(s["columns"], v)), s.get("tags")))
    return out


def pg(q):
    r = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", PG_DB, "-tA", "-F", "\t", "-c", q],
                       capture_output=True, text=True)
    return (r.stdout + r.stderr).strip()


def lite(q, *a):
    try:
        c = sqlite3.connect(f"file:{WORK}/sink.db?mode=ro", uri=True, timeout=5)
        try:
            return c.execute(q, a).fetchall()
        finally:
            c.close()
    except sqlite3.Error as e:
        return [("error", str(e))]


def mgmt(path, method="GET", data=None):
    auth = "Basic " + base64.b64encode(b"guest:guest").decode()
    r = urllib.request.Request("http://127.0.0.1:15672/api" + path, method=method, headers={"Authorization": auth,
                               "Content-Type": "application/json"}, data=json.dumps(data).encode() if data else None)
    with urllib.request.urlopen(r, timeout=20) as f:
        return json.loads(f.read())


def queue_depth(q):
    try:
        return mgmt("/queues/%2F/" + urllib.parse.quote(q, safe="")).get("messages", 0)
    except Exception:
        return -1


def dead_letters(limit=5000):
    """Peeks at the dead-letter queue (requeued): {message_id: reason}."""
    try:
        msgs = mgmt("/queues/%2F/" + urllib.parse.quote(EXCHANGE + ".dlx", safe="") + "/get", "POST",
                    {"count": limit, "ackmode": "reject_requeue_true", "encoding": "auto", "truncate": 2000})
    except Exception as e:
        return {"error": str(e)}
    out = {}
    for m in msgs:
        p = m.get("properties", {})
        h = p.get("headers", {}) or {}
        out.setdefault(p.get("message_id", "?"), []).append(str(h.get("x-clowder-reason", ""))[:120] + " @" + str(h.get("x-clowder-sink", "")))
    return out


def wait_drained(seconds=60):
    end = time.time() + seconds
    while time.time() < end:
        depths = [queue_depth(f"{EXCHANGE}.{s}") for s in ("influx", "postgres", "sqlite")]
        if all(d == 0 for d in depths):
            return True
        time.sleep(1)
    return False


def status_json():
    st, _, b, _ = http("GET", "/status.json")
    return json.loads(b) if st == 200 else {"status": st}


# ---------------------------------------------------------------- probes: anyone with TCP

def tcp_probes():
    st, h, b, s = http("POST", "/v1/batches", [("Content-Type", "application/json")], b"{}")
    record("T1", "HELD" if st == 401 and len(b) < 700 else "BROKE", "POST /v1/batches, no credentials", f"{st} {len(b)} B {detail(b)}")

    junk = "sig1=(" + " ".join(f'"h{i}"' for i in range(2500)) + ');keyid="AAAAECHOAAAA"'
    st, h, b, s = http("POST", "/v1/batches", [("Signature-Input", junk), ("Signature", "sig1=:AAAA:")], b"{}")
    record("T2", "HELD" if st in (400, 401, 431) and b"ECHO" not in b and s < 2 else "BROKE",
           f"Signature-Input of {len(junk)} B (2 500 components), keyid marker", f"{st} in {s:.3f} s, {len(b)} B, echoes input: {b'ECHO' in b}")

    st, h, b, s = http("POST", "/v1/batches", [("X-Pad", "p" * 20000)], b"{}")
    record("T3", "HELD" if st in (0, 400, 431) else "BROKE", "header section of 20 000 B", f"{st or 'closed'} in {s:.3f} s")

    # 4 MB body announced, never sent, no credentials: the answer must come without waiting for it.
    st, h, b, s = exchange(f"POST /v1/batches HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 4000000\r\nContent-Type: application/json\r\n\r\n".encode(), timeout=12)
    record("T4", "HELD" if st == 401 and s < 2 else "BROKE", "Content-Length: 4000000, no credentials, body never sent",
           f"{st or 'closed'} in {s:.3f} s")

    st, h, b, s = exchange(f"POST /v1/events HTTP/1.1\r\nHost: {HOST}\r\nTransfer-Encoding: chunked\r\nX-API-Key: wrong\r\n\r\n".encode(), timeout=12)
    record("T5", "HELD" if st == 401 and s < 2 else "BROKE", "chunked, no chunk sent, wrong X-API-Key", f"{st or 'closed'} in {s:.3f} s")

    # Slowloris: one header byte every 0.5 s (HEADER_TIMEOUT=3 in trial.sh).
    t0 = time.monotonic()
    sk = socket.create_connection(("127.0.0.1", PORT), timeout=20)
    sk.sendall(f"POST /v1/batches HTTP/1.1\r\nHost: {HOST}\r\n".encode())
    closed = None
    for i in range(40):
        try:
            sk.sendall(b"X-Slow-%d: a\r\n" % i)
            sk.settimeout(0.5)
            if sk.recv(1024) == b"":
                closed = time.monotonic() - t0
                break
        except socket.timeout:
            continue
        except OSError:
            closed = time.monotonic() - t0
            break
    sk.close()
    record("T6", "HELD" if closed is not None and closed < 8 else "BROKE", "slowloris: one header line every 0.5 s",
           f"closed after {closed:.1f} s" if closed else "still open after 20 s")

    # Idle: a connection that sends nothing (IDLE_TIMEOUT=5).
    t0 = time.monotonic()
    sk = socket.create_connection(("127.0.0.1", PORT), timeout=15)
    try:
        r = sk.recv(1)
        closed = time.monotonic() - t0 if r == b"" else None
    except socket.timeout:
        closed = None
    except OSError:
        closed = time.monotonic() - t0
    sk.close()
    record("T7", "HELD" if closed is not None and closed < 12 else "BROKE", "idle connection, nothing sent",
           f"closed after {closed:.1f} s" if closed else "still open after 15 s")

    # Many idle connections: 600 against MAX_CONNECTIONS=512, then a request on a fresh one while they are open.
    socks = []
    for _ in range(600):
        try:
            socks.append(socket.create_connection(("127.0.0.1", PORT), timeout=5))
        except OSError:
            break
    time.sleep(0.5)
    refused = 0
    for sk in socks:
        sk.setblocking(False)
        try:
            if sk.recv(1) == b"":
                refused += 1
        except BlockingIOError:
            pass
        except OSError:
            refused += 1
    st_during, _, _, s_during = http("GET", "/healthz")
    for sk in socks:
        sk.close()
    time.sleep(0.5)
    st_after, _, _, _ = http("GET", "/healthz")
    record("T8", "HELD" if refused >= 80 and st_after == 200 else "BROKE", f"{len(socks)} idle connections at once",
           f"{refused} closed at once; /healthz during: {st_during or 'closed'}, after: {st_after}")

    st, h, b, s = http("GET", "/healthz")
    leak = any(x in b for x in (b"guest", b"5672", b"amqp"))
    record("T9", "HELD" if not leak else "BROKE", "GET /healthz", f"{st} {short(b)}")
    st, h, b, s = http("GET", "/docs")
    cdn = any(x in b for x in (b"https://", b"http://", b"//cdn", b"unpkg", b"jsdelivr"))
    record("T10", "HELD" if st in (200, 404) and not cdn else "BROKE", "GET /docs", f"{st}, {len(b)} B, refers to another host: {cdn}")
    st, h, b, s = http("POST", "/v1/batches", [("Content-Length", "2"), ("Transfer-Encoding", "chunked")], b"0\r\n\r\n")
    record("T11", "NOTE" if st in (400, 401) else "BROKE", "Content-Length and Transfer-Encoding both (smuggling)", f"{st or 'closed'} {detail(b)}")
    st, h, b, s = http("GET", "/v1/batches")
    record("T12", "HELD" if st in (404, 405) else "BROKE", "GET /v1/batches", f"{st}")


# ---------------------------------------------------------------- probes: agent key holder

def body_probes():
    now_ns = NOW_NS()
    cases = [
        ("K1", "truncated JSON", b'{"id":"k1","created":1,"agent":{"id":"web-a"},"points":[{"measurement":"m"'),
        ("K2", "200 000 nested arrays", b'{"id":"k2","x":' + b"[" * 200000 + b"]" * 200000 + b"}"),
        ("K3", "200 000 nested objects", b'{"id":"k3","x":' + b'{"a":' * 200000 + b"1" + b"}" * 200000 + b"}"),
        ("K4", "trailing garbage", b'{"id":"k4"} xx'),
        ("K5", "bare NaN field", f'{{"id":"k5","created":{NOW_MS()},"agent":{{"id":"web-a"}},"points":[{{"measurement":"m","time_ns":{now_ns},"fields":{{"v":NaN}}}}]}}'.encode()),
        ("K6", "field 1e309", f'{{"id":"k6","created":{NOW_MS()},"agent":{{"id":"web-a"}},"points":[{{"measurement":"m","time_ns":{now_ns},"fields":{{"v":1e309}}}}]}}'.encode()),
        ("K7", "field Infinity", f'{{"id":"k7","created":{NOW_MS()},"agent":{{"id":"web-a"}},"points":[{{"measurement":"m","time_ns":{now_ns},"fields":{{"v":Infinity}}}}]}}'.encode()),
        ("K8", "time_ns 1.7e18 (a double)", f'{{"id":"k8","created":{NOW_MS()},"agent":{{"id":"web-a"}},"points":[{{"measurement":"m","time_ns":1.7e18,"fields":{{"v":1}}}}]}}'.encode()),
        ("K9", "time_ns 99999999999999999999 (beyond Int64)", f'{{"id":"k9","created":{NOW_MS()},"agent":{{"id":"web-a"}},"points":[{{"measurement":"m","time_ns":99999999999999999999,"fields":{{"v":1}}}}]}}'.encode()),
        ("K10", "leading zero 01", f'{{"id":"k10","created":{NOW_MS()},"agent":{{"id":"web-a"}},"points":[{{"measurement":"m","time_ns":{now_ns},"fields":{{"v":01}}}}]}}'.encode()),
        ("K11", "raw overlong UTF-8 C0 AF in a tag", f'{{"id":"k11","created":{NOW_MS()},"agent":{{"id":"web-a"}},"points":[{{"measurement":"m","time_ns":{now_ns},"tags":{{"t":"'.encode() + b"\xc0\xaf" + b'"},"fields":{"v":1}}]}'),
        ("K12", "lone surrogate \\ud800 in a tag", f'{{"id":"k12","created":{NOW_MS()},"agent":{{"id":"web-a"}},"points":[{{"measurement":"m","time_ns":{now_ns},"tags":{{"t":"\\ud800"}},"fields":{{"v":1}}}}]}}'.encode()),
        ("K13", "raw CESU surrogate ED A0 80 in a tag", f'{{"id":"k13","created":{NOW_MS()},"agent":{{"id":"web-a"}},"points":[{{"measurement":"m","time_ns":{now_ns},"tags":{{"t":"'.encode() + b"\xed\xa0\x80" + b'"},"fields":{"v":1}}]}'),
        ("K14", "a 4 MB JSON string (gzip) beyond the string bound", None),
    ]
    for pid, what, body in cases:
        if body is None:
            ident, body = batch([point(fields={"s": "x" * 4_000_000})], ident="k14")
            st, _, b, s = post_batch(body, ident, gz=True)
        else:
            ident = "k" + pid[1:]
            st, _, b, s = post_batch(body, ident)
        record(pid, "HELD" if st == 400 and len(b) < 700 else "BROKE", what, f"{st} in {s:.2f} s {short(detail(b), 120)}")
    good()

    # Edge numbers that are legal: -0, -0.0, a 30-digit integer field, 1.7976931348623157e308, 5e-324.
    ident, body = batch([point("edge_numbers", {"probe": "k15"}, None)], ident="k15")
    body = body.replace(b'"fields": {"v": 1}', b'"fields": {"neg_zero_int": -0, "neg_zero": -0.0, "big": 123456789012345678901234567890, "max": 1.7976931348623157e308, "tiny": 5e-324}')
    st, _, b, s = post_batch(body, ident)
    record("K15", "NOTE", "fields -0, -0.0, 123456789012345678901234567890, 1.7976931348623157e308, 5e-324", f"{st} {short(detail(b), 120)}", "stores: see S-K15")

    # Duplicate member names: which one is validated, which one is published?
    ident = "k16"
    body = f'{{"id":"k16","created":{NOW_MS()},"agent":{{"id":"web-a"}},"points":[{{"measurement":"nginx_access","time_ns":{NOW_NS() - 10**11},"tags":{{"probe":"k16"}},"fields":{{"requests":1,"requests":"poison"}}}}]}}'.encode()
    st, _, b, s = post_batch(body, ident)
    record("K16", "HELD" if st == 400 else "NOTE", 'nginx_access fields {"requests":1,"requests":"poison"} (duplicate member)', f"{st} {short(detail(b), 120)}")

    # Names at the bound: 256 bytes passes, 257 is refused.
    ident, body = batch([point("bounds", {"probe": "k17", "t": "n" * 256})], ident="k17a")
    st1, _, b1, _ = post_batch(body, ident)
    ident, body = batch([point("bounds", {"probe": "k17", "t": "n" * 257})], ident="k17b")
    st2, _, b2, _ = post_batch(body, ident)
    record("K17", "HELD" if st1 == 202 and st2 == 400 else "BROKE", "tag value of 256 B, then 257 B", f"{st1}, {st2} {short(detail(b2), 80)}")
    good()


def unicode_and_injection():
    """Values that reach InfluxDB line protocol and the SQL sinks: each is sent alone, then looked up in every store."""
    t = NOW_NS() - 120_000_000_000
    probes = {
        "U1": point("unicode", {"probe": "U1", "t": "nul\u0000byte"}, {"v": 1}, t + 1),
        "U2": point("unicode", {"probe": "U2", "t": "\u202egnp.exe"}, {"v": 1}, t + 2),
        "U3": point("unicode", {"probe": "U3", "t": "\U0001F600 \u00e9\u0301"}, {"v": 1}, t + 3),
        "U4": point("unicode", {"probe": "U4"}, {"s": "nul\u0000in a field"}, t + 4),
        "L1": point("lp,inj=1 x=2", {"probe": "L1"}, {"v": 1}, t + 11),
        "L2": point("lp", {"probe": "L2", "t": "a,b=c d"}, {"v": 1}, t + 12),
        "L3": point("lp", {"probe": "L3", "t": "line\nlp_injected,probe=L3x v=666i"}, {"v": 1}, t + 13),
        "L4": point("lp", {"probe": "L4", "t": "ends in two backslashes\\\\"}, {"v": 1}, t + 14),
        "L5": point("lp", {"probe": "L5", "t": "ends in one backslash\\"}, {"v": 1}, t + 15),
        "L6": point("lp_bs\\\\", {"probe": "L6", "region": "eu-west"}, {"v": 1}, t + 16),
        "L7": point("lp", {"probe": "L7"}, {"f=1,g": 1, 'q"uote\\': 'say "hi"\\\nnext', "time": 5}, t + 17),
        "L8": point("#comment", {"probe": "L8"}, {"v": 1}, t + 18),
        "L9": point("lp", {"probe": "L9", "k\\\\": "v"}, {"v": 1}, t + 19),
        "L10": point("lp", {"probe": "L10"}, {"fk\\\\": 1}, t + 20),
        "Q1": point("x'); DROP TABLE attack_points;--", {"probe": "Q1", "t": "' OR '1'='1"}, {"v": 1}, t + 31),
    }
    accepted = {}
    for pid, p in probes.items():
        ident, body = batch([p], ident=f"inj-{pid}")
        st, _, b, s = post_batch(body, ident)
        accepted[pid] = (st, detail(b))
    ident, body = batch([], [{"category": "'; DELETE FROM attack_events; --", "created": NOW_MS() - 5000, "resource_name": "Robert'); DROP TABLE attack_events;--", "probe": "Q2"}], ident="inj-Q2")
    st, _, b, _ = post_batch(body, ident)
    accepted["Q2"] = (st, detail(b))
    good()
    return probes, accepted


def crossing_probes():
    # Bound key agent-b writes as web-a in every place a name can go.
    def as_b(pts=(), evs=(), ag=None, path="/v1/batches"):
        ident, body = batch(pts, evs, ag=ag or agent("web-b", "web-b.example.org", "eu-west"))
        if path == "/v1/events":
            body = json.dumps(list(evs)).encode()
        return post_batch(body, ident, key="agent-b", secret=B, path=path)
    cases = [
        ("X1", "agent-b: batch.agent.id web-a", lambda: as_b(ag=agent("web-a", "web-b.example.org", "eu-west"))),
        ("X2", "agent-b: point tag agent=web-a", lambda: as_b([point("nginx_access", {"agent": "web-a"}, {"requests": 1})])),
        ("X3", "agent-b: point tag region=us-east", lambda: as_b([point("nginx_access", {"region": "us-east"}, {"requests": 1})])),
        ("X4", "agent-b: event member agent=web-a", lambda: as_b(evs=[{"category": "download", "created": NOW_MS(), "agent": "web-a"}])),
        ("X5", "agent-b: /v1/events member host=web-a.example.org", lambda: as_b(evs=[{"category": "download", "created": NOW_MS(), "host": "web-a.example.org"}], path="/v1/events")),
    ]
    for pid, what, f in cases:
        st, _, b, _ = f()
        record(pid, "HELD" if st == 403 else "BROKE", what, f"{st} {short(detail(b), 100)}")

    # An event whose category is "metric" is read by every sink as a point (MetricsMessage.decode): tags and fields
    # the point validation and the key binding never saw.
    ev = {"category": "metric", "type": "nginx_access", "created": NOW_MS() - 30_000, "tags": {"agent": "web-a", "vhost": "forged", "probe": "X6"},
          "fields": {"requests": 100000}}
    st, _, b, _ = as_b(evs=[ev])
    record("X6", "HELD" if st in (400, 403) else "BROKE", 'agent-b (bound to web-b): batch event {"category":"metric","type":"nginx_access","tags":{"agent":"web-a"},"fields":{"requests":100000}}',
           f"{st} {short(detail(b), 100)}", "stores: see S-X6")

    # Replay and key crossing.
    ident, body = batch([point("replay", {"probe": "R1"})], ident="r1")
    h = sign("/v1/batches", body, ident)
    st1, _, b1, _ = http("POST", "/v1/batches", h, body)
    st2, _, b2, _ = http("POST", "/v1/batches", h, body)
    record("R1", "HELD" if st1 == 202 and st2 == 200 else "BROKE", "the same signed request twice", f"{st1}, {st2} {short(b2, 80)}")
    st3, _, b3, _ = post_batch(body.replace(b"web-a", b"web-b"), ident, key="agent-b", secret=B)
    record("R2", "HELD" if st3 in (202, 403) and b"duplicate" not in b3 else "BROKE", "agent-b posts a batch with agent-a's id r1", f"{st3} {short(b3, 80)}")
    old = sign("/v1/batches", body, "r1-old", created=int(time.time()) - 400)
    st, _, b, _ = http("POST", "/v1/batches", old, body.replace(b'"r1"', b'"r1-old"'))
    record("R3", "HELD" if st == 401 else "BROKE", "signature created 400 s ago", f"{st} {short(detail(b), 80)}")
    h = sign("/v1/batches", body, ident)
    h = [(k, v) if k != "Content-Digest" else (k, digest(b"other")) for k, v in h]
    st, _, b, _ = http("POST", "/v1/batches", h, body)
    record("R4", "HELD" if st == 401 else "BROKE", "Content-Digest of another body (signed)", f"{st} {short(detail(b), 80)}")
    ident, body = batch([point("replay", {"probe": "R5"})], ident="r5")
    h = sign("/v1/batches", body, ident)
    h.append(("Content-Digest", digest(b"other")))
    st, _, b, _ = http("POST", "/v1/batches", h, body)
    record("R5", "HELD" if st in (400, 401) else "BROKE", "two Content-Digest lines (signed one first, another after)", f"{st} {short(detail(b), 80)}")
    ident, body = batch([point("replay", {"probe": "R6"})], ident="r6")
    h = sign("/v1/batches", body, ident)
    bad = sign("/v1/batches", body, ident, key="agent-b", secret=b"guess", label="sig2")
    h += [x for x in bad if x[0] in ("Signature-Input", "Signature")]
    st, _, b, _ = http("POST", "/v1/batches", h, body)
    record("R6", "NOTE", "valid sig1 (agent-a) plus a second Signature-Input/Signature line sig2 claiming agent-b", f"{st} {short(detail(b), 100)}")
    ident, body = batch([point("replay", {"probe": "R7"})], ident="r7")
    h = sign("/v1/batches", body, ident)
    h = [(k, v) if k != "Idempotency-Key" else (k, "r7-other") for k, v in h]
    st, _, b, _ = http("POST", "/v1/batches", h, body)
    record("R7", "HELD" if st == 401 else "BROKE", "Idempotency-Key changed after signing", f"{st} {short(detail(b), 80)}")
    ev = json.dumps({"category": "download", "created": NOW_MS(), "probe": "R8"}).encode()
    st1, _, _, _ = post_events(ev)
    st2, _, _, _ = post_events(ev)
    record("R8", "NOTE", "X-API-Key /v1/events without Idempotency-Key, twice", f"{st1}, {st2} (each published: nothing to de-duplicate on)")
    st, _, b, _ = post_events(json.dumps({"category": "download", "created": NOW_MS(), "key_id": "agent-b", "probe": "R9"}).encode())
    record("R9", "NOTE", 'X-API-Key event with "key_id":"agent-b"', f"{st}", "stores: see S-R9")
    # A signature covering fewer components than the ingest requires (no idempotency-key, no content-digest).
    ident, body = batch([point("replay", {"probe": "R11"})], ident="r11")
    created = int(time.time())
    params = f'("@method" "@target-uri");created={created};keyid="agent-a";alg="hmac-sha256"'
    base = f'"@method": POST\n"@target-uri": http://{HOST}/v1/batches\n"@signature-params": {params}'
    mac = base64.b64encode(hmac.new(A, base.encode(), hashlib.sha256).digest()).decode()
    st, _, b, _ = http("POST", "/v1/batches", [("Signature-Input", f"sig1={params}"), ("Signature", f"sig1=:{mac}:"), ("Idempotency-Key", ident)], body)
    record("R11", "HELD" if st == 401 else "BROKE", "a valid signature over @method and @target-uri only", f"{st} {short(detail(b), 80)}")
    # The signed target is /v1/batches; the request goes to /v1/batches?x=1 and to //v1/batches.
    ident, body = batch([point("replay", {"probe": "R12"})], ident="r12")
    h = sign("/v1/batches", body, ident)
    st1, _, b1, _ = http("POST", "/v1/batches?x=1", h, body)
    st2, _, b2, _ = http("POST", "//v1/batches", h, body)
    record("R12", "HELD" if st1 in (401, 404) and st2 in (401, 404) else "BROKE", "signed for /v1/batches, sent to /v1/batches?x=1 and //v1/batches", f"{st1}, {st2}")
    # Signed events without an Idempotency-Key.
    ev = json.dumps({"category": "download", "created": NOW_MS(), "probe": "R13"}).encode()
    created = int(time.time())
    params = f'("@method" "@target-uri" "content-digest");created={created};keyid="agent-a";alg="hmac-sha256"'
    base = f'"@method": POST\n"@target-uri": http://{HOST}/v1/events\n"content-digest": {digest(ev)}\n"@signature-params": {params}'
    mac = base64.b64encode(hmac.new(A, base.encode(), hashlib.sha256).digest()).decode()
    st, _, b, _ = http("POST", "/v1/events", [("Content-Digest", digest(ev)), ("Signature-Input", f"sig1={params}"), ("Signature", f"sig1=:{mac}:")], ev)
    record("R13", "HELD" if st in (400, 401) else "BROKE", "signed /v1/events without Idempotency-Key", f"{st} {short(detail(b), 80)}")
    st, _, b, _ = http("POST", "/v1/batches", [("X-API-Key", APIKEY), ("Content-Type", "application/json")], b"{}")
    record("R10", "HELD" if st in (401, 403) else "BROKE", "X-API-Key on /v1/batches", f"{st} {short(detail(b), 80)}")

    # Timestamps at the edges (MAX_AGE 30 d, MAX_FUTURE 1 h).
    s = 1_000_000_000
    for pid, what, tns, want in [
        ("E1", "time_ns 30 days + 60 s ago", NOW_NS() - (30 * 86400 + 60) * s, 400),
        ("E2", "time_ns 1 h + 100 s ahead", NOW_NS() + 3700 * s, 400),
        ("E3", "time_ns 59 min ahead", NOW_NS() + 3540 * s, 202),
        ("E4", "time_ns -1", -1, 400),
        ("E5", "time_ns 9223372036854775807", 9223372036854775807, 400),
    ]:
        ident, body = batch([point("edges", {"probe": pid}, None, tns)], ident="e-" + pid)
        st, _, b, _ = post_batch(body, ident)
        record(pid, "HELD" if st == want else "BROKE", what, f"{st} {short(detail(b), 80)}")
    good()


def field_type_poisoning():
    """Declared measurement `ping` (percent_packet_loss: float) through the event path: a string sent first fixes
    InfluxDB's field type for everyone."""
    ev = {"category": "metric", "type": "ping", "created": NOW_MS() - 50_000, "tags": {"probe": "P1", "agent": "web-x"},
          "fields": {"percent_packet_loss": "poison"}}
    st, _, b, _ = post_events(json.dumps(ev).encode())
    record("P1", "HELD" if st == 400 else "BROKE", 'X-API-Key: {"category":"metric","type":"ping","fields":{"percent_packet_loss":"poison"}}', f"{st} {short(detail(b), 80)}", "then agent-a's good ping: see S-P1")
    time.sleep(3)
    ident, body = batch([point("ping", {"probe": "P1-good", "agent": "web-a"}, {"percent_packet_loss": 0.5, "result_code": 0}, NOW_NS() - 40 * 10**9)], ident="p1-good")
    st, _, b, _ = post_batch(body, ident)
    GOOD["ping"] = st
    # An undeclared field of a declared measurement keeps the type its first writer gave it, whoever that was.
    ident, body = batch([point("nginx_access", {"probe": "P2-poison", "agent": "web-b", "host": "web-b.example.org", "region": "eu-west"},
                               {"requests": 1, "future_counter": "poison"}, NOW_NS() - 45 * 10**9)],
                        ag=agent("web-b", "web-b.example.org", "eu-west"), ident="p2-poison")
    st1, _, b1, _ = post_batch(body, ident, key="agent-b", secret=B)
    time.sleep(3)
    ident, body = batch([point("nginx_access", {"probe": "P2-good", "agent": "web-a"}, {"requests": 2, "future_counter": 7}, NOW_NS() - 44 * 10**9)], ident="p2-good")
    st2, _, b2, _ = post_batch(body, ident)
    GOOD["p2"] = (st1, st2)


def status_probes():
    target = "https://victim.example.org/healthz"
    now = NOW_MS()
    # 1. A service_verdict point, as clowder-sink verdicts would publish it, posted as an ordinary batch, one period
    #    59 minutes ahead (the latest period wins on the page).
    period_ns = (now + 3540_000) // 60000 * 60000 * 1_000_000
    vp = point("service_verdict", {"service_name": target, "verdict": "down"},
               {"regions_up": 0, "regions_down": 3, "up": 0, "down": 1, "quorum": 2, "up_regions": "", "down_regions": "eu-west,us-east,ap-south",
                "silent_regions": "", "network_down_regions": ""}, period_ns)
    ident, body = batch([vp], ident="v1")
    st, _, b, _ = post_batch(body, ident)
    time.sleep(3)
    sj = status_json()
    shown = [t for t in sj.get("targets", []) if t.get("service_name") == target]
    record("V1", "BROKE" if shown and shown[0].get("verdict") == "down" else ("HELD" if st == 400 else "NOTE"),
           "agent-a batch with a point service_verdict{service_name=victim, verdict=down} 59 min ahead",
           f"{st}; /status.json shows {target}: {shown[0].get('verdict') if shown else 'absent'}")
    # 2. The same through X-API-Key as an event of category metric.
    ev = {"category": "metric", "type": "service_verdict", "created": now, "time_ns": period_ns + 60_000_000_000,
          "tags": {"service_name": target + "/2", "verdict": "down"}, "fields": {"down": 1}}
    st, _, b, _ = post_events(json.dumps(ev).encode())
    time.sleep(3)
    sj = status_json()
    shown = [t for t in sj.get("targets", []) if t.get("service_name") == target + "/2"]
    record("V2", "BROKE" if shown and shown[0].get("verdict") == "down" else ("HELD" if st == 400 else "NOTE"),
           "X-API-Key event {category: metric, type: service_verdict, verdict: down}",
           f"{st}; /status.json shows {target}/2: {shown[0].get('verdict') if shown else 'absent'}")
    # 3. Rounds for every region of a target from one unbound key (the page's region rows), one ahead in time.
    evs = [{"category": "service_status", "type": "down", "service_name": "https://clowder.example.org/healthz", "region": r,
            "agent": "probe-" + r, "created": now + 3500_000, "healthy": False} for r in ("eu-west", "us-east", "ap-south")]
    st, _, b, _ = post_events(json.dumps(evs).encode())
    time.sleep(3)
    sj = status_json()
    shown = [t for t in sj.get("targets", []) if t.get("service_name") == "https://clowder.example.org/healthz"]
    regions = [(r["region"], r["last_outcome"]) for r in shown[0]["regions"]] if shown else []
    # Then eu-west's real prober (agent-b, bound to eu-west) reports the target up, stamped now.
    real = {"category": "service_status", "type": "up", "service_name": "https://clowder.example.org/healthz", "region": "eu-west",
            "agent": "web-b", "created": NOW_MS(), "healthy": True}
    ident, body = batch([], [real], ag=agent("web-b", "web-b.example.org", "eu-west"))
    st2, _, _, _ = post_batch(body, ident, key="agent-b", secret=B)
    time.sleep(4)
    sj = status_json()
    shown = [t for t in sj.get("targets", []) if t.get("service_name") == "https://clowder.example.org/healthz"]
    after = [(r["region"], r["last_outcome"]) for r in shown[0]["regions"]] if shown else []
    replaced = ("eu-west", "up") in after
    record("V3", "HELD" if replaced else "BROKE",
           "X-API-Key (no bindings): service_status down rounds for 3 regions, created 58 min ahead; then agent-b's real eu-west round (up, now)",
           f"{st}, {st2}; page rows after the forged rounds: {regions}; after the real one: {after}"
           + ("" if replaced else " (the real round is older than the forged one: hidden for 58 min)"))
    # 4. XSS through names that reach the page.
    evs = [{"category": "service_status", "type": "up", "service_name": "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>",
            "region": "<b>r</b>", "created": now, "healthy": True}]
    st, _, b, _ = post_events(json.dumps(evs).encode())
    time.sleep(3)
    s2, h2, page, _ = http("GET", "/status")
    raw = b"<script>alert(1)" in page or b"<img src=x" in page or b"<b>r</b>" in page
    record("V4", "HELD" if not raw and "default-src 'self'" in h2.get("content-security-policy", "") else "BROKE",
           "service_status with service_name <script>…, region <b>r</b>", f"{st}; /status {s2}: raw markup in page: {raw}; CSP {h2.get('content-security-policy')}")
    # 5. Target flood: 1 200 distinct targets in one request.
    evs = [{"category": "service_status", "type": "up", "service_name": f"https://flood-{i}.example.org/" + "p" * 200, "region": "eu-west",
            "created": now, "healthy": True} for i in range(1200)]
    st, _, b, _ = post_events(json.dumps(evs).encode())
    time.sleep(4)
    s2, _, page, _ = http("GET", "/status")
    sj = status_json()
    record("V5", "NOTE", "X-API-Key: 1 200 service_status events of distinct 230-byte targets in one request",
           f"{st}; /status now lists {len(sj.get('targets', []))} targets, {len(page)} B (bound: 1 000 targets)")


def status_cost():
    """Unauthenticated GET /status with the targets of V5 in the store: six clients in a loop, /healthz timed meanwhile."""
    import threading
    stop = time.monotonic() + 12
    n = [0]

    def loop():
        while time.monotonic() < stop:
            http("GET", "/status")
            n[0] += 1
    ts = [threading.Thread(target=loop) for _ in range(6)]
    for t in ts:
        t.start()
    time.sleep(2)
    worst = 0.0
    for _ in range(5):
        _, _, _, s = http("GET", "/healthz")
        worst = max(worst, s)
        time.sleep(1)
    for t in ts:
        t.join()
    record("V6", "HELD" if worst < 1 else "BROKE", "6 anonymous clients fetching /status in a loop for 12 s (1 000+ targets stored)",
           f"{n[0]} pages served; slowest /healthz meanwhile {worst:.2f} s")


def amplification_probes():
    body = b"\x00" * (64 << 20)
    gz = gzip.compress(body, 9)
    h = sign("/v1/batches", gz, "g1") + [("Content-Encoding", "gzip")]
    st, _, b, s = http("POST", "/v1/batches", h, gz)
    record("A1", "HELD" if st == 413 and s < 5 else "BROKE", f"signed gzip bomb: {len(gz)} B inflating to 64 MiB", f"{st} in {s:.2f} s {short(detail(b), 80)}")
    st, _, b, s = http("POST", "/v1/events", [("X-API-Key", APIKEY), ("Content-Encoding", "gzip")], gz)
    record("A2", "HELD" if st == 413 and s < 5 else "BROKE", "X-API-Key gzip bomb, same body", f"{st} in {s:.2f} s")
    st, _, b, s = http("POST", "/v1/events", [("X-API-Key", "wrong"), ("Content-Encoding", "gzip")], gz)
    record("A3", "HELD" if st == 401 and s < 5 else "BROKE", "wrong X-API-Key gzip bomb", f"{st} in {s:.2f} s")
    ident, body = batch([point("amp", {"probe": "A4", "i": str(i)}) for i in range(10001)], ident="a4")
    st, _, b, s = post_batch(body, ident, gz=True)
    record("A4", "HELD" if st == 400 else "BROKE", "10 001 points", f"{st} {short(detail(b), 80)}")
    # Dead-letter flood: 2 000 events of category metric that no sink can read (no fields).
    dl0 = queue_depth(EXCHANGE + ".dlx")
    evs = [{"category": "metric", "type": "m", "created": NOW_MS(), "probe": "D1"} for _ in range(2000)]
    st, _, b, s = post_events(json.dumps(evs).encode())
    time.sleep(6)
    dl1 = queue_depth(EXCHANGE + ".dlx")
    record("D1", "HELD" if st == 400 else "BROKE", "X-API-Key: 2 000 events {category: metric} without fields, one request",
           f"{st}; dead-letter queue {dl0} -> {dl1} messages (unbounded queue)")


def auth_lockout():
    """Z1: 35 wrong X-API-Keys, then another tenant's valid batch, all from one address (a direct client: limited by
    design). Z2: the same behind the proxy trial.sh declares (CLOWDER_INGEST_TRUSTED_PROXIES=127.0.0.1), each client
    named by the X-Forwarded-For the proxy appends: the attacker 203.0.113.9, agent-b 192.0.2.44."""
    def run(xff_bad, xff_good):
        codes = []
        for _ in range(35):
            extra = [("X-Forwarded-For", xff_bad)] if xff_bad else []
            st, _, _, _ = http("POST", "/v1/events", [("X-API-Key", "wrong-key"), ("Content-Type", "application/json")] + extra, b"{}")
            codes.append(st)
        ident, body = batch([point("lockout", {"probe": "Z"})], ag=agent("web-b", "web-b.example.org", "eu-west"))
        st, h, b, _ = post_batch(body, ident, key="agent-b", secret=B, extra_headers=[("X-Forwarded-For", xff_good)] if xff_good else [])
        return codes, st, h, b
    codes, st, h, b = run(None, None)
    record("Z1", "NOTE" if st == 429 else "BROKE", "35 wrong X-API-Keys, then agent-b's valid signed batch, all from 127.0.0.1",
           f"wrong keys: {codes.count(401)}×401 {codes.count(429)}×429; agent-b: {st} {short(detail(b), 60)} (one address: limited by design)")
    time.sleep(3)
    codes, st, h, b = run("203.0.113.9", "192.0.2.44")
    record("Z2", "HELD" if st == 202 and codes.count(429) > 0 else "BROKE",
           "behind the trusted proxy: 35 wrong X-API-Keys from X-Forwarded-For 203.0.113.9, then agent-b's batch from 192.0.2.44",
           f"wrong keys: {codes.count(401)}×401 {codes.count(429)}×429; agent-b: {st} {short(detail(b), 60)} retry-after {h.get('retry-after')}")


# ---------------------------------------------------------------- stores

def store_report(probes, accepted):
    wait_drained(90)
    time.sleep(2)
    dls = dead_letters()
    print("--- what reached each store")

    # One measurement at a time: a query over several merges their columns (a tag `probe` of one and a field
    # `probe` of `events` become `probe` and `probe_1`).
    everything = []
    for (_, row, _) in influx_rows("SHOW MEASUREMENTS"):
        name = row["name"]
        everything += influx_rows('SELECT * FROM "' + name.replace("\\", "\\\\").replace('"', '\\"') + '"')

    def lp_in_influx(pid):
        return [r for r in everything if r[1].get("probe") == pid]

    for pid, p in probes.items():
        st, d = accepted[pid]
        ir = lp_in_influx(pid)
        ir_s = "; ".join(f"{n} {dict((k, v) for k, v in row.items() if v is not None and k != 'time')}" for n, row, _ in ir) or "absent"
        pr = pg(f"SELECT measurement, tags::text, fields::text FROM attack_points WHERE message_id = 'agent-a:inj-{pid}:0'") or "absent"
        lr = lite("SELECT measurement, tags, fields FROM points WHERE message_id = ?", f"agent-a:inj-{pid}:0") or "absent"
        dl = dls.get(f"agent-a:inj-{pid}:0", [])
        # What line protocol can carry: newlines become spaces, trailing backslashes are dropped (LineProtocol.swift).
        carried = lambda x: x.replace("\n", " ").replace("\r", " ").rstrip("\\")
        influx_ok = len(ir) == 1 and ir[0][0] == carried(p["measurement"]) and all(
            ir[0][1].get(carried(k)) == carried(v) for k, v in p["tags"].items() if carried(k) and carried(v))
        if pid in ("L3",):
            influx_ok = influx_ok and not influx_rows("SELECT * FROM lp_injected")
        verdict = "HELD" if st == 400 or (st == 202 and influx_ok and pr != "absent" and lr != "absent" and not dl) else "BROKE"
        if pid == "L8":
            verdict = "HELD" if st == 400 or (st == 202 and (influx_ok or dl)) else "BROKE"
        record("S-" + pid, verdict, f"{json.dumps(p['measurement'])} tags {json.dumps(p['tags'])} fields {json.dumps(p['fields'])}",
               f"ingest {st} {short(d, 60) if st != 202 else ''}",
               f"influx: {short(ir_s, 200)} | pg: {short(pr, 160)} | sqlite: {short(str(lr), 160)} | dead letters: {dl}")
    st, d = accepted["Q2"]
    pr = pg("SELECT category, resource_name FROM attack_events WHERE message_id = 'agent-a:inj-Q2:0'")
    tables = pg("SELECT count(*) FROM information_schema.tables WHERE table_name IN ('attack_points','attack_events')")
    record("S-Q2", "HELD" if tables == "2" and (st == 400 or "DROP TABLE" in pr) else "BROKE", "event with category \"'; DELETE FROM attack_events; --\"",
           f"ingest {st}", f"pg row: {short(pr, 120)}; tables left: {tables}; sqlite: {lite('SELECT category FROM events WHERE message_id = ?', 'agent-a:inj-Q2:0')}")

    r = influx_rows("SELECT * FROM edge_numbers")
    record("S-K15", "NOTE", "edge numbers in InfluxDB / PostgreSQL", short(str([x[1] for x in r]), 300),
           short(pg("SELECT fields::text FROM attack_points WHERE message_id = 'agent-a:k15:0'"), 200))
    forged = influx_rows("SELECT requests, agent, vhost FROM nginx_access WHERE probe = 'X6'")
    pgx = pg("SELECT measurement, tags::text FROM attack_points WHERE tags->>'probe' = 'X6'")
    record("S-X6", "BROKE" if forged or pgx else "HELD", "agent-b's forged nginx_access point for agent web-a",
           f"influx: {forged or 'absent'}", f"pg points: {pgx or 'absent'}")
    r9 = pg("SELECT event->>'key_id' FROM attack_events WHERE event->>'probe' = 'R9'")
    record("S-R9", "HELD" if r9 == "clowder" else "BROKE", 'client-sent "key_id":"agent-b"', f"pg event key_id: {r9}")
    p2 = influx_rows("SELECT * FROM nginx_access WHERE probe = 'P2-good'")
    record("S-P2", "HELD" if p2 else "NOTE", "agent-b: nginx_access with an undeclared field future_counter as a string; then agent-a's as an integer",
           f"ingest {GOOD.get('p2')}; agent-a's point in influx: {'stored' if p2 else 'absent'}; dead letter: {dls.get('agent-a:p2-good:0', [])}")
    p1 = influx_rows("SELECT * FROM ping WHERE probe = 'P1-good'")
    poison = influx_rows("SELECT * FROM ping WHERE probe = 'P1'")
    dl = dls.get("agent-a:p1-good:0", [])
    record("S-P1", "BROKE" if not p1 else "HELD", "agent-a's good ping (percent_packet_loss 0.5) after the poison",
           f"ingest {GOOD.get('ping')}; influx good: {'stored' if p1 else 'absent'}; poison: {'stored' if poison else 'absent'}; dead letter: {dl}")

    # Good messages, each exactly once everywhere.
    ids = GOOD["ids"]
    inlist = ",".join(f"'{i}'" for i in ids)
    pgc = pg(f"SELECT (SELECT count(*) FROM attack_points WHERE message_id IN ({inlist})) + (SELECT count(*) FROM attack_events WHERE message_id IN ({inlist}))")
    q = ",".join("?" * len(ids))
    lc = lite(f"SELECT (SELECT count(*) FROM points WHERE message_id IN ({q})) + (SELECT count(*) FROM events WHERE message_id IN ({q}))", *ids, *ids)
    ic = influx_rows("SELECT count(requests) FROM nginx_access WHERE vhost = 'good'")
    icount = ic[0][1]["count"] if ic else 0
    ok = str(pgc) == str(len(ids)) and lc and lc[0][0] == len(ids) and icount == GOOD["points"]
    lost = [i for i in ids if dls.get(i)]
    record("GOOD", "HELD" if ok and not lost else "BROKE", f"{len(ids)} good messages of agent-a between the probes ({GOOD['points']} points, {GOOD['events']} events)",
           f"postgres {pgc}, sqlite {lc[0][0] if lc else '?'}, influx points {icount}/{GOOD['points']}; dead-lettered: {lost}")
    print(f"--- dead letters: {sum(len(v) for v in dls.values())} (first reasons below)")
    for k, v in list(dls.items())[:25]:
        print(f"    {k}: {v[0]}")


def main():
    print(f"--- attack trial against {HOST}, exchange {EXCHANGE} ({time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC)")
    good()
    tcp_probes()
    body_probes()
    probes, accepted = unicode_and_injection()
    crossing_probes()
    field_type_poisoning()
    status_probes()
    status_cost()
    amplification_probes()
    good()
    store_report(probes, accepted)
    auth_lockout()
    record("LIVE", "HELD" if "DEAD" not in alive() else "BROKE", "processes after every probe", alive())
    broke = [p for p, v, _ in RESULTS if v == "BROKE"]
    print(f"--- {len(RESULTS)} probes: {len(broke)} BROKE {broke}")


if __name__ == "__main__":
    main()
