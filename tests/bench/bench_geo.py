#!/usr/bin/python3
"""Geo commands, dice-server beside redis-server in the same run.

    bench_geo.py --dice PATH [--n 1000000] [--requests 200000] [--cg 2000]
                 [--only cpu,instr]

(the searches run a tenth of --requests and of --cg: each is ~1,000 times
the work of a GEOADD)

One geo set of N members `m:%012d` (named as redis-benchmark's
__rand_int__ expands, so -r N hits existing members) at uniformly random
longitudes (-180..180) and latitudes (-85..85), loaded with redis-cli
--pipe (GEOADD of 100 points per command) into a fresh server.

cpu:   server CPU (user+sys from /proc/PID/stat) per request, with
       redis-benchmark -P 16 -c 4 -r N, for searches around a random
       member (GEOSEARCH FROMMEMBER ... BYRADIUS 300 km COUNT 10 ASC, the
       same with no COUNT, BYBOX 400 400 km COUNT 10 ASC, BYBOX 200 200
       km) and GEOADD moving a random existing member.
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
    pipe_file as load, pipelined, resp, Server, stop_all, type_args

TESTS = [
    ("GEOSEARCH BYRADIUS 300 km COUNT 10 ASC",
     ["GEOSEARCH", "geo", "FROMMEMBER", "m:__rand_int__", "BYRADIUS", "300",
      "km", "COUNT", "10", "ASC"]),
    ("GEOSEARCH BYRADIUS 300 km (all, unsorted)",
     ["GEOSEARCH", "geo", "FROMMEMBER", "m:__rand_int__", "BYRADIUS", "300",
      "km"]),
    ("GEOSEARCH BYBOX 400x400 km COUNT 10 ASC",
     ["GEOSEARCH", "geo", "FROMMEMBER", "m:__rand_int__", "BYBOX", "400",
      "400", "km", "COUNT", "10", "ASC"]),
    ("GEOSEARCH BYBOX 200x200 km WITHDIST",
     ["GEOSEARCH", "geo", "FROMMEMBER", "m:__rand_int__", "BYBOX", "200",
      "200", "km", "WITHDIST"]),
    # Moves a random existing member (a new score: a move in the order).
    ("GEOADD (existing member moves)",
     ["GEOADD", "geo", "1.__rand_int__", "2.__rand_int__", "m:__rand_int__"]),
]


def load_file(n, path):
    rnd = random.Random(1)
    with open(path, "wb") as f:
        for i in range(0, n, 100):
            args = [b"GEOADD", b"geo"]
            for j in range(i, min(n, i + 100)):
                args += [b"%.6f" % rnd.uniform(-180, 180),
                         b"%.6f" % rnd.uniform(-85, 85), b"m:%012d" % j]
            f.write(resp(*args))


def scaled(n, args):
    return n // 10 if args[0] == "GEOSEARCH" else n


def main():
    a, only = type_args(2000, "cpu,instr")
    tmp = tempfile.mkdtemp(prefix="bench_geo-")
    path = os.path.join(tmp, "load")
    load_file(a.n, path)
    try:
        if "cpu" in only:
            res = {}
            for kind in ("redis", "dice"):
                p = Server(kind, a.dice)
                port = p.port
                load(port, path)
                for name, args in TESTS:
                    nreq = scaled(a.requests, args)
                    c0 = cpu_s(p.pid)
                    pipelined(port, nreq, args, a.n)
                    res[(kind, name)] = (cpu_s(p.pid) - c0) / nreq * 1e6
                res[(kind, "enc")] = cli(port, "OBJECT", "ENCODING", "geo")
                p.stop()
            print("| command (pipelined, -P 16 -c 4), %d members | redis-server CPU/request"
                  " | dice-server CPU/request |" % a.n)
            print("|---|---:|---:|")
            for name, _ in TESTS:
                print("| %s | %.2f us | %.2f us |" % (name, res[("redis", name)],
                                                    res[("dice", name)]), flush=True)
        if "instr" in only:
            res = {}
            for kind in ("redis", "dice"):
                out = os.path.join(tmp, "cg.%s" % kind)
                p = Server(kind, a.dice, prefix=callgrind_argv(out))
                port = p.port
                vpid = callgrind_pid(port)
                load(port, path)
                for name, args in TESTS:
                    nreq = scaled(a.cg, args)
                    res[(kind, name)] = ir_zeroed(
                        vpid, out, nreq,
                        lambda: pipelined(port, nreq, args, a.n))
                p.stop()
            print("\n| command (callgrind, Ir per pipelined request), %d members"
                  " | redis-server | dice-server |" % a.n)
            print("|---|---:|---:|")
            for name, _ in TESTS:
                print("| %s | %.0f | %.0f |" % (name, res[("redis", name)],
                                              res[("dice", name)]), flush=True)
    finally:
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
