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
import socket
import subprocess
import tempfile
import time

CLK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def wait_ready(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server on %d did not start" % port)


def start(kind, path, port, tmp):
    args = [path, "--port", str(port), "--save", ""]
    if kind == "redis":
        args += ["--appendonly", "no", "--dir", tmp]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, cwd=tmp)
    wait_ready(port)
    return p


def measure(pid, port, n, rounds, monitor):
    mon = None
    if monitor:
        mon = subprocess.Popen(["redis-cli", "-p", str(port), "monitor"],
                               stdout=subprocess.DEVNULL)
        time.sleep(0.3)
    best = None
    for _ in range(rounds):
        c0 = cpu_s(pid)
        subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set",
                        "-n", str(n), "-r", "100000", "-P", "16", "-c", "4",
                        "-q"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
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
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            p = start(kind, path, port, tmp)
            try:
                off = measure(p.pid, port, a.requests, a.rounds, False)
                on = measure(p.pid, port, a.requests, a.rounds, True)
            finally:
                p.terminate()
                p.wait()
        print("| %s | %.0f ns | %.0f ns | +%.0f ns |" %
              (kind + "-server", off, on, on - off))


if __name__ == "__main__":
    main()
