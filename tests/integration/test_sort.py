"""SORT and SORT_RO of dice-server (lib/commands/sort.c) against
redis-server 7.0: BY (patterns, hash fields, nosort), LIMIT, GET (#,
patterns, several), ASC/DESC, ALPHA, STORE on lists, sets and sorted sets,
every error, reply bytes compared in RESP2 and RESP3; results whose order
Redis leaves unspecified (a set's or a hash table's order among equal
weights) are compared sorted. Also WAIT and LOLWUT (its art: byte for
byte where it does not depend on chance, its shape where it does), and a
randomized differential run (fixed seeds plus one random seed,
printed)."""
import os
import random
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

SETUP = """\
rpush l 3 1 2 10 -1 1.5 abc
rpush n 3 1 2 10 -1 1.5 1e3 0x10 inf -inf
set w_3 30
set w_1 100
set w_2 x
set w_10 10
hset h_3 f 5
hset h_1 f 7
hset h_2 f 7
sadd st 5 3 9 1
sadd st2 b a c
zadd z 3 a 1 b 2 c 0 d
rpush e "" 5
rpush dup 2 1 2 1 b a
set s x"""

CASES = """\
sort l
sort n
sort n desc
sort n asc desc asc
sort n limit 1 3
sort n limit -1 3
sort n limit 100 3
sort n limit 2 -1
sort n limit 2 0
sort n limit x 1
sort n limit 1 x
sort n limit 1
sort l alpha
sort l alpha desc limit 0 2
rpush eq e0 e1 e2 e3 e4 e5 e6 e7 e8 e9 e10 e11 e12 e13 e14 e15 e16 e17 e18 e19 e20 e21 e22 e23 e24 e25 e26 e27 e28 e29 e30 e31 e32 e33 e34 e35 e36 e37 e38 e39 e40 e41 e42 e43 e44
sort eq by nokey_* alpha limit 0 5
sort eq by nokey_* alpha desc limit 3 10
sort eq by nokey_* limit 40 10
sort eq by nokey_* alpha limit 100 3
sort eq by nokey_* alpha limit 0 -1
sort eq by nokey_*->f alpha limit 1 1
sort n by nosort
sort n by nosort desc
sort n by nosort limit 2 3
sort n by nosort desc limit 2 3
sort n by nosort desc limit 20 3
sort n by w_* get #
sort n by h_*->f get # get w_* get h_*->f get nokey get h_*-> get h_*->nofield
sort n by h_*->f alpha get # get h_*->f
sort n by w_* alpha
sort n by w_* alpha store dst
lrange dst 0 -1
sort n store dst get w_* get #
lrange dst 0 -1
sort n store dst limit 100 1
exists dst
sort n store dst store dst2
exists dst dst2
sort_ro n store dst
sort_ro n get # desc
sort nokey
sort nokey store dst
sort nokey by nosort get #
sort s
sort s store dst
sort st
sort st desc limit 1 2
sort st store dst
lrange dst 0 -1
sort st by nosort store dst
lrange dst 0 -1
sort st2 alpha
sort st2
sort st2 by nosort store dst
lrange dst 0 -1
sort z alpha
sort z
sort z by nosort
sort z by nosort desc
sort z by nosort limit 1 2
sort z by nosort desc limit 1 2
sort z by nosort get #
sort e
sort l foo
sort l get
sort l by
sort l limit 1
sort dup alpha
sort dup by w_* alpha
sort dup by w_*
sort l by w_* get w_*
lolwut
lolwut version 1
lolwut version 6x
lolwut foo
wait 0 0
wait x 0
wait 0 -1
wait 0 x
wait 1 20
command info sort sort_ro wait lolwut
command getkeys sort l store x get a store y
command getkeys sort l limit 0 1 get store by store
command getkeys sort_ro l get x"""


def resp_bulk(raw):
    """The payload of a RESP2 bulk or RESP3 verbatim reply."""
    head, _, rest = raw.partition(b"\r\n")
    body = rest[:int(head[1:])]
    return body[4:] if raw[:1] == b"=" else body


class SortTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not dicetest.have_redis_server():
            raise unittest.SkipTest("redis-server not installed")
        cls.dice = dicetest.Server("dice", [])
        cls.red = dicetest.Server("redis", [])

    @classmethod
    def tearDownClass(cls):
        cls.dice.stop()
        cls.red.stop()

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
        self.assertEqual(a, b, "%r:\n dice  %r\n redis %r" %
                         (args, a[:400], b[:400]))
        return a

    def load(self):
        for line in SETUP.split("\n"):
            args = [x if x != '""' else "" for x in line.split()]
            self.same(*args)

    def test_cases_resp2_resp3(self):
        for proto in (2, 3):
            for c in (self.d, self.r):
                c.cmd("HELLO", str(proto))
                c.cmd("FLUSHALL")
            self.load()
            for line in CASES.split("\n"):
                self.same(*line.split())

    def test_unspecified_order_sorted(self):
        self.load()
        # A set in its own order (BY nosort, not stored), a sorted set by
        # a weight most members lack: equal weights keep the table's order.
        for args in (("SORT", "st", "BY", "nosort"),
                     ("SORT", "z", "ALPHA", "BY", "h_*->f")):
            a, b = self.d.cmd(*args), self.r.cmd(*args)
            self.assertEqual(sorted(a.split(b"\r\n")), sorted(b.split(b"\r\n")))

    def test_lolwut_art(self):
        # What does not depend on chance is Redis's to the byte: Schotter
        # (VERSION 5) with one or two rows of squares (Redis turns only
        # the third row on), every argument clamped as Redis clamps it,
        # the skyline's (VERSION 6) sizes, colors and caption. Redis draws
        # the rest with rand(): there the shapes are compared.
        for args in (("5", "1", "1", "1"), ("5", "0", "0", "0"),
                     ("5", "2", "1", "1", "9"), ("5", "66", "8", "2"),
                     ("5", "7", "3", "1"), ("5", "40", "5", "2"),
                     ("5", "1000", "200", "1"), ("5", "13", "1", "2"),
                     ("5", "3", "7", "2"), ("5", "5", "1", "1"),
                     ("5", "12", "2", "2"), ("6", "1", "1"), ("6", "0", "-5"),
                     ("6", "2", "1"), ("5", "x"), ("5", "1", "1", "1.5"),
                     ("6", "1", "x"), ("5", "1", "99999999999999999999")):
            for proto in (2, 3):
                for c in (self.d, self.r):
                    c.cmd("HELLO", str(proto))
                self.same("LOLWUT", "VERSION", *args)
        esc = re.compile(rb"\x1b\[0;(?:30;40|90;100|37;47|97;107)m \x1b\[0m")
        for args, cols, rows in (((), 80, 20), (("33", "7"), 33, 7),
                                 (("5000", "1"), 1000, 1)):
            a = resp_bulk(self.d.cmd("LOLWUT", "VERSION", "6", *args))
            b = resp_bulk(self.r.cmd("LOLWUT", "VERSION", "6", *args))
            for out in (a, b):
                lines = out.split(b"\n")
                self.assertEqual(len(lines), rows + 3, args)
                for ln in lines[:rows]:
                    self.assertEqual(len(esc.findall(ln)), cols, args)
                    self.assertEqual(esc.sub(b"", ln), b"", args)
            self.assertEqual(a.split(b"\n")[rows:], b.split(b"\n")[rows:])
        for args in ((), ("30",), ("50", "6", "9")):
            a = resp_bulk(self.d.cmd("LOLWUT", "VERSION", "5", *args))
            b = resp_bulk(self.r.cmd("LOLWUT", "VERSION", "5", *args))
            la, lb = a.split(b"\n"), b.split(b"\n")
            self.assertEqual([len(x) for x in la], [len(x) for x in lb], args)
            self.assertEqual(la[0], lb[0], args)  # the first row's top edges
            self.assertEqual(la[-3:], lb[-3:], args)

    def test_randomized(self):
        seeds = [1, 2, random.randrange(1 << 30)]
        print("test_sort random seed", seeds[-1], file=sys.stderr)
        for seed in seeds:
            rnd = random.Random(seed)
            for c in (self.d, self.r):
                c.cmd("FLUSHALL")
            vals = []
            for _ in range(rnd.randrange(1, 60)):
                k = rnd.random()
                vals.append(str(rnd.randrange(-50, 50)) if k < 0.5 else
                            "%.3f" % rnd.uniform(-100, 100) if k < 0.8 else
                            "e%d" % rnd.randrange(30))
            self.same("RPUSH", "l", *vals)
            self.same("ZADD", "z", *sum(([str(i), v] for i, v in
                                         enumerate(vals)), []))
            for v in set(vals):
                if rnd.random() < 0.7:
                    self.same("SET", "w_" + v, str(rnd.randrange(10)))
                if rnd.random() < 0.5:
                    self.same("HSET", "h_" + v, "f", "%.2f" % rnd.random())
            for _ in range(60):
                key = rnd.choice(["l", "z"])
                args = ["SORT", key]
                if rnd.random() < 0.5:
                    args += ["BY", rnd.choice(["w_*", "h_*->f", "nosort"])]
                if rnd.random() < 0.4:
                    args += ["LIMIT", str(rnd.randrange(-2, 20)),
                             str(rnd.randrange(-2, 20))]
                for _ in range(rnd.randrange(3)):
                    args += ["GET", rnd.choice(["#", "w_*", "h_*->f"])]
                if rnd.random() < 0.5:
                    args.append(rnd.choice(["ASC", "DESC"]))
                if rnd.random() < 0.6:
                    args.append("ALPHA")
                alpha_by = "ALPHA" in args and "BY" in args and \
                    args[args.index("BY") + 1] != "nosort"
                if alpha_by and (key == "z" or "LIMIT" in args):
                    # Equal ALPHA BY weights keep the hash table's order,
                    # or with LIMIT Redis's partial quicksort's.
                    continue
                if rnd.random() < 0.3:
                    args += ["STORE", "dst"]
                    self.same(*args)
                    self.same("LRANGE", "dst", "0", "-1")
                else:
                    self.same(*args)


if __name__ == "__main__":
    dicetest.main(globals())
