"""BZPOPMIN, BZPOPMAX and BZMPOP against redis-server 7.0: reply bytes and
errors in RESP2 and RESP3 when served at once, timeouts, order of service
over clients and keys, wake-up by ZADD / ZINCRBY / ZUNIONSTORE /
ZRANGESTORE / a MULTI from another client, keys of the wrong type,
disconnect, CLIENT UNBLOCK, the non-blocking form inside MULTI, and a
python3-redis client. Each scenario runs on both servers and compares
what the clients received."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

# Served at once or failing: both servers must answer the same bytes.
CORPUS = """
ZADD z 1 a 2 b 3 c 4 d 5 e 6 f
SET s str
BZPOPMIN z 0
BZPOPMAX z 0
BZPOPMIN nx z 1
BZPOPMAX nx z nx2 0.5
BZPOPMIN s z 0
BZPOPMIN nx s z 0
BZPOPMIN z -1
BZPOPMIN z abc
BZPOPMIN s abc
BZPOPMIN nx inf
BZPOPMIN nx 1e400
BZPOPMIN nx nan
ZADD z 7 g 8 h 9 i
BZPOPMIN z 0x10
BZPOPMIN z 1e3
BZPOPMIN z inf
BZPOPMIN z .5
BZPOPMIN z
BZPOPMAX
ZADD z 10 j 11 k 12 l 13 m
BZMPOP 0 1 z MIN
BZMPOP 0 1 z MAX COUNT 1
BZMPOP 0 2 nx z MIN COUNT 10
ZADD z 1 a 2 b 3 c
BZMPOP 0 1 z max count 2
BZMPOP abc 1 z MIN
BZMPOP -1 1 z MIN
BZMPOP abc 0 z MIN
BZMPOP 0 -1 z MIN
BZMPOP 0 x z MIN
BZMPOP abc 1 z FOO
BZMPOP abc 5 z MIN
BZMPOP abc 1 z MIN COUNT 0
BZMPOP abc 1 z MIN COUNT -1
BZMPOP 0 1 z MIN COUNT 1 COUNT 1
BZMPOP 0 1 z MIN COUNT
BZMPOP 0 1 z MIN FOO 1
BZMPOP 0 1 s MIN
BZMPOP 0 2 nx s MAX
BZMPOP 0 1 z
BZMPOP 0
BZPOPMIN nx 0.01
BZPOPMAX nx 0.01
BZMPOP 0.01 1 nx MIN
MULTI
BZPOPMIN nx 0
BZPOPMAX nx z 0
BZMPOP 0 1 nx MAX
BZMPOP 0 2 nx z MIN COUNT 5
EXEC
EXISTS z
COMMAND GETKEYS BZMPOP 0 2 a b MIN
COMMAND GETKEYS BZPOPMIN a b 0
"""


def lines():
    return [ln.split() for ln in CORPUS.strip().splitlines() if ln.strip()]


class ZsetBlocking(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not dicetest.have_redis_server():
            raise unittest.SkipTest("redis-server not installed")
        cls.dice = dicetest.Server("dice")
        cls.redis = dicetest.Server("redis")

    @classmethod
    def tearDownClass(cls):
        cls.dice.stop()
        cls.redis.stop()

    def setUp(self):
        for s in (self.dice, self.redis):
            c = s.conn()
            c.cmd("FLUSHALL")
            c.cmd("CONFIG", "SET", "timeout", "0")
            c.close()

    def scenario(self, fn):
        """Run fn(server) on both servers and compare what it returns."""
        self.assertEqual(fn(self.dice), fn(self.redis))

    def test_corpus_resp2_resp3(self):
        for proto in ("2", "3"):
            cs = [self.dice.conn(), self.redis.conn()]
            for c in cs:
                c.cmd("FLUSHALL")
                if proto == "3":
                    c.cmd("HELLO", "3")
            for args in lines():
                d, r = cs[0].cmd(*args), cs[1].cmd(*args)
                self.assertEqual(d, r, (proto, args))
            for c in cs:
                c.close()

    def test_served_later_resp2_resp3(self):
        def run(s):
            out = []
            for proto in ("2", "3"):
                c1, c2, c3, p = (s.conn() for _ in range(4))
                for c in (c1, c2, c3):
                    c.cmd("HELLO", proto)
                # One at a time, so they block in this order.
                c1.send(dicetest.encode("BZPOPMIN", "k", "0"))
                time.sleep(0.05)
                c2.send(dicetest.encode("BZPOPMAX", "k", "0"))
                time.sleep(0.05)
                c3.send(dicetest.encode("BZMPOP", "0", "1", "k", "MAX",
                                        "COUNT", "2"))
                time.sleep(0.05)
                out.append(p.cmd("ZADD", "k", "1", "a", "2", "b", "3", "c",
                                 "4", "d", "5.5", "e"))
                out += [c1.read_reply(), c2.read_reply(), c3.read_reply()]
                out.append(p.cmd("ZRANGE", "k", "0", "-1", "WITHSCORES"))
                p.cmd("DEL", "k")
                for c in (c1, c2, c3, p):
                    c.close()
            return out
        self.scenario(run)

    def test_order_over_clients_and_keys(self):
        def run(s):
            c1, c2, c3, c4, p = (s.conn() for _ in range(5))
            c1.send(dicetest.encode("BZPOPMAX", "k1", "k2", "0"))
            time.sleep(0.05)
            c2.send(dicetest.encode("BZPOPMIN", "k2", "0"))
            time.sleep(0.05)
            c3.send(dicetest.encode("BZMPOP", "0", "2", "k2", "k1", "MIN",
                                    "COUNT", "5"))
            time.sleep(0.05)
            c4.send(dicetest.encode("BZPOPMIN", "k2", "0"))
            time.sleep(0.05)
            # Four members for four clients on k2: c1 takes the max, c2
            # the min, c3 the rest, c4 stays blocked.
            out = [p.cmd("ZADD", "k2", "1", "x", "2", "y", "3", "z", "4",
                         "w")]
            out += [c1.read_reply(), c2.read_reply(), c3.read_reply()]
            out.append(p.cmd("EXISTS", "k2"))
            out.append(p.cmd("ZADD", "k2", "7", "late"))
            out.append(c4.read_reply())
            for c in (c1, c2, c3, c4, p):
                c.close()
            return out
        self.scenario(run)

    def test_wakeup_by_other_writes(self):
        def run(s):
            out = []
            p = s.conn()
            p.cmd("ZADD", "src1", "1", "a", "2", "b")
            p.cmd("ZADD", "src2", "5", "b", "7", "c")
            writes = [
                ("ZINCRBY", "dst", "2.5", "m"),
                ("ZUNIONSTORE", "dst", "2", "src1", "src2"),
                ("ZINTERSTORE", "dst", "2", "src1", "src2", "WEIGHTS", "2",
                 "3"),
                ("ZDIFFSTORE", "dst", "2", "src2", "src1"),
                ("ZRANGESTORE", "dst", "src2", "0", "0"),
                ("COPY", "src1", "dst"),
            ]
            for w in writes:
                c = s.conn()
                c.send(dicetest.encode("BZMPOP", "0", "1", "dst", "MAX",
                                       "COUNT", "1"))
                time.sleep(0.05)
                out.append(p.cmd(*w))
                out.append(c.read_reply())
                p.cmd("DEL", "dst")
                c.close()
            # RENAME onto the key; a MULTI whose ZADD is undone by a ZREM
            # in the same EXEC does not serve; one that leaves it does.
            c = s.conn()
            c.send(dicetest.encode("BZPOPMIN", "dst", "0"))
            time.sleep(0.05)
            p.cmd("ZADD", "tmp", "9", "r")
            out.append(p.cmd("RENAME", "tmp", "dst"))
            out.append(c.read_reply())
            c.send(dicetest.encode("BZPOPMIN", "dst", "0"))
            time.sleep(0.05)
            for args in (("MULTI",), ("ZADD", "dst", "1", "gone"),
                         ("ZREM", "dst", "gone"), ("EXEC",)):
                out.append(p.cmd(*args))
            for args in (("MULTI",), ("ZADD", "dst", "1", "x", "2", "y"),
                         ("ZREM", "dst", "x"), ("EXEC",)):
                out.append(p.cmd(*args))
            out.append(c.read_reply())
            out.append(p.cmd("EXISTS", "dst"))
            c.close()
            p.close()
            return out
        self.scenario(run)

    def test_timeouts(self):
        def run(s):
            c = s.conn()
            out = []
            for args in (("BZPOPMIN", "nx", "0.2"), ("BZPOPMAX", "nx", ".1"),
                         ("BZMPOP", "0.1", "2", "nx", "ny", "MIN"),
                         ("BZMPOP", "0.1", "1", "nx", "MAX", "COUNT", "3")):
                t = time.time()
                out.append(c.cmd(*args))
                el = time.time() - t
                self.assertGreaterEqual(el, 0.09)
                self.assertLess(el, 1.5)
            c.cmd("HELLO", "3")
            out.append(c.cmd("BZPOPMIN", "nx", "0.05"))
            out.append(c.cmd("BZMPOP", "0.05", "1", "nx", "MIN"))
            # 0 waits for ever: still blocked after 0.3 s.
            c.send(dicetest.encode("BZPOPMAX", "nx", "0"))
            c.sock.settimeout(0.3)
            try:
                out.append(c.read_reply())
            except OSError:
                out.append("blocked")
            c.close()
            return out
        self.scenario(run)

    def test_wrong_type_and_disconnect(self):
        def run(s):
            c1, c2, p = s.conn(), s.conn(), s.conn()
            c1.send(dicetest.encode("BZPOPMIN", "w", "0"))
            time.sleep(0.05)
            # A string or a list at the key leaves the client blocked.
            out = [p.cmd("SET", "w", "str")]
            time.sleep(0.05)
            out.append(p.cmd("DEL", "w"))
            out.append(p.cmd("RPUSH", "w", "l"))
            time.sleep(0.05)
            out.append(p.cmd("DEL", "w"))
            c2.send(dicetest.encode("BZMPOP", "0", "1", "gone", "MIN"))
            time.sleep(0.05)
            c2.close()  # disconnects while blocked
            time.sleep(0.05)
            out.append(p.cmd("ZADD", "gone", "1", "v"))
            out.append(p.cmd("ZRANGE", "gone", "0", "-1"))
            out.append(p.cmd("ZADD", "w", "3", "v"))
            out.append(c1.read_reply())
            info = p.cmd("INFO", "clients")
            out.append([ln for ln in info.split(b"\r\n")
                        if ln.startswith(b"blocked_clients")])
            for c in (c1, p):
                c.close()
            return out
        self.scenario(run)

    def test_client_unblock_and_pipeline(self):
        def run(s):
            c1, c2, p = s.conn(), s.conn(), s.conn()
            id1 = c1.cmd("CLIENT", "ID")[1:-2]
            id2 = c2.cmd("CLIENT", "ID")[1:-2]
            c1.send(dicetest.encode("BZPOPMIN", "u", "0"))
            time.sleep(0.05)
            c2.send(dicetest.encode("BZMPOP", "0", "1", "u", "MAX"))
            time.sleep(0.05)
            out = [p.cmd("CLIENT", "UNBLOCK", id1),
                   c1.read_reply(),
                   p.cmd("CLIENT", "UNBLOCK", id2, "ERROR"),
                   c2.read_reply(),
                   p.cmd("CLIENT", "UNBLOCK", id2)]
            # Pipelined commands behind a blocked one run after it.
            c1.send(dicetest.encode("BZPOPMAX", "pp", "0") +
                    dicetest.encode("ZCARD", "pp"))
            time.sleep(0.05)
            out.append(p.cmd("ZADD", "pp", "1", "a", "2", "b"))
            out += [c1.read_reply(), c1.read_reply()]
            for c in (c1, c2, p):
                c.close()
            return out
        self.scenario(run)

    def test_python_client(self):
        import redis
        for s in (self.dice, self.redis):
            r = redis.Redis(port=s.port)
            r.delete("pz")
            r.zadd("pz", {"a": 1, "b": 2.5})
            self.assertEqual(r.bzpopmin(["nx", "pz"], timeout=1),
                             (b"pz", b"a", 1.0))
            self.assertEqual(r.bzpopmax("pz", timeout=1), (b"pz", b"b", 2.5))
            self.assertIsNone(r.bzpopmin("pz", timeout=0.1))
            r.close()


if __name__ == "__main__":
    dicetest.main(globals())
