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
import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
CHILDREN = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(args),
                          capture_output=True, text=True).stdout.strip()


def start(kind, dice, valgrind=None, out=None):
    port = free_port()
    if kind == "dice":
        cmd = [dice, "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
    else:
        cmd = ["redis-server", "--port", str(port), "--save", "",
               "--appendonly", "no", "--bind", "127.0.0.1"]
    if valgrind:
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + cmd
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    CHILDREN.append(p)
    for _ in range(1200):
        if cli(port, "PING") == "PONG":
            return p, port
        time.sleep(0.1)
    raise RuntimeError("%s did not start" % kind)


def vg_pid(port):
    """The pid valgrind's tool runs under (the valgrind launcher may be
    another process): from vgdb -l, by the server's port."""
    out = subprocess.run(["vgdb", "-l"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if ("--port %d " % port) in line + " " and line.startswith("use --pid="):
            return int(line.split()[1].split("=")[1])
    raise RuntimeError("no valgrind process for port %d" % port)


def stop(p):
    p.terminate()
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


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
            f.write(b"*%d\r\n" % len(args) +
                    b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))


def load(port, path):
    with open(path, "rb") as f:
        subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=f,
                       stdout=subprocess.DEVNULL, check=True)


TESTS = [
    # An update of an existing member's score (a move in the order).
    ("ZADD", ["ZADD", "zs", "__rand_int__", "member:__rand_int__"]),
    ("ZSCORE", ["ZSCORE", "zs", "member:__rand_int__"]),
    ("ZRANK", ["ZRANK", "zs", "member:__rand_int__"]),
    ("ZRANGE 0 9 WITHSCORES", ["ZRANGE", "zs", "0", "9", "WITHSCORES"]),
]


def bench(port, n, args, r):
    subprocess.run(["redis-benchmark", "-p", str(port), "-n", str(n), "-r", str(r),
                    "-P", "16", "-c", "4", "-q"] + args,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dice", required=True)
    ap.add_argument("--n", type=int, default=1000000)
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--cg", type=int, default=20000)
    ap.add_argument("--only", default="mem,cpu,instr")
    a = ap.parse_args()
    only = a.only.split(",")
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
                p, port = start(kind, a.dice)
                time.sleep(0.5)
                before = rss_kb(p.pid)
                load(port, memfile)
                time.sleep(3)
                after = rss_kb(p.pid)
                print("| %s-server (%s) | %.1f B |" % (kind, cli(port, "OBJECT", "ENCODING", "zs"),
                                                     (after - before) * 1024.0 / a.n), flush=True)
                stop(p)
        if "cpu" in only:
            print("\n| command (pipelined, -P 16 -c 4) | members | redis-server CPU/request | dice-server CPU/request |")
            print("|---|---:|---:|---:|")
            for n in (a.n, 10000):
                res = {}
                for kind in ("redis", "dice"):
                    p, port = start(kind, a.dice)
                    load(port, files[n])
                    for name, args in TESTS:
                        if n != a.n and name not in ("ZRANK", "ZRANGE 0 9 WITHSCORES"):
                            continue
                        c0 = cpu_s(p.pid)
                        bench(port, a.requests, args, n)
                        res[(kind, name)] = (cpu_s(p.pid) - c0) / a.requests * 1e6
                    stop(p)
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
                    p, port = start(kind, a.dice, valgrind=True, out=out)
                    vpid = vg_pid(port)
                    load(port, files[n])
                    for name, args in TESTS:
                        if n != a.n and name not in ("ZRANK", "ZRANGE 0 9 WITHSCORES"):
                            continue
                        bench(port, a.cg, args, n)
                        subprocess.run(["callgrind_control", "-z", str(vpid)],
                                       stdout=subprocess.DEVNULL, check=True)
                        bench(port, a.cg, args, n)
                        subprocess.run(["callgrind_control", "-d", str(vpid)],
                                       stdout=subprocess.DEVNULL, check=True)
                        # The newest dump holds the counters since the
                        # zeroing: its "totals:" line.
                        d = os.path.dirname(out)
                        dumps = [os.path.join(d, f) for f in os.listdir(d)
                                 if f.startswith(os.path.basename(out))]
                        newest = max(dumps, key=os.path.getmtime)
                        ir = 0
                        with open(newest) as fh:
                            for line in fh:
                                if line.startswith(("totals:", "summary:")):
                                    ir = int(line.split()[1])
                        res[(kind, name)] = ir / a.cg
                    stop(p)
                for name, _ in TESTS:
                    if ("dice", name) in res:
                        print("| %s | %d | %.0f | %.0f |" % (name, n, res[("redis", name)],
                                                          res[("dice", name)]), flush=True)
    finally:
        for p in CHILDREN:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
