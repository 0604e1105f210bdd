#!/usr/bin/env python3
"""Independent RFC 9421 / RFC 9530 implementation for the delivery tests.

Uses the PyPI package ``http-message-signatures`` (3.0.0), never our Swift code.

Modes:
  receiver.py serve --keys KEYS.json [--port N] [--tls DIR]
      A ThreadingHTTPServer on 127.0.0.1 that verifies ``POST /v1/batches`` like
      the ingest does, de-duplicates by Idempotency-Key, counts duplicates,
      gunzips and records each batch. Prints one JSON line
      ``{"port": N, "control_port": M}`` once listening. A second server on the
      control port answers:
        GET  /state                     -> {"batches": [...], "accepted": n, "duplicates": n, "rejected": [...], "requests": n}
        POST /mode?status=ok|400|503|hang[&count=N][&retry_after=S][&hang=S]
                                        -> the next N (default: all) verified requests get that answer
                                           (hang: wait S seconds, then accept as usual)
        POST /down                      -> closes the listening socket (connections refused)
        POST /up                        -> listens again on the same port
  receiver.py sign     < JSON {key_id, secret_b64, method, url, body_b64, idempotency_key, created}
      Prints the headers http-message-signatures adds (label sig1).
  receiver.py verify   < JSON {keys: {id: secret_b64}, requests: [{method, url, headers: [[n, v]...], body_b64}]}
      Prints a JSON list: {"ok": true} or {"ok": false, "error": "..."} per request.

KEYS.json: {"<keyid>": "<secret, base64>"}.
"""
import base64
import datetime
import gzip
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import requests
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, algorithms
from http_message_signatures.resolvers import HTTPSignatureKeyResolver

COVERED = ("@method", "@target-uri", "content-digest", "idempotency-key")
SKEW = datetime.timedelta(seconds=300)


class Keys(HTTPSignatureKeyResolver):
    def __init__(self, keys):
        self.keys = keys

    def resolve_public_key(self, key_id):
        return self.keys.get(key_id)

    def resolve_private_key(self, key_id):
        return self.keys[key_id]


def make_verifier(keys):
    v = HTTPMessageVerifier(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=Keys(keys))
    v.max_clock_skew = SKEW  # created may be up to 300 s in the future ...
    return v


def verify_request(verifier, method, url, headers, body):
    """Raises on any failure. `body` is the received bytes (gzip), so Content-Digest is checked."""
    prepared = requests.Request(method=method, url=url, headers=headers, data=body).prepare()
    # ... and max_age=0 with the skew above refuses created older than 300 s.
    return verifier.verify(prepared, body=body, max_age=datetime.timedelta(seconds=0), require_components=COVERED)


def load_keys(mapping):
    return {k: base64.b64decode(v) for k, v in mapping.items()}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.seen = set()
        self.batches = []  # in arrival order of first delivery
        self.accepted = 0
        self.duplicates = 0
        self.requests = 0
        self.rejected = []
        self.mode = "ok"
        self.mode_count = None
        self.retry_after = None
        self.hang = 0.0
        self.down = False
        self.tls = None  # ssl.SSLContext when serving HTTPS

    def take_mode(self):
        with self.lock:
            mode = self.mode
            if self.mode_count is not None:
                self.mode_count -= 1
                if self.mode_count <= 0:
                    self.mode, self.mode_count = "ok", None
            return mode, self.retry_after


def problem(handler, status, title, detail):
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/problem+json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def make_ingest_handler(state, verifier):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            if state.down:
                # "Down" also drops keep-alive connections accepted before: no answer at all.
                self.close_connection = True
                return
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with state.lock:
                state.requests += 1
            if self.path != "/v1/batches":
                return problem(self, 404, "Not Found", self.path)
            url = ("https://" if state.tls else "http://") + self.headers["Host"] + self.path
            headers = [(k, v) for k, v in self.headers.items()]
            try:
                verify_request(verifier, "POST", url, dict(headers), body)
            except Exception as e:  # InvalidSignature and friends
                with state.lock:
                    state.rejected.append(f"{type(e).__name__}: {e}")
                return problem(self, 401, "Unauthorized", f"{type(e).__name__}: {e}")
            mode, retry_after = state.take_mode()
            if mode == "hang":
                time.sleep(state.hang)
            if mode == "503":
                self.send_response(503)
                if retry_after is not None:
                    self.send_header("Retry-After", str(retry_after))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if mode == "400":
                return problem(self, 400, "Bad Request", "batch refused by the test receiver")
            key = self.headers.get("Idempotency-Key")
            try:
                if self.headers.get("Content-Encoding") != "gzip":
                    raise ValueError("Content-Encoding is not gzip")
                if self.headers.get("Content-Type") != "application/json":
                    raise ValueError("Content-Type is not application/json")
                batch = json.loads(gzip.decompress(body))
            except Exception as e:
                with state.lock:
                    state.rejected.append(f"decode: {e}")
                return problem(self, 400, "Bad Request", f"cannot decode: {e}")
            if batch.get("id") != key:
                return problem(self, 400, "Bad Request", "Idempotency-Key is not the batch id")
            with state.lock:
                duplicate = key in state.seen
                if duplicate:
                    state.duplicates += 1
                else:
                    state.seen.add(key)
                    state.accepted += 1
                    state.batches.append(batch)
            out = json.dumps({"duplicate": True} if duplicate else {"accepted": True}).encode()
            self.send_response(200 if duplicate else 202)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    return Handler


class Ingest:
    def __init__(self, state, verifier, port):
        self.state, self.verifier, self.port = state, verifier, port
        self.server = None
        self.thread = None
        self.lock = threading.Lock()

    def up(self):
        with self.lock:
            self.state.down = False
            if self.server is not None:
                return
            ThreadingHTTPServer.allow_reuse_address = True
            self.server = ThreadingHTTPServer(("127.0.0.1", self.port), make_ingest_handler(self.state, self.verifier))
            if self.state.tls is not None:
                self.server.socket = self.state.tls.wrap_socket(self.server.socket, server_side=True)
            self.server.daemon_threads = True
            self.port = self.server.server_address[1]
            self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
            self.thread.start()

    def down(self):
        with self.lock:
            self.state.down = True
            if self.server is None:
                return
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def make_control_handler(state, ingest):
    class Control(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, obj):
            out = json.dumps(obj).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def do_GET(self):
            with state.lock:
                self.reply({
                    "batches": state.batches, "accepted": state.accepted, "duplicates": state.duplicates,
                    "requests": state.requests, "rejected": state.rejected,
                })

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            if length:
                self.rfile.read(length)
            parts = urlsplit(self.path)
            q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/mode":
                with state.lock:
                    state.mode = q.get("status", "ok")
                    state.mode_count = int(q["count"]) if "count" in q else None
                    state.retry_after = q.get("retry_after")
                    state.hang = float(q.get("hang", "0"))
            elif parts.path == "/down":
                ingest.down()
            elif parts.path == "/up":
                ingest.up()
            self.reply({"ok": True})

    return Control


def self_signed(directory):
    """A self-signed P-256 certificate for 127.0.0.1 (SAN IP), valid one day: (cert path, key path)."""
    import ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path


def serve(args):
    keys_path = args[args.index("--keys") + 1]
    port = int(args[args.index("--port") + 1]) if "--port" in args else 0
    with open(keys_path) as f:
        keys = load_keys(json.load(f))
    state = State()
    hello = {}
    if "--tls" in args:
        hello["ca_file"], key_file = self_signed(args[args.index("--tls") + 1])
        state.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        state.tls.load_cert_chain(hello["ca_file"], key_file)
    ingest = Ingest(state, make_verifier(keys), port)
    ingest.up()
    control = ThreadingHTTPServer(("127.0.0.1", 0), make_control_handler(state, ingest))
    control.daemon_threads = True
    hello.update({"port": ingest.port, "control_port": control.server_address[1]})
    print(json.dumps(hello), flush=True)
    try:
        control.serve_forever()
    except KeyboardInterrupt:
        pass


def sign(req):
    secret = base64.b64decode(req["secret_b64"])

    class One(HTTPSignatureKeyResolver):
        def resolve_private_key(self, key_id):
            return secret

        def resolve_public_key(self, key_id):
            return secret

    body = base64.b64decode(req["body_b64"])
    prepared = requests.Request(
        method=req["method"], url=req["url"], headers={"Idempotency-Key": req["idempotency_key"]}, data=body
    ).prepare()
    signer = HTTPMessageSigner(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=One())
    signer.sign(
        prepared, key_id=req["key_id"], label="sig1", body=body,
        created=datetime.datetime.fromtimestamp(req["created"], tz=datetime.timezone.utc),
        covered_component_ids=COVERED,
    )
    return {k: v for k, v in prepared.headers.items() if k.lower() != "content-length"}


def verify_many(req):
    verifier = make_verifier(load_keys(req["keys"]))
    out = []
    for r in req["requests"]:
        headers = {}
        for name, value in r["headers"]:
            headers[name] = value
        try:
            verify_request(verifier, r["method"], r["url"], headers, base64.b64decode(r["body_b64"]))
            out.append({"ok": True})
        except Exception as e:
            out.append({"ok": False, "error": f"{type(e).__name__}: {e}"})
    return out


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "serve":
        serve(sys.argv[2:])
    elif mode == "sign":
        print(json.dumps(sign(json.load(sys.stdin))))
    elif mode == "verify":
        print(json.dumps(verify_many(json.load(sys.stdin))))
    else:
        sys.exit(f"unknown mode {mode}")
