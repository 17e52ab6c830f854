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
import os
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def start(kind, binary, prefix=()):
    port = free_port()
    d = tempfile.mkdtemp(prefix="benchsets-")
    if kind == "dice":
        cmd = [binary, "--bind", "127.0.0.1", "--port", str(port),
               "--save", "", "--dir", d]
    else:
        cmd = ["redis-server", "--port", str(port), "--save", "",
               "--appendonly", "no", "--dir", d]
    p = subprocess.Popen(list(prefix) + cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    for _ in range(600):
        if subprocess.run(["redis-cli", "-p", str(port), "PING"],
                          capture_output=True).stdout == b"PONG\n":
            break
        time.sleep(0.1)
    return p, port


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(args),
                          capture_output=True).stdout


def proto(key, members):
    out = []
    for i in range(0, len(members), 1000):
        chunk = members[i:i + 1000]
        out.append(b"*%d\r\n$4\r\nSADD\r\n$%d\r\n%s\r\n" %
                   (len(chunk) + 2, len(key), key))
        for m in chunk:
            out.append(b"$%d\r\n%s\r\n" % (len(m), m))
    return b"".join(out)


def load(port, data):
    subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=data,
                   capture_output=True, check=True)


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
    subprocess.run(["redis-benchmark", "-p", str(port), "-n", str(n),
                    "-P", "16", "-c", "4", "-r", "1000000000", "-q"] + cmd,
                   capture_output=True)


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
            got[kind + "_enc"] = cli(port, "OBJECT", "ENCODING",
                                     "big").strip().decode()
            p.terminate()
            p.wait()
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
                prefix = ("valgrind", "--tool=callgrind",
                          "--instr-atstart=no",
                          "--callgrind-out-file=" + out + ".%p")
            p, port = start(kind, binary, prefix)
            load(port, data)
            if callgrind:
                subprocess.run(["callgrind_control", "-i", "on", str(p.pid)],
                               capture_output=True)
            c0 = cpu_s(p.pid)
            cmd(port, m, 1)
            if callgrind:
                subprocess.run(["callgrind_control", "-d", str(p.pid)],
                               capture_output=True)
            c1 = cpu_s(p.pid)
            cmd(port, 2 * m, 2)
            c2 = cpu_s(p.pid)
            if callgrind:
                subprocess.run(["callgrind_control", "-d", str(p.pid)],
                               capture_output=True)
            p.terminate()
            p.wait()
            us = (c2 - c1) / (2 * m) * 1e6  # the 2M run alone: less tick noise
            ir = None
            if callgrind:
                # out.PID.1 and out.PID.2 are the two dumps (the M and the
                # 2M run), out.PID what was left at exit.
                parts = {}
                for f in os.listdir(os.path.dirname(out)):
                    path = os.path.join(os.path.dirname(out), f)
                    if f.startswith(os.path.basename(out)):
                        tail = f.rsplit(".", 2)
                        with open(path) as fh:
                            for line in fh:
                                if line.startswith("summary:"):
                                    if len(tail) == 3 and tail[2].isdigit() \
                                            and tail[1].isdigit():
                                        parts[int(tail[2])] = int(
                                            line.split()[1])
                        os.unlink(path)
                irs = [parts[k] for k in sorted(parts)]
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
