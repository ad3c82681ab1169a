#!/usr/bin/python3
"""A recording, fault-injecting HTTP proxy in front of the local S3.

    s3proxy.py UPSTREAM_URL PORT_FILE LOG_FILE [FAIL_PART]

Every request is forwarded unchanged (same method, path, query, headers,
Host included, so SigV4 signatures still verify) to UPSTREAM_URL and the
answer sent back. One JSON line per request goes to LOG_FILE:
{"method","path","query","length","status","sha256"} (sha256 of the request
body). With FAIL_PART=N, an UploadPart with partNumber=N is not forwarded
and gets a 500 InternalError, as S3 answers now and then. The port chosen
(127.0.0.1, ephemeral) is written to PORT_FILE.
"""
import hashlib
import http.client
import http.server
import json
import sys
import threading
import urllib.parse

upstream = urllib.parse.urlsplit(sys.argv[1])
port_file, log_file = sys.argv[2], sys.argv[3]
fail_part = sys.argv[4] if len(sys.argv) > 4 else ""
lock = threading.Lock()


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        rec = {"method": self.command, "path": u.path, "query": q,
               "length": len(body),
               "sha256": hashlib.sha256(body).hexdigest()}

        upstream_length = None
        if (self.command == "PUT" and fail_part
                and q.get("partNumber") == [fail_part]):
            status, headers = 500, [("Content-Type", "application/xml")]
            data = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error>"
                    b"<Code>InternalError</Code><Message>injected</Message>"
                    b"</Error>")
        else:
            c = http.client.HTTPConnection(upstream.hostname, upstream.port,
                                           timeout=120)
            c.putrequest(self.command, self.path, skip_host=True,
                         skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() not in ("connection", "expect"):
                    c.putheader(k, v)
            c.endheaders(body if body else None)
            r = c.getresponse()
            upstream_length = r.getheader("Content-Length")
            data = r.read()
            status = r.status
            headers = [(k, v) for k, v in r.getheaders()
                       if k.lower() not in ("connection", "transfer-encoding",
                                            "content-length", "keep-alive")]
            c.close()

        rec["status"] = status
        with lock:
            with open(log_file, "a") as f:
                f.write(json.dumps(rec) + "\n")

        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if self.command == "HEAD" and status < 300:
            self.send_header("Content-Length",
                             upstream_length if upstream_length else "0")
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


srv = Server(("127.0.0.1", 0), Proxy)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os  # noqa: E402
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
