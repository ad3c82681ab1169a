#!/usr/bin/python3
"""A stand-in for the ECS container credentials endpoint, for
test_creds_ecs.c: listens on 127.0.0.1 (port 0: the kernel picks one, which
is printed as the first line of stdout), and answers GET /creds with the
content of RESPONSE_FILE, re-read on every request so the test can rotate
credentials.  A file starting with "STATUS <n>" answers that status, one
starting with "SLEEP <s>" sleeps first (timeouts), "BIG" answers 1 MB.
Requests without "Authorization: <TOKEN>" (when TOKEN is given) get 401.
Every request is appended to RESPONSE_FILE.log as "<path> <authorization>".

usage: ecs_creds_server.py RESPONSE_FILE [TOKEN]
"""
import http.server
import sys
import time

RESPONSE_FILE = sys.argv[1]
TOKEN = sys.argv[2] if len(sys.argv) > 2 else None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass                     # the client gave up (timeout tests)

    def do_GET(self):
        auth = self.headers.get("Authorization")
        with open(RESPONSE_FILE + ".log", "a") as log:
            log.write("%s %s\n" % (self.path, auth))
        if self.path != "/creds":
            return self.reply(404, b'{"message":"not found"}')
        if TOKEN is not None and auth != TOKEN:
            return self.reply(401, b'{"message":"unauthorized"}')
        with open(RESPONSE_FILE, "rb") as f:
            body = f.read()
        if body.startswith(b"SLEEP "):
            time.sleep(float(body.split()[1]))
            body = b"{}"
        if body.startswith(b"STATUS "):
            return self.reply(int(body.split()[1]), b'{"message":"error"}')
        if body.startswith(b"BIG"):
            body = b'{"AccessKeyId":"' + b"A" * (1024 * 1024) + b'"}'
        self.reply(200, body)


http.server.ThreadingHTTPServer.daemon_threads = True
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
