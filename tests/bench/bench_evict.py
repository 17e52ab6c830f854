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

from benchlib import Server, cli, cpu_us_per_request, csv_rps, \
    redis_benchmark


def info_field(port, section, name):
    for line in cli(port, "INFO", section, check=True).splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def start(kind, path, limit, policy):
    opts = ["--maxmemory", limit, "--maxmemory-policy", policy] if limit \
        else []
    s = Server(kind, path, extra=opts)
    return s, s.port


def bench(srv, port, a):
    args = ["-n", a.n, "-c", a.clients, "-P", a.pipeline, "-r", "10000000",
            "--csv"]
    if a.policy.startswith("volatile-"):
        args += ["SET", "key:__rand_int__", "x" * 100, "EX", "100000"]
    else:
        args += ["-t", "set", "-d", "100"]
    us, out = cpu_us_per_request(srv.pid, a.n,
                                 lambda: redis_benchmark(port, args))
    return us, csv_rps(out, "SET")


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
    print("SET -d 100 -r 10000000 -P %d -c %d -n %d, %s"
          % (a.pipeline, a.clients, a.n, a.policy))
    print("%-8s %-10s %10s %12s %10s %14s %12s" % (
        "server", "maxmemory", "us/req", "req/s", "evicted", "used_memory",
        "used/limit"))
    for limit in (a.maxmemory, None):
        procs = {}
        try:
            for kind in ("dice", "redis"):
                procs[kind] = start(kind, a.dice, limit, a.policy)
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
            for srv, _ in procs.values():
                srv.stop()


if __name__ == "__main__":
    main()
