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
import shutil
import subprocess
import tempfile

from benchlib import Server, cpu_us_per_request, csv_rps, free_port, \
    redis_benchmark, stop_all

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


def start(kind, path, d):
    tport = free_port()
    tls = ["--tls-port", str(tport), "--tls-cert-file", d + "/server.crt",
           "--tls-key-file", d + "/server.key",
           "--tls-ca-cert-file", d + "/ca.crt"]
    s = Server(kind, path, extra=tls)
    return s, s.port, tport


def bench(srv, port, test, a, d, tls):
    args = ["-t", test, "-n", a.n, "-c", a.clients, "-P", a.pipeline,
            "-r", "100000", "--csv"]
    if tls:
        args += ["--tls", "--cacert", d + "/ca.crt", "--cert",
                 d + "/client.crt", "--key", d + "/client.key"]
    us, out = cpu_us_per_request(srv.pid, a.n,
                                 lambda: redis_benchmark(port, args))
    return us, csv_rps(out, test)


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
    try:
        make_certs(d)
        servers = {}
        for kind in ("dice", "redis"):
            proc, port, tport = start(kind, a.dice, d)
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
        stop_all()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
