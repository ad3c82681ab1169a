"""A webhook receiver for the tests: verifies Standard Webhooks signatures
the way a receiver library does, and records every delivery.

    webhook_receiver.py PORT SECRET LOG [--fail-first]

Each delivery becomes one JSON line in LOG: id, timestamp, type, the
video's id and status, whether the signature verified with SECRET and
whether it verified with another secret (it must not). --fail-first
answers 500 to the first delivery of each id (the sender must retry with
the same id).
"""
import base64, hashlib, hmac, json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, secret, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
fail_first = "--fail-first" in sys.argv
seen = set()


def verify(secret, msg_id, ts, body, header):
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, b"%s.%s.%s" % (msg_id.encode(), ts.encode(), body),
                   hashlib.sha256).digest()
    want = "v1," + base64.b64encode(mac).decode()
    return any(hmac.compare_digest(want, s) for s in header.split(" "))


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        msg_id = self.headers.get("webhook-id", "")
        ts = self.headers.get("webhook-timestamp", "")
        sig = self.headers.get("webhook-signature", "")
        event = json.loads(body)
        rec = {"id": msg_id, "timestamp": ts, "type": event.get("type"),
               "video_id": event.get("data", {}).get("id"),
               "status": event.get("data", {}).get("status"),
               "error_code": event.get("data", {}).get("error_code"),
               "verified": verify(secret, msg_id, ts, body, sig),
               "wrong_secret_verified": verify(
                   "whsec_" + base64.b64encode(b"x" * 24).decode(),
                   msg_id, ts, body, sig)}
        with open(log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        status = 204
        if fail_first and msg_id not in seen:
            seen.add(msg_id)
            status = 500
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Hook).serve_forever()
