"""The set commands of dice-server (lib/commands/set.c) against redis-server
7.0: SADD SREM SCARD SISMEMBER SMISMEMBER SMEMBERS SPOP SRANDMEMBER SMOVE
SINTER SINTERCARD SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SSCAN.

Both servers run side by side; every check sends the same bytes to both
and compares the reply bytes, in RESP2 and RESP3, sorting only the members
of replies whose order Redis leaves unspecified (a hashtable's). Random
replies (SPOP, SRANDMEMBER) are checked for their shape and rules instead
(sizes, distinctness, membership), and SPOP's propagated effect is checked
by replaying it (DEBUG DIGEST equal). Also: the intset -> hashtable
conversions at set-max-intset-entries, OBJECT ENCODING, TYPE, SCAN TYPE,
COPY, RENAME, MOVE, DEBUG DIGEST-VALUE, MEMORY USAGE, COMMAND INFO, and a randomized differential run (fixed seeds
and one random seed, printed)."""
import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

WRONGTYPE = (b"-WRONGTYPE Operation against a key holding the wrong kind "
             b"of value\r\n")
UNORDERED = {"SCAN", "SMEMBERS", "SINTER", "SUNION", "SDIFF", "SSCAN", "SPOP",
             "SRANDMEMBER"}


def parse(b, i=0):
    """(value, next index) of one RESP reply; aggregates as (type, list)."""
    t = b[i:i + 1]
    j = b.index(b"\r\n", i)
    head = b[i + 1:j]
    if t in b"*~%>":
        n = int(head)
        if n < 0:
            return (t, None), j + 2
        if t == b"%":
            n *= 2
        out = []
        k = j + 2
        for _ in range(n):
            v, k = parse(b, k)
            out.append(v)
        return (t, out), k
    if t == b"$":
        n = int(head)
        if n < 0:
            return (t, None), j + 2
        return (t, b[j + 2:j + 2 + n]), j + 4 + n
    return (t, head), j + 2


def items(raw):
    """(aggregate type, [member bytes]) of a flat array or set reply."""
    (t, v), _ = parse(raw)
    return t, [x[1] for x in v]


def normalize(name, raw):
    """Reply bytes with the members of an unordered reply sorted."""
    if name not in UNORDERED or raw[:1] not in (b"*", b"~"):
        return raw
    v, _ = parse(raw)
    if name in ("SSCAN", "SCAN"):
        t, (cur, (at, items)) = v
        return repr((t, cur, at, sorted(items)))
    t, items = v
    return repr((t, sorted(items) if items is not None else None))


class SetBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not dicetest.have_redis_server():
            raise unittest.SkipTest("redis-server not installed")
        args = ["--enable-debug-command", "yes"]
        cls.dice = dicetest.Server("dice", args)
        cls.red = dicetest.Server("redis", args)

    @classmethod
    def tearDownClass(cls):
        cls.dice.stop()
        cls.red.stop()

    def setUp(self):
        self.d = self.dice.conn()
        self.r = self.red.conn()
        for c in (self.d, self.r):
            c.cmd("FLUSHALL")
            c.cmd("CONFIG", "SET", "set-max-intset-entries", "512")

    def tearDown(self):
        self.d.close()
        self.r.close()

    def both(self, *args):
        a, b = self.d.cmd(*args), self.r.cmd(*args)
        return a, b

    def same(self, *args):
        a, b = self.both(*args)
        name = str(args[0]).upper()
        self.assertEqual(normalize(name, a), normalize(name, b),
                         "%r: dice %r redis %r" % (args, a[:300], b[:300]))
        return a

    def resp3(self):
        for c in (self.d, self.r):
            c.cmd("HELLO", "3")


class TestSetCommands(SetBase):
    def table(self):
        s = self.same
        s("SADD", "s", "1", "2", "3")
        s("SADD", "s", "3", "4")
        s("SADD", "h", "a", "b", "c", "1")
        s("SET", "str", "v")
        for cmd in [
            ("SCARD", "s"), ("SCARD", "nokey"), ("SCARD", "str"),
            ("SISMEMBER", "s", "1"), ("SISMEMBER", "s", "01"),
            ("SISMEMBER", "h", "a"), ("SISMEMBER", "nokey", "a"),
            ("SISMEMBER", "str", "a"),
            ("SMISMEMBER", "s", "1", "9", "2"), ("SMISMEMBER", "nokey", "x"),
            ("SMISMEMBER", "str", "x"),
            ("SMEMBERS", "s"), ("SMEMBERS", "h"), ("SMEMBERS", "nokey"),
            ("SMEMBERS", "str"),
            ("SREM", "s", "9"), ("SREM", "s", "4", "4"), ("SREM", "nokey", "a"),
            ("SREM", "str", "a"),
            ("SADD", "str", "a"), ("SADD", "s", "-5", "100000", "x"),
            ("OBJECT", "ENCODING", "s"), ("OBJECT", "ENCODING", "h"),
            ("SINTER", "s", "h"), ("SINTER", "s"), ("SINTER", "s", "nokey"),
            ("SINTER", "nokey", "str"), ("SINTER", "str", "nokey"),
            ("SUNION", "s", "h", "nokey"), ("SUNION", "nokey"),
            ("SUNION", "s", "str"),
            ("SDIFF", "s", "h"), ("SDIFF", "nokey", "s"), ("SDIFF", "nokey",
                                                           "str"),
            ("SDIFF", "h", "nokey", "s"),
            ("SINTERCARD", "2", "s", "h"), ("SINTERCARD", "1", "s"),
            ("SINTERCARD", "1", "s", "LIMIT", "2"),
            ("SINTERCARD", "1", "s", "limit", "0"),
            ("SINTERCARD", "0", "s"), ("SINTERCARD", "x", "s"),
            ("SINTERCARD", "-1", "s"),
            ("SINTERCARD", "2", "s"), ("SINTERCARD", "1", "s", "LIMIT", "-1"),
            ("SINTERCARD", "1", "s", "LIMIT", "x"),
            ("SINTERCARD", "1", "s", "LIMIT"), ("SINTERCARD", "1", "s", "foo"),
            ("SINTERCARD", "2", "nokey", "str"),
            ("SINTERCARD", "1", "str", "LIMIT", "x"),
            ("SINTERSTORE", "d", "s", "h"), ("SMEMBERS", "d"),
            ("SINTERSTORE", "d", "s", "nokey"), ("EXISTS", "d"),
            ("SUNIONSTORE", "d", "s", "h"), ("SCARD", "d"),
            ("OBJECT", "ENCODING", "d"),
            ("SUNIONSTORE", "d2", "s"), ("OBJECT", "ENCODING", "d2"),
            ("SDIFFSTORE", "d", "h", "s"), ("SMEMBERS", "d"),
            ("SDIFFSTORE", "d", "nokey"), ("EXISTS", "d"),
            ("SINTERSTORE", "str2", "str"), ("SUNIONSTORE", "d", "str"),
            ("SET", "dst", "x"), ("SUNIONSTORE", "dst", "s"), ("TYPE", "dst"),
            ("SMOVE", "nokey", "str", "x"), ("SMOVE", "s", "str", "1"),
            ("SMOVE", "str", "nokey", "x"), ("SMOVE", "s", "s", "1"),
            ("SMOVE", "s", "s", "zz"), ("SMOVE", "s", "h", "zz"),
            ("SMOVE", "s", "n1", "1"), ("OBJECT", "ENCODING", "n1"),
            ("SMOVE", "h", "n2", "a"), ("OBJECT", "ENCODING", "n2"),
            ("SMOVE", "n1", "n2", "1"), ("EXISTS", "n1"), ("SMEMBERS", "n2"),
            ("SPOP", "s", "-1"), ("SPOP", "s", "x"), ("SPOP", "str", "x"),
            ("SPOP", "str", "1"), ("SPOP", "str"), ("SPOP", "s", "0"),
            ("SPOP", "nokey"), ("SPOP", "nokey", "2"), ("SPOP", "s", "1", "2"),
            ("SRANDMEMBER", "s", "x"), ("SRANDMEMBER", "s", "-0"),
            ("SRANDMEMBER", "s", "-9223372036854775808"),
            ("SRANDMEMBER", "str", "x"), ("SRANDMEMBER", "str", "1"),
            ("SRANDMEMBER", "str"), ("SRANDMEMBER", "nokey"),
            ("SRANDMEMBER", "nokey", "3"), ("SRANDMEMBER", "s", "0"),
            ("SRANDMEMBER", "s", "1", "2"),
            ("SRANDMEMBER", "s", "9223372036854775807"),
            ("SRANDMEMBER", "s", "100"),
            ("SSCAN", "s", "0"), ("SSCAN", "s", "x"), ("SSCAN", "nokey", "x"),
            ("SSCAN", "nokey", "0"), ("SSCAN", "str", "0"),
            ("SSCAN", "str", "x"), ("SSCAN", "s", "0", "COUNT", "0"),
            ("SSCAN", "s", "0", "COUNT", "x"), ("SSCAN", "s", "0", "foo"),
            ("SSCAN", "s", "0", "MATCH"), ("SSCAN", "s", "0", "MATCH", "1*"),
            ("SSCAN", "s", "0", "match", "*", "count", "100"),
            ("SSCAN", "h", "0", "MATCH", "[ab]"),
            ("SADD", "s"), ("SCARD",), ("SPOP",), ("SINTERCARD", "1"),
            ("SMOVE", "a", "b"),
        ]:
            s(*cmd)

    def test_table_resp2(self):
        self.table()

    def test_table_resp3(self):
        self.resp3()
        self.table()

    def test_random_replies(self):
        for proto in ("2", "3"):
            self.d.cmd("HELLO", proto)
            self.d.cmd("DEL", "s", "h")
            members = [str(i) for i in range(20)]
            self.d.cmd("SADD", "s", *members)
            self.d.cmd("SADD", "h", *["m%d" % i for i in range(1000)])
            for key, size in (("s", 20), ("h", 1000)):
                for count in (1, 2, 5, 7, 15, 19, 20, 21, 300, 999, 1000):
                    v = items(self.d.cmd("SRANDMEMBER", key, count))
                    self.assertEqual(v[0], b"*")
                    self.assertEqual(len(v[1]), min(count, size))
                    self.assertEqual(len(set(v[1])), len(v[1]))
                for count in (-1, -5, -50, -3000):
                    v = items(self.d.cmd("SRANDMEMBER", key, count))
                    self.assertEqual(len(v[1]), -count)
                    for m in v[1]:
                        self.assertEqual(
                            self.d.cmd("SISMEMBER", key, m), b":1\r\n")
            # Whole-set replies of an intset ascend, as Redis's.
            v = items(self.d.cmd("SRANDMEMBER", "s", 20))
            self.assertEqual(v[1], sorted(v[1], key=int))
            v = items(self.d.cmd("SPOP", "s", 3))
            self.assertEqual(v[0], b"~" if proto == "3" else b"*")
            self.assertEqual(len(set(v[1])), 3)
            for m in v[1]:
                self.assertEqual(self.d.cmd("SISMEMBER", "s", m), b":0\r\n")
            self.assertEqual(self.d.cmd("SCARD", "s"), b":17\r\n")
            v = items(self.d.cmd("SPOP", "s", 100))
            self.assertEqual(len(v[1]), 17)
            self.assertEqual(self.d.cmd("EXISTS", "s"), b":0\r\n")
            for i in range(1000):
                self.assertTrue(self.d.cmd("SPOP", "h")[:2] in (b"$2", b"$3", b"$4"))
            self.assertEqual(self.d.cmd("EXISTS", "h"), b":0\r\n")

    def test_uniform(self):
        """SRANDMEMBER picks uniformly for each form (chi-square bound)."""
        for n, members in ((10, [str(i) for i in range(10)]),
                           (10, ["a%d" % i for i in range(10)]),
                           (2000, [str(i * 3) for i in range(2000)])):
            self.d.cmd("DEL", "u")
            for i in range(0, len(members), 500):
                self.d.cmd("SADD", "u", *members[i:i + 500])
            draws = 100000 if n == 10 else 200000
            v = items(self.d.cmd("SRANDMEMBER", "u", -draws))
            counts = {}
            for m in v[1]:
                counts[m] = counts.get(m, 0) + 1
            self.assertEqual(len(counts), n)
            exp = draws / n
            chi = sum((c - exp) ** 2 / exp for c in counts.values())
            # mean n-1, sd sqrt(2(n-1)): 6 sd is far out.
            self.assertLess(chi, (n - 1) + 6 * (2 * (n - 1)) ** 0.5, chi)

    def test_encodings_at_thresholds(self):
        s = self.same
        for limit in (512, 3, 0, 1):
            for c in (self.d, self.r):
                c.cmd("FLUSHALL")
                c.cmd("CONFIG", "SET", "set-max-intset-entries", str(limit))
            for i in range(limit + 2):
                s("SADD", "k", str(i))
                s("OBJECT", "ENCODING", "k")
            s("SADD", "j", "1")
            s("OBJECT", "ENCODING", "j")
            s("SADD", "j", "x")
            s("OBJECT", "ENCODING", "j")
            s("SREM", "j", "x")
            s("OBJECT", "ENCODING", "j")  # never back
            s("SADD", "a", "abc")
            s("OBJECT", "ENCODING", "a")
            s("SREM", "a", "abc")
            s("SADD", "a", "1")
            s("OBJECT", "ENCODING", "a")
            s("SADD", "big", "9223372036854775807", "-9223372036854775808")
            s("OBJECT", "ENCODING", "big")
            s("SMEMBERS", "big")
            s("SADD", "nc", "01", "1 ", "+1", "-0")
            s("OBJECT", "ENCODING", "nc")
            s("SINTERSTORE", "st", "k", "k")
            s("OBJECT", "ENCODING", "st")
            s("SMOVE", "k", "mv", "1")
            s("OBJECT", "ENCODING", "mv")

    def test_big_integer_sets(self):
        """The compact all-integer form behind "hashtable": every command,
        across chunk splits and merges, against redis-server."""
        s = self.same
        rnd = random.Random(7)
        vals = rnd.sample(range(-10 ** 6, 10 ** 6), 5000)
        for i in range(0, 5000, 500):
            s("SADD", "b", *vals[i:i + 500])
        s("OBJECT", "ENCODING", "b")
        s("SCARD", "b")
        for v in vals[:200] + list(range(-50, 50)):
            s("SISMEMBER", "b", v)
        for i in range(0, 4900, 700):
            s("SREM", "b", *vals[i:i + 600])
        s("SCARD", "b")
        s("SMEMBERS", "b")
        s("SINTER", "b", "b")
        s("SADD", "b", "x")
        s("SCARD", "b")
        s("SMEMBERS", "b")
        # Sequential load and deletion from both ends.
        s("SADD", "q", *range(3000))
        s("SREM", "q", *range(0, 1500))
        s("SREM", "q", *range(2990, 3000))
        s("SMEMBERS", "q")
        s("SADD", "q", *range(-3000, 0, 2))
        s("SMEMBERS", "q")

    def test_sscan_complete(self):
        for key, members in (
                ("i", [str(i * 7) for i in range(3000)]),
                ("t", ["m%d" % i for i in range(3000)]),
                ("n", [str(i) for i in range(100)])):
            self.d.cmd("SADD", key, *members)
            seen = set()
            cur = b"0"
            calls = 0
            while True:
                v, _ = parse(self.d.cmd("SSCAN", key, cur, "COUNT", 50))
                cur = v[1][0][1]
                seen.update(x[1] for x in v[1][1][1])
                calls += 1
                # Members added during the scan do not break it.
                self.d.cmd("SADD", key, str(10 ** 9 + calls))
                if cur == b"0":
                    break
            self.assertTrue(set(m.encode() for m in members) <= seen)
            if key == "n":
                self.assertEqual(calls, 1)  # an intset: one call
            else:
                self.assertGreater(calls, 10)

    def test_sscan_across_conversion(self):
        """A scan that started on a big integer set continues after a
        member that is not an integer converts it to a table (Redis's
        guarantee: every member present throughout is returned); a small
        encoding answers everything in one call with cursor 0, whatever
        the cursor given."""
        for conv_at in (1, 5, 30):
            key = "cv%d" % conv_at
            members = [str(i * 3 - 2000) for i in range(1500)]
            self.d.cmd("SADD", key, *members)
            seen, cur, calls = set(), b"0", 0
            while True:
                v, _ = parse(self.d.cmd("SSCAN", key, cur, "COUNT", 20))
                cur = v[1][0][1]
                seen.update(x[1] for x in v[1][1][1])
                calls += 1
                if calls == conv_at:
                    self.d.cmd("SADD", key, "not-an-int")
                    self.assertEqual(parse(self.d.cmd(
                        "OBJECT", "ENCODING", key))[0][1], b"hashtable")
                if cur == b"0":
                    break
                self.assertLess(calls, 5000)
            self.assertTrue(set(m.encode() for m in members) <= seen,
                            conv_at)
        self.d.cmd("SADD", "small", "1", "2", "x")
        for cur in ("0", "12345", "9223372036854775808"):
            v, _ = parse(self.d.cmd("SSCAN", "small", cur))
            self.assertEqual(v[1][0][1], b"0")
            self.assertEqual(sorted(x[1] for x in v[1][1][1]),
                             [b"1", b"2", b"x"])
        # The same against redis-server where the encodings agree.
        self.same("SADD", "sm", "1", "2", "3")
        self.same("SSCAN", "sm", "0")
        self.same("SSCAN", "sm", "777")

    def test_generic_commands(self):
        s = self.same
        for key, members in (("i", ["1", "2", "3"]),
                             ("b", [str(i) for i in range(600)]),
                             ("t", ["a", "b", "c"])):
            s("SADD", key, *members)
            s("TYPE", key)
            s("SCAN", "0", "TYPE", "set", "COUNT", "100")
            s("COPY", key, key + "c")
            s("SREM", key + "c", members[0])
            s("SCARD", key)
            s("SCARD", key + "c")
            s("SADD", key + "c", members[0])
            a, b = self.both("DEBUG", "DIGEST-VALUE", key)
            c, d = self.both("DEBUG", "DIGEST-VALUE", key + "c")
            self.assertEqual(a, c)
            self.assertEqual(b, d)
            s("RENAME", key + "c", key + "r")
            s("MOVE", key + "r", "3")
            s("EXISTS", key + "r")
            m = int(self.d.cmd("MEMORY", "USAGE", key)[1:-2])
            self.assertGreater(m, 0)
        # A digest is independent of the order and the form.
        s("DEL", "x", "y")
        s("SADD", "x", "1", "2", "a")
        s("SADD", "y", "a", "2", "1")
        a, _ = self.both("DEBUG", "DIGEST-VALUE", "x")
        b, _ = self.both("DEBUG", "DIGEST-VALUE", "y")
        self.assertEqual(a, b)

    def test_memory_usage_grows(self):
        self.d.cmd("SADD", "a", *range(100))
        self.d.cmd("SADD", "b", *range(10000))
        self.d.cmd("SADD", "c", *["member:%d" % i for i in range(10000)])
        a = int(self.d.cmd("MEMORY", "USAGE", "a")[1:-2])
        b = int(self.d.cmd("MEMORY", "USAGE", "b")[1:-2])
        c = int(self.d.cmd("MEMORY", "USAGE", "c")[1:-2])
        self.assertTrue(200 < a < 1000, a)
        self.assertTrue(80000 < b < 120000, b)  # about 8 bytes a member
        self.assertTrue(200000 < c < 500000, c)

    def test_command_info(self):
        names = ("sadd srem scard sismember smismember smembers spop "
                 "srandmember smove sinter sintercard sunion sdiff "
                 "sinterstore sunionstore sdiffstore sscan").split()
        for n in names:
            a, b = self.both("COMMAND", "INFO", n)
            va, _ = parse(a)
            vb, _ = parse(b)
            # name, arity, flags, keys, ACL categories, tips (key specs
            # are derived from the positions: see the report).
            self.assertEqual(va[1][0][1][:7], vb[1][0][1][:7], n)
            self.assertEqual(self.d.cmd("COMMAND", "GETKEYS", n, *(
                ["2", "a", "b", "LIMIT", "1"] if n == "sintercard"
                else ["a", "b", "c"])),
                self.r.cmd("COMMAND", "GETKEYS", n, *(
                    ["2", "a", "b", "LIMIT", "1"] if n == "sintercard"
                    else ["a", "b", "c"])))

class TestSetDifferential(SetBase):
    KEYS = ["s1", "s2", "s3", "str"]

    def member(self, rnd):
        k = rnd.random()
        if k < 0.5:
            return str(rnd.randint(-20, 40))
        if k < 0.6:
            return str(rnd.choice([2 ** 63 - 1, -2 ** 63, 70000, 2 ** 40]))
        if k < 0.8:
            return rnd.choice(["a", "b", "c", "d", "", "x" * 40, "01"])
        return "m%d" % rnd.randint(0, 30)

    def gen(self, rnd):
        k = lambda: rnd.choice(self.KEYS)  # noqa: E731
        ms = lambda: [self.member(rnd) for _ in range(rnd.randint(1, 6))]  # noqa
        c = rnd.randint(0, 15)
        if c <= 3:
            return ["SADD", k()] + ms()
        if c == 4:
            return ["SREM", k()] + ms()
        if c == 5:
            return [rnd.choice(["SCARD", "SMEMBERS"]), k()]
        if c == 6:
            return ["SISMEMBER", k(), self.member(rnd)]
        if c == 7:
            return ["SMISMEMBER", k()] + ms()
        if c == 8:
            return ["SMOVE", k(), k(), self.member(rnd)]
        if c == 9:
            return [rnd.choice(["SINTER", "SUNION", "SDIFF"])] + [
                k() for _ in range(rnd.randint(1, 3))]
        if c == 10:
            return [rnd.choice(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]),
                    k()] + [k() for _ in range(rnd.randint(1, 3))]
        if c == 11:
            n = rnd.randint(1, 3)
            cmd = ["SINTERCARD", str(n)] + [k() for _ in range(n)]
            if rnd.random() < 0.5:
                cmd += ["LIMIT", str(rnd.randint(0, 5))]
            return cmd
        if c == 12:
            return ["OBJECT", "ENCODING", k()]
        if c == 13:
            return ["SSCAN", k(), "0", "COUNT", "1000"]
        if c == 14:
            return ["SPOP", k(), str(rnd.choice([0, 100]))]
        return ["SET", "str", "v"] if rnd.random() < 0.3 else ["DEL", k()]

    def run_seed(self, seed, proto, steps=400):
        rnd = random.Random(seed)
        self.hist = []
        limit = str(rnd.choice([3, 10, 512]))
        for c in (self.d, self.r):
            c.cmd("HELLO", proto)
            c.cmd("FLUSHALL")
            c.cmd("CONFIG", "SET", "set-max-intset-entries", limit)
        for _ in range(steps):
            cmd = self.gen(rnd)
            self.hist.append(cmd)
            try:
                self.same(*cmd)
            except AssertionError:
                print("seed", seed, "proto", proto, "history:",
                      self.hist[-30:], file=sys.stderr)
                raise
        a, b = self.both("DEBUG", "DIGEST")
        self.assertEqual(len(a), len(b))

    def test_seeds(self):
        t0 = time.time()
        seeds = [1, 2, 3, 4, 5, random.randrange(1 << 30)]
        print("random seed", seeds[-1], file=sys.stderr)
        for seed in seeds:
            for proto in ("2", "3"):
                self.run_seed(seed, proto)
            if time.time() - t0 > 60:
                break


if __name__ == "__main__":
    dicetest.main(globals())
