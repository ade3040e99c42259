#!/usr/bin/python3
"""A real HTTP server for the threat feed tests: serves the files of DIR on 127.0.0.1:PORT *and*
[::1]:PORT, so a host name with both addresses (the tests map one in the exporter's /etc/hosts)
reaches it whichever address the client tries first.
A request for NAME hangs (sends nothing for 60 s) while DIR/NAME.hang exists, and is answered
with the HTTP status in DIR/NAME.status (e.g. 500) while that file exists.

  feed_server.py DIR PORT [CERT KEY]     with CERT and KEY (PEM): HTTPS
"""
import http.server
import os
import socket
import ssl
import sys
import threading
import time


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        path = self.translate_path(self.path)
        if os.path.exists(path + ".hang"):
            sys.stderr.write("feed_server: hanging " + self.path + "\n")
            sys.stderr.flush()
            time.sleep(60)
            return
        if os.path.exists(path + ".status"):
            with open(path + ".status") as f:
                self.send_error(int(f.read().strip() or "500"))
            return
        super().do_GET()

    def do_POST(self):
        # The Stack's all-features exporter pushes OTLP/HTTP here: the body is read and dropped,
        # the answer an empty ExportMetricsServiceResponse (200, no partial_success).
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, fmt, *args):
        sys.stderr.write("feed_server: " + (fmt % args) + "\n")


class V6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


if __name__ == "__main__":
    os.chdir(sys.argv[1])
    port = int(sys.argv[2])
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler),
               V6Server(("::1", port), Handler)]
    for server in servers:
        server.daemon_threads = True
        if len(sys.argv) > 4:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(sys.argv[3], sys.argv[4])
            server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=servers[1].serve_forever, daemon=True).start()
    print("ready", flush=True)
    servers[0].serve_forever()
