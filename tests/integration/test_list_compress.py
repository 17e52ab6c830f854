"""list-compress-depth against redis-server 7.0: lists whose inner nodes
are LZF-compressed behave exactly as Redis's (a randomized sequence of list
commands at depths 1 and 2 with small nodes, compared reply by reply),
OBJECT ENCODING and DEBUG DIGEST-VALUE do not change with compression,
and MEMORY USAGE drops. (Payloads with compressed nodes, Redis's and
ours, are tested in tests/unit/test_list.c: dice-server has no DUMP /
RESTORE yet.)"""
import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402


def load(c, key, n, fmt="element-%08d-padding-padding"):
    for i in range(0, n, 500):
        args = ["RPUSH", key] + [fmt % j for j in range(i, min(n, i + 500))]
        c.cmd(*args)


@unittest.skipUnless(dicetest.have_redis_server(), "redis-server not found")
class ListCompressTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        dbg = ["--enable-debug-command", "yes"]
        cls.dice = dicetest.Server("dice", args=dbg)
        cls.redis = dicetest.Server("redis", args=dbg)

    @classmethod
    def tearDownClass(cls):
        cls.dice.stop()
        cls.redis.stop()

    def pair(self):
        return [self.dice.conn(), self.redis.conn()]

    def both(self, cs, *args):
        a, b = (c.cmd(*args) for c in cs)
        self.assertEqual(a, b, "command %r" % (args,))
        return a

    def test_random_differential(self):
        seeds = [11, 12, 13, random.randrange(1 << 30)]
        print("test_list_compress random seeds:", seeds)
        for i, seed in enumerate(seeds):
            self.run_random(seed, str(1 + i % 2), "3" if i % 2 else "2")

    def run_random(self, seed, depth, proto):
        rnd = random.Random(seed)
        cs = self.pair()
        self.both(cs, "FLUSHALL")
        if proto == "3":
            for c in cs:
                c.cmd("HELLO", "3")
        self.both(cs, "CONFIG", "SET", "list-compress-depth", depth)
        self.both(cs, "CONFIG", "SET", "list-max-listpack-size",
                  rnd.choice(["4", "8", "-1"]))
        keys = ["k1", "k2"]
        # Compressible elements (repeats) and some that are not.
        vals = ["a" * 40, "b" * 30 + "1", "12345", "-7", "x" * 70,
                "hello-hello-hello-hello"]

        def v():
            if rnd.random() < 0.2:
                return "".join(chr(rnd.randrange(33, 127))
                               for _ in range(rnd.randrange(1, 60)))
            return rnd.choice(vals) + str(rnd.randrange(20))

        def idx():
            return str(rnd.randrange(-60, 60))

        def end():
            return rnd.choice(["LEFT", "RIGHT"])

        gens = [
            lambda: [rnd.choice(["LPUSH", "RPUSH"]), rnd.choice(keys)] +
            [v() for _ in range(rnd.randrange(1, 12))],
            lambda: [rnd.choice(["LPOP", "RPOP"]), rnd.choice(keys)] +
            ([str(rnd.randrange(0, 6))] if rnd.random() < 0.5 else []),
            lambda: ["LLEN", rnd.choice(keys)],
            lambda: ["LRANGE", rnd.choice(keys), idx(), idx()],
            lambda: ["LINDEX", rnd.choice(keys), idx()],
            lambda: ["LSET", rnd.choice(keys), idx(), v()],
            lambda: ["LINSERT", rnd.choice(keys),
                     rnd.choice(["BEFORE", "AFTER"]), v(), v()],
            lambda: ["LREM", rnd.choice(keys), str(rnd.randrange(-3, 4)),
                     v()],
            lambda: ["LTRIM", rnd.choice(keys), str(rnd.randrange(0, 5)),
                     str(rnd.randrange(-5, 200))],
            lambda: ["LPOS", rnd.choice(keys), v(), "COUNT", "0"],
            lambda: ["LMOVE", rnd.choice(keys), rnd.choice(keys), end(),
                     end()],
            lambda: ["LMPOP", "2", rnd.choice(keys), rnd.choice(keys),
                     end(), "COUNT", str(rnd.randrange(1, 5))],
            lambda: ["COPY", rnd.choice(keys), "copy", "REPLACE"],
        ]
        deadline = time.time() + 25
        for _ in range(2500):
            if time.time() > deadline:
                break
            self.both(cs, *rnd.choice(gens)())
        for k in keys + ["copy"]:
            if self.both(cs, "TYPE", k) in (b"+list\r\n", b"list"):
                self.both(cs, "LRANGE", k, "0", "-1")
                self.both(cs, "OBJECT", "ENCODING", k)
        for c in cs:
            c.close()

    def test_encoding_digest_memory(self):
        c = self.dice.conn()
        c.cmd("FLUSHALL")
        c.cmd("CONFIG", "SET", "list-compress-depth", "0")
        load(c, "plain", 50000)
        c.cmd("CONFIG", "SET", "list-compress-depth", "1")
        load(c, "packed", 50000)
        self.assertEqual(c.cmd("OBJECT", "ENCODING", "packed"),
                         b"$9\r\nquicklist\r\n")
        self.assertEqual(c.cmd("DEBUG", "DIGEST-VALUE", "plain"),
                         c.cmd("DEBUG", "DIGEST-VALUE", "packed"))
        mp = int(c.cmd("MEMORY", "USAGE", "plain")[1:])
        mc = int(c.cmd("MEMORY", "USAGE", "packed")[1:])
        self.assertLess(mc, mp * 0.6, (mc, mp))
        # Reading the middle expands one node; the list stays the same.
        self.assertEqual(c.cmd("LINDEX", "packed", "25000"),
                         c.cmd("LINDEX", "plain", "25000"))
        self.assertEqual(c.cmd("LRANGE", "packed", "20000", "20100"),
                         c.cmd("LRANGE", "plain", "20000", "20100"))
        self.assertEqual(c.cmd("DEBUG", "DIGEST-VALUE", "plain"),
                         c.cmd("DEBUG", "DIGEST-VALUE", "packed"))
        c.cmd("COPY", "packed", "copy")
        self.assertEqual(c.cmd("DEBUG", "DIGEST-VALUE", "copy"),
                         c.cmd("DEBUG", "DIGEST-VALUE", "plain"))
        c.close()

if __name__ == "__main__":
    dicetest.main(globals())
