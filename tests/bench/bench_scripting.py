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
import socket
import statistics
import subprocess
import sys
import tempfile
import time

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


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(args),
                          capture_output=True, check=True).stdout


def start(kind, binary, valgrind=None, extra=()):
    port = free_port()
    if kind == "dice":
        cmd = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save",
               ""]
    else:
        cmd = ["redis-server", "--bind", "127.0.0.1", "--port", str(port),
               "--save", "", "--appendonly", "no"]
    if valgrind:
        cmd = ["valgrind", "--tool=callgrind",
               "--callgrind-out-file=" + valgrind] + list(extra) + cmd
    # In a directory of its own: no dump.rdb of another run is loaded.
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, cwd=tempfile.mkdtemp(
                             prefix="bench_scripting-%s-" % kind))
    for _ in range(600):
        r = subprocess.run(["redis-cli", "-p", str(port), "PING"],
                           capture_output=True)
        if r.stdout == b"PONG\n":
            break
        time.sleep(0.1)
    else:
        raise RuntimeError("no server")
    try:
        for body in SCRIPTS.values():
            got = cli(port, "SCRIPT", "LOAD", body).strip().decode()
            if got != sha(body):
                raise RuntimeError("SCRIPT LOAD: %s" % got)
        got = cli(port, "FUNCTION", "LOAD", LIBRARY).strip()
        if got != b"bench":
            raise RuntimeError("FUNCTION LOAD: %r" % got)
    except Exception:
        stop(p)
        raise
    return p, port


def stop(p):
    p.terminate()
    p.wait()


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def bench(port, args, n):
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-n", str(n),
                          "-r", str(KEYS), "-P", "16", "-c", "4", "-q"]
                         + args, capture_output=True, check=True)
    if b"ERR" in out.stdout or b"ERR" in out.stderr:
        raise RuntimeError(out.stdout + out.stderr)


def check(port, args):
    """One call by hand: the benchmark must not be timing an error."""
    real = [a.replace("__rand_int__", "000000000001") for a in args]
    out = cli(port, *real)
    if out.startswith(b"ERR") or b"ERR" in out[:8]:
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


def total_ir(path):
    with open(path) as f:
        for line in f:
            if line.startswith("summary:"):
                return int(line.split()[1])
    return 0


def instr(binary, r, cases, tmp):
    rows = []
    for name, args in cases:
        row = [name]
        for kind in ("redis", "dice"):
            out = os.path.join(tmp, "cg-%s.out" % kind)
            for f in os.listdir(tmp):
                if f.startswith("cg-%s.out" % kind):
                    os.unlink(os.path.join(tmp, f))
            p, port = start(kind, binary, valgrind=out + ".%p",
                            extra=["--instr-atstart=no"])
            bench(port, args, 2000)  # warm-up, not counted
            subprocess.run(["callgrind_control", "-i", "on", str(p.pid)],
                           capture_output=True)
            irs = []
            for count in (r, 2 * r):
                bench(port, args, count)
                subprocess.run(["callgrind_control", "-d", str(p.pid)],
                               capture_output=True)
                dumps = [f for f in os.listdir(tmp)
                         if f.startswith("cg-%s.out.%d." % (kind, p.pid))]
                dumps.sort(key=lambda f: int(f.rsplit(".", 1)[1]))
                irs.append(total_ir(os.path.join(tmp, dumps[-1])))
            stop(p)
            # Each dump holds the counts since the one before.
            row.append((irs[1] - irs[0]) / r)
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
