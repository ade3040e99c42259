#!/usr/bin/python3
"""Opens real flows for the conntrack tests and holds them until killed.

  ct_flows.py listen PORT...            TCP listeners on [::] (IPv4 too) that accept and hold
  ct_flows.py connect SPEC...           SPEC = tcp|udp,ADDR,PORT[,COUNT][,SRC]: COUNT flows
                                        (distinct source ports), from SRC when given
Prints "ready" once every socket is set up, then sleeps.
"""
import socket
import sys
import threading
import time

held = []


def listen(ports):
    for p in ports:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::", int(p)))
        s.listen(128)
        held.append(s)

        def accept(sock=s):
            while True:
                c, _ = sock.accept()
                held.append(c)

        threading.Thread(target=accept, daemon=True).start()


def connect(specs):
    for spec in specs:
        parts = spec.split(",")
        proto, addr, port = parts[0], parts[1], int(parts[2])
        count = int(parts[3]) if len(parts) > 3 and parts[3] else 1
        src = parts[4] if len(parts) > 4 else None
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        for _ in range(count):
            s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
            if src:
                s.bind((src, 0))
            s.settimeout(5)
            s.connect((addr, port))
            if proto == "udp":
                s.send(b"x")
            held.append(s)


if __name__ == "__main__":
    if sys.argv[1] == "listen":
        listen(sys.argv[2:])
    else:
        connect(sys.argv[2:])
    print("ready", flush=True)
    while True:
        time.sleep(3600)
