#!/usr/bin/python3
"""Fairness under a pipelined flood, dice-server beside redis-server in the
same run:

    bench_fairness.py --dice PATH [--n 1000000] [--cmd set|get]
                      [--rounds 3] [--only dice|redis]

One client (a child process) writes N pipelined commands (SET key:<i>
val, or GET key:<i> after a fill) in one sendall() and reads the replies
in a second thread; meanwhile a second client sends PING, waits for PONG,
and sends the next, on its own connection, until the flood's replies are
all in. Each round starts fresh servers. Printed:
the flood's duration, and the PING round trips seen during it (count,
p50, p99, max in milliseconds). The target (issue 12) is a maximum under
10 ms: the flooding client gets a bounded batch per loop iteration, so
others are served between its batches. Every process started is ended by
its pid. Not a test: it prints figures.
"""
import argparse
import socket
import multiprocessing
import threading
import time

from benchlib import Server


def build(cmd, n):
    parts = []
    for i in range(n):
        k = b"key:%d" % i
        if cmd == "set":
            parts.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$3\r\nval\r\n"
                         % (len(k), k))
        else:
            parts.append(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(k), k))
    return b"".join(parts)


def reply_bytes(cmd, n):
    # SET: +OK\r\n each; GET after the fill: $3\r\nval\r\n each.
    return n * (5 if cmd == "set" else 9)


def flood(port, payload, expect):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    got = [0]
    tail = [b""]

    def reader():
        while got[0] < expect:
            b = s.recv(1 << 20)
            if not b:
                break
            got[0] += len(b)
            odd = b.replace(b"+OK\r\n", b"").replace(b"$3\r\nval\r\n", b"")
            if odd and len(tail[0]) < 400:
                tail[0] += odd[:200]

    t = threading.Thread(target=reader)
    t.start()
    t0 = time.monotonic()
    s.sendall(payload)
    t.join()
    dt = time.monotonic() - t0
    s.close()
    if got[0] != expect:
        raise RuntimeError("flood: %d of %d reply bytes, odd bytes %r"
                           % (got[0], expect, tail[0]))
    return dt


def flood_proc(port, payload, expect, conn):
    try:
        conn.send(flood(port, payload, expect))
    except Exception as e:  # reported by the parent
        conn.send(repr(e))
    conn.close()


def one(port, cmd, payload, n):
    """The flood runs in a child process (its threads would otherwise
    share our interpreter lock with the pinger and add their own delays
    to its round trips); PING runs here until the child is done."""
    if cmd == "get":
        flood(port, build("set", n), reply_bytes("set", n))
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    lat = []
    rx, tx = multiprocessing.Pipe(False)
    child = multiprocessing.Process(target=flood_proc,
                                    args=(port, payload,
                                          reply_bytes(cmd, n), tx))
    child.start()
    while not rx.poll():
        t0 = time.perf_counter()
        s.sendall(b"PING\r\n")
        buf = b""
        while not buf.endswith(b"\r\n"):
            buf += s.recv(64)
        lat.append((time.perf_counter() - t0) * 1000.0)
    dt = rx.recv()
    child.join()
    s.close()
    if isinstance(dt, str):
        raise RuntimeError(dt)
    return dt, sorted(lat)


def pct(v, p):
    if not v:
        return float("nan")
    return v[min(len(v) - 1, int(len(v) * p))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dice", required=True)
    ap.add_argument("--n", type=int, default=1000000)
    ap.add_argument("--cmd", choices=("set", "get"), default="set")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", choices=("dice", "redis"))
    a = ap.parse_args()
    payload = build(a.cmd, a.n)
    kinds = [a.only] if a.only else ["dice", "redis"]
    print("%d pipelined %s in one write; PING round trips on another "
          "connection during the flood" % (a.n, a.cmd.upper()))
    print("%-6s %5s %9s %7s %8s %8s %8s" % ("server", "round", "flood s",
                                         "pings", "p50 ms", "p99 ms",
                                         "max ms"), flush=True)
    for r in range(a.rounds):
        for kind in kinds:
            srv = Server(kind, a.dice)
            port = srv.port
            try:
                dt, lat = one(port, a.cmd, payload, a.n)
            finally:
                srv.stop(timeout=10)
            print("%-6s %5d %9.2f %7d %8.3f %8.3f %8.3f" % (
                kind, r + 1, dt, len(lat), pct(lat, 0.5), pct(lat, 0.99),
                lat[-1] if lat else float("nan")), flush=True)


if __name__ == "__main__":
    main()
