#!/usr/bin/python3
"""Snapshots beside redis-server (issue 13): BGSAVE time and file size for
1,000,000 keys, and the time to load that file at start.

redis-server makes the dataset (DEBUG POPULATE 1000000: key:N -> value:N,
plus 100,000 small hashes, lists and sets for a mix of types), saves it,
and both servers load the same dump.rdb; then each writes its own with
BGSAVE (timed from the command to rdb_bgsave_in_progress:0) and the file
sizes are compared, and each loads its own file again.

  /usr/bin/python3 tests/bench/bench_rdb.py [dice-server path]

Not a test: it prints figures (a markdown table)."""
import os
import re
import shutil
import sys
import tempfile
import time

from benchlib import Server, stop_all

HERE = os.path.dirname(os.path.abspath(__file__))
DICE = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(
    HERE, "..", "..", "build", "release", "examples", "dice-server")
N = 1000000


def start(kind, d, extra=()):
    """A server in d (loading its dump.rdb), its log appended to d/KIND.log;
    returns it, a client and the seconds until it had loaded."""
    log = open(os.path.join(d, kind + ".log"), "a")
    t0 = time.time()
    p = Server(kind, DICE, d=d, extra=["--enable-debug-command", "yes"]
               + list(extra), stdout=log, wait=False)
    port = p.port
    import redis
    r = redis.Redis(port=port)
    while True:
        try:
            if r.ping() and not r.info("persistence")["loading"]:
                break
        except Exception:
            pass
        if p.proc.poll() is not None:
            raise SystemExit("%s exited" % kind)
        time.sleep(0.01)
    return p, r, time.time() - t0


def stop(p):
    p.stop()


def logged_load(d, kind):
    with open(os.path.join(d, kind + ".log")) as f:
        m = re.findall(r"DB loaded from disk: ([0-9.]+) seconds", f.read())
    return float(m[-1]) if m else float("nan")


def bgsave(r):
    t0 = time.time()
    r.bgsave()
    while r.info("persistence")["rdb_bgsave_in_progress"]:
        time.sleep(0.005)
    return time.time() - t0


def main():
    root = tempfile.mkdtemp(prefix="bench-rdb-")
    try:
        src = os.path.join(root, "src")
        os.makedirs(src)
        p, r, _ = start("redis", src)
        r.execute_command("DEBUG", "POPULATE", N)
        pipe = r.pipeline(transaction=False)
        for i in range(100000):
            pipe.hset("h:%d" % i, mapping={"a": i, "b": "x%d" % i})
            if i % 1000 == 999:
                pipe.execute()
        pipe.execute()
        keys = r.dbsize()
        r.save()
        stop(p)
        rows = []
        for kind in ("redis", "dice"):
            d = os.path.join(root, kind)
            os.makedirs(d)
            shutil.copy(os.path.join(src, "dump.rdb"), d)
            p, r, wall = start(kind, d)
            assert r.dbsize() == keys, (kind, r.dbsize())
            load_redis_file = logged_load(d, kind)
            t_bg = bgsave(r)
            size = os.path.getsize(os.path.join(d, "dump.rdb"))
            rss = r.info("memory")["used_memory_rss"]
            stop(p)
            p, r, wall2 = start(kind, d)
            assert r.dbsize() == keys
            load_own = logged_load(d, kind)
            stop(p)
            rows.append((kind, load_redis_file, t_bg, size, load_own, rss))
        print("%d keys (%d strings by DEBUG POPULATE, 100000 small hashes)\n"
              % (keys, N))
        print("| server | load redis-server's file (s) | BGSAVE (s) | "
              "file size (bytes) | load its own file (s) | RSS after load |")
        print("|---|---|---|---|---|---|")
        for k, a, b, c, e, f in rows:
            print("| %s | %.3f | %.3f | %d | %.3f | %d |" % (k, a, b, c, e, f))
    finally:
        stop_all()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
