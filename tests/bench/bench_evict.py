#!/usr/bin/python3
"""SET under a memory limit with allkeys-lru evicting all along,
dice-server beside redis-server in the same run:

    bench_evict.py --dice PATH [--n 500000] [--maxmemory 32mb]
                   [--clients 50] [--pipeline 16] [--rounds 3]
                   [--policy allkeys-lru]

Each server is first filled past --maxmemory (so every later SET of a new
key evicts one), then for each round: redis-benchmark -t set -r 10000000
-d 100 -P 16 -c 50 -n N (for a volatile-* policy, SET key:__rand_int__
with a 100-byte value and EX 100000, so every key has a TTL); the server's CPU (user+sys from /proc/PID/stat)
per request, requests per second, keys evicted and used_memory after the
round against the limit. Best of --rounds, servers taking turns; the same
with no limit for comparison. Every process started is ended by its pid.
Not a test: it prints figures.
"""
import argparse
import os
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


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(args),
                          capture_output=True, text=True, check=True).stdout


def info_field(port, section, name):
    for line in cli(port, "INFO", section).splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def start(kind, path, d, limit, policy):
    port = free_port()
    opts = ["--port", str(port), "--save", ""]
    if limit:
        opts += ["--maxmemory", limit, "--maxmemory-policy", policy]
    if kind == "dice":
        cmd = [os.path.abspath(path)] + opts
    else:
        cmd = ["redis-server"] + opts + ["--appendonly", "no", "--dir", d]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=d)
    wait_port(port, proc)
    return proc, port


def bench(proc, port, a):
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port),
           "-n", str(a.n), "-c", str(a.clients), "-P", str(a.pipeline),
           "-r", "10000000", "--csv"]
    if a.policy.startswith("volatile-"):
        cmd += ["SET", "key:__rand_int__", "x" * 100, "EX", "100000"]
    else:
        cmd += ["-t", "set", "-d", "100"]
    before = cpu_s(proc.pid)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    used = cpu_s(proc.pid) - before
    rps = 0.0
    for line in out.splitlines():
        parts = [p.strip('"') for p in line.split(",")]
        if len(parts) > 1 and parts[0].upper().startswith(("SET", "\"SET")):
            rps = float(parts[1])
    return used * 1e6 / a.n, rps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dice", required=True)
    ap.add_argument("--n", type=int, default=500000)
    ap.add_argument("--maxmemory", default="32mb")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--policy", default="allkeys-lru")
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="benchevict-")
    print("SET -d 100 -r 10000000 -P %d -c %d -n %d, %s"
          % (a.pipeline, a.clients, a.n, a.policy))
    print("%-8s %-10s %10s %12s %10s %14s %12s" % (
        "server", "maxmemory", "us/req", "req/s", "evicted", "used_memory",
        "used/limit"))
    for limit in (a.maxmemory, None):
        procs = {}
        try:
            for kind in ("dice", "redis"):
                procs[kind] = start(kind, a.dice, d, limit, a.policy)
                if limit:  # fill past the limit: every new key evicts
                    bench(*procs[kind], a)
            best = {}
            for _ in range(a.rounds):
                for kind in ("dice", "redis"):
                    us, rps = bench(*procs[kind], a)
                    if kind not in best or us < best[kind][0]:
                        best[kind] = (us, rps)
            for kind in ("dice", "redis"):
                port = procs[kind][1]
                used = int(info_field(port, "memory", "used_memory"))
                lim = int(info_field(port, "memory", "maxmemory"))
                ev = info_field(port, "stats", "evicted_keys")
                print("%-8s %-10s %10.3f %12.0f %10s %14d %12s" % (
                    kind, limit or "0", best[kind][0], best[kind][1], ev, used,
                    "%.3f" % (used / lim) if lim else "-"))
        finally:
            for proc, _ in procs.values():
                proc.terminate()
                proc.wait()


if __name__ == "__main__":
    main()
