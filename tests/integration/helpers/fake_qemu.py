#!/usr/bin/python3
"""A hostile stand-in for QEMU: any unprivileged process can name itself qemu-system-* and choose
its command line, and the sampler publishes that command line as a VM's. This one sets its comm
with prctl(PR_SET_NAME) and sleeps until killed.

  fake_qemu.py COMM ARG...          comm COMM, command line "fake_qemu.py COMM ARG..."
  fake_qemu.py COMM --wait FILE     waits for FILE (one argument per line), then re-executes
                                    itself (same pid) with those arguments: a command line that
                                    names a pid which did not exist when this process started
"""
import ctypes
import os
import sys
import time

PR_SET_NAME = 15


def set_comm(name):
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NAME, ctypes.c_char_p(name.encode()), 0, 0, 0)


def main():
    comm = sys.argv[1]
    set_comm(comm)
    if len(sys.argv) == 4 and sys.argv[2] == "--wait":
        path = sys.argv[3]
        while not os.path.exists(path):
            time.sleep(0.02)
        with open(path, "rb") as f:
            args = [a.decode("utf-8", "surrogateescape") for a in f.read().split(b"\n") if a]
        os.execv(sys.executable, [sys.executable, os.path.abspath(__file__), comm] + args)
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
