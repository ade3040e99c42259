#!/usr/bin/env python3
"""A stand-in OTLP/HTTP collector for the tests: saves every request body (gunzipped when
Content-Encoding: gzip) as DIR/req-N.bin and appends "N STATUS SHA256 MONOTONIC_S PATH CONTENT_TYPE"
to DIR/log. MODE: ok (200), 503-once (the first request 503 with Retry-After: 2, then 200),
400 (always 400). Prints the port it listens on to DIR/port.
Usage: receiver.py DIR MODE"""
import gzip
import hashlib
import http.server
import os
import sys
import threading
import time

DIR, MODE = sys.argv[1], sys.argv[2]
lock = threading.Lock()
count = [0]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        with lock:
            n = count[0]
            count[0] += 1
            status, extra = 200, {}
            if MODE == "400":
                status = 400
            elif MODE == "503-once" and n == 0:
                status, extra = 503, {"Retry-After": "2"}
            with open(os.path.join(DIR, "req-%d.bin" % n), "wb") as f:
                f.write(body)
            with open(os.path.join(DIR, "log"), "a") as f:
                f.write("%d %d %s %.3f %s %s\n" % (n, status, hashlib.sha256(body).hexdigest(),
                                                   time.monotonic(), self.path,
                                                   self.headers.get("Content-Type")))
        reply = b"" if status == 200 else b"test receiver says no"
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
server.serve_forever()
