"""DEBUG DIGEST and DEBUG DIGEST-VALUE (lib/commands/server.c, digests from
lib/types/type.c).

The digest bytes cannot equal redis-server's (a different hash of the
values), but the reply shapes must, and so must the properties: all zeros
for an empty dataset and for a missing key, equal for equal datasets
whatever the order of insertion, different when a value, a key, a db or a
TTL differs. The shapes are checked byte for byte against redis-server 7.0
when it is installed."""
import os
import random
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402
from dicetest import encode  # noqa: E402

ZERO = b"+" + b"0" * 40 + b"\r\n"
HEX = re.compile(rb"^\+[0-9a-f]{40}\r\n$")
FAR = 4102444800000  # 2100-01-01 in ms: a TTL that does not run out

# (command, expected reply or a regex) on a fresh server, the same bytes as
# redis-server 7.0 answers (its digests differ: only their shape counts).
SHAPES = [
    (("DEBUG", "DIGEST"), ZERO),
    (("DEBUG", "digest"), ZERO),
    (("DEBUG", "DIGEST-VALUE"), b"*0\r\n"),
    (("DEBUG", "DIGEST-VALUE", "nokey"), b"*1\r\n" + ZERO),
    (("DEBUG", "DIGEST", "extra"),
     b"-ERR unknown subcommand or wrong number of arguments for 'DIGEST'. "
     b"Try DEBUG HELP.\r\n"),
    (("SET", "a", "1"), b"+OK\r\n"),
    (("DEBUG", "DIGEST"), HEX),
    (("SET", "b", "1"), b"+OK\r\n"),
]


def check(tc, got, want):
    if isinstance(want, bytes):
        tc.assertEqual(got, want)
    else:
        tc.assertRegex(got, want)


class DigestTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = dicetest.Server(args=["--enable-debug-command", "yes"])

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def setUp(self):
        self.c = self.srv.conn()
        self.c.cmd("FLUSHALL")

    def tearDown(self):
        self.c.close()

    def digest(self):
        r = self.c.cmd("DEBUG", "DIGEST")
        self.assertRegex(r, HEX)
        return r

    def load(self, ops):
        """Run (db, command...) ops, selecting each op's db."""
        for db, *cmd in ops:
            self.assertEqual(self.c.cmd("SELECT", str(db)), b"+OK\r\n")
            r = self.c.cmd(*cmd)
            self.assertFalse(r.startswith(b"-"), (cmd, r))
        self.c.cmd("SELECT", "0")

    def test_shapes(self):
        for cmd, want in SHAPES:
            check(self, self.c.cmd(*cmd), want)
        # Equal values digest the same at different keys, as in Redis.
        r = self.c.cmd("DEBUG", "DIGEST-VALUE", "a", "b", "nokey")
        parts = r.split(b"\r\n")
        self.assertEqual(parts[0], b"*3")
        self.assertEqual(parts[1], parts[2])
        self.assertRegex(parts[1] + b"\r\n", HEX)
        self.assertEqual(parts[3] + b"\r\n", ZERO)
        # An empty dataset again after deleting everything.
        self.c.cmd("DEL", "a", "b")
        self.assertEqual(self.c.cmd("DEBUG", "DIGEST"), ZERO)
        help_ = self.c.cmd("DEBUG", "HELP")
        self.assertIn(b"+DIGEST-VALUE <key> [<key> ...]\r\n", help_)

    def dataset(self, seed, variant=None):
        """The same keys in 3 dbs, with and without TTLs, written in a
        seeded random order, with overwrites on the way; variant changes
        one thing."""
        rnd = random.Random(seed)
        sets = [(i % 3, "SET", "k%d" % i, "v%d" % i) for i in range(60)]
        sets += [(1, "SET", "int", "12345"), (2, "SET", "big", "x" * 3000)]
        ttls = [(i % 3, "PEXPIREAT", "k%d" % i, str(FAR + i))
                for i in range(0, 60, 7)]
        rnd.shuffle(sets)
        rnd.shuffle(ttls)
        # The TTLs after the keys exist; APPEND's order is its value's.
        ops = sets + ttls + [(0, "APPEND", "app", "abc"),
                             (0, "APPEND", "app", "def")]
        # Overwrites that end in the same state, in some orders only.
        if seed % 2:
            ops = [(0, "SET", "k3", "old"), (1, "SET", "tmp", "x")] + ops
            ops.append((1, "DEL", "tmp"))
        if variant == "value":
            ops.append((0, "SET", "k3", "v3!"))
        elif variant == "key":
            ops += [(0, "RENAME", "k3", "k3b")]
        elif variant == "db":
            ops += [(0, "MOVE", "k3", "2")]
        elif variant == "ttl":
            ops += [(1, "PEXPIREAT", "k7", str(FAR + 1))]
        elif variant == "persist":
            ops += [(1, "PERSIST", "k7")]
        elif variant == "addttl":
            ops += [(0, "PEXPIREAT", "k3", str(FAR))]
        elif variant == "same":  # the int as text is still the same value
            ops += [(1, "SET", "int", "12345")]
        elif variant == "swap":
            ops += [(0, "SWAPDB", "1", "2")]
        return ops

    def test_order_independent(self):
        self.load(self.dataset(1))
        base = self.digest()
        for seed in (2, 3, 4):
            self.c.cmd("FLUSHALL")
            self.load(self.dataset(seed))
            self.assertEqual(self.digest(), base, "seed %d" % seed)
        for variant in ("value", "key", "db", "ttl", "persist", "addttl",
                        "swap"):
            self.c.cmd("FLUSHALL")
            self.load(self.dataset(5, variant))
            self.assertNotEqual(self.digest(), base, variant)
        self.c.cmd("FLUSHALL")
        self.load(self.dataset(6, "same"))
        self.assertEqual(self.digest(), base)

    def test_two_servers_agree(self):
        """Two servers loaded in different orders give the same digest,
        and the same DIGEST-VALUE key by key."""
        other = dicetest.Server(args=["--enable-debug-command", "yes"])
        try:
            self.load(self.dataset(7))
            c2 = other.conn()
            saved, self.c = self.c, c2
            self.load(self.dataset(8))
            self.c = saved
            self.assertEqual(c2.cmd("DEBUG", "DIGEST"), self.digest())
            keys = ["k%d" % i for i in range(0, 60, 3)] + ["nokey"]
            self.assertEqual(c2.cmd("DEBUG", "DIGEST-VALUE", *keys),
                             self.c.cmd("DEBUG", "DIGEST-VALUE", *keys))
            c2.close()
        finally:
            other.stop()

    def test_digest_value_changes(self):
        c = self.c
        c.cmd("SET", "a", "hello")
        d1 = c.cmd("DEBUG", "DIGEST-VALUE", "a")
        c.cmd("SET", "a", "hellO")
        self.assertNotEqual(c.cmd("DEBUG", "DIGEST-VALUE", "a"), d1)
        c.cmd("SET", "a", "hello")
        self.assertEqual(c.cmd("DEBUG", "DIGEST-VALUE", "a"), d1)
        c.cmd("PEXPIREAT", "a", str(FAR))
        self.assertNotEqual(c.cmd("DEBUG", "DIGEST-VALUE", "a"), d1)
        c.cmd("PERSIST", "a")
        self.assertEqual(c.cmd("DEBUG", "DIGEST-VALUE", "a"), d1)
        # The selected db is the one looked in.
        c.cmd("SELECT", "4")
        self.assertEqual(c.cmd("DEBUG", "DIGEST-VALUE", "a"), b"*1\r\n" + ZERO)

    def test_expired_keys_leave_the_digest(self):
        c = self.c
        c.cmd("SET", "keep", "1")
        base = self.digest()
        c.cmd("SET", "brief", "x", "PX", "30")
        self.assertNotEqual(self.digest(), base)
        import time
        time.sleep(0.1)
        self.assertEqual(self.digest(), base)


@unittest.skipUnless(dicetest.have_redis_server(), "redis-server not installed")
class RedisShapesTest(unittest.TestCase):
    """The SHAPES table replayed against redis-server 7.0."""

    def test_shapes_match_redis(self):
        srv = dicetest.Server("redis", args=["--enable-debug-command", "yes"])
        try:
            c = srv.conn()
            for cmd, want in SHAPES:
                check(self, c.cmd(*cmd), want)
            r = c.cmd("DEBUG", "DIGEST-VALUE", "a", "b", "nokey")
            parts = r.split(b"\r\n")
            self.assertEqual(parts[0], b"*3")
            self.assertEqual(parts[1], parts[2])
            self.assertEqual(parts[3] + b"\r\n", ZERO)
            c.cmd("DEL", "a", "b")
            self.assertEqual(c.cmd("DEBUG", "DIGEST"), ZERO)
            c.close()
        finally:
            srv.stop()


if __name__ == "__main__":
    dicetest.main(globals())
