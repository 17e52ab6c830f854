#!/usr/bin/python3
"""Set benchmarks, dice-server beside redis-server in the same run.

Memory: RSS growth per member of one set of N integers and one set of N
`member:N` strings, each loaded with redis-cli --pipe (SADD of 1000 members
a command) into a fresh server.

Speed, on a set of N members (integers 0..N-1): server CPU time per request
(user+sys from /proc/PID/stat) for SADD (new members), SISMEMBER and SPOP,
sent pipelined by redis-benchmark (-P 16 -c 4); with --callgrind also the
instructions per request, (Ir(2M) - Ir(M)) / M, instrumenting only the
requests (callgrind_control toggles collection after the load).

  tests/bench/bench_sets.py path/to/dice-server [N] [--callgrind] [--no-mem | --mem-only]
      [--strings]   (speed on a set of `member:N` instead of integers)
Not a test: it prints figures (Markdown rows)."""
import sys
import tempfile
import time

from benchlib import Server, callgrind_argv, callgrind_control, cli, cpu_s, \
    dump_ir, dumps, pipe as load, pipelined, remove_dumps, rss_kb


def start(kind, binary, prefix=()):
    srv = Server(kind, binary, prefix=prefix)
    return srv, srv.port


def proto(key, members):
    out = []
    for i in range(0, len(members), 1000):
        chunk = members[i:i + 1000]
        out.append(b"*%d\r\n$4\r\nSADD\r\n$%d\r\n%s\r\n" %
                   (len(chunk) + 2, len(key), key))
        for m in chunk:
            out.append(b"$%d\r\n%s\r\n" % (len(m), m))
    return b"".join(out)


def settle(pid):
    last = rss_kb(pid)
    for _ in range(20):
        time.sleep(0.5)
        now = rss_kb(pid)
        if abs(now - last) < 64:
            return now
        last = now
    return last


def bench(port, cmd, n):
    pipelined(port, n, cmd, 1000000000, check=False)


def pipe_members(port, cmd, n, seed, fmt, hi=2 * 10 ** 9):
    """n requests `cmd big <fmt % random in [0, hi)>`, redis-cli --pipe."""
    import random
    rng = random.Random(seed)
    name = cmd.encode()
    out = []
    for _ in range(n):
        m = fmt % rng.randrange(0, hi)
        out.append(b"*3\r\n$%d\r\n%s\r\n$3\r\nbig\r\n$%d\r\n%s\r\n" %
                   (len(name), name, len(m), m))
    load(port, b"".join(out))


def pipe_ints(port, cmd, n, seed):
    """n requests `cmd big <random integer>` sent with redis-cli --pipe.
    Not redis-benchmark: its __rand_int__ is zero-padded ("000000123456"),
    which is not an integer to Redis or dice, so the set would stop being
    a set of integers with the first request."""
    import random
    rng = random.Random(seed)
    name = cmd.encode()
    out = []
    for _ in range(n):
        m = b"%d" % rng.randrange(0, 2 * 10 ** 9)
        out.append(b"*3\r\n$%d\r\n%s\r\n$3\r\nbig\r\n$%d\r\n%s\r\n" %
                   (len(name), name, len(m), m))
    load(port, b"".join(out))


# A request kind: a callable (port, n, seed).
CMDS = {
    "SADD": lambda port, n, seed: pipe_ints(port, "SADD", n, seed),
    "SISMEMBER": lambda port, n, seed: pipe_ints(port, "SISMEMBER", n, seed),
    "SPOP": lambda port, n, seed: bench(port, ["SPOP", "big"], n),
}


# --strings: the same requests on a set of `member:N` (the member table):
# SADD of new members `member:x<random>`, SISMEMBER of `member:<random>`
# (a hit below N), SPOP.
STR_CMDS = {
    "SADD": lambda port, n, seed: pipe_members(port, "SADD", n, seed,
                                               b"member:x%d"),
    "SISMEMBER": lambda port, n, seed: pipe_members(
        port, "SISMEMBER", n, seed, b"member:%d", 10 ** 6),
    "SPOP": lambda port, n, seed: bench(port, ["SPOP", "big"], n),
}


def mem_rows(binary, n):
    ints = [b"%d" % i for i in range(n)]
    strs = [b"member:%d" % i for i in range(n)]
    rows = []
    for shape, members, target in (("%d integers" % n, ints, 16),
                                   ("%d `member:N`" % n, strs, 33)):
        data = proto(b"big", members)
        got = {}
        for kind in ("dice", "redis"):
            p, port = start(kind, binary)
            before = settle(p.pid)
            load(port, data)
            after = settle(p.pid)
            got[kind] = (after - before) * 1024.0 / n
            got[kind + "_enc"] = cli(port, "OBJECT", "ENCODING", "big")
            p.stop()
        rows.append("| one set of %s | %.1f B (%s) | %.1f B (%s) | <= %d B |" %
                    (shape, got["dice"], got["dice_enc"], got["redis"],
                     got["redis_enc"], target))
    return rows


def cpu_rows(binary, n, m, callgrind, strings=False):
    fmt = b"member:%d" if strings else b"%d"
    data = proto(b"big", [fmt % i for i in range(n)])
    rows = []
    for name, cmd in (STR_CMDS if strings else CMDS).items():
        res = {}
        for kind in ("dice", "redis"):
            prefix = ()
            out = None
            if callgrind:
                out = tempfile.mktemp(prefix="cg-sets-")
                prefix = callgrind_argv(out + ".%p", ["--instr-atstart=no"])
            p, port = start(kind, binary, prefix)
            load(port, data)
            if callgrind:
                callgrind_control(p.pid, "-i", "on", check=False)
            c0 = cpu_s(p.pid)
            cmd(port, m, 1)
            if callgrind:
                callgrind_control(p.pid, "-d", check=False)
            c1 = cpu_s(p.pid)
            cmd(port, 2 * m, 2)
            c2 = cpu_s(p.pid)
            if callgrind:
                callgrind_control(p.pid, "-d", check=False)
            p.stop()
            us = (c2 - c1) / (2 * m) * 1e6  # the 2M run alone: less tick noise
            ir = None
            if callgrind:
                # out.PID.1 and out.PID.2 are the two dumps (the M and the
                # 2M run), out.PID what was left at exit.
                irs = [dump_ir(f) for f in dumps("%s.%d." % (out, p.pid))]
                remove_dumps(out)
                if len(irs) >= 2:
                    ir = (irs[1] - irs[0]) / m
            res[kind] = (us, ir)
        fmt = lambda v: "-" if v is None else "%.0f" % v  # noqa: E731
        rows.append("| %s | %s | %s | %.2f | %.2f |" % (
            name, fmt(res["dice"][1]), fmt(res["redis"][1]), res["dice"][0],
            res["redis"][0]))
    return rows


def main():
    binary = sys.argv[1]
    args = [a for a in sys.argv[2:] if not a.startswith("--")]
    n = int(args[0]) if args else 1000000
    callgrind = "--callgrind" in sys.argv
    if "--no-mem" not in sys.argv:
        print("| shape | dice-server | redis-server | target |")
        print("|---|---:|---:|---:|")
        for r in mem_rows(binary, n):
            print(r)
        print()
    if "--mem-only" in sys.argv:
        return
    strings = "--strings" in sys.argv
    print("| request (set of %d%s) | dice Ir/req | redis Ir/req | "
          "dice CPU us/req | redis CPU us/req |" %
          (n, " member:N" if strings else " integers"))
    print("|---|---:|---:|---:|---:|")
    m = 20000 if callgrind else 500000
    for r in cpu_rows(binary, n, m, callgrind, strings):
        print(r)


if __name__ == "__main__":
    main()
