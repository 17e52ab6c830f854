#!/usr/bin/python3
"""Memory of many trickling connections, dice-server beside redis-server
in the same run:

    bench_trickle.py --dice PATH [--n 5000] [--rounds 1]
                     [--only dice|redis] [--prefix BYTES]

Each round starts fresh servers (no save points, maxclients above N).
For each server: its VmRSS once it has settled; then N connections, each
sends the first bytes of a command ("*3\\r\\n$3\\r\\nSET\\r\\n" by default)
in one write and pauses; after a settle, VmRSS again ("one write": the
growth per connection in bytes, what such a client costs the server while
its command is pending). Then N more connections send the same bytes one
byte at a time, each byte a read of its own on the server (a barrier PING
between rounds of bytes), as a client trickling a byte a second does
("trickled": their growth per connection). Last, every connection
completes its SET and sends PING; "alive" counts those answered +OK
+PONG (the server dropped none), "done" is the growth per connection
after that, over all 2N. Every process started is ended by its pid, every
socket closed with a RST so no port is left in TIME_WAIT. Not a test: it
prints figures. Linux only (/proc).
"""
import argparse
import resource
import select
import time

from benchlib import Server, open_conns as open_batch, ping, rss_kb

def finish(socks, rest, expect):
    """Send rest on every socket, wait for expect on each; count them."""
    ep = select.epoll()
    want = {}
    for s in socks:
        s.send(rest)
        want[s.fileno()] = [s, b""]
        ep.register(s.fileno(), select.EPOLLIN)
    ok = 0
    deadline = time.monotonic() + 120
    while want and time.monotonic() < deadline:
        for fd, _ in ep.poll(1.0):
            e = want[fd]
            try:
                chunk = e[0].recv(256)
            except BlockingIOError:
                continue
            e[1] += chunk
            if not chunk or len(e[1]) >= len(expect):
                ok += e[1] == expect
                ep.unregister(fd)
                del want[fd]
    ep.close()
    return ok


def measure(port, pid, n, prefix, settle):
    time.sleep(settle)
    rss0 = rss_kb(pid)
    socks = []
    try:
        while len(socks) < n:
            batch = open_batch(port, min(250, n - len(socks)))
            for s in batch:
                s.send(prefix)
            socks += batch
            ping(port)  # the server has accepted (and read) the batch
        time.sleep(settle)
        rss1 = rss_kb(pid)
        slow = []
        while len(slow) < n:
            slow += open_batch(port, min(250, n - len(slow)))
            ping(port)
        for i in range(len(prefix)):
            for s in slow:
                s.send(prefix[i:i + 1])
            ping(port)  # every byte of this round has been read
        time.sleep(settle)
        rss2 = rss_kb(pid)
        socks += slow
        # Complete the pending SET, then check every connection is alive.
        ok = finish(socks, b"$1\r\nk\r\n$1\r\nv\r\nPING\r\n",
                    b"+OK\r\n+PONG\r\n")
        time.sleep(settle)
        rss3 = rss_kb(pid)
    finally:
        for s in socks:
            s.close()
    return rss0, rss1, rss2, rss3, ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dice", required=True)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--only", choices=("dice", "redis"))
    ap.add_argument("--prefix", default="*3\r\n$3\r\nSET\r\n")
    ap.add_argument("--settle", type=float, default=1.0)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2 * a.n + 300:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    prefix = a.prefix.encode("latin-1")
    kinds = [a.only] if a.only else ["dice", "redis"]
    print("%d connections, each sent %r and paused" % (a.n, prefix))
    print("B/conn: RSS growth per connection, bytes")
    print("%-6s %5s %8s %10s %10s %10s %6s" % (
        "server", "round", "rss0 KB", "one write", "trickled", "done",
        "alive"), flush=True)
    for r in range(a.rounds):
        for kind in kinds:
            srv = Server(kind, a.dice,
                         extra=["--maxclients", str(2 * a.n + 100)])
            port = srv.port
            try:
                rss0, rss1, rss2, rss3, ok = measure(
                    port, srv.pid, a.n, prefix, a.settle)
            finally:
                srv.stop(timeout=10)
            print("%-6s %5d %8d %10.0f %10.0f %10.0f %6d" % (
                kind, r + 1, rss0, (rss1 - rss0) * 1024.0 / a.n,
                (rss2 - rss1) * 1024.0 / a.n,
                (rss3 - rss0) * 1024.0 / (2 * a.n), ok), flush=True)


if __name__ == "__main__":
    main()
