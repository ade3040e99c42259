#!/usr/bin/python3
"""A hostile threat-feed server for the hostile suite: serves /feed on 127.0.0.1:PORT and
[::1]:PORT in the mode named by the file DIR/mode (re-read at every request), logging
"hostile_feed: MODE" as each request starts.

  hostile_feed_server.py DIR PORT

Modes: good (a valid list), oversize-length (announces and sends more than the cap),
oversize-chunked (the same without Content-Length), gzip-bomb (a small gzip body that inflates
past the cap), deep-json, garbage (random bytes), redirect-file, redirect-ftp (redirects to
schemes other than http/https), slow-drip (one byte a second), mid-body-close (announces more than
it sends, then closes).
"""
import gzip
import http.server
import os
import random
import socket
import sys
import threading
import time

GOOD = b"# good\n198.51.100.1\n198.51.100.2\n198.51.100.3\n"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def body(self, data, ctype="text/plain", extra=()):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with open(os.path.join(DIR, "mode")) as f:
            mode = f.read().strip()
        sys.stderr.write("hostile_feed: %s\n" % mode)
        sys.stderr.flush()
        try:
            self.serve(mode)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def serve(self, mode):
        if mode == "good":
            return self.body(GOOD)
        if mode == "oversize-length":
            n = 8 << 20
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            chunk = b"198.51.100.9\n" * 4096
            sent = 0
            while sent < n:
                self.wfile.write(chunk[: n - sent])
                sent += len(chunk)
            return
        if mode == "oversize-chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"198.51.100.9\n" * 4096
            for _ in range(200):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
            return
        if mode == "gzip-bomb":
            return self.body(gzip.compress(b"0" * (64 << 20), 9), extra=[("Content-Encoding", "gzip")])
        if mode == "deep-json":
            return self.body(b"{\"relays\":" + b"[" * (1 << 20), "application/json")
        if mode == "garbage":
            return self.body(random.Random(7).randbytes(1 << 20))
        if mode in ("redirect-file", "redirect-ftp"):
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd" if mode == "redirect-file" else "ftp://127.0.0.1/list.txt")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode == "slow-drip":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                self.wfile.write(b"1")
                self.wfile.flush()
                time.sleep(1)
            return
        if mode == "mid-body-close":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(GOOD)
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_error(500)


class V6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


if __name__ == "__main__":
    DIR = sys.argv[1]
    port = int(sys.argv[2])
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler), V6Server(("::1", port), Handler)]
    for s in servers:
        s.daemon_threads = True
    threading.Thread(target=servers[1].serve_forever, daemon=True).start()
    print("ready", flush=True)
    servers[0].serve_forever()
