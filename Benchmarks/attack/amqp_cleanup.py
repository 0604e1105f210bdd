"""Deletes the trial's queues and exchanges (everything named <exchange> or <exchange>.*) through RabbitMQ's
management API (guest on loopback)."""
import base64, json, sys, urllib.parse, urllib.request

prefix = sys.argv[1]
auth = "Basic " + base64.b64encode(b"guest:guest").decode()
def call(method, path):
    r = urllib.request.Request("http://127.0.0.1:15672/api" + path, method=method, headers={"Authorization": auth})
    with urllib.request.urlopen(r, timeout=10) as f:
        return json.loads(f.read() or b"null")
for q in call("GET", "/queues/%2F"):
    if q["name"] == prefix or q["name"].startswith(prefix + "."):
        call("DELETE", "/queues/%2F/" + urllib.parse.quote(q["name"], safe=""))
for x in call("GET", "/exchanges/%2F"):
    if x["name"] == prefix or x["name"].startswith(prefix + "."):
        call("DELETE", "/exchanges/%2F/" + urllib.parse.quote(x["name"], safe=""))
