"""The server-layer parts of blocking commands and lazy free that dice-server
shows before any blocking command exists: CLIENT UNBLOCK's replies and error
texts, COMMAND INFO client|unblock, the lazyfree-* settings, INFO's lazyfree
fields, UNLINK / FLUSHALL ASYNC / FLUSHDB SYNC replies, compared with
redis-server 7.0. On redis-server a real BLPOP is unblocked to check the
texts that tests/unit/test_blocking.c expects of dice-server's test command
(the unit test runs the machinery itself)."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402


class Blocking(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dice = dicetest.Server("dice")
        cls.redis = (dicetest.Server("redis")
                     if dicetest.have_redis_server() else None)

    @classmethod
    def tearDownClass(cls):
        cls.dice.stop()
        if cls.redis:
            cls.redis.stop()

    def servers(self):
        return [self.dice] + ([self.redis] if self.redis else [])

    def both(self, *args):
        """The reply of each server to args; asserts they are equal."""
        out = []
        for s in self.servers():
            c = s.conn()
            out.append(c.cmd(*args))
            c.close()
        for o in out[1:]:
            self.assertEqual(out[0], o, args)
        return out[0]

    def test_unblock_errors(self):
        c = self.dice.conn()
        me = int(c.cmd("CLIENT", "ID")[1:-2])
        c.close()
        for args in [("CLIENT", "UNBLOCK", "99999"),
                     ("CLIENT", "UNBLOCK", "-1"),
                     ("CLIENT", "UNBLOCK", "abc"),
                     ("CLIENT", "UNBLOCK", "1.5"),
                     ("CLIENT", "UNBLOCK"),
                     ("CLIENT", "UNBLOCK", str(me), "foo"),
                     ("CLIENT", "UNBLOCK", "99999", "timeout"),
                     ("CLIENT", "UNBLOCK", "99999", "ERROR"),
                     ("CLIENT", "UNBLOCK", str(me), "ERROR", "x"),
                     ("client", "unblock", str(me), "ERROR", "x")]:
            self.both(*args)
        # A client that is not blocked: :0.
        for s in self.servers():
            a, b = s.conn(), s.conn()
            bid = b.cmd("CLIENT", "ID")[1:-2]
            self.assertEqual(a.cmd("CLIENT", "UNBLOCK", bid), b":0\r\n")
            a.close(), b.close()

    def test_unblock_real_blpop_on_redis(self):
        if not self.redis:
            self.skipTest("redis-server not installed")
        a, b = self.redis.conn(), self.redis.conn()
        bid = b.cmd("CLIENT", "ID")[1:-2]
        for how, want in [((), b"*-1\r\n"), (("TIMEOUT",), b"*-1\r\n"),
                          (("ERROR",), b"-UNBLOCKED client unblocked via "
                                       b"CLIENT UNBLOCK\r\n")]:
            b.send(dicetest.encode("BLPOP", "nokey", "0"))
            time.sleep(0.05)
            self.assertEqual(a.cmd("CLIENT", "UNBLOCK", bid, *how), b":1\r\n")
            self.assertEqual(b.read_reply(), want)
        a.close(), b.close()

    def test_command_info(self):
        self.both("COMMAND", "INFO", "client|unblock")

    def test_lazyfree_settings(self):
        got = self.both("CONFIG", "GET", "lazyfree-lazy-user-del")
        self.assertIn(b"no", got)
        for name in ["lazyfree-lazy-eviction", "lazyfree-lazy-expire",
                     "lazyfree-lazy-server-del", "lazyfree-lazy-user-flush"]:
            self.both("CONFIG", "GET", name)
            self.both("CONFIG", "SET", name, "yes")
            self.both("CONFIG", "GET", name)
            self.both("CONFIG", "SET", name, "maybe")
            self.both("CONFIG", "SET", name, "no")

    def test_info_fields(self):
        for s in self.servers():
            c = s.conn()
            mem = c.cmd("INFO", "memory")
            self.assertIn(b"\r\nlazyfree_pending_objects:0\r\n", mem)
            self.assertIn(b"\r\nlazyfreed_objects:", mem)
            self.assertIn(b"\r\nblocked_clients:0\r\n", c.cmd("INFO", "clients"))
            c.close()

    def test_unlink_flush_replies(self):
        self.both("SET", "a", "1")
        self.both("SET", "b", "2")
        self.both("UNLINK", "a", "b", "c")
        self.both("SET", "a", "1")
        self.both("FLUSHALL", "ASYNC")
        self.both("DBSIZE")
        self.both("SET", "a", "1")
        self.both("FLUSHDB", "SYNC")
        self.both("FLUSHDB", "ASYNC", "x")
        self.both("FLUSHALL", "LATER")
        self.both("DBSIZE")


if __name__ == "__main__":
    dicetest.main(globals())
