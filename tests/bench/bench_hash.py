#!/usr/bin/python3
"""Hashes (issue 10), dice-server beside redis-server in the same run:

  mem    RSS growth per element, each shape loaded with redis-cli --pipe
         into a fresh server: one hash of N fields field:N -> vN (per
         field), and N/10 hashes of 10 small fields (per hash);
  cpu    server CPU time per request (user+sys from /proc/PID/stat) for
         HSET and HGET on a hash of N fields and HGETALL of a 10-field
         hash, redis-benchmark -P 16 -c 4;
  instr  instructions per pipelined request under callgrind,
         (Ir(2R) - Ir(R)) / R, same commands (the N-field load is in both
         runs and cancels); also an HSET that creates a new one-field hash
         (hash:NNNNNNNNNNNN, none of them loaded) and an HSET that updates
         a field of an existing 10-field hash (N/10 of them loaded as
         hash:NNNNNNNNNNNN, redis-benchmark's zero-padded names).

  tests/bench/bench_hash.py build/dev/examples/dice-server [N] [R] [what]
      [cases]
  (N 1000000, R 20000, what "mem,cpu,instr", cases: indexes into CASES,
  e.g. "3,4", default all)"""
import os
import sys
import tempfile
import time

from benchlib import Server, callgrind_argv, callgrind_control, cpu_s, \
    ir_per_request, pipe_file as pipe, pipelined, remove_dumps, \
    resp as proto, rss_kb


def start(kind, binary, valgrind=None, extra=()):
    """A fresh server, under callgrind (valgrind: its dump file, extra: more
    valgrind options) if valgrind."""
    srv = Server(kind, binary,
                 prefix=callgrind_argv(valgrind, extra) if valgrind else ())
    return srv, srv.port


def stop(srv):
    srv.stop()


def gen_big(path, n):
    with open(path, "wb") as f:
        batch = []
        for i in range(n):
            batch += [b"field:%d" % i, b"v%d" % i]
            if len(batch) == 200:
                f.write(proto(b"HSET", b"big", *batch))
                batch = []
        if batch:
            f.write(proto(b"HSET", b"big", *batch))


def gen_small(path, nh):
    with open(path, "wb") as f:
        for i in range(nh):
            args = []
            for j in range(10):
                args += [b"f%d" % j, b"v%d" % (i + j)]
            f.write(proto(b"HSET", b"hash:%d" % i, *args))


def gen_upd(path, nh):
    """N/10 hashes of 10 small fields named as redis-benchmark's
    __rand_int__ spells them, so HSET hash:__rand_int__ updates them."""
    with open(path, "wb") as f:
        for i in range(nh):
            args = []
            for j in range(10):
                args += [b"f%d" % j, b"v%d" % (i + j)]
            f.write(proto(b"HSET", b"hash:%012d" % i, *args))


def mem(binary, n, tmp):
    big = os.path.join(tmp, "big.proto")
    small = os.path.join(tmp, "small.proto")
    gen_big(big, n)
    gen_small(small, n // 10)
    rows = []
    for shape, path, per in (("one hash of %d fields field:N -> vN" % n,
                              big, n),
                             ("%d hashes of 10 small fields (per hash)"
                              % (n // 10), small, n // 10)):
        row = [shape]
        for kind in ("redis", "dice"):
            p, port = start(kind, binary)
            before = rss_kb(p.pid)
            pipe(port, path)
            time.sleep(6)  # let a finishing rehash free the old table
            after = rss_kb(p.pid)
            row.append((after - before) * 1024.0 / per)
            stop(p)
        rows.append(row)
        print("mem   %-48s redis %6.1f B  dice %6.1f B" % tuple(row),
              flush=True)
    return rows


# name, request, what is loaded first, redis-benchmark's -r (None: N).
CASES = [
    ("HSET on a %d-field hash", ["HSET", "big", "field:__rand_int__", "w"],
     "big", None),
    ("HGET on a %d-field hash", ["HGET", "big", "field:__rand_int__"],
     "big", None),
    ("HGETALL of 10 fields", ["HGETALL", "hash:1"], "small", None),
    ("HSET creating a new 1-field hash",
     ["HSET", "hash:__rand_int__", "f", "v"], "small", None),
    ("HSET on an existing 10-field hash",
     ["HSET", "hash:__rand_int__", "f3", "w"], "upd", "tenth"),
]


def case_r(c, n):
    return n // 10 if c[3] == "tenth" else n


def prepare(port, tmp, n):
    pipe(port, os.path.join(tmp, "big.proto"))
    pipe(port, os.path.join(tmp, "small.proto"))


def cpu(binary, n, tmp, r, cases):
    rows = []
    for c in cases:
        name, args = c[0], c[1]
        row = [name % n if "%d" in name else name]
        for kind in ("redis", "dice"):
            p, port = start(kind, binary)
            if c[2] == "upd":
                pipe(port, os.path.join(tmp, "upd.proto"))
            else:
                prepare(port, tmp, n)
            t0 = cpu_s(p.pid)
            pipelined(port, r * 10, args, case_r(c, n))
            row.append((cpu_s(p.pid) - t0) / (r * 10) * 1e9)
            stop(p)
        rows.append(row)
        print("cpu   %-48s redis %6.0f ns  dice %6.0f ns" % tuple(row),
              flush=True)
    return rows


def instr(binary, n, tmp, r, cases):
    """One server per command and kind, loaded with instrumentation off
    (--instr-atstart=no), then R and 2R requests each followed by a dump:
    (Ir(2R) - Ir(R)) / R without loading anything under instrumentation
    (loading both shapes under full callgrind, twice a figure, took hours)."""
    rows = []
    for c in cases:
        name, args = c[0], c[1]
        row = [name % n if "%d" in name else name]
        for kind in ("redis", "dice"):
            out = os.path.join(tmp, "cg-%s.out" % kind)
            remove_dumps(out)
            p, port = start(kind, binary, valgrind=out + ".%p",
                            extra=["--instr-atstart=no"])
            pipe(port, os.path.join(tmp, c[2] + ".proto"))
            # Let the server's cron finish a rehash of the key table the
            # load began: otherwise its leftover work lands in the counted
            # requests of one run and not the other. (100,000 keys then
            # sit in 2^17 slots in both servers, and the requests that
            # create keys add fewer than either's next resize needs.)
            time.sleep(3)
            pipelined(port, 2000, args, case_r(c, n))  # warm-up, not counted
            callgrind_control(p.pid, "-i", "on", check=False)
            # Each dump holds the counts since the one before: the R run,
            # then the 2R run.
            row.append(ir_per_request(
                p.pid, os.path.join(tmp, "cg-%s.out.%d." % (kind, p.pid)), r,
                lambda count: pipelined(port, count, args, case_r(c, n))))
            stop(p)
        rows.append(row)
        print("instr %-48s redis %6.0f  dice %6.0f" % tuple(row), flush=True)
    return rows


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
    r = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
    what = sys.argv[4] if len(sys.argv) > 4 else "mem,cpu,instr"
    cases = ([CASES[int(i)] for i in sys.argv[5].split(",")]
             if len(sys.argv) > 5 else CASES)
    tmp = tempfile.mkdtemp(prefix="bench_hash-")
    gen_big(os.path.join(tmp, "big.proto"), n)
    gen_small(os.path.join(tmp, "small.proto"), n // 10)
    gen_upd(os.path.join(tmp, "upd.proto"), n // 10)
    if "mem" in what:
        mem(binary, n, tmp)
    if "cpu" in what:
        cpu(binary, n, tmp, r, cases)
    if "instr" in what:
        instr(binary, n, tmp, r, cases)


if __name__ == "__main__":
    main()
