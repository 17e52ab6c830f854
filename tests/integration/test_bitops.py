"""The bitmap commands of dice-server (SETBIT GETBIT BITCOUNT BITPOS BITOP
BITFIELD BITFIELD_RO) against redis-server 7.0, byte for byte.

- A table of calls covering every option and error text (argument checks
  in Redis's order, which decides which error a bad call gets), compared
  reply for reply in RESP2 and RESP3, plus the exact texts written out.
- proto-max-bulk-len: offsets past it are refused, below it accepted (at
  a lowered limit, so the test allocates little).
- Storage: OBJECT ENCODING, TTL and value bytes after each write kind.
- Keyspace notifications (setbit, set, del, keymiss) as Redis sends them.
- python3-redis as a real client.
- A randomized differential run (fixed seeds plus one random seed,
  printed): BITFIELD sequences with every type, width, overflow policy and
  `#` offsets, SETBIT, BITCOUNT/BITPOS over random BYTE/BIT ranges, BITOP
  of several keys, with GET of every key compared after each step."""
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402
from test_pubsub import events  # noqa: E402

ERR_OFFSET = b"-ERR bit offset is not an integer or out of range\r\n"
ERR_BIT = b"-ERR bit is not an integer or out of range\r\n"
ERR_TYPE = (b"-ERR Invalid bitfield type. Use something like i16 u8. Note "
            b"that u64 is not supported but i64 is.\r\n")
NOTINT = b"-ERR value is not an integer or out of range\r\n"
SYNTAX = b"-ERR syntax error\r\n"
WRONGTYPE = (b"-WRONGTYPE Operation against a key holding the wrong kind of "
             b"value\r\n")


class BitBase(unittest.TestCase):
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

    def tearDown(self):
        self.d.close()
        self.r.close()

    def same(self, *args):
        a, b = self.d.cmd(*args), self.r.cmd(*args)
        self.assertEqual(a, b, "%r: dice %r redis %r" % (args, a[:300],
                                                          b[:300]))
        return a


TABLE = [
    # SETBIT / GETBIT
    ("SETBIT", "b", 7, 1), ("SETBIT", "b", 7, 1), ("SETBIT", "b", 7, 0),
    ("GET", "b"), ("SETBIT", "b", 100, 1), ("GET", "b"), ("GETBIT", "b", 100),
    ("GETBIT", "b", 99), ("GETBIT", "b", 1000000), ("GETBIT", "nosuch", 5),
    ("SETBIT", "b", -1, 1), ("SETBIT", "b", "x", 1), ("SETBIT", "b", "1.5", 1),
    ("SETBIT", "b", "#1", 1), ("SETBIT", "b", 1, 2), ("SETBIT", "b", 1, -1),
    ("SETBIT", "b", 1, "x"), ("SETBIT", "b", "x", "x"),
    ("SETBIT", "b", 4294967296, 1), ("GETBIT", "b", 4294967296),
    ("GETBIT", "b", -1), ("GETBIT", "b", "x"), ("SETBIT", "b"),
    ("GETBIT", "b"), ("SET", "n", "12345"), ("GETBIT", "n", 2),
    ("SETBIT", "n", 2, 1), ("GET", "n"), ("OBJECT", "ENCODING", "n"),
    ("SET", "e", "short"), ("SETBIT", "e", 0, 1), ("OBJECT", "ENCODING", "e"),
    ("SETBIT", "fresh", 3, 1), ("OBJECT", "ENCODING", "fresh"),
    ("LPUSH", "l", "x"), ("SETBIT", "l", 0, 1), ("GETBIT", "l", 0),
    ("SETBIT", "l", -1, 1),
    # BITCOUNT
    ("SET", "s", "foobar"), ("BITCOUNT", "s"), ("BITCOUNT", "s", 0, 0),
    ("BITCOUNT", "s", 1, 1), ("BITCOUNT", "s", 1, 1, "BYTE"),
    ("BITCOUNT", "s", 5, 30, "BIT"), ("BITCOUNT", "s", -3, -1, "bit"),
    ("BITCOUNT", "s", -1, -3), ("BITCOUNT", "s", 2, 1), ("BITCOUNT", "s", 0),
    ("BITCOUNT", "s", 0, 1, "bits"), ("BITCOUNT", "s", "a", 1),
    ("BITCOUNT", "s", 0, "b"), ("BITCOUNT", "s", 0, 1, "BIT", "x"),
    ("BITCOUNT", "s", -100, 100), ("BITCOUNT", "s", -100, 100, "BIT"),
    ("BITCOUNT", "nosuch"), ("BITCOUNT", "nosuch", "a", "b"),
    ("BITCOUNT", "nosuch", 0), ("BITCOUNT", "l"), ("BITCOUNT", "l", "a"),
    ("BITCOUNT", "n"), ("BITCOUNT", "n", 1, 2, "BIT"), ("SET", "empty", ""),
    ("BITCOUNT", "empty"), ("BITCOUNT", "empty", 0, -1, "BIT"),
    ("BITCOUNT", "s", 3, 3, "BIT"), ("BITCOUNT", "s", 9, 9, "BIT"),
    # BITPOS
    ("SET", "p", b"\xff\xf0\x00"), ("BITPOS", "p", 0), ("BITPOS", "p", 1),
    ("BITPOS", "p", 0, 2), ("BITPOS", "p", 1, 2), ("BITPOS", "p", 1, 2, -1),
    ("BITPOS", "p", 0, 0, 1), ("BITPOS", "p", 0, 0, 0),
    ("BITPOS", "p", 0, 7, 15, "BIT"), ("BITPOS", "p", 1, 7, 15, "BIT"),
    ("BITPOS", "p", 0, 0, 11, "BIT"), ("BITPOS", "p", 0, 3, "BIT"),
    ("BITPOS", "p", 1, 13, "BIT"), ("BITPOS", "p", 1, -5, -1, "BIT"),
    ("BITPOS", "p", 0, -100, 100), ("BITPOS", "p", 2), ("BITPOS", "p", -1),
    ("BITPOS", "p", "x"), ("BITPOS", "p", 0, "x"), ("BITPOS", "p", 0, 0, "x"),
    ("BITPOS", "p", 0, 0, 1, "x"), ("BITPOS", "p", 0, 0, "x", "bit"),
    ("BITPOS", "p", 0, 0, 1, "bit", "x"), ("BITPOS", "nosuch", 0),
    ("BITPOS", "nosuch", 1), ("BITPOS", "nosuch", 1, "x", "y", "z", "w"),
    ("BITPOS", "nosuch", 2), ("BITPOS", "l", 0), ("BITPOS", "l", 3),
    ("SET", "ones", b"\xff\xff"), ("BITPOS", "ones", 0),
    ("BITPOS", "ones", 0, 0, -1), ("BITPOS", "ones", 0, 1),
    ("BITPOS", "ones", 0, 0, 15, "BIT"), ("BITPOS", "ones", 0, 3, "BIT"),
    ("BITPOS", "empty", 0), ("BITPOS", "empty", 1), ("BITPOS", "n", 1),
    ("BITPOS", "p", 0, 5, 2), ("BITPOS", "p", 1, 2, 1, "BIT"),
    # BITOP
    ("SET", "x", b"\x0f\xf0\xaa"), ("SET", "y", b"\xff\x00"),
    ("BITOP", "AND", "d", "x", "y"), ("GET", "d"),
    ("BITOP", "or", "d", "x", "y", "nosuch"), ("GET", "d"),
    ("BITOP", "XOR", "d", "x", "y", "x"), ("GET", "d"),
    ("BITOP", "NOT", "d", "x"), ("GET", "d"), ("OBJECT", "ENCODING", "d"),
    ("BITOP", "AND", "d", "x", "nosuch"), ("GET", "d"),
    ("BITOP", "NOT", "d", "nosuch"), ("EXISTS", "d"),
    ("BITOP", "AND", "d", "nosuch", "nosuch2"), ("BITOP", "NOT", "d", "x", "y"),
    ("BITOP", "NAND", "d", "x"), ("BITOP", "AND", "d", "x", "l"),
    ("BITOP", "AND", "l", "x"), ("TYPE", "l"), ("BITOP", "AND", "d"),
    ("SET", "t", "v", "EX", 100), ("BITOP", "OR", "t", "x"), ("TTL", "t"),
    ("BITOP", "OR", "x", "x", "y"), ("GET", "x"), ("SET", "num", 7),
    ("BITOP", "OR", "d", "num"), ("GET", "d"), ("OBJECT", "ENCODING", "d"),
    ("BITOP", "AND", "d", "empty"), ("EXISTS", "d"),
    # BITFIELD
    ("BITFIELD", "f"), ("EXISTS", "f"), ("BITFIELD", "f", "GET", "u8", 0),
    ("EXISTS", "f"), ("BITFIELD", "f", "SET", "u8", 0, 255), ("GET", "f"),
    ("BITFIELD", "f", "GET", "u8", 0, "GET", "i8", 0, "GET", "u4", 4),
    ("BITFIELD", "f", "SET", "i5", 3, -3, "GET", "i5", 3, "GET", "u16", 0),
    ("BITFIELD", "f", "INCRBY", "u2", 100, 1, "OVERFLOW", "SAT", "INCRBY",
     "u2", 102, 5, "OVERFLOW", "FAIL", "INCRBY", "u2", 104, 5, "get", "u8",
     96),
    ("BITFIELD", "f", "SET", "u8", "#1", 200, "GET", "u8", "#1", "GET", "u8",
     8), ("BITFIELD", "f", "SET", "i64", 0, -1, "GET", "i64", 0),
    ("BITFIELD", "f", "INCRBY", "i64", 0, -9223372036854775807, "INCRBY",
     "i64", 0, -9223372036854775807),
    ("BITFIELD", "f", "OVERFLOW", "SAT", "INCRBY", "i64", 0, -10, "INCRBY",
     "i64", 0, -9223372036854775808, "OVERFLOW", "wrap", "INCRBY", "i64", 0,
     -1), ("BITFIELD", "f", "SET", "u63", 1, -1, "OVERFLOW", "SAT", "SET",
           "u63", 1, -1, "OVERFLOW", "FAIL", "SET", "u63", 1, -1, "GET", "u63",
           1), ("BITFIELD", "f", "GET", "u64", 0),
    ("BITFIELD", "f", "GET", "i65", 0), ("BITFIELD", "f", "GET", "i0", 0),
    ("BITFIELD", "f", "GET", "U8", 0), ("BITFIELD", "f", "GET", "8", 0),
    ("BITFIELD", "f", "GET", "u", 0), ("BITFIELD", "f", "GET", "u+8", 0),
    ("BITFIELD", "f", "GET", "", 0), ("BITFIELD", "f", "GET", "u8", -1),
    ("BITFIELD", "f", "GET", "u8", "#-1"), ("BITFIELD", "f", "GET", "u8", "#"),
    ("BITFIELD", "f", "GET", "u8", "x"), ("BITFIELD", "f", "GET", "u8"),
    ("BITFIELD", "f", "SET", "u8", 0), ("BITFIELD", "f", "SET", "u8", 0, "x"),
    ("BITFIELD", "f", "INCRBY", "u8", 0, "1.5"), ("BITFIELD", "f", "FOO"),
    ("BITFIELD", "f", "OVERFLOW"), ("BITFIELD", "f", "OVERFLOW", "x"),
    ("BITFIELD", "f", "GET", "u8", 0, "OVERFLOW", "x", "GET", "u9", 0),
    ("BITFIELD", "f", "GET", "u8", "#1152921504606846975"),
    ("BITFIELD", "f", "GET", "u8", "#2305843009213693952"),
    ("BITFIELD", "f", "GET", "u8", 4294967295),
    ("BITFIELD", "f", "GET", "u8", 4294967296),
    ("BITFIELD", "l", "GET", "u8", 0), ("BITFIELD", "l", "SET", "u8", 0, 1),
    ("BITFIELD", "l", "FOO"), ("BITFIELD", "n", "GET", "u8", 0, "GET", "u16",
                               8),
    ("BITFIELD", "n", "SET", "u8", 0, 65), ("GET", "n"),
    ("BITFIELD", "g", "OVERFLOW", "FAIL", "INCRBY", "u2", 0, 7), ("GET", "g"),
    ("BITFIELD", "h", "SET", "u1", 1000, 1), ("STRLEN", "h"),
    ("BITFIELD", "h", "SET", "i8", 1000, 1, "SET", "i8", 3, 1), ("STRLEN", "h"),
    ("BITFIELD", "nosuch", "GET", "i16", 0, "GET", "u1", 7),
    ("BITFIELD_RO", "f", "GET", "u8", 0, "GET", "i3", 5),
    ("BITFIELD_RO", "f", "SET", "u8", 0, 1),
    ("BITFIELD_RO", "f", "INCRBY", "u8", 0, 1),
    ("BITFIELD_RO", "f", "OVERFLOW", "SAT"), ("BITFIELD_RO", "f"),
    ("BITFIELD_RO", "f", "GET", "u64", 0), ("BITFIELD_RO", "f", "GET", "u8"),
    ("BITFIELD_RO", "l", "GET", "u8", 0), ("BITFIELD_RO", "nosuch", "GET",
                                           "u8", 0),
    ("BITFIELD_RO", "f", "SET", "u8", 0, "x"),
    ("BITFIELD_RO", "f", "OVERFLOW", "SAT", "SET", "u8", 0, "1"),
    ("BITFIELD_RO",),
]


class TestBitCommands(BitBase):
    def run_table(self, proto):
        if proto == 3:
            for c in (self.d, self.r):
                c.cmd("HELLO", "3")
        for args in TABLE:
            self.same(*args)

    def test_table_resp2(self):
        self.run_table(2)

    def test_table_resp3(self):
        self.run_table(3)

    def test_error_texts(self):
        c = self.d
        self.assertEqual(c.cmd("SETBIT", "k", -1, 1), ERR_OFFSET)
        self.assertEqual(c.cmd("SETBIT", "k", 4294967296, 1), ERR_OFFSET)
        self.assertEqual(c.cmd("SETBIT", "k", 0, 2), ERR_BIT)
        self.assertEqual(c.cmd("GETBIT", "k", "x"), ERR_OFFSET)
        self.assertEqual(c.cmd("BITFIELD", "k", "GET", "u64", 0), ERR_TYPE)
        self.assertEqual(c.cmd("BITFIELD", "k", "GET", "u8", "#x"), ERR_OFFSET)
        self.assertEqual(c.cmd("BITFIELD", "k", "OVERFLOW", "no"),
                         b"-ERR Invalid OVERFLOW type specified\r\n")
        self.assertEqual(c.cmd("BITFIELD_RO", "k", "SET", "u8", 0, 1),
                         b"-ERR BITFIELD_RO only supports the GET "
                         b"subcommand\r\n")
        self.assertEqual(c.cmd("BITPOS", "k", 2),
                         b"-ERR The bit argument must be 1 or 0.\r\n")
        self.assertEqual(c.cmd("BITOP", "NOT", "d", "a", "b"),
                         b"-ERR BITOP NOT must be called with a single "
                         b"source key.\r\n")
        self.assertEqual(c.cmd("BITOP", "X", "d", "a"), SYNTAX)
        c.cmd("SET", "k", "v")
        self.assertEqual(c.cmd("BITCOUNT", "k", 0), SYNTAX)
        self.assertEqual(c.cmd("BITCOUNT", "k", "a", 0), NOTINT)
        c.cmd("RPUSH", "l", "a")
        self.assertEqual(c.cmd("GETBIT", "l", 0), WRONGTYPE)

    def test_proto_max_bulk_len(self):
        for c in (self.d, self.r):
            self.assertEqual(c.cmd("CONFIG", "SET", "proto-max-bulk-len",
                                   "1mb"), b"+OK\r\n")
        try:
            last = 8 * 1024 * 1024 - 1
            for args in [("SETBIT", "k", last, 1), ("SETBIT", "k", last + 1, 1),
                         ("STRLEN", "k"), ("GETBIT", "k", last + 1),
                         ("BITFIELD", "k", "SET", "u8", last - 7, 3),
                         ("BITFIELD", "k", "SET", "u8", last, 3),
                         ("STRLEN", "k"),
                         ("BITFIELD", "k", "GET", "u8", last + 1),
                         ("BITFIELD", "k", "GET", "u8", "#131071"),
                         ("BITFIELD", "k", "GET", "u8", "#1048576"),
                         ("BITFIELD", "k", "GET", "i64", "#131071"),
                         ("BITCOUNT", "k"), ("BITPOS", "k", 1),
                         ("BITPOS", "k", 1, -1), ("BITCOUNT", "k", -2, -1)]:
                self.same(*args)
        finally:
            for c in (self.d, self.r):
                c.cmd("CONFIG", "SET", "proto-max-bulk-len", "512mb")

    def test_redis_py_client(self):
        d, r = self.dice.redis(), self.red.redis()
        for cl in (d, r):
            cl.setbit("rb", 10, 1)
            cl.setbit("rb", 300, 1)
        self.assertEqual(d.get("rb"), r.get("rb"))
        self.assertEqual(d.bitcount("rb"), r.bitcount("rb"))
        self.assertEqual(d.bitpos("rb", 1, 2), r.bitpos("rb", 1, 2))
        for cl in (d, r):
            bf = cl.bitfield("rf")
            bf.set("i8", 0, 100).incrby("i8", 0, 100).overflow("SAT")
            bf.incrby("u4", "#3", 20).get("u16", 0)
            cl.rb_res = bf.execute()
        self.assertEqual(d.rb_res, r.rb_res)
        self.assertEqual(d.get("rf"), r.get("rf"))
        self.assertEqual(d.bitop("XOR", "rx", "rb", "rf"),
                         r.bitop("XOR", "rx", "rb", "rf"))
        self.assertEqual(d.get("rx"), r.get("rx"))

    def test_notifications(self):
        cases = [("SETBIT", "k", 3, 1), ("SETBIT", "k", 3, 1),
                 ("SETBIT", "k", 100, 0), ("SETBIT", "k", 3, 0),
                 ("GETBIT", "nosuch", 0), ("BITCOUNT", "nosuch"),
                 ("BITPOS", "nosuch", 1), ("BITOP", "OR", "d", "k", "nosuch"),
                 ("BITOP", "AND", "d", "nosuch"), ("BITOP", "AND", "d", "zz"),
                 ("BITFIELD", "k", "GET", "u8", 0),
                 ("BITFIELD", "nosuch", "GET", "u8", 0),
                 ("BITFIELD", "k", "SET", "u8", 0, 1),
                 ("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u1", 0, 5),
                 ("BITFIELD", "new", "OVERFLOW", "FAIL", "INCRBY", "u1", 0, 5),
                 ("BITFIELD_RO", "nosuch", "GET", "u8", 0),
                 ("BITFIELD", "k", "SET", "u8", 0, 1),
                 ("BITFIELD", "k", "INCRBY", "u8", 0, 0),
                 ("BITFIELD", "k", "SET", "u8", 100, 0),
                 ("BITFIELD", "k", "SET", "u8", 100, 0),
                 ("SETBIT", "k", 2000, 0), ("SETBIT", "k", 2000, 0)]
        for proto in (2, 3):
            want = events(self.red.port, cases, proto)
            got = events(self.dice.port, cases, proto)
            for w, g in zip(want, got):
                self.assertEqual(g, w, "RESP%d %r" % (proto, w[0]))


class TestBitDifferential(BitBase):
    KEYS = ["a", "b", "c", "n"]

    def offset(self, rnd, bits):
        if rnd.random() < 0.2:
            return "#%d" % rnd.randrange(0, 40)
        return rnd.randrange(0, 400 if rnd.random() < 0.9 else 5000)

    def value(self, rnd, bits, sign):
        r = rnd.random()
        if r < 0.1:
            return rnd.choice([0, -1, 2 ** 63 - 1, -2 ** 63, 2 ** bits,
                               2 ** (bits - 1), -2 ** (bits - 1) - 1])
        lim = 2 ** min(bits + 1, 63)
        return rnd.randrange(-lim, lim)

    def bftype(self, rnd):
        if rnd.random() < 0.5:
            return "i%d" % rnd.randint(1, 64), True
        return "u%d" % rnd.randint(1, 63), False

    def gen(self, rnd):
        k = rnd.choice(self.KEYS)
        r = rnd.random()
        if r < 0.3:
            args = ["BITFIELD" if rnd.random() < 0.85 else "BITFIELD_RO", k]
            for _ in range(rnd.randint(1, 6)):
                t, sign = self.bftype(rnd)
                bits = int(t[1:])
                op = rnd.random()
                if op < 0.15:
                    args += ["OVERFLOW", rnd.choice(["WRAP", "SAT", "FAIL"])]
                elif op < 0.45:
                    args += ["GET", t, self.offset(rnd, bits)]
                elif op < 0.7:
                    args += ["SET", t, self.offset(rnd, bits),
                             self.value(rnd, bits, sign)]
                else:
                    args += ["INCRBY", t, self.offset(rnd, bits),
                             self.value(rnd, bits, sign)]
            return args
        if r < 0.45:
            return ["SETBIT", k, rnd.randrange(0, 600), rnd.randint(0, 1)]
        if r < 0.5:
            return ["GETBIT", k, rnd.randrange(0, 700)]
        if r < 0.65:
            args = ["BITCOUNT", k]
            if rnd.random() < 0.8:
                args += [rnd.randint(-90, 90), rnd.randint(-90, 90)]
                if rnd.random() < 0.6:
                    args.append(rnd.choice(["BIT", "BYTE", "bit"]))
            return args
        if r < 0.82:
            args = ["BITPOS", k, rnd.randint(0, 1)]
            n = rnd.randint(0, 3)
            if n >= 1:
                args.append(rnd.randint(-90, 90))
            if n >= 2:
                args.append(rnd.randint(-90, 90))
            if n >= 3:
                args.append(rnd.choice(["BIT", "BYTE"]))
            return args
        if r < 0.92:
            op = rnd.choice(["AND", "OR", "XOR", "NOT"])
            srcs = [rnd.choice(self.KEYS + ["missing"])
                    for _ in range(1 if op == "NOT" else rnd.randint(1, 4))]
            return ["BITOP", op, rnd.choice(self.KEYS)] + srcs
        if r < 0.96:
            v = bytes(rnd.choice([0, 255, rnd.randrange(256)])
                      for _ in range(rnd.randint(0, 30)))
            return ["SET", k, v]
        return ["SET", k, str(rnd.randint(-1000, 100000))]

    def run_seed(self, seed, steps=500):
        rnd = random.Random(seed)
        for c in (self.d, self.r):
            c.cmd("FLUSHALL")
        hist = []
        for _ in range(steps):
            args = self.gen(rnd)
            hist.append(args)
            a, b = self.d.cmd(*args), self.r.cmd(*args)
            if a != b:
                self.fail("seed %d: %r: dice %r redis %r; history %r"
                          % (seed, args, a[:200], b[:200], hist[-20:]))
            for k in self.KEYS:
                ga, gb = self.d.cmd("GET", k), self.r.cmd("GET", k)
                if ga != gb:
                    self.fail("seed %d after %r: GET %s differs" %
                              (seed, args, k))

    def test_seeds(self):
        # 574615426: a SET far below a signed field's range under OVERFLOW
        # SAT (Redis saturates it to the maximum: its checks wrap).
        seeds = [1, 2, 3, 4, 574615426, random.randrange(1 << 30)]
        print("random seed", seeds[-1], file=sys.stderr)
        for seed in seeds:
            self.run_seed(seed)

    def test_big_bitmap(self):
        # A 1 MB random bitmap: whole-string and ranged counts and
        # positions, in both units, from a client-side reference too.
        rnd = random.Random(7)
        data = bytes(rnd.randrange(256) for _ in range(1 << 20))
        data = b"\x00" * 5000 + data + b"\xff" * 5000
        for c in (self.d, self.r):
            c.cmd("SET", "big", data)
        total = sum(bin(x).count("1") for x in data)
        self.assertEqual(self.d.cmd("BITCOUNT", "big"), b":%d\r\n" % total)
        for _ in range(60):
            s, e = sorted(rnd.randrange(-len(data) * 8, len(data) * 8)
                          for _ in range(2))
            unit = rnd.choice(["BIT", "BYTE"])
            if unit == "BYTE":
                s //= 8
                e //= 8
            self.same("BITCOUNT", "big", s, e, unit)
            self.same("BITPOS", "big", rnd.randint(0, 1), s, e, unit)
            self.same("BITPOS", "big", rnd.randint(0, 1), s)
        self.same("BITPOS", "big", 1)
        self.same("BITPOS", "big", 0, 6000)


if __name__ == "__main__":
    dicetest.main(globals())
