#!/usr/bin/python3
"""Append-only file throughput and server CPU, dice-server beside
redis-server 7.0 in the same run, each on its own fresh directory:

    bench_aof.py --dice PATH [--n 1000000] [--clients 50] [--pipeline 16]
                 [--rounds 3]

For appendfsync everysec and always, and each server: redis-benchmark -t
set -P 16 -c 50 -n N -r 100000, the server's CPU (user+sys from
/proc/PID/stat) per request, and requests per second as redis-benchmark
reports them; the best of --rounds rounds, the servers taking turns. With
always, dice-server makes one write and one fdatasync per loop iteration
for every client served in it (a group commit) before any reply goes out.
Every process started is ended by its pid. Not a test: it prints figures.
"""
import argparse
import os
import shutil
import tempfile

from benchlib import Server, cpu_us_per_request, csv_rps, redis_benchmark, \
    stop_all


def start(kind, path, d, fsync):
    s = Server(kind, path, d=d, extra=["--appendonly", "yes",
                                       "--appendfsync", fsync,
                                       "--auto-aof-rewrite-percentage", "0"])
    return s, s.port


def bench(srv, port, a):
    us, out = cpu_us_per_request(srv.pid, a.n, lambda: redis_benchmark(
        port, ["-t", "set", "-n", a.n, "-c", a.clients, "-P", a.pipeline,
               "-r", "100000", "--csv"]))
    return us, csv_rps(out, "SET")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dice", required=True)
    ap.add_argument("--n", type=int, default=1000000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--fsync", default="everysec,always",
                    help="comma-separated appendfsync values to run")
    ap.add_argument("--each", action="store_true",
                    help="print every round's figures, not only the best")
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="benchaof-")
    try:
        print("redis-benchmark -t set -P %d -c %d -n %d -r 100000; best of %d"
              " rounds" % (a.pipeline, a.clients, a.n, a.rounds))
        print("%-9s %-6s %14s %12s" % ("fsync", "server", "CPU us/req",
                                       "req/s"))
        for fsync in a.fsync.split(","):
            servers = {}
            for kind in ("dice", "redis"):
                d = os.path.join(root, kind + fsync)
                os.makedirs(d)
                proc, port = start(kind, a.dice, d, fsync)
                servers[kind] = (proc, port)
            best = {}
            for _ in range(a.rounds):
                for kind in ("dice", "redis"):
                    us, rps = bench(*servers[kind], a)
                    if a.each:
                        print("%-9s %-6s %14.3f %12.0f  (round)"
                              % (fsync, kind, us, rps), flush=True)
                    b = best.get(kind)
                    best[kind] = (min(us, b[0]) if b else us,
                                  max(rps, b[1]) if b else rps)
            for kind in ("dice", "redis"):
                print("%-9s %-6s %14.3f %12.0f" % (fsync, kind, best[kind][0],
                                                   best[kind][1]))
            for kind in ("dice", "redis"):
                servers[kind][0].stop()
    finally:
        stop_all()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
