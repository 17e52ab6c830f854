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
import argparse
import os
import socket
import subprocess
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


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


def start(kind, dice, out=None):
    port = free_port()
    if kind == "dice":
        cmd = [dice, "--bind", "127.0.0.1", "--port", str(port)]
    else:
        cmd = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
               "--bind", "127.0.0.1"]
    if out:
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + cmd
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(1200):
        if cli(port, "PING") == "PONG":
            return p, port
        time.sleep(0.1)
    raise RuntimeError("%s did not start" % kind)


def stop(p):
    p.terminate()
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def vg_pid(port):
    out = subprocess.run(["vgdb", "-l"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if ("--port %d " % port) in line + " " and line.startswith("use --pid="):
            return int(line.split()[1].split("=")[1])
    raise RuntimeError("no valgrind process for port %d" % port)


def load_file(n, path):
    with open(path, "wb") as f:
        for i in range(1, n + 1):
            args = [b"XADD", b"s", b"%d-1" % i, b"name", b"n%d" % i, b"val", b"%d" % i]
            f.write(b"*7\r\n" + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))


def load(port, path):
    with open(path, "rb") as f:
        subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=f,
                       stdout=subprocess.DEVNULL, check=True)


TESTS = [
    ("XADD * (2 fields)", ["XADD", "s", "*", "a", "__rand_int__", "b", "__rand_int__"]),
    ("XRANGE r + COUNT 10", ["XRANGE", "s", "__rand_int__", "+", "COUNT", "10"]),
]


def bench(port, n, args, r):
    subprocess.run(["redis-benchmark", "-p", str(port), "-n", str(n), "-r", str(r),
                    "-P", "16", "-c", "4", "-q"] + args,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


def callgrind_ir(path):
    total = 0
    with open(path) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dice", required=True)
    ap.add_argument("--n", type=int, default=1000000)
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--cg", type=int, default=10000)
    ap.add_argument("--only", default="mem,cpu,instr")
    a = ap.parse_args()
    only = a.only.split(",")
    tmp = tempfile.mkdtemp(prefix="bench_stream-")
    path = os.path.join(tmp, "load")
    load_file(a.n, path)
    if "mem" in only:
        print("| one stream of %d entries of 2 small fields | RSS growth per entry |" % a.n)
        print("|---|---:|")
        for kind in ("redis", "dice"):
            p, port = start(kind, a.dice)
            time.sleep(0.5)
            before = rss_kb(p.pid)
            load(port, path)
            time.sleep(2)
            after = rss_kb(p.pid)
            print("| %s-server (%s nodes) | %.1f B |" % (
                kind, cli(port, "XINFO", "STREAM", "s").split("\n")[3],
                (after - before) * 1024.0 / a.n), flush=True)
            stop(p)
    if "cpu" in only:
        print("\n| command (pipelined, -P 16 -c 4), %d entries | redis-server CPU/request | dice-server CPU/request |" % a.n)
        print("|---|---:|---:|")
        res = {}
        for kind in ("redis", "dice"):
            p, port = start(kind, a.dice)
            load(port, path)
            for name, args in TESTS[::-1]:  # XRANGE first, on the loaded stream
                c0 = cpu_s(p.pid)
                bench(port, a.requests, args, a.n)
                res[(kind, name)] = (cpu_s(p.pid) - c0) / a.requests * 1e6
            stop(p)
        for name, _ in TESTS:
            print("| %s | %.2f us | %.2f us |" % (name, res[("redis", name)], res[("dice", name)]),
                  flush=True)
    if "instr" in only:
        print("\n| command (callgrind, Ir per pipelined request), %d entries | redis-server | dice-server |" % a.n)
        print("|---|---:|---:|")
        res = {}
        for kind in ("redis", "dice"):
            out = os.path.join(tmp, "cg.%s" % kind)
            p, port = start(kind, a.dice, out=out)
            vpid = vg_pid(port)
            load(port, path)
            for name, args in TESTS[::-1]:
                bench(port, a.cg, args, a.n)
                subprocess.run(["callgrind_control", "-z", str(vpid)], stdout=subprocess.DEVNULL, check=True)
                bench(port, a.cg, args, a.n)
                subprocess.run(["callgrind_control", "-d", str(vpid)], stdout=subprocess.DEVNULL, check=True)
                dumps = sorted((f for f in os.listdir(tmp) if f.startswith("cg.%s." % kind)),
                               key=lambda f: os.path.getmtime(os.path.join(tmp, f)))
                res[(kind, name)] = callgrind_ir(os.path.join(tmp, dumps[-1])) / a.cg
            stop(p)
        for name, _ in TESTS:
            print("| %s | %.0f | %.0f |" % (name, res[("redis", name)], res[("dice", name)]), flush=True)


if __name__ == "__main__":
    main()
