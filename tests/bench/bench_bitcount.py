#!/usr/bin/python3
"""BITCOUNT and BITPOS on a big bitmap, dice-server beside redis-server in
the same run.

Each server gets the same random bitmap of SIZE MB (64 by default, sent
with one SET), then answers BITCOUNT over the whole string, BITCOUNT of a
BIT range that starts and ends inside bytes, and BITPOS of a bit found
only at the end (a string of zero bytes with its last bit set, so the
whole string is scanned). Figures are server CPU time per call (user+sys
from /proc/PID/stat over REPS calls, one at a time), the best of three
rounds, so client time and the loopback do not count.

  tests/bench/bench_bitcount.py path/to/dice-server [SIZE_MB] [REPS]
Not a test: it prints figures (Markdown rows)."""
import os
import socket
import sys

from benchlib import Server, cpu_s


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if not isinstance(a, bytes):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))
        line = self.f.readline()
        if line[:1] == b"$":
            n = int(line[1:])
            if n >= 0:
                self.f.read(n + 2)
        return line


def per_call_us(pid, c, args, reps):
    best = None
    for _ in range(3):
        t0 = cpu_s(pid)
        for _ in range(reps):
            c.cmd(*args)
        dt = (cpu_s(pid) - t0) / reps * 1e6
        best = dt if best is None else min(best, dt)
    return best


def main():
    exe = os.path.abspath(sys.argv[1])
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    data = os.urandom(size << 20)
    tail = bytes(size << 20)[:-1] + b"\x01"
    nbits = (size << 20) * 8
    cases = [
        ("BITCOUNT whole string", ("BITCOUNT", "bm")),
        ("BITCOUNT BIT range 3..end-5",
         ("BITCOUNT", "bm", 3, nbits - 5, "BIT")),
        ("BITPOS 1, last bit", ("BITPOS", "tail", 1)),
    ]
    rows = {}
    for kind in ("dice", "redis"):
        srv = Server(kind, exe)
        port, p = srv.port, srv
        try:
            c = Conn(port)
            if kind == "redis":
                c.cmd("CONFIG", "SET", "proto-max-bulk-len", "1gb")
            c.cmd("SET", "bm", data)
            c.cmd("SET", "tail", tail)
            first = c.cmd("BITCOUNT", "bm")
            rows.setdefault("check", []).append(first.strip())
            for name, args in cases:
                rows.setdefault(name, []).append(
                    per_call_us(p.pid, c, args, reps))
        finally:
            srv.stop()
    if rows["check"][0] != rows["check"][1]:
        sys.exit("BITCOUNT differs: %r" % rows["check"])
    print("| %d MB bitmap, server CPU per call | dice-server | redis-server "
          "| ratio |" % size)
    print("|---|---:|---:|---:|")
    for name, _ in cases:
        d, r = rows[name]
        print("| %s | %.0f us | %.0f us | %.2fx |" % (name, d, r, r / d))


if __name__ == "__main__":
    main()
