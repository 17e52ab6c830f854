#!/usr/bin/python3
"""Open many idle connections to a server, measure what they cost it.

    idle_conns.py --port PORT --pid SERVER_PID --count N [--rounds R]
                  [--json OUT]

Steps, and what each reading means:
  1. the server's VmRSS before any of our connections;
  2. N connections, opened non-blocking in batches, each batch followed
     by one control connection answered PONG: the accept queue is FIFO, so
     once the server answers it, it has accepted every earlier one, and the
     next batch finds the queue empty (no SYN dropped for a full backlog,
     none waiting a second for its retransmit);
  3. after a short settle, VmRSS again: (after - before) / N is the cost of
     an idle connection that has never sent a byte;
  4. PING rounds (3 by default; the median is printed): every connection
     sends PING, and a round ends when the last PONG arrives;
  5. VmRSS after the rounds, after a settle (what a connection costs once
     it has been used: buffers a server keeps for it show up here);
  6. every socket is closed with SO_LINGER 0, so it ends with a RST and
     leaves no port in TIME_WAIT for the runs that follow.

Standard library only; prints one JSON object. Linux only (epoll, /proc).
"""
import argparse
import json
import resource
import select
import statistics
import sys
import time

from benchlib import open_conns as open_batch, ping as control_ping, \
    rss_kb

PING = b"*1\r\n$4\r\nPING\r\n"
PONG = b"+PONG\r\n"


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if soft < need:
        sys.exit("idle_conns: need %d descriptors, the limit is %d"
                 % (need, soft))


def ping_round(socks, timeout=120):
    """Send one PING on every socket; wait for every reply.

    Returns (seconds, replies that were PONG, replies that were not)."""
    ep = select.epoll()
    want = {}
    t0 = time.monotonic()
    for s in socks:
        s.send(PING)  # 14 bytes into an empty socket buffer: never partial
        want[s.fileno()] = [s, b""]
        ep.register(s.fileno(), select.EPOLLIN)
    ok = bad = 0
    deadline = t0 + timeout
    while want:
        if time.monotonic() > deadline:
            break
        for fd, _ in ep.poll(1.0):
            entry = want[fd]
            try:
                chunk = entry[0].recv(256)
            except BlockingIOError:
                continue
            entry[1] += chunk
            if not chunk or entry[1].endswith(b"\r\n"):
                if entry[1] == PONG:
                    ok += 1
                else:
                    bad += 1
                ep.unregister(fd)
                del want[fd]
    elapsed = time.monotonic() - t0
    ep.close()
    return elapsed, ok, bad + len(want)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--count", type=int, default=19500)
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--settle", type=float, default=1.5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json")
    a = ap.parse_args()

    raise_nofile(a.count + 64)

    time.sleep(a.settle)
    rss0 = rss_kb(a.pid)
    socks = []
    t0 = time.monotonic()
    try:
        while len(socks) < a.count:
            # SO_LINGER 0 (benchlib's default): close() sends RST.
            socks += open_batch(a.port, min(a.batch, a.count - len(socks)))
            # Wait until the server has accepted the batch (see above), so
            # the next one finds the accept queue empty and none of its
            # SYNs is dropped.
            reply = control_ping(a.port)
        t_connect = time.monotonic() - t0
        time.sleep(a.settle)
        rss1 = rss_kb(a.pid)
        rounds = [ping_round(socks) for _ in range(a.rounds)]
        t_round = statistics.median(r[0] for r in rounds)
        ok = min(r[1] for r in rounds)
        bad = max(r[2] for r in rounds)
        time.sleep(a.settle)
        rss2 = rss_kb(a.pid)
    finally:
        for s in socks:
            s.close()
    out = {
        "count": a.count,
        "control_reply": reply.decode("latin-1").strip(),
        "connect_s": round(t_connect, 4),
        "rss_before_kb": rss0,
        "rss_idle_kb": rss1,
        "rss_after_ping_kb": rss2,
        "idle_bytes_per_conn": (rss1 - rss0) * 1024.0 / a.count,
        "used_bytes_per_conn": (rss2 - rss0) * 1024.0 / a.count,
        "ping_round_s": round(t_round, 4),
        "ping_rounds_s": [round(r[0], 4) for r in rounds],
        "pong": ok,
        "not_pong": bad,
    }
    text = json.dumps(out)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
