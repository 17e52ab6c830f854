#!/usr/bin/python3
"""What one MONITOR costs: dice-server next to redis-server, in one run.

    bench_monitor.py --dice PATH [--requests N] [--rounds R]

Each server is started fresh (redis-server with --save '' --appendonly
no), then `redis-benchmark -t set -n N -r 100000 -P 16 -c 4` runs R times
with no monitor and R times while `redis-cli monitor` reads every line
(into /dev/null). Reported per server: the server's CPU per SET (user +
system from /proc/PID/stat over the run, divided by N; best of the R
rounds) without and with the monitor, and the difference: the cost of
formatting and sending one monitor line. Not a test: it prints figures.
"""
import argparse
import os
import subprocess
import time

from benchlib import Server, cpu_s, redis_benchmark

def measure(pid, port, n, rounds, monitor):
    mon = None
    if monitor:
        mon = subprocess.Popen(["redis-cli", "-p", str(port), "monitor"],
                               stdout=subprocess.DEVNULL)
        time.sleep(0.3)
    best = None
    for _ in range(rounds):
        c0 = cpu_s(pid)
        redis_benchmark(port, ["-t", "set", "-n", n, "-r", "100000", "-P",
                               "16", "-c", "4", "-q"])
        ns = (cpu_s(pid) - c0) / n * 1e9
        best = ns if best is None or ns < best else best
    if mon:
        mon.terminate()
        mon.wait()
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dice", required=True)
    ap.add_argument("--redis", default="redis-server")
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    print("| server | CPU/SET, no monitor | CPU/SET, 1 monitor | "
          "monitor line |")
    print("|---|---:|---:|---:|")
    dice = os.path.abspath(a.dice)
    for kind, path in (("dice", dice), ("redis", a.redis)):
        srv = Server(kind, dice, redis=path)
        port, p = srv.port, srv
        try:
            off = measure(p.pid, port, a.requests, a.rounds, False)
            on = measure(p.pid, port, a.requests, a.rounds, True)
        finally:
            srv.stop()
        print("| %s | %.0f ns | %.0f ns | +%.0f ns |" %
              (kind + "-server", off, on, on - off))


if __name__ == "__main__":
    main()
