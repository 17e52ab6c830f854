"""The HyperLogLog commands of dice-server (PFADD PFCOUNT PFMERGE PFDEBUG
PFSELFTEST) against redis-server 7.0: same replies, same counts and the
same bytes (GET of every HyperLogLog key compared byte for byte).

- A table of calls with every error text and PFDEBUG sub-command.
- Randomized differential runs (fixed seeds plus one random seed,
  printed): PFADD batches growing keys through the sparse -> dense
  promotion, PFCOUNT of one key and of several, PFMERGE of sparse and
  dense keys, under several hll-sparse-max-bytes settings, with GET and
  PFDEBUG GETREG / DECODE compared.
- Interchange: values made by redis-server, moved with GET/SET into
  dice-server (and back), count and grow the same.
- Hostile values: corrupted sparse bodies and headers answer Redis's
  INVALIDOBJ / WRONGTYPE errors and the server stays up (the sanitizer
  build runs this too)."""
import os
import random
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402
from test_pubsub import events  # noqa: E402

CORRUPT = b"-INVALIDOBJ Corrupted HLL object detected\r\n"
NOT_HLL = b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"


def header(enc, card=0, stale=True):
    c = bytearray(struct.pack("<Q", card))
    if stale:
        c[7] |= 0x80
    return b"HYLL" + bytes([enc, 0, 0, 0]) + bytes(c)


def xzero(n):
    n -= 1
    return bytes([0x40 | (n >> 8), n & 0xff])


class HllBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not dicetest.have_redis_server():
            raise unittest.SkipTest("redis-server not installed")
        cls.dice = dicetest.Server("dice")
        cls.red = dicetest.Server("redis")

    @classmethod
    def tearDownClass(cls):
        rc = cls.dice.stop()
        cls.red.stop()
        assert rc == 0, "dice-server exit code %r" % rc

    def setUp(self):
        self.d = self.dice.conn()
        self.r = self.red.conn()
        for c in (self.d, self.r):
            c.cmd("FLUSHALL")
            c.cmd("CONFIG", "SET", "hll-sparse-max-bytes", "3000")

    def tearDown(self):
        self.d.close()
        self.r.close()

    def same(self, *args):
        a, b = self.d.cmd(*args), self.r.cmd(*args)
        self.assertEqual(a, b, "%r: dice %r redis %r" % (args, a[:300],
                                                          b[:300]))
        return a

    def config(self, name, value):
        for c in (self.d, self.r):
            self.assertEqual(c.cmd("CONFIG", "SET", name, value), b"+OK\r\n")


TABLE = [
    ("PFADD", "h"), ("GET", "h"), ("PFADD", "h"), ("PFCOUNT", "h"), ("GET", "h"),
    ("PFADD", "h", "a", "b", "c"), ("GET", "h"), ("PFADD", "h", "a"),
    ("PFCOUNT", "h"), ("GET", "h"), ("OBJECT", "ENCODING", "h"),
    ("PFDEBUG", "DECODE", "h"), ("PFDEBUG", "ENCODING", "h"),
    ("PFDEBUG", "encoding", "h"), ("PFDEBUG", "NOSUCH", "h"),
    ("PFDEBUG", "NOSUCH", "nokey"), ("PFDEBUG", "GETREG", "nokey"),
    ("PFDEBUG", "GETREG"), ("PFDEBUG", "GETREG", "h", "x"),
    ("PFCOUNT", "nokey"), ("PFCOUNT", "nokey", "nokey2"), ("PFCOUNT",),
    ("PFADD",), ("PFMERGE",), ("PFSELFTEST", "x"),
    ("SET", "s", "foo"), ("PFADD", "s", "a"), ("PFCOUNT", "s"),
    ("PFCOUNT", "h", "s"), ("PFMERGE", "s", "h"), ("PFMERGE", "h", "s"),
    ("PFDEBUG", "ENCODING", "s"), ("SET", "i", "123"), ("PFCOUNT", "i"),
    ("RPUSH", "l", "x"), ("PFADD", "l", "a"), ("PFCOUNT", "l"),
    ("PFCOUNT", "h", "l"), ("PFMERGE", "l", "h"), ("PFMERGE", "h", "l"),
    ("PFDEBUG", "DECODE", "l"),
    ("PFADD", "h2", "x", "y", "z", "a"), ("PFCOUNT", "h", "h2"),
    ("PFCOUNT", "h", "h2", "nokey"), ("PFMERGE", "h3", "h", "h2"),
    ("GET", "h3"), ("PFCOUNT", "h3"), ("GET", "h3"), ("PFMERGE", "h3"),
    ("GET", "h3"), ("PFMERGE", "h4"), ("GET", "h4"), ("PFMERGE", "h4", "no"),
    ("GET", "h4"), ("PFMERGE", "h", "h"), ("GET", "h"),
    ("PFDEBUG", "TODENSE", "h3"), ("GET", "h3"), ("PFDEBUG", "TODENSE", "h3"),
    ("PFDEBUG", "DECODE", "h3"), ("PFDEBUG", "ENCODING", "h3"),
    ("PFCOUNT", "h3"), ("PFADD", "h3", "new"), ("PFCOUNT", "h3"),
    ("GET", "h3"), ("PFMERGE", "h5", "h3", "h"), ("GET", "h5"),
    ("PFDEBUG", "ENCODING", "h5"), ("PFMERGE", "h", "h5"),
    ("PFDEBUG", "ENCODING", "h"), ("PFDEBUG", "GETREG", "h2"), ("GET", "h2"),
    ("PFADD", "e", ""), ("GET", "e"), ("PFSELFTEST",),
    ("SET", "t", "x", "EX", 100), ("DEL", "t"), ("PFADD", "t", "a"),
    ("TTL", "t"),
]


class TestHllCommands(HllBase):
    def test_table_resp2(self):
        for args in TABLE:
            self.same(*args)

    def test_table_resp3(self):
        for c in (self.d, self.r):
            c.cmd("HELLO", "3")
        for args in TABLE:
            self.same(*args)

    def test_error_texts(self):
        c = self.d
        c.cmd("SET", "s", "plain")
        self.assertEqual(c.cmd("PFADD", "s", "x"), NOT_HLL)
        self.assertEqual(c.cmd("PFDEBUG", "GETREG", "nokey"),
                         b"-ERR The specified key does not exist\r\n")
        c.cmd("PFADD", "h", "a")
        self.assertEqual(c.cmd("PFDEBUG", "what", "h"),
                         b"-ERR Unknown PFDEBUG subcommand 'what'\r\n")
        c.cmd("PFDEBUG", "TODENSE", "h")
        self.assertEqual(c.cmd("PFDEBUG", "DECODE", "h"),
                         b"-ERR HLL encoding is not sparse\r\n")

    def test_notifications(self):
        cases = [("PFADD", "h", "a"), ("PFADD", "h", "a"), ("PFADD", "n"),
                 ("PFCOUNT", "h"), ("PFCOUNT", "h"), ("PFCOUNT", "nokey"),
                 ("PFCOUNT", "h", "nokey"), ("PFMERGE", "m", "h", "nokey"),
                 ("PFMERGE", "m"), ("PFDEBUG", "TODENSE", "m"),
                 ("PFDEBUG", "GETREG", "nokey")]
        for proto in (2, 3):
            want = events(self.red.port, cases, proto)
            got = events(self.dice.port, cases, proto)
            for w, g in zip(want, got):
                self.assertEqual(g, w, "RESP%d %r" % (proto, w[0]))

    def test_redis_py_client(self):
        d, r = self.dice.redis(), self.red.redis()
        for cl in (d, r):
            cl.pfadd("p1", *["e%d" % i for i in range(500)])
            cl.pfadd("p2", *["e%d" % i for i in range(250, 900)])
            cl.pfmerge("p3", "p1", "p2")
        self.assertEqual(d.pfcount("p1"), r.pfcount("p1"))
        self.assertEqual(d.pfcount("p1", "p2"), r.pfcount("p1", "p2"))
        self.assertEqual(d.pfcount("p3"), r.pfcount("p3"))
        for k in ("p1", "p2", "p3"):
            self.assertEqual(d.get(k), r.get(k), k)

    def test_interchange(self):
        # Values made by one server, moved with GET/SET into the other,
        # give the same count and grow to the same bytes.
        rnd = random.Random(11)
        for n in (0, 1, 10, 300, 2000, 20000):
            elems = ["m%d" % rnd.randrange(1 << 40) for _ in range(n)]
            for i in range(0, len(elems), 1000):
                self.r.cmd("PFADD", "src", *elems[i:i + 1000])
            if not elems:
                self.r.cmd("PFADD", "src")
            raw = self.r.cmd("GET", "src")
            val = raw.split(b"\r\n", 1)[1][:-2]
            self.d.cmd("SET", "src", val)
            self.same("PFCOUNT", "src")
            self.same("GET", "src")
            self.same("PFADD", "src", "one", "more", "element")
            self.same("GET", "src")
            self.same("PFCOUNT", "src")
            # And back: dice-server's bytes into redis-server.
            raw = self.d.cmd("GET", "src")
            self.r.cmd("SET", "back", raw.split(b"\r\n", 1)[1][:-2])
            self.assertEqual(self.r.cmd("PFCOUNT", "back"),
                             self.d.cmd("PFCOUNT", "src"))
            for c in (self.d, self.r):
                c.cmd("DEL", "src", "back")

    def test_hostile_values(self):
        sp = header(1)
        dense_body = bytes(12288)
        cases = [
            sp,                                    # no registers at all
            sp + xzero(16383),                     # one register short
            sp + xzero(16384) + b"\x00",           # one too many
            sp + bytes([0xff]) * 4097,             # VAL runs past the end
            sp + xzero(16380) + bytes([0xfc, 0x00]),  # VAL 32 x1 then 1 zero
            sp + bytes([0x3f]) * 300,              # ZERO runs short
            sp + xzero(16384) * 2,                 # XZEROs past the end
            sp + xzero(1) + xzero(16383),          # non-canonical, valid
            sp + bytes([0x80]) + xzero(16383),     # VAL 1 x1, valid
            header(0) + dense_body,                # dense, valid
            header(0) + bytes([0xff]) * 12288,     # dense, registers 63
            header(0) + dense_body[:-1],           # dense, too short
            header(0) + dense_body + b"\x00",      # dense, too long
            header(2) + xzero(16384),              # unknown encoding
            b"HYLX" + sp[4:] + xzero(16384),       # bad magic
            sp[:15],                               # short header
            header(1, 12345, stale=False) + xzero(16384),  # cached 12345
        ]
        for i, v in enumerate(cases):
            for cmd in (("PFCOUNT", "k"), ("PFADD", "k", "a", "b"),
                        ("PFCOUNT", "k", "other"), ("PFMERGE", "dst", "k"),
                        ("PFMERGE", "k", "other"), ("PFDEBUG", "GETREG", "k"),
                        ("PFDEBUG", "DECODE", "k"), ("PFDEBUG", "TODENSE", "k"),
                        ("PFADD", "k", *("x%d" % j for j in range(200)))):
                for c in (self.d, self.r):
                    c.cmd("DEL", "k", "dst")
                    c.cmd("SET", "k", v)
                    c.cmd("PFADD", "other", "o")
                got = self.d.cmd(*cmd)
                want = self.r.cmd(*cmd)
                self.assertEqual(got, want, "case %d %r: dice %r redis %r"
                                 % (i, cmd, got[:100], want[:100]))
                self.same("GET", "k")
                self.same("GET", "dst")
        self.assertEqual(self.d.cmd("PING"), b"+PONG\r\n")

    def test_hostile_values_dice_only(self):
        # Values where redis-server reads past the end of the string (its
        # terminator): dice-server must answer an error, not crash.
        c = self.d
        for v in (header(1) + b"\x40", header(1) + b"\x7f",
                  header(1) + xzero(16383) + b"\x7f",
                  header(1) + bytes([0x40, 0x00]) * 9000 + b"\x7f"):
            for cmd in (("PFCOUNT", "k"), ("PFADD", "k", "a"),
                        ("PFMERGE", "d", "k"), ("PFDEBUG", "DECODE", "k"),
                        ("PFDEBUG", "TODENSE", "k"), ("PFCOUNT", "k", "k")):
                c.cmd("SET", "k", v)
                r = c.cmd(*cmd)
                self.assertTrue(r.startswith(b"-") or r.startswith(b"$") or
                                r.startswith(b":"), (cmd, r[:80]))
        self.assertEqual(c.cmd("PING"), b"+PONG\r\n")


class TestHllDifferential(HllBase):
    KEYS = ["a", "b", "c"]

    def run_seed(self, seed, sparse_max, steps=120):
        rnd = random.Random(seed)
        for c in (self.d, self.r):
            c.cmd("FLUSHALL")
        self.config("hll-sparse-max-bytes", str(sparse_max))
        hist = []
        for _ in range(steps):
            k = rnd.choice(self.KEYS)
            r = rnd.random()
            if r < 0.6:
                n = rnd.choice([0, 1, 2, 5, 20, 100, 400])
                pool = rnd.choice([50, 1000, 1 << 30])
                args = ["PFADD", k] + ["e%d" % rnd.randrange(pool)
                                       for _ in range(n)]
            elif r < 0.75:
                args = ["PFCOUNT"] + rnd.sample(self.KEYS + ["none"],
                                                rnd.randint(1, 3))
            elif r < 0.88:
                args = ["PFMERGE", k] + rnd.sample(self.KEYS + ["none"],
                                                   rnd.randint(0, 3))
            elif r < 0.92:
                args = ["PFDEBUG", rnd.choice(["ENCODING", "DECODE",
                                               "TODENSE"]), k]
            elif r < 0.95:
                args = ["PFDEBUG", "GETREG", k]
            else:
                args = ["DEL", k]
            hist.append(args[:4])
            a, b = self.d.cmd(*args), self.r.cmd(*args)
            if a != b:
                self.fail("seed %d max %d: %r: dice %r redis %r; history %r"
                          % (seed, sparse_max, args[:6], a[:200], b[:200],
                             hist[-10:]))
            for key in self.KEYS:
                if self.d.cmd("GET", key) != self.r.cmd("GET", key):
                    self.fail("seed %d max %d after %r: GET %s differs"
                              % (seed, sparse_max, args[:6], key))

    def test_seeds(self):
        seeds = [1, 2, 3, random.randrange(1 << 30)]
        print("random seed", seeds[-1], file=sys.stderr)
        for seed in seeds:
            for sparse_max in (3000, 0, 200, 12000):
                self.run_seed(seed, sparse_max)

    def test_promotion_and_counts(self):
        # One key grown element by element through the promotion: bytes
        # and counts equal at every step around it, counts at scale.
        rnd = random.Random(5)
        for i in range(3000):
            e = "p%d" % rnd.randrange(1 << 40)
            self.same("PFADD", "g", e)
            if i % 50 == 0 or 900 < i < 1300:
                self.same("GET", "g")
            if i % 97 == 0:
                self.same("PFCOUNT", "g")
        self.same("PFDEBUG", "ENCODING", "g")
        for n in (10000, 100000):
            for c in (self.d, self.r):
                c.cmd("DEL", "big")
            elems = ["b%d" % i for i in range(n)]
            for i in range(0, n, 2000):
                self.same("PFADD", "big", *elems[i:i + 2000])
            self.same("PFCOUNT", "big")
            self.same("GET", "big")
            self.same("PFCOUNT", "big", "g")
            self.same("PFMERGE", "u", "big", "g")
            self.same("GET", "u")


if __name__ == "__main__":
    dicetest.main(globals())
