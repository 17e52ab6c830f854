#!/usr/bin/python3
"""Scripting (issue 14), dice-server beside redis-server in the same run:
EVALSHA of a script doing 1 and 10 redis.call (INCR, HSET), and FCALL of
the same as functions.

  cpu    server CPU time per call (user+sys from /proc/PID/stat over the
         benchmark), redis-benchmark -P 16 -c 4 on random keys out of
         100,000 (key:NNNNNNNNNNNN), each server started fresh per case,
         median of ROUNDS runs alternating the servers;
  instr  instructions per pipelined call under callgrind,
         (Ir(2R) - Ir(R)) / R, a warm-up not counted.

  tests/bench/bench_scripting.py build/rel/examples/dice-server [R] [what]
      [cases] [rounds]
  (R 20000 calls, cpu runs 10 R; what "cpu,instr"; cases: indexes into
  CASES, e.g. "0,4", default all; rounds 3)"""
import hashlib
import os
import statistics
import sys
import tempfile

from benchlib import Server, callgrind_argv, callgrind_control, cli, cpu_s, \
    ir_per_request, pipelined, remove_dumps

SCRIPTS = {
    "incr1": "return redis.call('INCR', KEYS[1])",
    "incr10": "local n for i = 1, 10 do n = redis.call('INCR', KEYS[1]) end "
              "return n",
    "hset1": "return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])",
    "hset10": "local n = 0 for i = 1, 10 do "
              "n = n + redis.call('HSET', KEYS[1], 'f' .. i, ARGV[2]) end "
              "return n",
}

LIBRARY = "#!lua name=bench\n" + "".join(
    "redis.register_function('%s', function(KEYS, ARGV) %s end)\n"
    % (name, body) for name, body in SCRIPTS.items())


def sha(body):
    return hashlib.sha1(body.encode()).hexdigest()


# name, benchmark arguments
CASES = [
    ("EVALSHA, 1 x INCR", ["EVALSHA", sha(SCRIPTS["incr1"]), "1",
                           "key:__rand_int__"]),
    ("EVALSHA, 10 x INCR", ["EVALSHA", sha(SCRIPTS["incr10"]), "1",
                            "key:__rand_int__"]),
    ("EVALSHA, 1 x HSET", ["EVALSHA", sha(SCRIPTS["hset1"]), "1",
                           "key:__rand_int__", "f", "v"]),
    ("EVALSHA, 10 x HSET", ["EVALSHA", sha(SCRIPTS["hset10"]), "1",
                            "key:__rand_int__", "f", "v"]),
    ("FCALL, 1 x INCR", ["FCALL", "incr1", "1", "key:__rand_int__"]),
    ("FCALL, 10 x INCR", ["FCALL", "incr10", "1", "key:__rand_int__"]),
    ("FCALL, 1 x HSET", ["FCALL", "hset1", "1", "key:__rand_int__", "f",
                         "v"]),
    ("FCALL, 10 x HSET", ["FCALL", "hset10", "1", "key:__rand_int__", "f",
                          "v"]),
]
KEYS = 100000


def start(kind, binary, valgrind=None, extra=()):
    """A fresh server (under callgrind if valgrind: its dump file, extra:
    more valgrind options) with SCRIPTS and LIBRARY loaded."""
    srv = Server(kind, binary,
                 prefix=callgrind_argv(valgrind, extra) if valgrind else ())
    port = srv.port
    try:
        for body in SCRIPTS.values():
            got = cli(port, "SCRIPT", "LOAD", body, check=True)
            if got != sha(body):
                raise RuntimeError("SCRIPT LOAD: %s" % got)
        got = cli(port, "FUNCTION", "LOAD", LIBRARY, check=True)
        if got != "bench":
            raise RuntimeError("FUNCTION LOAD: %r" % got)
    except Exception:
        srv.stop()
        raise
    return srv, port


def stop(srv):
    srv.stop()


def bench(port, args, n):
    out = pipelined(port, n, args, KEYS)
    if "ERR" in out:
        raise RuntimeError(out)


def check(port, args):
    """One call by hand: the benchmark must not be timing an error."""
    real = [a.replace("__rand_int__", "000000000001") for a in args]
    out = cli(port, *real, check=True)
    if out.startswith("ERR") or "ERR" in out[:8]:
        raise RuntimeError("%s: %r" % (args[0], out))


def cpu(binary, r, cases, rounds):
    rows = []
    for name, args in cases:
        res = {"redis": [], "dice": []}
        for _ in range(rounds):
            for kind in ("redis", "dice"):
                p, port = start(kind, binary)
                check(port, args)
                bench(port, args, 2000)  # warm-up
                t0 = cpu_s(p.pid)
                bench(port, args, r * 10)
                res[kind].append((cpu_s(p.pid) - t0) / (r * 10) * 1e9)
                stop(p)
        row = (name, statistics.median(res["redis"]),
               statistics.median(res["dice"]))
        rows.append(row)
        print("cpu   %-24s redis %6.0f ns  dice %6.0f ns  dice/redis %.2f"
              % (row + (row[2] / row[1],)), flush=True)
    return rows


def instr(binary, r, cases, tmp):
    rows = []
    for name, args in cases:
        row = [name]
        for kind in ("redis", "dice"):
            out = os.path.join(tmp, "cg-%s.out" % kind)
            remove_dumps(out)
            p, port = start(kind, binary, valgrind=out + ".%p",
                            extra=["--instr-atstart=no"])
            bench(port, args, 2000)  # warm-up, not counted
            callgrind_control(p.pid, "-i", "on", check=False)
            # Each dump holds the counts since the one before.
            row.append(ir_per_request(
                p.pid, os.path.join(tmp, "cg-%s.out.%d." % (kind, p.pid)), r,
                lambda count: bench(port, args, count)))
            stop(p)
        rows.append(row)
        print("instr %-24s redis %7.0f  dice %7.0f  dice/redis %.2f"
              % (row[0], row[1], row[2], row[2] / row[1]), flush=True)
    return rows


def main():
    binary = os.path.abspath(sys.argv[1])
    r = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    what = sys.argv[3] if len(sys.argv) > 3 else "cpu,instr"
    cases = ([CASES[int(i)] for i in sys.argv[4].split(",")]
             if len(sys.argv) > 4 and sys.argv[4] else CASES)
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    tmp = tempfile.mkdtemp(prefix="bench_scripting-")
    print("load average %.2f" % os.getloadavg()[0], flush=True)
    if "cpu" in what:
        cpu(binary, r, cases, rounds)
    if "instr" in what:
        instr(binary, r, cases, tmp)
    print("load average %.2f" % os.getloadavg()[0], flush=True)


if __name__ == "__main__":
    main()
