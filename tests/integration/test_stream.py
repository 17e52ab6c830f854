"""Streams against redis-server 7.0: every command, option and error
compared reply byte for byte in RESP2 and RESP3 (IDs made explicit; the
idle times XPENDING and XINFO report compared with the milliseconds
masked), blocking XREAD / XREADGROUP (order of waiters, timeouts, `$`,
wake-up in the same iteration as the write, disconnect while blocked,
CLIENT UNBLOCK, the group destroyed or the key deleted under a blocked
XREADGROUP), the generic commands on streams, python3-redis and
redis-cli, and a randomized differential run on streams and consumer
groups (fixed seeds plus one random seed, printed)."""
import os
import random
import re
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

SCRIPT = """
XADD s 1-1 a 1
XADD s 1-1 a 1
XADD s 0-0 a 1
XADD s 0-1 a 1
XADD s 1-2 a 1 b
XADD s 1-2 a 1 b 2
XADD s 1-* a 2
XADD s 2 f v
XADD s 2-* x y z w
XADD s 3-0 a 3
XADD s 18446744073709551615-18446744073709551614 a big
XADD s 18446744073709551615-* a big2
XADD s 18446744073709551615-* a big3
XLEN s
XRANGE s - +
XRANGE s - + COUNT 2
XRANGE s - + COUNT 0
XRANGE s - + COUNT -5
XRANGE s (1-1 +
XRANGE s (1-1 (3-0
XRANGE s 1 1
XRANGE s 2 +
XRANGE s (- +
XRANGE s - (+
XRANGE s x +
XRANGE s - + COUNT
XRANGE s - + FOO 1
XRANGE s - + COUNT x
XRANGE s 1-2-3 +
XRANGE s " 1" +
XRANGE s +1 +
XRANGE s 01 +
XRANGE s -0 +
XRANGE nokey - +
XRANGE nokey - + COUNT 0
XREVRANGE s + -
XREVRANGE s + - COUNT 1
XREVRANGE s (3-0 -
XREVRANGE s 2 1
XREVRANGE nokey + -
XRANGE s (18446744073709551615-18446744073709551615 +
XRANGE s - (0-0
XDEL s 1-2 9-9 1-2
XDEL s x
XDEL nokey 1-1
XLEN s
XRANGE s - +
XTRIM s MAXLEN 4
XTRIM s MAXLEN = 3
XTRIM s MINID 3
XTRIM s MINID ~ 3
XTRIM s MAXLEN ~ 1
XTRIM s MAXLEN ~ 1 LIMIT 1
XTRIM s MAXLEN = 1 LIMIT 1
XTRIM s MAXLEN -1
XTRIM s LIMIT 1
XTRIM s FOO 1
XTRIM s MAXLEN 1 MINID 1
XTRIM nokey MAXLEN 1
XRANGE s - +
XADD n NOMKSTREAM * a b
EXISTS n
XADD n MAXLEN 2 5-1 a b
XADD n MAXLEN 2 5-2 a b
XADD n MAXLEN 2 5-3 a b
XADD n MINID 5-3 5-4 a b
XADD n MAXLEN x 6-1 a b
XADD n MAXLEN -1 6-1 a b
XADD n LIMIT 5 6-1 a b
XADD n MAXLEN = 1 LIMIT 5 6-1 a b
XADD n MAXLEN ~ 1 LIMIT -1 6-1 a b
XADD n MAXLEN ~ 1 LIMIT 5 6-1 a b
XADD n MAXLEN 1 MINID 1 6-1 a b
XADD n NOMKSTREAM 7-1 a b
XADD n 8-1 a
XADD n
XRANGE n - +
XLEN n
XSETID n 1-1
XSETID n 100-1
XSETID n 100-1 ENTRIESADDED 0
XSETID n 100-1 ENTRIESADDED -1
XSETID n 100-1 ENTRIESADDED x
XSETID n 100-1 MAXDELETEDID 200-0
XSETID n 100-1 MAXDELETEDID 50-0 ENTRIESADDED 100
XSETID n 10-1
XSETID n 100-1 FOO
XSETID nokey 1-1
XSETID n -
XINFO STREAM n
XADD n 100-1 a b
XADD n 100-2 a b
XSET n
SET str x
XADD str 1-1 a b
XRANGE str - +
XLEN str
XDEL str 1-1
XTRIM str MAXLEN 1
XSETID str 1-1
XINFO STREAM str
XGROUP CREATE str g $
XREAD STREAMS str 0
XREADGROUP GROUP g c STREAMS str >
XACK str g 1-1
XPENDING str g
XCLAIM str g c 0 1-1
XAUTOCLAIM str g c 0 0
XREAD STREAMS s
XREAD COUNT 1 STREAMS s 0 1
XREAD COUNT 1 STREAMS s 0
XREAD COUNT 0 STREAMS s 0
XREAD COUNT -1 STREAMS s n 0 0
XREAD STREAMS s n $ $
XREAD STREAMS s n 2 3
XREAD STREAMS nokey 0
XREAD STREAMS s >
XREAD GROUP g c STREAMS s 0
XREAD NOACK STREAMS s 0
XREAD FOO STREAMS s 0
XREAD COUNT x STREAMS s 0
XREAD BLOCK x STREAMS s 0
XREAD BLOCK -1 STREAMS s 0
XREAD STREAMS s x
XREAD COUNT 1
XGROUP CREATE s g 0
XGROUP CREATE s g 0
XGROUP CREATE s g2 $
XGROUP CREATE s g3 x
XGROUP CREATE s g4 0 ENTRIESREAD -2
XGROUP CREATE s g4 0 ENTRIESREAD x
XGROUP CREATE s g4 0 ENTRIESREAD 1
XGROUP CREATE s g5 0 FOO
XGROUP CREATE s g6 0 MKSTREAM MKSTREAM MKSTREAM
XGROUP CREATE nokey g 0
XGROUP CREATE nokey g x MKSTREAM
EXISTS nokey
XGROUP CREATE mk g $ MKSTREAM
XINFO STREAM mk
XINFO STREAM mk FULL
XGROUP CREATE s
XGROUP SETID s nog 0
XGROUP SETID s g 0 ENTRIESREAD -5
XGROUP SETID s g 0 FOO 5
XGROUP SETID s g +
XGROUP SETID s g 0 ENTRIESREAD 1 x
XGROUP SETID s g x
XGROUP SETID nokey g 0
XGROUP SETID s g 0
XGROUP CREATECONSUMER s g c1
XGROUP CREATECONSUMER s g c1
XGROUP CREATECONSUMER s nog c1
XGROUP CREATECONSUMER nokey g c1
XGROUP DELCONSUMER s g nob
XGROUP DESTROY s nog
XGROUP DESTROY s g6
XGROUP DESTROY nokey g
XGROUP FOO s
XGROUP HELP
XGROUP HELP x
XINFO HELP
XINFO FOO
XINFO GROUPS s
XINFO GROUPS nokey
XINFO CONSUMERS s nog
XINFO STREAM nokey
XINFO STREAM s FOO
XINFO STREAM s FULL FOO
XINFO STREAM s FULL COUNT x
XREADGROUP GROUP g c1 COUNT 1 STREAMS s >
XREADGROUP GROUP g c2 COUNT 2 STREAMS s >
XREADGROUP GROUP g c1 STREAMS s 0
XREADGROUP GROUP g c1 COUNT 1 STREAMS s 0
XREADGROUP GROUP g c1 STREAMS s $
XREADGROUP GROUP nog c1 STREAMS s >
XREADGROUP GROUP g c1 STREAMS nokey >
XREADGROUP GROUP g STREAMS s >
XREADGROUP COUNT 1 STREAMS s >
XREADGROUP GROUP g c1 NOACK FOO STREAMS s >
XINFO GROUPS s
XPENDING s g
XPENDING s g - + 0 c1
XPENDING s g - + 10 nobody
XPENDING s g - + x
XPENDING s g - +
XPENDING s g IDLE 10
XPENDING s g IDLE x - + 10
XPENDING s nog
XPENDING nokey g
XPENDING s g2
XACK s g 1-1 x
XACK s g 1-1 1-1
XACK s nog 1-1
XACK nokey g 1-1
XPENDING s g
XCLAIM s g c3 0 2-0 JUSTID
XCLAIM s g c3 0 2-0 3-0 9-9 RETRYCOUNT 5
XCLAIM s g c3 0 2-0 TIME x
XCLAIM s g c3 0 2-0 IDLE x
XCLAIM s g c3 0 2-0 RETRYCOUNT x
XCLAIM s g c3 0 2-0 LASTID x
XCLAIM s g c3 0 2-0 FOO
XCLAIM s g c3 x 2-0
XCLAIM s nog c3 0 2-0
XCLAIM nokey g c3 0 2-0
XCLAIM s g c4 0 18446744073709551615-18446744073709551614 FORCE JUSTID
XCLAIM s g c4 999999999 2-0 JUSTID
XDEL s 2-0
XCLAIM s g c5 0 2-0
XPENDING s g
XAUTOCLAIM s g c6 0 0 COUNT 1
XAUTOCLAIM s g c6 0 0 COUNT 1 JUSTID
XAUTOCLAIM s g c6 0 0 COUNT 0
XAUTOCLAIM s g c6 x 0
XAUTOCLAIM s g c6 0 x
XAUTOCLAIM s g c6 0 0 FOO
XAUTOCLAIM s g c6 0 (18446744073709551615-18446744073709551615
XAUTOCLAIM s nog c6 0 0
XAUTOCLAIM s g c6 0 0
XDEL s 3-0
XAUTOCLAIM s g c7 0 0
XINFO GROUPS s
XINFO STREAM s
XGROUP DELCONSUMER s g c6
XGROUP DELCONSUMER s g c7
XPENDING s g
XGROUP DESTROY s g
XINFO GROUPS s
TYPE s
OBJECT ENCODING s
XTRIM s MAXLEN 0
XLEN s
EXISTS s
XINFO STREAM s
"""


def split(line):
    out, cur, q = [], "", False
    for ch in line:
        if ch == '"':
            q = not q
        elif ch == " " and not q:
            if cur:
                out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        out.append(cur)
    return out


def mask_nodes(raw):
    """radix-tree-nodes counts Redis's radix tree nodes: dice's own."""
    return re.sub(rb"radix-tree-nodes\r\n:\d+\r\n", b"radix-tree-nodes\r\n:N\r\n", raw)


def mask_ints(raw):
    """Replace every RESP integer by :N (idle times, delivery times)."""
    return re.sub(rb":-?\d+\r\n", b":N\r\n", raw)


class StreamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dice = dicetest.Server("dice", ["--enable-debug-command", "yes"])
        cls.redis = dicetest.Server("redis", ["--enable-debug-command", "yes"])

    @classmethod
    def tearDownClass(cls):
        cls.dice.stop()
        cls.redis.stop()

    def pair(self, proto=2):
        d, r = self.dice.conn(), self.redis.conn()
        for c in (d, r):
            c.cmd("FLUSHALL")
            c.cmd("CONFIG", "SET", "stream-node-max-entries", "100")
            c.cmd("CONFIG", "SET", "stream-node-max-bytes", "4096")
            if proto == 3:
                c.cmd("HELLO", "3")
        return d, r

    def same(self, d, r, *args):
        a, b = mask_nodes(d.cmd(*args)), mask_nodes(r.cmd(*args))
        self.assertEqual(a, b, "%r" % (args,))
        return a

    def test_script_resp2_resp3(self):
        for proto in (2, 3):
            d, r = self.pair(proto)
            for ln in SCRIPT.strip().splitlines():
                self.same(d, r, *split(ln))
            d.close(), r.close()

    def test_pending_and_consumers_masked(self):
        for proto in (2, 3):
            d, r = self.pair(proto)
            for c in (d, r):
                for i in range(1, 6):
                    c.cmd("XADD", "s", "%d-1" % i, "f", str(i))
                c.cmd("XGROUP", "CREATE", "s", "g", "0")
                c.cmd("XREADGROUP", "GROUP", "g", "a", "COUNT", "2", "STREAMS", "s", ">")
                c.cmd("XREADGROUP", "GROUP", "g", "b", "STREAMS", "s", ">")
                c.cmd("XCLAIM", "s", "g", "c", "0", "2-1", "RETRYCOUNT", "9")
            for args in (("XPENDING", "s", "g", "-", "+", "10"),
                         ("XPENDING", "s", "g", "-", "+", "10", "b"),
                         ("XPENDING", "s", "g", "IDLE", "0", "(1-1", "+", "2"),
                         ("XPENDING", "s", "g", "IDLE", "100000", "-", "+", "2"),
                         ("XINFO", "CONSUMERS", "s", "g"),
                         ("XINFO", "STREAM", "s", "FULL"),
                         ("XINFO", "STREAM", "s", "FULL", "COUNT", "1"),
                         ("XINFO", "STREAM", "s", "FULL", "COUNT", "0")):
                self.assertEqual(mask_ints(d.cmd(*args)), mask_ints(r.cmd(*args)), args)
            d.close(), r.close()

    def test_xclaim_same_id_twice_min_idle(self):
        # A claim resets the entry's delivery time: naming the ID again
        # with a min-idle-time that the new time fails skips it (the reply
        # holds it once), unless IDLE/TIME leave it idle enough.
        cmds = [("XCLAIM", "s", "g", "c2", "20", "1-1", "1-1", "2-1", "1-1"),
                ("XCLAIM", "s", "g", "c3", "20", "1-1", "2-1", "1-1", "JUSTID"),
                ("DEBUG", "SLEEP", "0.03"),
                ("XCLAIM", "s", "g", "c3", "20", "2-1", "2-1", "IDLE", "100000",
                 "JUSTID"),
                ("XCLAIM", "s", "g", "c4", "20", "2-1", "2-1", "1-1", "TIME",
                 "5", "JUSTID"),
                ("XCLAIM", "s", "g", "c5", "20", "3-1", "3-1", "3-1", "FORCE",
                 "JUSTID"),
                ("XCLAIM", "s", "g", "c5", "0", "3-1", "3-1", "FORCE", "JUSTID"),
                # (past the 1 ms min-idle-time on a busy machine too)
                ("DEBUG", "SLEEP", "0.01"),
                ("XCLAIM", "s", "g", "c6", "1", "3-1", "9-9", "3-1", "JUSTID"),
                ("XPENDING", "s", "g")]
        for proto in (2, 3):
            d, r = self.pair(proto)
            for c in (d, r):
                for i in (1, 2):
                    c.cmd("XADD", "s", "%d-1" % i, "f", str(i))
                c.cmd("XGROUP", "CREATE", "s", "g", "0")
                c.cmd("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">")
                c.cmd("XADD", "s", "3-1", "f", "3")
                c.cmd("DEBUG", "SLEEP", "0.05")
            for args in cmds:
                self.same(d, r, *args)
            d.close(), r.close()

    def test_node_boundaries_and_approx_trim(self):
        # Nodes split where Redis splits them, so radix-tree-keys and the
        # effect of `~` trimming match.
        for entries, nbytes in (("100", "4096"), ("7", "4096"), ("0", "300"), ("3", "0")):
            d, r = self.pair()
            for c in (d, r):
                c.cmd("CONFIG", "SET", "stream-node-max-entries", entries)
                c.cmd("CONFIG", "SET", "stream-node-max-bytes", nbytes)
                for i in range(1, 260):
                    fields = ["f", str(i)] if i % 7 else ["other", "x" * (i % 50), "f", "y"]
                    c.cmd("XADD", "s", "%d-%d" % (i // 3, i % 3), *fields)
            self.same(d, r, "XINFO", "STREAM", "s")
            self.same(d, r, "XTRIM", "s", "MAXLEN", "~", "100")
            self.same(d, r, "XTRIM", "s", "MINID", "~", "40-0", "LIMIT", "20")
            self.same(d, r, "XADD", "s", "MAXLEN", "~", "10", "900-1", "a", "b")
            self.same(d, r, "XINFO", "STREAM", "s")
            self.same(d, r, "XRANGE", "s", "-", "+")
            self.same(d, r, "XREVRANGE", "s", "+", "-", "COUNT", "7")
            self.same(d, r, "XTRIM", "s", "MAXLEN", "=", "3")
            self.same(d, r, "XINFO", "STREAM", "s")
            d.close(), r.close()

    def test_generic_commands(self):
        d, r = self.pair()
        for c in (d, r):
            c.cmd("XADD", "s", "1-1", "a", "1")
            c.cmd("XGROUP", "CREATE", "s", "g", "0")
        for args in (("TYPE", "s"), ("OBJECT", "ENCODING", "s"),
                     ("SCAN", "0", "TYPE", "stream"), ("COPY", "s", "s2"),
                     ("XRANGE", "s2", "-", "+"), ("XINFO", "GROUPS", "s2"),
                     ("RENAME", "s2", "s3"), ("XLEN", "s3"), ("MOVE", "s3", "1"),
                     ("EXISTS", "s3"), ("DEL", "s"), ("EXISTS", "s")):
            self.same(d, r, *args)
        # DEBUG DIGEST-VALUE and MEMORY USAGE are dice's own numbers: a
        # copy digests the same, a change changes it.
        d.cmd("XADD", "a", "1-1", "f", "v")
        d.cmd("COPY", "a", "b")
        da, db = d.cmd("DEBUG", "DIGEST-VALUE", "a"), d.cmd("DEBUG", "DIGEST-VALUE", "b")
        self.assertEqual(da, db)
        d.cmd("XADD", "b", "2-1", "f", "v")
        self.assertNotEqual(da, d.cmd("DEBUG", "DIGEST-VALUE", "b"))
        self.assertTrue(d.cmd("MEMORY", "USAGE", "a").startswith(b":"))
        d.close(), r.close()

    def test_getkeys(self):
        d, r = self.pair()
        for args in (("COMMAND", "GETKEYS", "XREAD", "COUNT", "2", "STREAMS", "a", "b", "0", "0"),
                     ("COMMAND", "GETKEYS", "XREADGROUP", "GROUP", "g", "c", "STREAMS", "k", ">"),
                     ("COMMAND", "GETKEYS", "XADD", "k", "*", "a", "b")):
            self.same(d, r, *args)
        d.close(), r.close()

    def test_python_client_and_cli(self):
        cli = self.dice.redis(decode_responses=True)
        cli.flushall()
        i1 = cli.xadd("ev", {"a": "1"})
        i2 = cli.xadd("ev", {"a": "2"}, maxlen=10, approximate=False)
        self.assertEqual([e[0] for e in cli.xrange("ev")], [i1, i2])
        cli.xgroup_create("ev", "g", id="0")
        got = cli.xreadgroup("g", "c", {"ev": ">"}, count=1)
        self.assertEqual(got[0][1][0][0], i1)
        self.assertEqual(cli.xack("ev", "g", i1), 1)
        self.assertEqual(cli.xpending("ev", "g")["pending"], 0)
        self.assertEqual(cli.xlen("ev"), 2)
        out = subprocess.run(["redis-cli", "-p", str(self.dice.port), "XADD", "ev", "9999999999999-1", "k", "v"],
                             capture_output=True, text=True).stdout
        self.assertEqual(out.strip(), "9999999999999-1")
        out = subprocess.run(["redis-cli", "-p", str(self.dice.port), "XREVRANGE", "ev", "+", "-", "COUNT", "1"],
                             capture_output=True, text=True).stdout
        self.assertEqual(out.split(), ["9999999999999-1", "k", "v"])

    # ---- blocking ---------------------------------------------------------

    def both(self, fn):
        for srv in (self.dice, self.redis):
            c = srv.conn()
            c.cmd("FLUSHALL")
            c.close()
            yield srv, fn(srv)

    def blocked_reply(self, srv, args, action, wait=0.2):
        """Send args on one connection, run action on another, return
        the first connection's reply."""
        c = srv.conn()
        c.send(dicetest.encode(*args))
        time.sleep(wait)
        o = srv.conn()
        action(o)
        rep = c.read_reply()
        c.close(), o.close()
        return rep

    def test_block_served_timeout_dollar(self):
        res = []
        for srv in (self.dice, self.redis):
            c = srv.conn()
            c.cmd("FLUSHALL")
            c.cmd("XADD", "s", "1-1", "a", "1")
            c.close()
            res.append((
                self.blocked_reply(srv, ("XREAD", "BLOCK", "0", "STREAMS", "s", "$"),
                                   lambda o: o.cmd("XADD", "s", "2-1", "b", "2")),
                self.blocked_reply(srv, ("XREAD", "BLOCK", "50", "STREAMS", "s", "$"),
                                   lambda o: None),
                self.blocked_reply(srv, ("XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "nokey", "s", "0", "$"),
                                   lambda o: o.cmd("XADD", "nokey", "5-1", "k", "v")),
            ))
        self.assertEqual(res[0], res[1])
        self.assertEqual(res[0][1], b"*-1\r\n")

    def test_block_order_and_same_iteration(self):
        for srv in (self.dice, self.redis):
            c = srv.conn()
            c.cmd("FLUSHALL")
            c.cmd("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
            w = [srv.conn() for _ in range(3)]
            for i, x in enumerate(w):
                x.send(dicetest.encode("XREADGROUP", "GROUP", "g", "c%d" % i, "COUNT", "1",
                                       "BLOCK", "0", "STREAMS", "s", ">"))
                time.sleep(0.05)
            # One MULTI adds two entries: the first two waiters are served
            # one entry each in blocking order, after the EXEC.
            c.cmd("MULTI")
            c.cmd("XADD", "s", "1-1", "a", "1")
            c.cmd("XADD", "s", "2-1", "a", "2")
            c.cmd("EXEC")
            r0, r1 = w[0].read_reply(), w[1].read_reply()
            self.assertIn(b"1-1", r0, srv.kind)
            self.assertIn(b"2-1", r1, srv.kind)
            self.assertEqual(c.cmd("XPENDING", "s", "g", "-", "+", "0"), b"*0\r\n")
            info = c.cmd("XPENDING", "s", "g")
            self.assertIn(b"c0", info)
            self.assertIn(b"c1", info)
            w[2].sock.close()  # disconnect while blocked
            time.sleep(0.1)
            c.cmd("XADD", "s", "3-1", "a", "3")
            self.assertEqual(c.cmd("PING"), b"+PONG\r\n")
            self.assertNotIn(b"c2", c.cmd("XPENDING", "s", "g"))
            for x in w[:2]:
                x.close()
            c.close()

    def test_block_group_destroyed_key_deleted_unblock(self):
        res = []
        for srv in (self.dice, self.redis):
            c = srv.conn()
            c.cmd("FLUSHALL")
            out = []
            for action in (lambda o: o.cmd("XGROUP", "DESTROY", "s", "g"),
                           lambda o: o.cmd("DEL", "s"),
                           lambda o: (o.cmd("SET", "s", "x"))):
                c.cmd("DEL", "s")
                c.cmd("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
                out.append(self.blocked_reply(
                    srv, ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"), action))
            # CLIENT UNBLOCK: timeout form and error form.
            c.cmd("DEL", "s")
            b = srv.conn()
            cid = b.cmd("CLIENT", "ID")[1:-2]
            b.send(dicetest.encode("XREAD", "BLOCK", "0", "STREAMS", "s", "$"))
            time.sleep(0.1)
            c.cmd("CLIENT", "UNBLOCK", cid)
            out.append(b.read_reply())
            b.send(dicetest.encode("XREAD", "BLOCK", "0", "STREAMS", "s", "$"))
            time.sleep(0.1)
            c.cmd("CLIENT", "UNBLOCK", cid, "ERROR")
            out.append(b.read_reply())
            # MULTI: a blocking read runs as its non-blocking form.
            c.cmd("MULTI")
            c.cmd("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
            out.append(c.cmd("EXEC"))
            b.close(), c.close()
            res.append(out)
        self.assertEqual(res[0], res[1])

    # ---- differential -----------------------------------------------------

    def test_differential_random(self):
        seeds = [1, 2, 3, random.randrange(1 << 30)]
        print("test_stream random seeds:", seeds, flush=True)
        deadline = time.time() + 60
        for seed in seeds:
            rnd = random.Random(seed)
            for proto in (2, 3):
                d, r = self.pair(proto)
                per_node = str(rnd.choice([2, 5, 100]))
                for c in (d, r):
                    c.cmd("CONFIG", "SET", "stream-node-max-entries", per_node)
                self.clock = {}
                for step in range(1200):
                    args = self.random_cmd(rnd)
                    a, b = d.cmd(*args), r.cmd(*args)
                    if args[0] in ("XPENDING",) and len(args) > 3:
                        a, b = mask_ints(a), mask_ints(b)
                    self.assertEqual(a, b, "seed %d proto %d step %d: %r" % (seed, proto, step, args))
                for key in ("k1", "k2", "k3"):
                    self.same(d, r, "XRANGE", key, "-", "+")
                d.close(), r.close()
                if time.time() > deadline:
                    return

    def rid(self, rnd):
        return "%d-%d" % (rnd.randrange(0, 40), rnd.randrange(0, 4))

    def random_cmd(self, rnd):
        k = rnd.choice(["k1", "k2", "k3"])
        g = rnd.choice(["g1", "g2"])
        cons = rnd.choice(["c1", "c2", "c3"])
        n = rnd.random()
        if n < 0.25:
            ms = self.clock.get(k, 0) + rnd.randrange(0, 3)
            self.clock[k] = ms
            opts = []
            t = rnd.random()
            if t < 0.1:
                opts = ["MAXLEN", rnd.choice(["=", "~"]), str(rnd.randrange(0, 12))]
            elif t < 0.15:
                opts = ["MINID", rnd.choice(["=", "~"]), self.rid(rnd)]
            elif t < 0.18:
                opts = ["NOMKSTREAM"]
            idarg = rnd.choice(["%d-*" % ms, "%d-%d" % (ms, rnd.randrange(0, 5)), str(ms)])
            nf = rnd.choice([1, 1, 2])
            fv = []
            for i in range(nf):
                fv += [rnd.choice(["f", "g", "123"]), str(rnd.randrange(100))]
            return ["XADD", k] + opts + [idarg] + fv
        if n < 0.32:
            return ["XRANGE", k, rnd.choice(["-", self.rid(rnd), "(" + self.rid(rnd)]),
                    rnd.choice(["+", self.rid(rnd)])] + (["COUNT", str(rnd.randrange(-1, 5))] if rnd.random() < 0.5 else [])
        if n < 0.36:
            return ["XREVRANGE", k, "+", rnd.choice(["-", self.rid(rnd)]), "COUNT", str(rnd.randrange(1, 4))]
        if n < 0.41:
            return ["XDEL", k] + [self.rid(rnd) for _ in range(rnd.randrange(1, 3))]
        if n < 0.44:
            return ["XTRIM", k, rnd.choice(["MAXLEN", "MINID"]), rnd.choice(["=", "~"]),
                    str(rnd.randrange(0, 8)) if rnd.random() < 0.5 else self.rid(rnd)]
        if n < 0.46:
            return ["XLEN", k]
        if n < 0.50:
            return ["XGROUP", "CREATE", k, g, rnd.choice(["0", "$", self.rid(rnd)])] + (["MKSTREAM"] if rnd.random() < 0.5 else [])
        if n < 0.52:
            return ["XGROUP", "SETID", k, g, rnd.choice(["0", "$", self.rid(rnd)])]
        if n < 0.53:
            return ["XGROUP", "DESTROY", k, g]
        if n < 0.55:
            return ["XGROUP", rnd.choice(["CREATECONSUMER", "DELCONSUMER"]), k, g, cons]
        if n < 0.67:
            return ["XREADGROUP", "GROUP", g, cons, "COUNT", str(rnd.randrange(1, 4))] + \
                (["NOACK"] if rnd.random() < 0.1 else []) + ["STREAMS", k, rnd.choice([">", ">", "0"])]
        if n < 0.72:
            return ["XREAD", "COUNT", str(rnd.randrange(0, 3)), "STREAMS", k, rnd.choice(["0", "$", self.rid(rnd)])]
        if n < 0.77:
            return ["XACK", k, g] + [self.rid(rnd) for _ in range(rnd.randrange(1, 3))]
        if n < 0.83:
            return ["XCLAIM", k, g, cons, "0", self.rid(rnd), self.rid(rnd)] + \
                rnd.choice([[], ["JUSTID"], ["FORCE"], ["RETRYCOUNT", "3"], ["LASTID", self.rid(rnd)]])
        if n < 0.88:
            return ["XAUTOCLAIM", k, g, cons, "0", rnd.choice(["0", self.rid(rnd)]), "COUNT", str(rnd.randrange(1, 4))] + \
                (["JUSTID"] if rnd.random() < 0.3 else [])
        if n < 0.92:
            return ["XPENDING", k, g] + (["-", "+", "5"] if rnd.random() < 0.5 else [])
        if n < 0.96:
            return ["XINFO", "GROUPS", k]
        if n < 0.98:
            return ["XSETID", k, self.rid(rnd)]
        return ["DEL", k]


if __name__ == "__main__":
    unittest.main(verbosity=2)
