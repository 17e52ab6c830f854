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
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(parts[11]) + int(parts[12])) / tick


def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start on %d" % port)


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


def start(kind, exe, port, tmp):
    if kind == "dice":
        cmd = [exe, "--port", str(port)]
    else:
        cmd = ["redis-server", "--port", str(port), "--save", "",
               "--appendonly", "no", "--dir", tmp]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, cwd=tmp)
    wait_port(port)
    return p


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
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("dice", "redis"):
            port = free_port()
            p = start(kind, exe, port, tmp)
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
                p.terminate()
                p.wait()
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
