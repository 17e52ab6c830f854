"""Big values do not stall the loop (issue 10): another client's PING
latency while a big value is deleted, dice-server beside redis-server in
one run.

For each shape (one list, hash, set or sorted set of 1,000,000 members;
1,000,000 string keys for the flushes) loaded into the server, a second
client sends PING after PING (each waiting for its reply) from 100 ms
before the delete until 300 ms after its reply, and the max and p99 of
those PINGs' round trips are printed, with how long the delete's own reply
took. The deletes: DEL (lazyfree-lazy-user-del no, the default), DEL with
lazyfree-lazy-user-del yes, UNLINK, FLUSHALL (sync), FLUSHALL ASYNC, and for the string keys also
FLUSHDB ASYNC.

  /usr/bin/python3 tests/bench/bench_lazyfree.py [dice-server path]
      [--only=strings,list,...]

Not a test: it prints figures (a markdown table)."""
import os
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_list import Srv, enc  # noqa: E402

N = 1000000
BATCH = 1000


def shape_cmds(shape):
    """Pipelined commands that build the shape, BATCH members each."""
    for i in range(0, N, BATCH):
        r = range(i, min(N, i + BATCH))
        if shape == "list":
            yield enc(b"RPUSH", b"big", *[b"v%d" % j for j in r])
        elif shape == "hash":
            a = []
            for j in r:
                a += [b"field:%d" % j, b"v%d" % j]
            yield enc(b"HSET", b"big", *a)
        elif shape == "set":
            yield enc(b"SADD", b"big", *[b"member:%d" % j for j in r])
        elif shape == "zset":
            a = []
            for j in r:
                a += [b"%d.5" % j, b"member:%d" % j]
            yield enc(b"ZADD", b"big", *a)
        else:  # strings: N keys
            yield b"".join(enc(b"SET", b"key:%d" % j, b"v%d" % j) for j in r)


def load(s, shape):
    per = BATCH if shape == "strings" else 1
    chunk, n = [], 0
    for c in shape_cmds(shape):
        chunk.append(c)
        n += per
        if len(chunk) == 20:
            s.pipeline(b"".join(chunk), n)
            chunk, n = [], 0
    if chunk:
        s.pipeline(b"".join(chunk), n)


class Pinger(threading.Thread):
    def __init__(self, port):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.stop = False
        self.lat = []

    def run(self):
        ping = enc(b"PING")
        while not self.stop:
            t0 = time.perf_counter()
            self.sock.sendall(ping)
            got = b""
            while not got.endswith(b"\r\n"):
                got += self.sock.recv(64)
            self.lat.append(time.perf_counter() - t0)
        self.sock.close()


def measure(s, op):
    p = Pinger(s.port)
    p.start()
    time.sleep(0.1)
    t0 = time.perf_counter()
    s.cmd(*op)
    took = time.perf_counter() - t0
    time.sleep(0.3)
    p.stop = True
    p.join()
    lat = sorted(p.lat)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return took * 1e3, lat[-1] * 1e3, p99 * 1e3


OPS = [
    ("DEL", [b"DEL", b"big"], False),
    ("DEL, lazyfree-lazy-user-del yes", [b"DEL", b"big"], True),
    ("UNLINK", [b"UNLINK", b"big"], False),
    ("FLUSHALL", [b"FLUSHALL"], False),
    ("FLUSHALL ASYNC", [b"FLUSHALL", b"ASYNC"], False),
    ("FLUSHDB ASYNC", [b"FLUSHDB", b"ASYNC"], False),
]


def run(binary, shapes=("list", "hash", "set", "zset", "strings")):
    rows = []
    for shape in shapes:
        for name, op, lazy in OPS:
            if shape == "strings" and not name.startswith("FLUSH"):
                continue
            if shape != "strings" and name == "FLUSHDB ASYNC":
                continue
            res = {}
            for kind in ("dice", "redis"):
                s = Srv(kind, binary)
                s.cmd(b"CONFIG", b"SET", b"lazyfree-lazy-user-del",
                      b"yes" if lazy else b"no")
                load(s, shape)
                time.sleep(0.2)
                res[kind] = measure(s, op)
                s.stop()
            rows.append((shape, name, res))
            d, r = res["dice"], res["redis"]
            print("| %s | %s | %.1f / %.2f / %.1f | %.1f / %.2f / %.1f |" % (
                shape, name, d[1], d[2], d[0], r[1], r[2], r[0]), flush=True)
    return rows


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    binary = os.path.abspath(args[0]) if args else os.path.join(
        HERE, "..", "..", "build", "examples", "dice-server")
    print("PING round trip during the delete, ms: max / p99 / the delete's "
          "own reply")
    print("| shape (1,000,000) | delete | dice-server | redis-server |")
    print("|---|---|---:|---:|")
    only = [a[len("--only="):] for a in sys.argv[1:]
            if a.startswith("--only=")]
    run(binary, tuple(only[0].split(",")) if only else
        ("list", "hash", "set", "zset", "strings"))


if __name__ == "__main__":
    main()
