"""Hashes (issue 10) against redis-server 7.0: every command, option and
error of HSET HSETNX HGET HMGET HMSET HDEL HLEN HSTRLEN HEXISTS HKEYS HVALS
HGETALL HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN, sent to dice-server and to
redis-server and the replies compared in RESP2 and RESP3 (byte for byte,
except the order of a hashtable's HGETALL/HKEYS/HVALS/HSCAN, which Redis
leaves unspecified, and HRANDFIELD's random picks, compared by shape);
OBJECT ENCODING at the conversion thresholds; a randomized differential
run on a few shared keys (fixed seeds and one random seed, printed); the
generic commands on hashes (TYPE, COPY, RENAME, MOVE, SCAN TYPE, DEBUG
DIGEST-VALUE, MEMORY USAGE); and python3-redis and redis-cli as
clients."""
import os
import random
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

HAVE_REDIS = dicetest.have_redis_server()
ARGS = ["--enable-debug-command", "yes"]

LONG = "x" * 65
L64 = "y" * 64

FIXED = [
    ("HSET", "h", "a", "1", "b", "x", "c", "1.5"),
    ("HSET", "h", "a"), ("HSET", "h"), ("HMSET", "h", "a"),
    ("HMSET", "h", "a", "2", "d", "-7"), ("HSET", "h", "a", "1"),
    ("HGET", "h", "a"), ("HGET", "h", "zz"), ("HGET", "nokey", "a"),
    ("HMGET", "h", "a", "zz", "d"), ("HMGET", "nokey", "a", "b"),
    ("HLEN", "h"), ("HLEN", "nokey"), ("HSTRLEN", "h", "c"),
    ("HSTRLEN", "h", "zz"), ("HSTRLEN", "nokey", "a"),
    ("HEXISTS", "h", "a"), ("HEXISTS", "h", "zz"), ("HEXISTS", "nokey", "a"),
    ("HGETALL", "h"), ("HKEYS", "h"), ("HVALS", "h"),
    ("HGETALL", "nokey"), ("HKEYS", "nokey"), ("HVALS", "nokey"),
    ("HSETNX", "h", "a", "9"), ("HSETNX", "h", "e", "9"),
    ("HSETNX", "h", "e"), ("HSETNX", "n2", "f", "v"),
    ("HINCRBY", "h", "b", "1"), ("HINCRBY", "h", "a", "x"),
    ("HINCRBY", "h", "a", "9223372036854775807"),
    ("HINCRBY", "h", "d", "-9223372036854775802"),
    ("HINCRBY", "h", "d", "-9223372036854775800"),
    ("HINCRBY", "h", "a", "10"), ("HINCRBY", "h", "new", "-3"),
    ("HINCRBY", "nk2", "f", "5"), ("HINCRBY", "h", "a", " 1"),
    ("HINCRBYFLOAT", "h", "b", "1"), ("HINCRBYFLOAT", "h", "a", "x"),
    ("HINCRBYFLOAT", "h", "a", "inf"), ("HINCRBYFLOAT", "h", "a", "-inf"),
    ("HINCRBYFLOAT", "h", "a", "nan"), ("HINCRBYFLOAT", "h", "c", "1.0e1"),
    ("HINCRBYFLOAT", "h", "f1", "5.0"), ("HINCRBYFLOAT", "h", "f2", "5.0e3"),
    ("HINCRBYFLOAT", "h", "c", "0x10"), ("HINCRBYFLOAT", "h", "c", " 1"),
    ("HINCRBYFLOAT", "h", "c", "-27.5"), ("HINCRBYFLOAT", "h", "c", "0.1"),
    ("HINCRBYFLOAT", "h", "c", "1e-20"), ("HINCRBYFLOAT", "h", "c", ""),
    ("HINCRBYFLOAT", "h", "g", "1.7976931348623157e308"),
    ("HINCRBYFLOAT", "h", "g", "1.7976931348623157e308"),
    ("HINCRBYFLOAT", "h", "a", "3"),
    ("OBJECT", "ENCODING", "h"), ("HGET", "h", "g"),
    ("HRANDFIELD", "h", "x"), ("HRANDFIELD", "h", "1", "2"),
    ("HRANDFIELD", "h", "1", "withvalues", "x"),
    ("HRANDFIELD", "h", "withvalues"), ("HRANDFIELD", "h", "0"),
    ("HRANDFIELD", "h", "0", "WITHVALUES"),
    ("HRANDFIELD", "h", "-4611686018427387904", "withvalues"),
    ("HRANDFIELD", "h", "-9223372036854775808"),
    ("HRANDFIELD", "h", "9223372036854775808"),
    ("HRANDFIELD", "nokey"), ("HRANDFIELD", "nokey", "5"),
    ("HRANDFIELD", "nokey", "x"), ("HRANDFIELD", "nokey", "-5", "withvalues"),
    ("HRANDFIELD", "h", "100"), ("HRANDFIELD", "h", "100", "withvalues"),
    ("HRANDFIELD", "h", "-7"), ("HRANDFIELD", "h", "-7", "WithValues"),
    ("HRANDFIELD", "h", "3"), ("HRANDFIELD", "h", "3", "withvalues"),
    ("HRANDFIELD", "h"),
    ("HSCAN", "h", "x"), ("HSCAN", "h", "0", "count", "0"),
    ("HSCAN", "h", "0", "count", "x"), ("HSCAN", "h", "0", "foo"),
    ("HSCAN", "h", "18446744073709551616"), ("HSCAN", "h", "-1"),
    ("HSCAN", "h", "0", "match"), ("HSCAN", "h", "0", "match", "a*"),
    ("HSCAN", "h", "0", "MATCH", "*", "COUNT", "1"), ("HSCAN", "h", ""),
    ("HSCAN", "h", "0", "match", "[a-c]", "count", "100"),
    ("HSCAN", "nokey", "0", "foo"), ("HSCAN", "nokey", "x"),
    ("HDEL", "h", "a", "b", "zz", "a"), ("HDEL", "h"), ("HDEL", "nokey", "a"),
    ("HDEL", "n2", "f"), ("EXISTS", "n2"),
    ("SET", "s", "v"),
    ("HSET", "s", "a", "1"), ("HSETNX", "s", "a", "1"), ("HGET", "s", "a"),
    ("HMGET", "s", "a"), ("HMSET", "s", "a", "1"), ("HDEL", "s", "a"),
    ("HLEN", "s"), ("HSTRLEN", "s", "a"), ("HEXISTS", "s", "a"),
    ("HKEYS", "s"), ("HVALS", "s"), ("HGETALL", "s"),
    ("HINCRBY", "s", "a", "1"), ("HINCRBY", "s", "a", "x"),
    ("HINCRBYFLOAT", "s", "a", "1"), ("HINCRBYFLOAT", "s", "a", "x"),
    ("HINCRBYFLOAT", "s", "a", "inf"),
    ("HRANDFIELD", "s"), ("HRANDFIELD", "s", "1"), ("HRANDFIELD", "s", "x"),
    ("HSCAN", "s", "0"), ("HSCAN", "s", "x"),
    ("GET", "h"), ("TYPE", "h"),
    # Encodings at the value limit: 64 bytes stay, 65 convert.
    ("HSET", "v64", "f", L64), ("OBJECT", "ENCODING", "v64"),
    ("HSET", "v64", L64, "v"), ("OBJECT", "ENCODING", "v64"),
    ("HSET", "v65", "f", LONG), ("OBJECT", "ENCODING", "v65"),
    ("HSET", "f65", LONG, "v"), ("OBJECT", "ENCODING", "f65"),
    ("HSETNX", "v64", "f", LONG), ("OBJECT", "ENCODING", "v64"),
    ("HSET", "nx", "a", "1"), ("HSETNX", "nx", "b", LONG),
    ("OBJECT", "ENCODING", "nx"),
    ("HSET", "fl", "a", "1"),
    ("HINCRBYFLOAT", "fl", "a", "1e70"), ("OBJECT", "ENCODING", "fl"),
    ("HSET", "ib", "a", "1"), ("HINCRBY", "ib", "a", "9223372036854775806"),
    ("OBJECT", "ENCODING", "ib"),
    ("HSET", "mix", "1", "2", "-3", "4.5", "", "", "007", "8"),
    ("HGETALL", "mix"), ("HGET", "mix", "1"), ("HGET", "mix", "007"),
    ("HSTRLEN", "mix", "-3"), ("HINCRBY", "mix", "1", "40"),
    ("HINCRBY", "mix", "007", "1"), ("HGETALL", "mix"),
    ("HSET", "bin", "a\x00b", "c\x00d"), ("HGET", "bin", "a\x00b"),
    ("HGET", "bin", "a"),
]

# Replies compared without order (a hashtable's walk order is its own).
UNORDERED = {"HGETALL", "HKEYS", "HVALS"}


def parse(b, i=0):
    """One RESP reply at b[i:] as (value, next index)."""
    t = b[i:i + 1]
    j = b.index(b"\r\n", i)
    line = b[i + 1:j]
    i = j + 2
    if t in b"+-:,#(_":
        return (t, line), i
    if t in b"$=!":
        n = int(line)
        if n < 0:
            return (t, None), i
        return (t, b[i:i + n]), i + n + 2
    n = int(line)
    if n < 0:
        return (t, None), i
    if t == b"%":
        n *= 2
    out = []
    for _ in range(n):
        v, i = parse(b, i)
        out.append(v)
    return (t, out), i


def flat(v):
    """Leaves of a parsed reply, in order."""
    if isinstance(v[1], list):
        out = []
        for x in v[1]:
            out += flat(x)
        return out
    return [v]


def normalize(req, raw, encoding, resp):
    """What must be equal between the two servers for this request."""
    name = req[0].upper()
    v, _ = parse(raw)
    if v[0] == b"-" or encoding != b"hashtable":
        if name == "HRANDFIELD" and v[0] != b"-" and len(req) > 2:
            return shape(req, v, resp)
        if name == "HRANDFIELD" and v[0] == b"$" and v[1] is not None:
            return (b"$", "a field")
        return raw
    if name in UNORDERED:
        items = v[1]
        if v[0] == b"%":
            pairs = sorted((items[k][1], items[k + 1][1])
                           for k in range(0, len(items), 2))
            return (v[0], pairs)
        return (v[0], sorted(x[1] for x in items))
    if name == "HSCAN":
        # Cursors and batches are the table's own: compare the contents of
        # a complete scan elsewhere; here only the reply's shape.
        return (v[0], len(v[1]))
    if name == "HRANDFIELD":
        if len(req) == 2:
            return (v[0], v[1] is not None)
        return shape(req, v, resp)
    return raw


def shape(req, v, resp):
    """HRANDFIELD with a count: the reply's type and length, the nesting of
    WITHVALUES in RESP3, and, when every field is returned once, the
    fields themselves."""
    count = int(req[2])
    nested = tuple(x[0] for x in v[1][:1])
    leaves = flat(v)
    if count > 0:
        if len(req) > 3:
            pairs = sorted((leaves[k][1], leaves[k + 1][1])
                           for k in range(0, len(leaves), 2))
            return (v[0], len(v[1]), nested, pairs if count >= 100 else len(set(pairs)))
        return (v[0], len(v[1]), nested,
                sorted(x[1] for x in leaves) if count >= 100
                else len(set(x[1] for x in leaves)))
    return (v[0], len(v[1]), nested)


class Pair:
    """The same commands to dice-server and redis-server."""

    def __init__(self, args=()):
        self.srvs = [dicetest.Server("dice", ARGS + list(args)),
                     dicetest.Server("redis", ARGS + list(args))]
        self.conns = [s.conn() for s in self.srvs]

    def both(self, *req):
        return [c.cmd(*req) for c in self.conns]

    def compare(self, test, req, resp):
        got = self.both(*req)
        key = req[1] if len(req) > 1 else None
        enc = [b""] * 2
        if key is not None and req[0].upper() != "OBJECT":
            enc = self.both("OBJECT", "ENCODING", key)
            test.assertEqual(enc[0], enc[1], ("encoding after", req))
        e = parse(enc[1])[0][1] if enc[1].startswith(b"$") else None
        n = [normalize(req, g, e, resp) for g in got]
        test.assertEqual(n[0], n[1], (resp, req, got))

    def stop(self, test):
        for s in self.srvs:
            test.assertEqual(s.stop(), 0)


@unittest.skipUnless(HAVE_REDIS, "redis-server not installed")
class AgainstRedis(unittest.TestCase):
    def run_fixed(self, resp):
        p = Pair()
        try:
            if resp == 3:
                p.both("HELLO", "3")
            for req in FIXED:
                p.compare(self, req, resp)
        finally:
            p.stop(self)

    def test_fixed_resp2(self):
        self.run_fixed(2)

    def test_fixed_resp3(self):
        self.run_fixed(3)

    def test_entries_threshold(self):
        """512 fields stay a listpack, the 513th converts; HSET of many
        pairs at once converts past the limit; a lowered limit applies to
        the next write; never back."""
        p = Pair()
        try:
            for i in range(512):
                p.both("HSET", "big", "f%d" % i, str(i))
            self.assertEqual(p.both("OBJECT", "ENCODING", "big"),
                             [b"$8\r\nlistpack\r\n"] * 2)
            p.both("HSET", "big", "f512", "x")
            self.assertEqual(p.both("OBJECT", "ENCODING", "big"),
                             [b"$9\r\nhashtable\r\n"] * 2)
            for i in range(500):
                p.both("HDEL", "big", "f%d" % i)
            self.assertEqual(p.both("OBJECT", "ENCODING", "big"),
                             [b"$9\r\nhashtable\r\n"] * 2)
            args = []
            for i in range(513):
                args += ["g%d" % i, "v"]
            self.assertEqual(*p.both("HSET", "many", *args))
            self.assertEqual(p.both("OBJECT", "ENCODING", "many"),
                             [b"$9\r\nhashtable\r\n"] * 2)
            p.both("CONFIG", "SET", "hash-max-listpack-entries", "3")
            p.both("HSET", "small", "a", "1", "b", "2", "c", "3")
            self.assertEqual(p.both("OBJECT", "ENCODING", "small"),
                             [b"$8\r\nlistpack\r\n"] * 2)
            p.both("HSET", "small", "a", "9")
            self.assertEqual(p.both("OBJECT", "ENCODING", "small"),
                             [b"$8\r\nlistpack\r\n"] * 2)
            p.both("HSET", "small", "d", "4")
            self.assertEqual(p.both("OBJECT", "ENCODING", "small"),
                             [b"$9\r\nhashtable\r\n"] * 2)
            p.both("CONFIG", "SET", "hash-max-listpack-entries", "0")
            p.both("HSET", "zero", "a", "1")
            self.assertEqual(p.both("OBJECT", "ENCODING", "zero"),
                             [b"$9\r\nhashtable\r\n"] * 2)
            p.both("CONFIG", "SET", "hash-max-listpack-entries", "512",
                   "hash-max-listpack-value", "0")
            p.both("HSET", "zv", "", "")
            self.assertEqual(p.both("OBJECT", "ENCODING", "zv"),
                             [b"$8\r\nlistpack\r\n"] * 2)
            p.both("HSET", "zv", "a", "")
            self.assertEqual(p.both("OBJECT", "ENCODING", "zv"),
                             [b"$9\r\nhashtable\r\n"] * 2)
            # A full HSCAN of a hashtable returns every pair.
            for c in p.conns:
                cur, seen = b"0", {}
                while True:
                    v, _ = parse(c.cmd("HSCAN", "big", cur, "COUNT", "7"))
                    cur = v[1][0][1]
                    items = v[1][1][1]
                    for k in range(0, len(items), 2):
                        seen[items[k][1]] = items[k + 1][1]
                    if cur == b"0":
                        break
                self.assertEqual(len(seen), 13)
                self.assertEqual(seen[b"f512"], b"x")
        finally:
            p.stop(self)

    def test_random_differential(self):
        seeds = [1, 2, 3, 4, int(time.time()) % 100000]
        print("test_hash random seeds:", seeds, file=sys.stderr)
        for seed in seeds:
            for resp in (2, 3):
                self.random_run(seed, resp)

    def random_run(self, seed, resp):
        rnd = random.Random(seed)
        p = Pair(["--hash-max-listpack-entries", "8",
                  "--hash-max-listpack-value", "16"])
        try:
            if resp == 3:
                p.both("HELLO", "3")
            keys = ["k1", "k2", "k3", "str"]
            p.both("SET", "str", "1")

            def field():
                return rnd.choice(["a", "b", "c", "d", "1", "-2", "007",
                                   "f%d" % rnd.randrange(12),
                                   "long" * rnd.randrange(1, 6)])

            def value():
                return rnd.choice(["1", "-5", "3.25", "x", "",
                                   str(rnd.randrange(-1000, 1000)),
                                   "v" * rnd.randrange(0, 20),
                                   "9223372036854775807"])

            for _ in range(400):
                k = rnd.choice(keys)
                op = rnd.randrange(15)
                if op == 0:
                    n = rnd.randrange(1, 4)
                    args = []
                    for _ in range(n):
                        args += [field(), value()]
                    req = ("HSET", k) + tuple(args)
                elif op == 1:
                    req = ("HSETNX", k, field(), value())
                elif op == 2:
                    req = ("HGET", k, field())
                elif op == 3:
                    req = ("HMGET", k, field(), field())
                elif op == 4:
                    req = ("HDEL", k, field(), field())
                elif op == 5:
                    req = ("HLEN", k)
                elif op == 6:
                    req = ("HSTRLEN", k, field())
                elif op == 7:
                    req = ("HEXISTS", k, field())
                elif op == 8:
                    req = (rnd.choice(["HKEYS", "HVALS", "HGETALL"]), k)
                elif op == 9:
                    req = ("HINCRBY", k, field(),
                           rnd.choice(["1", "-3", "x", "100"]))
                elif op == 10:
                    req = ("HINCRBYFLOAT", k, field(),
                           rnd.choice(["1.5", "-0.25", "x", "1e3", "0"]))
                elif op == 11:
                    req = ("HRANDFIELD", k) + rnd.choice(
                        [(), ("100",), ("100", "WITHVALUES"), ("-3",),
                         ("-3", "WITHVALUES"), ("2",), ("0",)])
                elif op == 12:
                    req = ("HSCAN", k, "0") + rnd.choice(
                        [(), ("MATCH", "f*"), ("COUNT", "100")])
                elif op == 13:
                    req = ("HMSET", k, field(), value())
                else:
                    req = ("DEBUG", "DIGEST-VALUE", k)
                    p.both(*req)  # digests are each server's own
                    continue
                p.compare(self, req, resp)
        finally:
            p.stop(self)

    def test_inline_in_entry(self):
        """Small hashes live inside their key's entry (dice-server): every
        key operation that rebuilds or moves the entry (EXPIRE, PERSIST,
        RENAME, COPY, MOVE, overwrite) keeps the hash intact, writes after
        them work, and growth past the inline limit or the value limit, or
        deletion of every field, behave as Redis."""
        p = Pair()
        try:
            seq = [
                ("HSET", "h", "f0", "v10000", "f1", "v10001", "f2", "2"),
                ("EXPIRE", "h", "1000"),
                ("HSET", "h", "f3", "v3"),
                ("HGETALL", "h"),
                ("HSET", "h", "f3", "v4"),  # same length: in place
                ("HGET", "h", "f3"),
                ("PERSIST", "h"),
                ("HINCRBY", "h", "f2", "40"),
                ("HINCRBYFLOAT", "h", "f2", "0.5"),
                ("RENAME", "h", "r"),
                ("HDEL", "r", "f0", "nope"),
                ("COPY", "r", "c"),
                ("HSET", "c", "f9", "x"),
                ("HGETALL", "r"),
                ("HGETALL", "c"),
                ("MOVE", "c", "1"),
                ("GET", "r"),
                ("APPEND", "r", "x"),
                ("HSETNX", "r", "f1", "no"),
                ("HSETNX", "r", "new", "yes"),
                ("HSTRLEN", "r", "new"),
                ("HSET", "r", "long", "y" * 300),  # past the inline size
                ("HSET", "r", "f1", "z"),
                ("HGETALL", "r"),
                ("HSET", "r", "big", LONG),  # converts
                ("HLEN", "r"),
                ("HSET", "s", "a", "1"),
                ("HDEL", "s", "a"),
                ("EXISTS", "s"),
                ("HSET", "s", "a", "1", "b", "2"),
                ("SET", "s", "str"),
                ("GET", "s"),
                ("HSET", "w", "k", "5"),
                ("RPUSH", "l", "w"),
                ("SORT", "l", "BY", "w->k", "GET", "w->k"),
                ("HRANDFIELD", "w", "-3", "WITHVALUES"),
            ]
            for req in seq:
                p.compare(self, req, 2)
            keys = [sorted(x[1] for x in parse(g)[0][1][1][1])
                    for g in p.both("SCAN", "0", "TYPE", "hash")]
            self.assertEqual(keys[0], keys[1])
            for i in range(200):
                k = "k%d" % (i % 7)
                op = random.Random(i).choice(("HSET", "HDEL", "EXPIRE"))
                if op == "HSET":
                    req = ("HSET", k, "f%d" % (i % 11), "v" * (i % 40))
                elif op == "HDEL":
                    req = ("HDEL", k, "f%d" % (i % 11))
                else:
                    req = ("EXPIRE", k, "100")
                p.compare(self, req, 2)
                p.compare(self, ("HGETALL", k), 2)
            p.both("SELECT", "1")
            p.compare(self, ("HGETALL", "c"), 2)
            p.both("FLUSHALL", "ASYNC")
            p.compare(self, ("DBSIZE",), 2)
        finally:
            p.stop(self)


class DiceOnly(unittest.TestCase):
    def setUp(self):
        self.srv = dicetest.Server("dice", ARGS)
        self.c = self.srv.conn()

    def tearDown(self):
        self.assertEqual(self.srv.stop(), 0)

    def digest(self, key):
        return self.c.cmd("DEBUG", "DIGEST-VALUE", key)

    def test_generic_commands(self):
        c = self.c
        c.cmd("HSET", "h", "a", "1", "b", "2")
        self.assertEqual(c.cmd("TYPE", "h"), b"+hash\r\n")
        self.assertEqual(c.cmd("COPY", "h", "h2"), b":1\r\n")
        self.assertEqual(self.digest("h"), self.digest("h2"))
        c.cmd("HSET", "h2", "a", "9")
        self.assertNotEqual(self.digest("h"), self.digest("h2"))
        self.assertEqual(c.cmd("HGET", "h", "a"), b"$1\r\n1\r\n")
        # Same content, other encoding or order: same digest.
        c.cmd("HSET", "t", "b", "2", "a", "1", "big", LONG)
        c.cmd("HDEL", "t", "big")
        self.assertEqual(c.cmd("OBJECT", "ENCODING", "t"),
                         b"$9\r\nhashtable\r\n")
        self.assertEqual(self.digest("h"), self.digest("t"))
        self.assertEqual(c.cmd("COPY", "t", "t2"), b":1\r\n")
        self.assertEqual(c.cmd("OBJECT", "ENCODING", "t2"),
                         b"$9\r\nhashtable\r\n")
        self.assertEqual(self.digest("t"), self.digest("t2"))
        self.assertEqual(c.cmd("RENAME", "h2", "r"), b"+OK\r\n")
        self.assertEqual(c.cmd("HGET", "r", "a"), b"$1\r\n9\r\n")
        self.assertEqual(c.cmd("MOVE", "r", "1"), b":1\r\n")
        self.assertEqual(c.cmd("SELECT", "1"), b"+OK\r\n")
        self.assertEqual(c.cmd("HLEN", "r"), b":2\r\n")
        self.assertEqual(c.cmd("SELECT", "0"), b"+OK\r\n")
        c.cmd("SET", "str", "v")
        self.assertEqual(c.cmd("SCAN", "0", "TYPE", "hash", "COUNT", "100")
                         .count(b"\r\n"), 4 + 2 * 3)
        for k in ("h", "t"):
            m = c.cmd("MEMORY", "USAGE", k)
            self.assertTrue(m.startswith(b":") and int(m[1:]) > 16, m)

    def test_inline_memory(self):
        """A small hash lives inside its key's entry: MEMORY USAGE of ten
        small fields (a 127-byte listpack) is one 160-byte chunk with glibc
        (it was 168: a 24-byte pooled entry and a 144-byte chunk); an
        expire, a rename and a write keep it there."""
        c = self.c
        args = []
        for j in range(10):
            args += ["f%d" % j, "v%d" % (12345 + j)]
        c.cmd("HSET", "hash:12345", *args)
        m = c.cmd("MEMORY", "USAGE", "hash:12345")
        self.assertLessEqual(int(m[1:]), 160, m)
        c.cmd("EXPIRE", "hash:12345", "100")
        c.cmd("RENAME", "hash:12345", "hash:54321")
        c.cmd("HSET", "hash:54321", "f0", "v99999")
        m = c.cmd("MEMORY", "USAGE", "hash:54321")
        self.assertLessEqual(int(m[1:]), 168, m)
        self.assertEqual(c.cmd("HGET", "hash:54321", "f9"),
                         b"$6\r\nv12354\r\n")
        self.assertEqual(c.cmd("HLEN", "hash:54321"), b":10\r\n")

    def addr(self, key):
        d = self.c.cmd("DEBUG", "OBJECT", key)
        return d.split(b"Value at:")[1].split(b" ")[0]

    def test_new_hash_inline_at_once(self):
        """Every command that creates a hash stores a small new one inline
        in its key's entry straight away (DEBUG OBJECT shows the tagged
        address, bit 63), a big new one (past the inline size, or past the
        value limit) by pointer; a value of the same encoded size is
        rewritten in place (the address stays), and WATCH sees both kinds
        of change, and the creation of a watched missing key."""
        c = self.c
        inline = lambda k: self.addr(k).startswith(b"0x8")  # noqa: E731
        self.assertEqual(c.cmd("HSET", "n1", "f", "v", "g", "w"), b":2\r\n")
        self.assertEqual(c.cmd("HSETNX", "n2", "f", "v"), b":1\r\n")
        self.assertEqual(c.cmd("HINCRBY", "n3", "f", "5"), b":5\r\n")
        self.assertEqual(c.cmd("HINCRBYFLOAT", "n4", "f", "1.5"),
                         b"$3\r\n1.5\r\n")
        self.assertEqual(c.cmd("HMSET", "n5", "a", "1"), b"+OK\r\n")
        for k in ("n1", "n2", "n3", "n4", "n5"):
            self.assertTrue(inline(k), k)
            self.assertEqual(c.cmd("TYPE", k), b"+hash\r\n")
        self.assertEqual(c.cmd("HGETALL", "n1"),
                         b"*4\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\ng\r\n$1\r\nw\r\n")
        self.assertEqual(c.cmd("HGET", "n4", "f"), b"$3\r\n1.5\r\n")
        # Too big to be inline, or converted at once: by pointer.
        args = []
        for j in range(40):
            args += ["field-%08d" % j, "value-%08d" % j]
        self.assertEqual(c.cmd("HSET", "big", *args), b":40\r\n")
        self.assertFalse(inline("big"))
        self.assertEqual(c.cmd("OBJECT", "ENCODING", "big"),
                         b"$8\r\nlistpack\r\n")
        self.assertEqual(c.cmd("HGET", "big", "field-00000039"),
                         b"$14\r\nvalue-00000039\r\n")
        self.assertEqual(c.cmd("HSET", "tab", "f", LONG), b":1\r\n")
        self.assertFalse(inline("tab"))
        self.assertEqual(c.cmd("OBJECT", "ENCODING", "tab"),
                         b"$9\r\nhashtable\r\n")
        # Same encoded size: in place.
        a = self.addr("n1")
        self.assertEqual(c.cmd("HSET", "n1", "f", "x"), b":0\r\n")
        self.assertEqual(self.addr("n1"), a)
        a = self.addr("n3")
        self.assertEqual(c.cmd("HINCRBY", "n3", "f", "1"), b":6\r\n")
        self.assertEqual(self.addr("n3"), a)
        # 6 -> 206: a 1-byte integer becomes a 2-byte one.
        self.assertEqual(c.cmd("HINCRBY", "n3", "f", "200"), b":206\r\n")
        self.assertTrue(inline("n3"))
        self.assertEqual(c.cmd("HGET", "n3", "f"), b"$3\r\n206\r\n")
        self.assertEqual(c.cmd("HSET", "n1", "g", "12345"), b":0\r\n")
        self.assertEqual(c.cmd("HGETALL", "n1"),
                         b"*4\r\n$1\r\nf\r\n$1\r\nx\r\n$1\r\ng\r\n"
                         b"$5\r\n12345\r\n")
        # WATCH sees an in-place write and a creation.
        o = self.srv.conn()
        for key, req in (("n1", ("HSET", "n1", "f", "y")),
                         ("n9", ("HSET", "n9", "f", "v")),
                         ("n8", ("HINCRBY", "n8", "f", "1"))):
            self.assertEqual(c.cmd("WATCH", key), b"+OK\r\n")
            o.cmd(*req)
            self.assertEqual(c.cmd("MULTI"), b"+OK\r\n")
            c.cmd("PING")
            self.assertEqual(c.cmd("EXEC"), b"*-1\r\n", key)
        self.assertEqual(c.cmd("HGET", "n1", "f"), b"$1\r\ny\r\n")
        self.assertEqual(c.cmd("HGET", "n8", "f"), b"$1\r\n1\r\n")
        # Keyspace events of a creation as Redis's (hset, nothing else).
        c.cmd("CONFIG", "SET", "notify-keyspace-events", "KEA")
        sub = self.srv.conn()
        sub.cmd("PSUBSCRIBE", "__keyspace@0__:n7")
        c.cmd("HSET", "n7", "f", "v")
        self.assertIn(b"hset", sub.read_reply())

    def test_python_client(self):
        r = self.srv.redis(decode_responses=True)
        self.assertEqual(r.hset("p", mapping={"a": "1", "b": "x"}), 2)
        self.assertEqual(r.hgetall("p"), {"a": "1", "b": "x"})
        self.assertEqual(r.hincrbyfloat("p", "a", 0.5), 1.5)
        self.assertEqual(r.hincrby("p", "n", 3), 3)
        self.assertEqual(sorted(r.hkeys("p")), ["a", "b", "n"])
        self.assertEqual(r.hmget("p", ["a", "zz"]), ["1.5", None])
        self.assertEqual(dict(r.hscan_iter("p")), {"a": "1.5", "b": "x",
                                                   "n": "3"})
        self.assertEqual(len(r.hrandfield("p", -5, withvalues=True)), 10)
        self.assertEqual(r.hdel("p", "a", "b", "n"), 3)
        self.assertEqual(r.exists("p"), 0)

    def test_redis_cli(self):
        out = subprocess.run(
            ["redis-cli", "-p", str(self.srv.port), "HSET", "c", "f", "v"],
            capture_output=True, text=True).stdout
        self.assertEqual(out, "1\n")
        out = subprocess.run(
            ["redis-cli", "-p", str(self.srv.port), "HGETALL", "c"],
            capture_output=True, text=True).stdout
        self.assertEqual(out, "f\nv\n")


if __name__ == "__main__":
    dicetest.main(globals())
