#!/usr/bin/env python3
"""Signed load for clowder-ingest: CLIENTS processes each POST BATCHES batches
of POINTS points (gzip JSON, RFC 9530 Content-Digest, RFC 9421 HMAC-SHA256
signature over "@method" "@target-uri" "content-digest" "idempotency-key"),
one keep-alive connection per client, one request at a time, the way the
agent's forwarder sends. Bodies are built before the clock starts.

Prints one line: points_per_s, p50/p99 latency (ms), statuses.
"""
import base64, gzip, hashlib, hmac, http.client, json, multiprocessing as mp, os, sys, time, uuid

def make_batch(points, seed):
    # Two hours ago (inside the ingest's CLOWDER_INGEST_MAX_AGE), batches 1 ms apart, points 1 s apart.
    t0 = (int(time.time()) - 7200) * 1_000_000_000 + seed * 1_000_000
    ps = [{
        "measurement": "nginx_access", "time_ns": t0 + i * 1_000_000_000,
        "tags": {"agent": "bench", "host": "bench.example.org", "region": "eu-west", "vhost": f"clowder{i % 4}.example.org"},
        "fields": {"requests": 100 + i, "page_views": i, "bytes_sent": 1_000_000 * i, "status_2xx": 90 + i,
                   "request_time_p50": 0.031, "request_time_p99": 0.25 + i / 1000, "request_time_max": 2.0},
    } for i in range(points)]
    bid = str(uuid.uuid4())
    body = json.dumps({"id": bid, "created": int(time.time() * 1000),
                       "agent": {"id": "bench", "host": "bench.example.org", "region": "eu-west", "version": "0"},
                       "points": ps, "events": []}, separators=(",", ":")).encode()
    return bid, gzip.compress(body, 6)

def sign(target, body, bid, key_id, secret):
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    created = int(time.time())
    params = f'("@method" "@target-uri" "content-digest" "idempotency-key");created={created};keyid="{key_id}";alg="hmac-sha256"'
    base = (f'"@method": POST\n"@target-uri": {target}\n"content-digest": {digest}\n'
            f'"idempotency-key": {bid}\n"@signature-params": {params}')
    mac = base64.b64encode(hmac.new(secret, base.encode(), hashlib.sha256).digest()).decode()
    return {"Content-Digest": digest, "Idempotency-Key": bid, "Signature-Input": "sig1=" + params,
            "Signature": f"sig1=:{mac}:", "Content-Type": "application/json", "Content-Encoding": "gzip"}

def client(args):
    host, port, n, points, seed, key_id, secret, start_at = args
    bodies = [make_batch(points, seed * n + i) for i in range(n)]
    target = f"http://{host}:{port}/v1/batches"
    conn = http.client.HTTPConnection(host, port, timeout=60)
    while time.time() < start_at:
        time.sleep(0.001)
    lat, statuses = [], {}
    for bid, body in bodies:
        while True:
            h = sign(target, body, bid, key_id, secret)
            t = time.perf_counter()
            conn.request("POST", "/v1/batches", body=body, headers=h)
            r = conn.getresponse(); r.read()
            lat.append(time.perf_counter() - t)
            statuses[r.status] = statuses.get(r.status, 0) + 1
            if r.status == 503:
                time.sleep(0.05); continue
            break
    return lat, statuses, time.time()

def main():
    host, port, clients, batches, points, key_id, secret_b64 = sys.argv[1:8]
    port, clients, batches, points = int(port), int(clients), int(batches), int(points)
    secret = base64.b64decode(secret_b64)
    start_at = time.time() + 3.0 + 0.02 * batches  # after every client built its bodies
    with mp.Pool(clients) as pool:
        results = pool.map(client, [(host, port, batches, points, c, key_id, secret, start_at) for c in range(clients)])
    end = max(r[2] for r in results)
    lat = sorted(l for r in results for l in r[0])
    statuses = {}
    for r in results:
        for k, v in r[1].items(): statuses[k] = statuses.get(k, 0) + v
    total_points = clients * batches * points
    secs = end - start_at
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
    print(f"points={total_points} seconds={secs:.3f} points_per_s={total_points / secs:.0f} "
          f"p50_ms={p(0.50):.1f} p99_ms={p(0.99):.1f} statuses={statuses}")

if __name__ == "__main__":
    main()
