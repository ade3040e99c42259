#!/usr/bin/python3
"""A real HTTP server for the threat feed tests: serves the files of DIR on 127.0.0.1:PORT.
A request for NAME hangs (sends nothing for 60 s) while DIR/NAME.hang exists.

  feed_server.py DIR PORT [CERT KEY]     with CERT and KEY (PEM): HTTPS
"""
import http.server
import os
import ssl
import sys
import time


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        path = self.translate_path(self.path)
        if os.path.exists(path + ".hang"):
            time.sleep(60)
            return
        super().do_GET()

    def log_message(self, fmt, *args):
        sys.stderr.write("feed_server: " + (fmt % args) + "\n")


if __name__ == "__main__":
    os.chdir(sys.argv[1])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler)
    server.daemon_threads = True
    if len(sys.argv) > 4:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("ready", flush=True)
    server.serve_forever()
