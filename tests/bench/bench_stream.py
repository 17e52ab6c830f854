#!/usr/bin/python3
"""Streams, dice-server beside redis-server in the same run.

    bench_stream.py --dice PATH [--n 1000000] [--requests 200000] [--cg 10000]
                    [--only mem,cpu,instr]

mem:   RSS growth per entry of one stream of N entries of 2 small fields
       (XADD s <i>-1 name n<i> val <i>), loaded with redis-cli --pipe into
       a fresh server.
cpu:   server CPU (user+sys from /proc/PID/stat) per request, with
       redis-benchmark -P 16 -c 4, on that stream: XADD s * a <r> b <r>,
       and XRANGE s <r> + COUNT 10 (a random start inside the stream).
instr: instructions per request under callgrind: warmed with C requests,
       counters zeroed, C more requests dumped: Ir / C.
Every process started is ended by its pid. Not a test: it prints figures.
"""
import os
import tempfile

from benchlib import callgrind_argv, callgrind_pid, cli, cpu_s, ir_zeroed, \
    pipe_file as load, pipelined, resp, rss_growth_kb, Server, type_args


def load_file(n, path):
    with open(path, "wb") as f:
        for i in range(1, n + 1):
            args = [b"XADD", b"s", b"%d-1" % i, b"name", b"n%d" % i, b"val", b"%d" % i]
            f.write(resp(*args))


TESTS = [
    ("XADD * (2 fields)", ["XADD", "s", "*", "a", "__rand_int__", "b", "__rand_int__"]),
    ("XRANGE r + COUNT 10", ["XRANGE", "s", "__rand_int__", "+", "COUNT", "10"]),
]


def main():
    a, only = type_args(10000)
    tmp = tempfile.mkdtemp(prefix="bench_stream-")
    path = os.path.join(tmp, "load")
    load_file(a.n, path)
    if "mem" in only:
        print("| one stream of %d entries of 2 small fields | RSS growth per entry |" % a.n)
        print("|---|---:|")
        for kind in ("redis", "dice"):
            p = Server(kind, a.dice)
            port = p.port
            kb = rss_growth_kb(p.pid, lambda: load(port, path), 0.5, 2)
            print("| %s-server (%s nodes) | %.1f B |" % (
                kind, cli(port, "XINFO", "STREAM", "s").split("\n")[3],
                kb * 1024.0 / a.n), flush=True)
            p.stop()
    if "cpu" in only:
        print("\n| command (pipelined, -P 16 -c 4), %d entries | redis-server CPU/request | dice-server CPU/request |" % a.n)
        print("|---|---:|---:|")
        res = {}
        for kind in ("redis", "dice"):
            p = Server(kind, a.dice)
            port = p.port
            load(port, path)
            for name, args in TESTS[::-1]:  # XRANGE first, on the loaded stream
                c0 = cpu_s(p.pid)
                pipelined(port, a.requests, args, a.n)
                res[(kind, name)] = (cpu_s(p.pid) - c0) / a.requests * 1e6
            p.stop()
        for name, _ in TESTS:
            print("| %s | %.2f us | %.2f us |" % (name, res[("redis", name)], res[("dice", name)]),
                  flush=True)
    if "instr" in only:
        print("\n| command (callgrind, Ir per pipelined request), %d entries | redis-server | dice-server |" % a.n)
        print("|---|---:|---:|")
        res = {}
        for kind in ("redis", "dice"):
            out = os.path.join(tmp, "cg.%s" % kind)
            p = Server(kind, a.dice, prefix=callgrind_argv(out))
            port = p.port
            vpid = callgrind_pid(port)
            load(port, path)
            for name, args in TESTS[::-1]:
                res[(kind, name)] = ir_zeroed(
                    vpid, out, a.cg, lambda: pipelined(port, a.cg, args, a.n))
            p.stop()
        for name, _ in TESTS:
            print("| %s | %.0f | %.0f |" % (name, res[("redis", name)], res[("dice", name)]), flush=True)


if __name__ == "__main__":
    main()
