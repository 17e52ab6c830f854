#!/usr/bin/python3
"""In-process GET and SET per second, in one run, side by side:

  C          tests/bench/bench_inproc (dice_session_call, the value tree,
             a host constructor), if --c-bench points at it;
  Python     dice.Embedded().execute() (native objects through the reader's
             constructor callback) and execute_raw() (RESP bytes);
  redis-py   redis.Redis() against redis-server over loopback (Debian's
             python3-redis and redis-server), and against dice-server too
             when --dice-server is given.

Every test runs N commands on 100,000 keys "key:000000".. with 3-byte
values, all set before the timed part (so SET overwrites and GET hits
everywhere), one command at a time (no pipelining: what a program calling a
store does). Usage:

  DICE_BUILD_DIR=build/release /usr/bin/python3 tests/bench/bench_inproc.py \\
      --c-bench build/release/tests/bench_inproc \\
      --dice-server build/release/examples/dice-server [-n N]

Prints a Markdown table. Every server it starts is stopped by its pid on
the way out. Not a test: it prints figures.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

from benchlib import Server, stop_all

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples", "python"))

NKEYS = 100000


def keys(n):
    if n == NKEYS:
        return [b"key:%06d" % i for i in range(n)]
    return [b"key:%06d" % ((i * 7919) % NKEYS) for i in range(n)]


def timed(fn, ks, *extra):
    t0 = time.perf_counter()
    for k in ks:
        fn(k, *extra)
    return len(ks) / (time.perf_counter() - t0)


def redis_py(port, ks):
    import redis
    r = redis.Redis(host="127.0.0.1", port=port)
    pipe = r.pipeline(transaction=False)
    for k in keys(NKEYS):
        pipe.set(k, b"val")
    pipe.execute()
    out = {"SET": timed(r.set, ks, b"val"), "GET": timed(r.get, ks)}
    r.close()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=200000,
                    help="commands per Python test (C: 10x)")
    ap.add_argument("--c-bench")
    ap.add_argument("--dice-server")
    args = ap.parse_args()
    rows = []  # (what, SET ops/s, GET ops/s)
    load0 = os.getloadavg()[0]

    if args.c_bench:
        out = subprocess.run([args.c_bench, str(10 * args.n)], check=True,
                             capture_output=True, text=True).stdout
        got = {}
        for line in out.splitlines():
            _, form, cmd, ops = line.split()
            got.setdefault(form, {})[cmd] = float(ops)
        labels = {"bytes": "C, dice_session_call (RESP bytes)",
                  "tree": "C, dice_session_call_value (dice_value_t tree)",
                  "ctor": "C, dice_session_call_value (host constructor)"}
        for form in ("bytes", "tree", "ctor"):
            rows.append((labels[form], got[form]["SET"], got[form]["GET"]))

    import dice
    ks = keys(args.n)
    with dice.Embedded() as db:
        ex, raw = db.execute, db.execute_raw
        for k in keys(NKEYS):
            raw("SET", k, b"val")
        s = timed(lambda k: ex("SET", k, b"val"), ks)
        g = timed(lambda k: ex("GET", k), ks)
        rows.append(("Python, dice.Embedded().execute (native objects)",
                     s, g))
        s = timed(lambda k: raw("SET", k, b"val"), ks)
        g = timed(lambda k: raw("GET", k), ks)
        rows.append(("Python, dice.Embedded().execute_raw (RESP bytes)",
                     s, g))

    try:
        if shutil.which("redis-server"):
            srv = Server("redis", args.dice_server)
            r = redis_py(srv.port, ks)
            rows.append(("Python, redis-py -> redis-server (loopback)",
                         r["SET"], r["GET"]))
        if args.dice_server:
            srv = Server("dice", args.dice_server)
            r = redis_py(srv.port, ks)
            rows.append(("Python, redis-py -> dice-server (loopback)",
                         r["SET"], r["GET"]))
    finally:
        stop_all()

    print("| client | SET /s | GET /s |")
    print("|---|---:|---:|")
    for what, s, g in rows:
        print("| %s | %s | %s |" % (what, "{:,.0f}".format(s),
                                    "{:,.0f}".format(g)))
    print()
    print("N = %d per Python test, %d per C test; load average %.2f at the "
          "start, %.2f at the end." % (args.n, 10 * args.n, load0,
                                       os.getloadavg()[0]))


if __name__ == "__main__":
    main()
