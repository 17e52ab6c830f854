#!/usr/bin/python3
"""MULTI/EXEC of 10 SETs: dice-server next to redis-server, in one run.

    bench_multi.py --dice PATH [--tx N] [--conns C] [--pipeline P] [--rounds R]

Each of C connections sends batches of P transactions (MULTI, 10 SETs of
random keys out of 100,000 with 16-byte values, EXEC) and reads their
replies, until N transactions are done in all; the servers run one after
the other, alternating, R rounds each. Reported per server (medians over
the rounds): transactions per second, and server CPU per transaction,
user + system time from /proc/PID/stat over the timed part, divided by N.
redis-server runs with --save '' --appendonly no, as dice-server (which
has no persistence yet) does. Standard library only. Not a test: it
prints figures.
"""
import argparse
import os
import random
import socket
import statistics
import sys
import tempfile
import threading
import time

from benchlib import Server, cpu_s, resp as enc

def batch_bytes(rng, pipeline):
    parts = []
    for _ in range(pipeline):
        parts.append(enc(b"MULTI"))
        for _ in range(10):
            key = b"key:%06d" % rng.randrange(100000)
            parts.append(enc(b"SET", key, b"v" * 16))
        parts.append(enc(b"EXEC"))
    return b"".join(parts)


# Replies of one transaction: +OK, 10 x +QUEUED, then *10 and 10 x +OK.
ONE_REPLY = b"+OK\r\n" + b"+QUEUED\r\n" * 10 + b"*10\r\n" + b"+OK\r\n" * 10


def client(port, batches, payloads, errors):
    try:
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(batches):
            data, want = payloads[i % len(payloads)]
            s.sendall(data)
            got = 0
            while got < want:
                d = s.recv(1 << 20)
                if not d:
                    raise EOFError("closed")
                got += len(d)
        s.close()
    except Exception as e:  # reported by the caller
        errors.append(repr(e))


def one_run(kind, binary, args, logdir):
    log = open(os.path.join(logdir, "%s.log" % kind), "w")
    p = Server(kind, binary, stdout=log)
    port = p.port
    try:
        rng = random.Random(1)
        payloads = [(batch_bytes(rng, args.pipeline),
                     len(ONE_REPLY) * args.pipeline) for _ in range(8)]
        per_conn = args.tx // (args.conns * args.pipeline)
        # Warm up: the keys exist before the timed part.
        client(port, 2000 // args.pipeline + 1, payloads, [])
        errors = []
        threads = [threading.Thread(target=client,
                                    args=(port, per_conn, payloads, errors))
                   for _ in range(args.conns)]
        c0, t0 = cpu_s(p.pid), time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        c1, t1 = cpu_s(p.pid), time.perf_counter()
        if errors:
            raise RuntimeError("%s: %s" % (kind, errors[0]))
        n = per_conn * args.conns * args.pipeline
        return n / (t1 - t0), (c1 - c0) / n * 1e6
    finally:
        p.stop(30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dice", required=True)
    ap.add_argument("--tx", type=int, default=200000)
    ap.add_argument("--conns", type=int, default=4)
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    logdir = tempfile.mkdtemp(prefix="bench-multi-")
    res = {"dice": [], "redis": []}
    load0 = os.getloadavg()[0]
    for _ in range(args.rounds):
        for kind in ("dice", "redis"):
            res[kind].append(one_run(kind, args.dice, args, logdir))
    load1 = os.getloadavg()[0]
    print("MULTI + 10 x SET + EXEC, %d transactions per round, %d "
          "connections, %d transactions pipelined per batch, %d rounds "
          "(medians); load average %.2f -> %.2f"
          % (args.tx, args.conns, args.pipeline, args.rounds, load0, load1))
    print("| server | transactions/s | server CPU per transaction (us) |")
    print("|---|---:|---:|")
    for kind in ("dice", "redis"):
        tps = statistics.median(r[0] for r in res[kind])
        cpu = statistics.median(r[1] for r in res[kind])
        print("| %s-server | %s | %.2f |" % (kind, format(int(tps), ","), cpu))
    dcpu = statistics.median(r[1] for r in res["dice"])
    rcpu = statistics.median(r[1] for r in res["redis"])
    print("dice-server CPU per transaction / redis-server's: %.2f"
          % (dcpu / rcpu))


if __name__ == "__main__":
    sys.exit(main())
