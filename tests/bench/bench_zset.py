#!/usr/bin/python3
"""Sorted sets, dice-server beside redis-server in the same run.

    bench_zset.py --dice PATH [--n 1000000] [--requests 200000] [--cg 20000]
                  [--only mem,cpu,instr]

mem:   RSS growth per member of one sorted set of N members `member:I`
       with random float scores, loaded with redis-cli --pipe into a fresh
       server (ZADD of 100 pairs per command).
cpu:   server CPU (user+sys from /proc/PID/stat) per request for ZADD
       (a random existing member gets a new score: a move in the order;
       members are named member:%012d here, as -r's __rand_int__ is),
       ZSCORE, ZRANK, ZRANGE 0 9 WITHSCORES on that set, with
       redis-benchmark -P 16 -c 4; and ZRANK / ZRANGE at 10,000 members,
       to show the cost grows as log n.
instr: instructions per request under callgrind: the server is loaded,
       warmed with C requests, its counters zeroed (callgrind_control -z),
       C more requests run and dumped: Ir / C, the same figure as
       (Ir(2C) - Ir(C)) / C of tests/bench/callgrind_req.sh.
Every process started is ended by its pid. Not a test: it prints figures.
"""
import os
import random
import shutil
import tempfile

from benchlib import callgrind_argv, callgrind_pid, cli, cpu_s, ir_zeroed, \
    pipe_file as load, pipelined, resp, rss_growth_kb, Server, stop_all, \
    type_args


def load_file(n, path, padded):
    """padded: members named as redis-benchmark's __rand_int__ expands
    (12 digits), so the benchmark's requests hit existing members."""
    rnd = random.Random(1)
    fmt = b"member:%012d" if padded else b"member:%d"
    with open(path, "wb") as f:
        for i in range(0, n, 100):
            args = [b"ZADD", b"zs"]
            for j in range(i, min(n, i + 100)):
                args += [repr(rnd.random() * 1000).encode(), fmt % j]
            f.write(resp(*args))


TESTS = [
    # An update of an existing member's score (a move in the order).
    ("ZADD", ["ZADD", "zs", "__rand_int__", "member:__rand_int__"]),
    ("ZSCORE", ["ZSCORE", "zs", "member:__rand_int__"]),
    ("ZRANK", ["ZRANK", "zs", "member:__rand_int__"]),
    ("ZRANGE 0 9 WITHSCORES", ["ZRANGE", "zs", "0", "9", "WITHSCORES"]),
]


def main():
    a, only = type_args(20000)
    tmp = tempfile.mkdtemp(prefix="bench_zset-")
    files = {}
    memfile = os.path.join(tmp, "load.mem")
    load_file(a.n, memfile, False)
    for n in (a.n, 10000):
        files[n] = os.path.join(tmp, "load.%d" % n)
        load_file(n, files[n], True)
    try:
        if "mem" in only:
            print("| one sorted set of %d members, float scores | RSS growth per member |" % a.n)
            print("|---|---:|")
            for kind in ("redis", "dice"):
                p = Server(kind, a.dice)
                port = p.port
                kb = rss_growth_kb(p.pid, lambda: load(port, memfile), 0.5, 3)
                print("| %s-server (%s) | %.1f B |" % (kind, cli(port, "OBJECT", "ENCODING", "zs"),
                                                     kb * 1024.0 / a.n), flush=True)
                p.stop()
        if "cpu" in only:
            print("\n| command (pipelined, -P 16 -c 4) | members | redis-server CPU/request | dice-server CPU/request |")
            print("|---|---:|---:|---:|")
            for n in (a.n, 10000):
                res = {}
                for kind in ("redis", "dice"):
                    p = Server(kind, a.dice)
                    port = p.port
                    load(port, files[n])
                    for name, args in TESTS:
                        if n != a.n and name not in ("ZRANK", "ZRANGE 0 9 WITHSCORES"):
                            continue
                        c0 = cpu_s(p.pid)
                        pipelined(port, a.requests, args, n)
                        res[(kind, name)] = (cpu_s(p.pid) - c0) / a.requests * 1e6
                    p.stop()
                for name, _ in TESTS:
                    if ("dice", name) in res:
                        print("| %s | %d | %.2f us | %.2f us |" % (name, n, res[("redis", name)],
                                                                 res[("dice", name)]), flush=True)
        if "instr" in only:
            print("\n| command (callgrind, Ir per pipelined request) | members | redis-server | dice-server |")
            print("|---|---:|---:|---:|")
            for n in (a.n, 10000):
                res = {}
                for kind in ("redis", "dice"):
                    out = os.path.join(tmp, "cg.%s.%d" % (kind, n))
                    p = Server(kind, a.dice, prefix=callgrind_argv(out))
                    port = p.port
                    vpid = callgrind_pid(port)
                    load(port, files[n])
                    for name, args in TESTS:
                        if n != a.n and name not in ("ZRANK", "ZRANGE 0 9 WITHSCORES"):
                            continue
                        res[(kind, name)] = ir_zeroed(
                            vpid, out, a.cg,
                            lambda: pipelined(port, a.cg, args, n))
                    p.stop()
                for name, _ in TESTS:
                    if ("dice", name) in res:
                        print("| %s | %d | %.0f | %.0f |" % (name, n, res[("redis", name)],
                                                          res[("dice", name)]), flush=True)
    finally:
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
