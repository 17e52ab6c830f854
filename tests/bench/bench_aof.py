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
import socket
import subprocess
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def wait_port(port, proc):
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def start(kind, path, d, fsync):
    port = free_port()
    common = ["--port", str(port), "--save", "", "--dir", d,
              "--appendonly", "yes", "--appendfsync", fsync,
              "--auto-aof-rewrite-percentage", "0"]
    cmd = ([os.path.abspath(path)] if kind == "dice" else ["redis-server"]) \
        + common
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=d)
    wait_port(port, proc)
    return proc, port


def bench(proc, port, a):
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "set",
           "-n", str(a.n), "-c", str(a.clients), "-P", str(a.pipeline),
           "-r", "100000", "--csv"]
    before = cpu_s(proc.pid)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    used = cpu_s(proc.pid) - before
    rps = 0.0
    for line in out.splitlines():
        parts = [p.strip('"') for p in line.split(",")]
        if len(parts) > 1 and parts[0].upper().startswith("SET"):
            rps = float(parts[1])
    return used * 1e6 / a.n, rps


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
    procs = []
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
                procs.append(proc)
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
                p = servers[kind][0]
                p.terminate()
                p.wait(timeout=30)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
