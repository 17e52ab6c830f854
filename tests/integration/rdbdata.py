"""A dataset with every type in each of its encodings (small and big),
expire times, several dbs, binary keys and compressible strings, and a
type-aware view of a whole dataset for comparing two servers key by key
(DEBUG DIGEST values differ between dice-server and redis-server, see
docs/compatibility.md). Shared by test_rdb.py and test_dump_restore.py."""
import random

FAR_MS = 4102444800000  # 2100-01-01: an expire time that does not run out


def fill(r, seed=7, big=600):
    """Write the dataset through redis-py client r; returns the keys of db 0."""
    rnd = random.Random(seed)
    p = r.pipeline(transaction=False)
    p.set("str:int", 12345)
    p.set("str:neg", -7)
    p.set("str:bigint", 2 ** 62)
    p.set("str:emb", "hello")
    p.set("str:raw", "r" * 100)
    p.set("str:zip", "abc" * 400)          # LZF-compressible
    p.set("str:bin", bytes(range(256)) * 3)
    p.set("str:empty", "")
    p.set(b"key\x00with\xffbinary", b"v\x00")
    p.rpush("list:small", "a", "b", 1, 2, -3, "c" * 30)
    p.rpush("list:big", *[("e%d" % i) * (1 + i % 7) for i in range(big * 3)])
    p.rpush("list:ints", *range(-big, big))
    p.hset("hash:small", mapping={"f1": "v1", "f2": 2, "f3": "x" * 40})
    p.hset("hash:big", mapping={"field%d" % i: "value%d" % i
                                for i in range(big)})
    p.hset("hash:longval", mapping={"f": "y" * 100})
    p.sadd("set:intset", *range(0, 100, 3))
    p.sadd("set:bigint", *range(big))
    p.sadd("set:str", *["m%d" % i for i in range(50)])
    p.zadd("zset:small", {"a": 1, "b": 2.5, "c": -3.25, "d": float("inf")})
    p.zadd("zset:big", {"m%d" % i: rnd.random() * 1000 for i in range(big)})
    p.zadd("zset:longmember", {"z" * 100: 1})
    p.set("ttl:str", "v", pxat=FAR_MS)
    p.rpush("ttl:list", "x")
    p.pexpireat("ttl:list", FAR_MS + 1)
    p.hset("ttl:hash", "f", "v")
    p.pexpireat("ttl:hash", FAR_MS + 2)
    # Streams: several nodes, a deleted entry, consumer groups with a
    # pending list shared by two consumers, one group lagging.
    for i in range(1, big + 1):
        p.xadd("stream:big", {"f": i, "g": "v%d" % i}, id="%d-1" % i)
    p.xadd("stream:small", {"a": 1}, id="5-0")
    p.xadd("stream:small", {"b": "two", "c": 3}, id="5-1")
    p.xadd("stream:small", {"a": 4}, id="7-0")
    p.xdel("stream:small", "5-1")
    p.xgroup_create("stream:big", "g1", id="0")
    p.xgroup_create("stream:big", "g2", id="%d-1" % (big // 2))
    p.execute()
    r.xreadgroup("g1", "alice", {"stream:big": ">"}, count=5)
    r.xreadgroup("g1", "bob", {"stream:big": ">"}, count=3)
    r.xack("stream:big", "g1", "2-1")
    r.xgroup_createconsumer("stream:big", "g2", "idle")
    for db in (1, 5, 15):
        p = r.execute_command("SELECT", db)
        r.set("db%d:k" % db, "v%d" % db)
        r.sadd("db%d:s" % db, "a", "b")
    r.execute_command("SELECT", 0)


def value(r, key, seen_times=True):
    """(type, value, expire time) of key. seen_times=False leaves out the
    stream consumers' seen-time, which an AOF's commands do not carry
    (replaying XCLAIM / XGROUP CREATECONSUMER makes it the replay's time,
    in Redis too)."""
    t = r.type(key).decode()
    if t == "string":
        v = r.get(key)
    elif t == "list":
        v = r.lrange(key, 0, -1)
    elif t == "hash":
        v = sorted(r.hgetall(key).items())
    elif t == "set":
        v = sorted(r.smembers(key))
    elif t == "zset":
        v = r.zrange(key, 0, -1, withscores=True)
    elif t == "stream":
        # Entries and XINFO FULL (groups, consumers, pending with their
        # times and counts), less the radix tree's node counts, which
        # describe Redis's memory layout, not the data.
        full = r.execute_command("XINFO", "STREAM", key, "FULL")
        info = [(full[i], full[i + 1]) for i in range(0, len(full), 2)
                if not full[i].startswith(b"radix-tree")]
        if not seen_times:
            for name, groups in info:
                if name != b"groups":
                    continue
                for g in groups:
                    for c in g[g.index(b"consumers") + 1]:
                        c[c.index(b"seen-time") + 1] = None
        v = (r.xrange(key), repr(info))
    else:
        v = None
    return t, v, r.execute_command("PEXPIRETIME", key)


def view(client_for_db, dbs=range(16), seen_times=True):
    """{(db, key): (type, value, expire time)} of every db in dbs;
    client_for_db(db) gives a redis-py client on that db."""
    out = {}
    for db in dbs:
        r = client_for_db(db)
        for k in r.scan_iter(count=1000):
            out[(db, k)] = value(r, k, seen_times)
    return out


def server_view(srv, seen_times=True):
    return view(lambda db: srv.redis(db=db), seen_times=seen_times)


def dec(raw):
    """A raw RESP2 reply as Python: simple strings and errors as str
    (without their prefix), integers, bulks as bytes (None for nil),
    arrays as lists."""
    def one(b, i):
        end = b.index(b"\r\n", i)
        t, line = b[i:i + 1], b[i + 1:end]
        i = end + 2
        if t in (b"+", b"-"):
            return line.decode(), i
        if t == b":":
            return int(line), i
        if t == b"$":
            n = int(line)
            if n < 0:
                return None, i
            return b[i:i + n], i + n + 2
        if t == b"*":
            n = int(line)
            out = []
            for _ in range(max(n, 0)):
                v, i = one(b, i)
                out.append(v)
            return (out if n >= 0 else None), i
        raise ValueError(raw)
    return one(raw, 0)[0]


class Conn:
    """dicetest.Conn with decoded replies."""

    def __init__(self, srv):
        self.c = srv.conn()

    def cmd(self, *args):
        return dec(self.c.cmd(*args))

    def send(self, data):
        self.c.send(data)

    def read_reply(self):
        return dec(self.c.read_reply())

    def close(self):
        self.c.close()
