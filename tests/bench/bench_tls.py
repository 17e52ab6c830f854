#!/usr/bin/python3
"""TLS throughput and server CPU, dice-server beside redis-server (Debian's
is built with TLS) in the same run, with the same certificates (a CA, a
server certificate and a client certificate made here with openssl):

    bench_tls.py --dice PATH [--n 200000] [--clients 4] [--pipeline 16]
                 [--rounds 3] [--plain]

For each test (SET, GET) and server: redis-benchmark --tls --cacert ...
--cert ... --key ... -t <test> -P 16 -n N -c C, the server's CPU (user+sys
from /proc/PID/stat) per request, and requests per second as
redis-benchmark reports them; the best of --rounds rounds, the servers
taking turns. --plain adds the same over plain TCP for comparison. Every
process started is ended by its pid. Not a test: it prints figures.
"""
import argparse
import os
import shutil
import socket
import subprocess
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certs(d):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=bench CA", "-keyout", d + "/ca.key",
            "-out", d + "/ca.crt")
    for name in ("server", "client"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name,
                "-keyout", "%s/%s.key" % (d, name),
                "-out", "%s/%s.csr" % (d, name))
        openssl("x509", "-req", "-in", "%s/%s.csr" % (d, name), "-days", "2",
                "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key",
                "-CAcreateserial", "-out", "%s/%s.crt" % (d, name))


def wait_port(port, proc):
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def start(kind, path, d):
    port, tport = free_port(), free_port()
    tls = ["--tls-port", str(tport), "--tls-cert-file", d + "/server.crt",
           "--tls-key-file", d + "/server.key",
           "--tls-ca-cert-file", d + "/ca.crt"]
    if kind == "dice":
        cmd = [os.path.abspath(path), "--port", str(port)] + tls
    else:
        cmd = ["redis-server", "--port", str(port), "--save", "",
               "--appendonly", "no", "--dir", d] + tls
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=d)
    wait_port(port, proc)
    return proc, port, tport


def bench(proc, port, test, a, d, tls):
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", test,
           "-n", str(a.n), "-c", str(a.clients), "-P", str(a.pipeline),
           "-r", "100000", "--csv"]
    if tls:
        cmd += ["--tls", "--cacert", d + "/ca.crt", "--cert",
                d + "/client.crt", "--key", d + "/client.key"]
    before = cpu_s(proc.pid)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    used = cpu_s(proc.pid) - before
    rps = 0.0
    for line in out.splitlines():
        parts = [p.strip('"') for p in line.split(",")]
        if len(parts) > 1 and parts[0].upper().startswith(test.upper()):
            rps = float(parts[1])
    return used * 1e6 / a.n, rps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dice", required=True)
    ap.add_argument("--n", type=int, default=200000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--plain", action="store_true")
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="benchtls-")
    procs = []
    try:
        make_certs(d)
        servers = {}
        for kind in ("dice", "redis"):
            proc, port, tport = start(kind, a.dice, d)
            procs.append(proc)
            servers[kind] = (proc, port, tport)
        modes = [True] + ([False] if a.plain else [])
        print("redis-benchmark -P %d -c %d -n %d -r 100000; best of %d rounds"
              % (a.pipeline, a.clients, a.n, a.rounds))
        print("%-6s %-5s %-6s %14s %12s" % ("mode", "test", "server",
                                           "CPU us/req", "req/s"))
        for tls in modes:
            for test in ("set", "get"):
                best = {}
                for _ in range(a.rounds):
                    for kind in ("dice", "redis"):
                        proc, port, tport = servers[kind]
                        us, rps = bench(proc, tport if tls else port, test, a,
                                        d, tls)
                        b = best.get(kind)
                        best[kind] = (min(us, b[0]) if b else us,
                                      max(rps, b[1]) if b else rps)
                for kind in ("dice", "redis"):
                    print("%-6s %-5s %-6s %14.3f %12.0f" % (
                        "tls" if tls else "plain", test.upper(), kind,
                        best[kind][0], best[kind][1]))
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
