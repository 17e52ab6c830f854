#!/usr/bin/python3
"""PUBLISH fan-out, dice-server beside redis-server in the same run:

    bench_pubsub.py --dice PATH [--n PUBLISHES] [--rounds R]

For 1, 10 and 100 subscribers of one channel, redis-benchmark sends
PUBLISH (pipelined -P 16, 4 connections) while one reader process drains
every subscriber's socket; the clock stops when every subscriber has all
its messages. Prints, per server and subscriber count (median of the
rounds): messages delivered per second, server CPU (user+sys, from
/proc/PID/stat) per delivered message and per PUBLISH. Not a test: it
prints figures. Standard library only; every process it starts is ended
by its pid."""
import argparse
import selectors
import socket
import statistics
import subprocess
import sys
import time

from benchlib import Server, cpu_s

CH = b"bench"
PAYLOAD = b"0123456789abcdef"
# One delivered message as a RESP2 subscriber reads it.
MSG = b"*3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
    len(CH), CH, len(PAYLOAD), PAYLOAD)


def one_round(port, pid, nsubs, n):
    subs = []
    for _ in range(nsubs):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(CH), CH))
        want = b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(CH), CH)
        got = b""
        while len(got) < len(want):
            got += s.recv(len(want) - len(got))
        s.setblocking(False)
        subs.append(s)
    sel = selectors.DefaultSelector()
    left = {}
    for s in subs:
        sel.register(s, selectors.EVENT_READ)
        left[s] = n * len(MSG)
    c0, t0 = cpu_s(pid), time.time()
    bench = subprocess.Popen(
        ["redis-benchmark", "-p", str(port), "-n", str(n), "-c", "4", "-P",
         "16", "-q", "PUBLISH", CH.decode(), PAYLOAD.decode()],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while left:
            for key, _ in sel.select(timeout=30):
                s = key.fileobj
                d = s.recv(1 << 20)
                if not d:
                    raise RuntimeError("subscriber closed")
                left[s] -= len(d)
                if left[s] <= 0:
                    sel.unregister(s)
                    del left[s]
        wall = time.time() - t0
        cpu = cpu_s(pid) - c0
    finally:
        bench.wait()
        for s in subs:
            s.close()
    return wall, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dice", required=True)
    ap.add_argument("--n", type=int, default=200000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    rows = []
    for kind in ("dice", "redis"):
        proc = Server(kind, a.dice)
        port = proc.port
        try:
            for nsubs in (1, 10, 100):
                n = a.n if nsubs < 100 else a.n // 4
                res = [one_round(port, proc.pid, nsubs, n)
                       for _ in range(a.rounds)]
                wall = statistics.median(r[0] for r in res)
                cpu = statistics.median(r[1] for r in res)
                msgs = n * nsubs
                rows.append((kind, nsubs, n, msgs / wall, cpu / msgs * 1e9,
                             cpu / n * 1e6))
                print("%-6s subs=%-3d publishes=%-7d %10.0f msg/s  "
                      "%6.0f ns CPU/msg  %6.2f us CPU/PUBLISH" % rows[-1],
                      flush=True)
        finally:
            proc.stop()
    print()
    print("| subscribers | dice msg/s | redis msg/s | dice CPU/msg | "
          "redis CPU/msg | dice CPU/PUBLISH | redis CPU/PUBLISH |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    by = {(r[0], r[1]): r for r in rows}
    for nsubs in (1, 10, 100):
        d, r = by[("dice", nsubs)], by[("redis", nsubs)]
        print("| %d | %.0f | %.0f | %.0f ns | %.0f ns | %.2f us | %.2f us |"
              % (nsubs, d[3], r[3], d[4], r[4], d[5], r[5]))


if __name__ == "__main__":
    sys.exit(main())
