"""Lists against redis-server 7.0: every list command's replies and error
texts (RESP2 and RESP3), COMMAND INFO / GETKEYS, the encoding, the generic
commands on a list (TYPE, OBJECT ENCODING, COPY, RENAME, MOVE, SCAN TYPE,
DEBUG DIGEST-VALUE, MEMORY USAGE), a randomized differential test of the
non-blocking commands on a few shared keys with several node sizes, and
the blocking commands' semantics: order of service over several clients
and keys, one push serving several clients, fractional and zero timeouts,
a push of the wrong type, disconnect while blocked, CLIENT UNBLOCK, the
idle `timeout` sparing blocked clients, BLMOVE / BRPOPLPUSH chains, and
python3-redis and redis-cli as clients."""
import os
import random
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

LIST_CMDS = ["lpush", "rpush", "lpushx", "rpushx", "lpop", "rpop", "llen",
             "lrange", "lindex", "lset", "linsert", "lrem", "ltrim", "lpos",
             "rpoplpush", "lmove", "lmpop", "blpop", "brpop", "brpoplpush",
             "blmove", "blmpop"]

# One command per line (whitespace separated), run in order on a flushed
# server; replies compared byte for byte.
CORPUS = """
lpop nokey
lpop nokey 0
lpop nokey 2
lpop nokey -1
rpush l a b c
lpop l 0
lpop l -1
lpop l x
lpop l 1 2
rpop l 1 2
lpop l 5
rpush l a b c a b a
lpos l a rank -9223372036854775808
lpos l a rank -9223372036854775807
lpos l a rank x
lpos l a count x
lpos l a maxlen x
lpos l a rank -2 count 2 maxlen 4
lpos l a rank 1 count 0 maxlen 0
lpos l a count 0 maxlen 3
lpos l a count 0 count 1
lpos l a COUNT 2 RANK -1
lpos l a rank 0
lpos l a count -1
lpos l a foo
lpos l a rank
lpos l zz
lpos l zz count 3
lpos nokey a count 0
lpos nokey a
lpos nokey a rank 0
lset nokey 0 x
lset nokey x y
lset l 99 x
lset l x x
lindex l x
lindex nokey x
lrange l x 1
lrange nokey x 1
linsert l middle a x
linsert l before zz x
linsert nokey before a x
linsert nokey up a b
lrem l x a
lrem nokey x y
ltrim l x 1
ltrim nokey x 1
lmove l l2 left up
lmove l l2 up left
lmpop 0 l left
lmpop 1 l up
lmpop 1 l left count 0
lmpop 1 l left count -1
lmpop 1 l left count x
lmpop 2 l left
lmpop x l left
lmpop -1 l left
lmpop 1 nokey left
lmpop 1 l left count 2 count 3
lmpop 1 l left foo
lmpop 9223372036854775807 l left
lmpop 2 nokey l RIGHT COUNT 2
blmpop 0 2147483648 l left
blmpop x 0 l left
blmpop x 1 l up
blmpop 0 1 l left count 0
lrange l -100 100
lrange l 5 2
lrange l 9223372036854775807 -9223372036854775808
lrange l -9223372036854775808 9223372036854775807
lindex l -7
lindex l -1
lindex l 99999999999999999999
lrem l 0 a
lrem l -1 b
lrange l 0 -1
ltrim l 1 0
exists l
set s x
lpush s a
lpushx s a
lpop s
lpop s 2
llen s
lrange s 0 1
lindex s 0
lset s 0 x
linsert s before a b
lrem s 0 a
ltrim s 0 1
lpos s a
lmpop 2 nokey s left
lpos s a count -1
lpos s a rank 0
lpush nokey
lpushx nokey a
rpushx nokey a
rpush l2 1 2
lset l2 -1 z
lset l2 -3 z
lrange l2 0 -1
linsert l2 BEFORE 1 q
linsert l2 after z w
linsert l2 after 1 100
lrange l2 0 -1
lmove l2 l2 left right
lrange l2 0 -1
rpoplpush l2 s
rpoplpush s l2
rpoplpush nokey s
lmove nokey l2 left left
lmove l2 s left left
lmove l2 new RIGHT LEFT
lrange new 0 -1
blpop l x
blpop l -1
blpop l 0.5x
blpop l2 0
brpop l2 s 0
brpop s l2 0
blmove l2 x right left 0
lrange x 0 -1
brpoplpush x l2 0
blmpop 0 2 nokey l2 right count 5
blmove a b left left 0.01
brpoplpush a b 0.01
blmpop 0.01 1 a left
blmove a b up left x
blmove a b left left x
brpop a .01
blpop a 1e-3
object encoding s
rpush big 1 2 3 -5 9223372036854775807 -9223372036854775808 007 1.5
object encoding big
type big
lrange big 0 -1
lindex big 0
lrem big 1 2
lpos big 9223372036854775807
lpos big 007
lrange big 0 -1
rpop big 3
lpop big 10
exists big
command getkeys lmpop 5 a b left
command getkeys lmpop 3 a b left
command getkeys lmpop 1 a
command getkeys lmpop 0 a left
command getkeys lmpop x a left
command getkeys blmpop 0 1 a left
command getkeys blmpop 0 2 a b right count 3
command getkeys blpop a b 0
command getkeys lmove a b left left
command getkeys brpoplpush a b 0
"""


def lines():
    return [ln.split() for ln in CORPUS.strip().splitlines() if ln.strip()]


class Lists(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not dicetest.have_redis_server():
            raise unittest.SkipTest("redis-server not installed")
        cls.dice = dicetest.Server("dice", args=["--enable-debug-command",
                                                 "yes"])
        cls.redis = dicetest.Server("redis", args=["--enable-debug-command",
                                                   "yes"])

    @classmethod
    def tearDownClass(cls):
        cls.dice.stop()
        cls.redis.stop()

    def setUp(self):
        for s in (self.dice, self.redis):
            c = s.conn()
            c.cmd("FLUSHALL")
            c.cmd("CONFIG", "SET", "list-max-listpack-size", "-2")
            c.cmd("CONFIG", "SET", "timeout", "0")
            c.close()

    def pair(self):
        return self.dice.conn(), self.redis.conn()

    def both(self, cs, *args):
        d, r = cs[0].cmd(*args), cs[1].cmd(*args)
        self.assertEqual(d, r, args)
        return d

    def test_corpus_resp2_resp3(self):
        for proto in ("2", "3"):
            cs = self.pair()
            self.both(cs, "FLUSHALL")
            if proto == "3":
                cs[0].cmd("HELLO", "3")
                cs[1].cmd("HELLO", "3")
            for args in lines():
                self.both(cs, *args)
            for c in cs:
                c.close()

    def test_command_info(self):
        cs = self.pair()
        for name in LIST_CMDS:
            d = dicetest_parse(cs[0].cmd("COMMAND", "INFO", name))[0]
            r = dicetest_parse(cs[1].cmd("COMMAND", "INFO", name))[0]
            # name, arity, flags, first/last/step, ACL categories, tips,
            # key specs
            self.assertEqual(d[:9], r[:9], name)
        for c in cs:
            c.close()

    def test_generic_commands_on_lists(self):
        cs = self.pair()
        self.both(cs, "RPUSH", "l", "a", "b", "1", "2")
        for args in (("TYPE", "l"), ("OBJECT", "ENCODING", "l"),
                     ("COPY", "l", "l2"), ("LRANGE", "l2", "0", "-1"),
                     ("RPUSH", "l2", "x"), ("LLEN", "l"),
                     ("COPY", "l", "l2"), ("COPY", "l", "l2", "REPLACE"),
                     ("LRANGE", "l2", "0", "-1"),
                     ("RENAME", "l2", "r"), ("LRANGE", "r", "0", "-1"),
                     ("MOVE", "r", "3"), ("EXISTS", "r"),
                     ("SET", "str", "v"),
                     ("SCAN", "0", "TYPE", "list"),
                     ("SELECT", "3"), ("TYPE", "r"), ("LPOP", "r", "9"),
                     ("EXISTS", "r"), ("SELECT", "0")):
            self.both(cs, *args)
        # Equal lists digest equal, different lists differently.
        for c in cs:
            c.cmd("RPUSH", "m", "a", "b", "1", "2")
            dl = c.cmd("DEBUG", "DIGEST-VALUE", "l")
            self.assertEqual(dl, c.cmd("DEBUG", "DIGEST-VALUE", "m"))
            c.cmd("LSET", "m", "0", "z")
            self.assertNotEqual(dl, c.cmd("DEBUG", "DIGEST-VALUE", "m"))
        # MEMORY USAGE: a list of 10,000 short strings, within 2x of Redis.
        sizes = []
        for c in cs:
            c.cmd("DEL", "big")
            for i in range(0, 10000, 500):
                c.cmd("RPUSH", "big", *["v%d" % j for j in range(i, i + 500)])
            sizes.append(int(c.cmd("MEMORY", "USAGE", "big")[1:-2]))
        self.assertLess(sizes[0], 2 * sizes[1])
        self.assertGreater(sizes[0], 10000 * 4)
        for c in cs:
            c.close()

    def test_node_sizes_and_big_elements(self):
        """Fill settings (entry counts, sizes), elements bigger than a
        node, LINSERT splitting full nodes, LTRIM and LREM across nodes."""
        cs = self.pair()
        for fill in ("-1", "-2", "-5", "1", "3", "128"):
            self.both(cs, "DEL", "q")
            self.both(cs, "CONFIG", "SET", "list-max-listpack-size", fill)
            for i in range(300):
                self.both(cs, "RPUSH" if i % 3 else "LPUSH", "q",
                          "e%d" % i * (1 + i % 7))
            self.both(cs, "RPUSH", "q", "B" * 20000, "C" * 70000)
            for i in range(0, 300, 7):
                self.both(cs, "LINSERT", "q", "BEFORE" if i % 2 else "AFTER",
                          "e%d" % i * (1 + i % 7), "ins%d" % i)
            self.both(cs, "LRANGE", "q", "0", "-1")
            self.both(cs, "LREM", "q", "-3", "ins14")
            self.both(cs, "LTRIM", "q", "17", "-23")
            self.both(cs, "LRANGE", "q", "0", "-1")
            self.both(cs, "LINDEX", "q", "150")
            self.both(cs, "LSET", "q", "100", "S" * 9000)
            self.both(cs, "LRANGE", "q", "90", "110")
            self.both(cs, "OBJECT", "ENCODING", "q")
        for c in cs:
            c.close()

    def test_random_differential(self):
        seeds = [1, 2, 3, random.randrange(1 << 30)]
        print("test_list random seeds:", seeds)
        for seed in seeds:
            self.run_random(seed, "3" if seed % 2 else "2")

    def run_random(self, seed, proto):
        rnd = random.Random(seed)
        cs = self.pair()
        self.both(cs, "FLUSHALL")
        if proto == "3":
            for c in cs:
                c.cmd("HELLO", "3")
        self.both(cs, "CONFIG", "SET", "list-max-listpack-size",
                  rnd.choice(["-2", "-1", "4", "16"]))
        keys = ["k1", "k2", "k3"]
        vals = ["a", "b", "c", "1", "2", "-3", "10000", "x" * 70,
                "y" * 300]

        def v():
            return rnd.choice(vals) if rnd.random() < 0.9 else \
                "r%d" % rnd.randrange(100)

        def idx():
            return str(rnd.randrange(-12, 12))

        def end():
            return rnd.choice(["LEFT", "RIGHT", "left"])

        gens = [
            lambda: [rnd.choice(["LPUSH", "RPUSH"]), rnd.choice(keys)] +
            [v() for _ in range(rnd.randrange(1, 6))],
            lambda: [rnd.choice(["LPUSHX", "RPUSHX"]), rnd.choice(keys), v()],
            lambda: [rnd.choice(["LPOP", "RPOP"]), rnd.choice(keys)] +
            ([str(rnd.randrange(0, 4))] if rnd.random() < 0.5 else []),
            lambda: ["LLEN", rnd.choice(keys)],
            lambda: ["LRANGE", rnd.choice(keys), idx(), idx()],
            lambda: ["LINDEX", rnd.choice(keys), idx()],
            lambda: ["LSET", rnd.choice(keys), idx(), v()],
            lambda: ["LINSERT", rnd.choice(keys),
                     rnd.choice(["BEFORE", "AFTER"]), v(), v()],
            lambda: ["LREM", rnd.choice(keys), str(rnd.randrange(-3, 4)),
                     v()],
            lambda: ["LTRIM", rnd.choice(keys), idx(), idx()],
            lambda: ["LPOS", rnd.choice(keys), v()] +
            (["RANK", str(rnd.choice([-2, -1, 1, 2]))]
             if rnd.random() < 0.5 else []) +
            (["COUNT", str(rnd.randrange(0, 3))]
             if rnd.random() < 0.5 else []) +
            (["MAXLEN", str(rnd.randrange(0, 6))]
             if rnd.random() < 0.3 else []),
            lambda: ["RPOPLPUSH", rnd.choice(keys), rnd.choice(keys)],
            lambda: ["LMOVE", rnd.choice(keys), rnd.choice(keys), end(),
                     end()],
            lambda: ["LMPOP", "2", rnd.choice(keys), rnd.choice(keys),
                     end()] + (["COUNT", str(rnd.randrange(1, 4))]
                               if rnd.random() < 0.5 else []),
            lambda: [rnd.choice(["BLPOP", "BRPOP"]), rnd.choice(keys),
                     rnd.choice(keys), "0.01"],
            lambda: ["BLMOVE", rnd.choice(keys), rnd.choice(keys), end(),
                     end(), "0.01"],
            lambda: ["SET", "k3", "str"] if rnd.random() < 0.1 else
            ["DEL", "k3"],
        ]
        deadline = time.time() + 20
        for _ in range(1500):
            if time.time() > deadline:
                break
            args = rnd.choice(gens)()
            self.both(cs, *args)
        for k in keys:
            self.both(cs, "TYPE", k)
            if cs[1].cmd("TYPE", k) == b"+list\r\n":
                self.both(cs, "LRANGE", k, "0", "-1")
        for c in cs:
            c.close()

    # ---- blocking ---------------------------------------------------------

    def scenario(self, fn):
        """Run fn(server) on both servers and compare what it returns."""
        self.assertEqual(fn(self.dice), fn(self.redis))

    def test_push_serves_several_in_order(self):
        def run(s):
            bl = [s.conn() for _ in range(3)]
            for c in bl:
                c.send(dicetest.encode("BLPOP", "q", "0"))
                time.sleep(0.05)
            p = s.conn()
            out = [p.cmd("LPUSH", "q", "a", "b", "c", "d")]
            out += [c.read_reply() for c in bl]
            out.append(p.cmd("LRANGE", "q", "0", "-1"))
            for c in bl + [p]:
                c.close()
            return out
        self.scenario(run)

    def test_wakeup_by_script_and_multi(self):
        """A script's push and a MULTI/EXEC's push serve blocked clients
        once the script or the transaction has run, with what is left
        then: the script's own LPOP has taken the first element."""
        def run(s):
            c1, c2, c3, p = (s.conn() for _ in range(4))
            c1.send(dicetest.encode("BLPOP", "sq", "0"))
            c2.send(dicetest.encode("BLMOVE", "mq", "md", "LEFT", "RIGHT", "0"))
            c3.send(dicetest.encode("BLMPOP", "0", "1", "mq2", "LEFT",
                                    "COUNT", "2"))
            time.sleep(0.1)
            out = [p.cmd("EVAL", "redis.call('rpush', KEYS[1], 'a', 'b') "
                         "redis.call('lpop', KEYS[1]) "
                         "return redis.call('llen', KEYS[1])", "1", "sq"),
                   c1.read_reply()]
            for args in (("MULTI",), ("RPUSH", "mq", "1"),
                         ("RPUSH", "mq2", "x", "y", "z"), ("LPOP", "mq2"),
                         ("EXEC",)):
                out.append(p.cmd(*args))
            out += [c2.read_reply(), c3.read_reply()]
            out += [p.cmd("LRANGE", k, "0", "-1") for k in ("sq", "md", "mq2")]
            for c in (c1, c2, c3, p):
                c.close()
            return out
        self.scenario(run)

    def test_killed_while_blocked(self):
        """CLIENT KILL of a blocked client takes it off the key's queue:
        the push serves the next client blocked there."""
        def run(s):
            c1, c2, p = s.conn(), s.conn(), s.conn()
            id1 = c1.cmd("CLIENT", "ID")[1:-2]
            c1.send(dicetest.encode("BLPOP", "kq", "0"))
            time.sleep(0.05)
            c2.send(dicetest.encode("BRPOP", "kq", "0"))
            time.sleep(0.05)
            out = [p.cmd("CLIENT", "KILL", "ID", id1),
                   c1.closed_by_peer(1.0),
                   p.cmd("RPUSH", "kq", "only"),
                   c2.read_reply(),
                   p.cmd("EXISTS", "kq")]
            for c in (c1, c2, p):
                c.close()
            return out
        self.scenario(run)

    def test_order_over_keys(self):
        def run(s):
            c1, c2, c3, p = (s.conn() for _ in range(4))
            c1.send(dicetest.encode("BRPOP", "k1", "k2", "0"))
            time.sleep(0.05)
            c2.send(dicetest.encode("BLPOP", "k2", "0"))
            time.sleep(0.05)
            c3.send(dicetest.encode("BLMPOP", "0", "2", "k2", "k1", "LEFT",
                                    "COUNT", "5"))
            time.sleep(0.05)
            out = [p.cmd("RPUSH", "k2", "x", "y", "z", "w")]
            out += [c1.read_reply(), c2.read_reply(), c3.read_reply()]
            out.append(p.cmd("EXISTS", "k2"))
            for c in (c1, c2, c3, p):
                c.close()
            return out
        self.scenario(run)

    def test_timeouts(self):
        def run(s):
            c = s.conn()
            out = []
            for args in (("BLPOP", "nx", "0.2"), ("BRPOP", "nx", ".1"),
                         ("BLMOVE", "nx", "d", "LEFT", "RIGHT", "0.1"),
                         ("BRPOPLPUSH", "nx", "d", "0.1"),
                         ("BLMPOP", "0.1", "1", "nx", "RIGHT")):
                t = time.time()
                out.append(c.cmd(*args))
                el = time.time() - t
                self.assertGreaterEqual(el, 0.09)
                self.assertLess(el, 1.5)
            c.cmd("HELLO", "3")
            out.append(c.cmd("BLPOP", "nx", "0.05"))
            # 0 waits for ever: still blocked after 0.3 s.
            c.send(dicetest.encode("BLPOP", "nx", "0"))
            c.sock.settimeout(0.3)
            try:
                out.append(c.read_reply())
            except OSError:
                out.append("blocked")
            c.close()
            return out
        self.scenario(run)

    def test_wrong_type_push_and_disconnect(self):
        def run(s):
            c1, c2, p = s.conn(), s.conn(), s.conn()
            c1.send(dicetest.encode("BLPOP", "w", "0"))
            time.sleep(0.05)
            out = [p.cmd("SET", "w", "str")]
            time.sleep(0.05)
            out.append(p.cmd("DEL", "w"))
            c2.send(dicetest.encode("BLPOP", "gone", "0"))
            time.sleep(0.05)
            c2.close()  # disconnects while blocked
            time.sleep(0.05)
            out.append(p.cmd("RPUSH", "gone", "v"))
            out.append(p.cmd("LRANGE", "gone", "0", "-1"))
            out.append(p.cmd("RPUSH", "w", "v"))
            out.append(c1.read_reply())
            info = p.cmd("INFO", "clients")
            out.append([ln for ln in info.split(b"\r\n")
                        if ln.startswith(b"blocked_clients")])
            for c in (c1, p):
                c.close()
            return out
        self.scenario(run)

    def test_client_unblock_and_idle_timeout(self):
        def run(s):
            c1, c2, p = s.conn(), s.conn(), s.conn()
            id1 = c1.cmd("CLIENT", "ID")[1:-2]
            id2 = c2.cmd("CLIENT", "ID")[1:-2]
            c1.send(dicetest.encode("BLMOVE", "u", "d", "LEFT", "LEFT", "0"))
            c2.send(dicetest.encode("BLPOP", "u", "0"))
            time.sleep(0.05)
            out = [p.cmd("CLIENT", "UNBLOCK", id1),
                   c1.read_reply(),
                   p.cmd("CLIENT", "UNBLOCK", id2, "ERROR"),
                   c2.read_reply(),
                   p.cmd("CLIENT", "UNBLOCK", id2)]
            # `timeout` closes idle clients but not blocked ones.
            p.cmd("CONFIG", "SET", "timeout", "1")
            c1.send(dicetest.encode("BLPOP", "u", "0"))
            time.sleep(2.5)
            out.append(p.closed_by_peer(0.1))  # p was idle: closed
            q = s.conn()
            out.append(q.cmd("RPUSH", "u", "late"))
            out.append(c1.read_reply())
            q.cmd("CONFIG", "SET", "timeout", "0")
            for c in (c1, c2, q):
                c.close()
            return out
        self.scenario(run)

    def test_move_chains(self):
        def run(s):
            c1, c2, c3, p = (s.conn() for _ in range(4))
            c1.send(dicetest.encode("BRPOPLPUSH", "a", "b", "0"))
            time.sleep(0.05)
            c2.send(dicetest.encode("BLMOVE", "b", "c", "RIGHT", "LEFT", "0"))
            time.sleep(0.05)
            c3.send(dicetest.encode("BLPOP", "c", "0"))
            time.sleep(0.05)
            out = [p.cmd("RPUSH", "a", "x1", "x2")]
            out += [c1.read_reply(), c2.read_reply(), c3.read_reply()]
            out += [p.cmd("LRANGE", k, "0", "-1") for k in "abc"]
            # A destination of the wrong type: WRONGTYPE, nothing moved.
            p.cmd("SET", "s", "str")
            c1.send(dicetest.encode("BLMOVE", "m", "s", "LEFT", "LEFT", "0"))
            time.sleep(0.05)
            out.append(p.cmd("LPUSH", "m", "v"))
            out.append(c1.read_reply())
            out.append(p.cmd("LRANGE", "m", "0", "-1"))
            # A client waiting on its own destination (BLMOVE d d).
            c1.send(dicetest.encode("BLMOVE", "d", "d", "LEFT", "RIGHT", "0"))
            time.sleep(0.05)
            out.append(p.cmd("RPUSH", "d", "1", "2"))
            out.append(c1.read_reply())
            out.append(p.cmd("LRANGE", "d", "0", "-1"))
            # Pipelined commands behind a blocked one run after it.
            c2.send(dicetest.encode("BLPOP", "pp", "0") +
                    dicetest.encode("LLEN", "pp"))
            time.sleep(0.05)
            out.append(p.cmd("RPUSH", "pp", "1", "2"))
            out += [c2.read_reply(), c2.read_reply()]
            for c in (c1, c2, c3, p):
                c.close()
            return out
        self.scenario(run)

    def test_clients(self):
        import redis
        for s in (self.dice, self.redis):
            r = redis.Redis(port=s.port)
            r.delete("pl")
            self.assertEqual(r.rpush("pl", "a", "b", 3), 3)
            self.assertEqual(r.lrange("pl", 0, -1), [b"a", b"b", b"3"])
            self.assertEqual(r.blpop(["nx", "pl"], timeout=1), (b"pl", b"a"))
            self.assertEqual(r.lpos("pl", "3"), 1)
            self.assertIsNone(r.blpop(["nx"], timeout=0.1))
            out = subprocess.run(["redis-cli", "-p", str(s.port), "LMPOP",
                                  "1", "pl", "RIGHT", "COUNT", "5"],
                                 capture_output=True, text=True).stdout
            self.assertEqual(out, "pl\n3\nb\n")
            r.close()


def dicetest_parse(raw):
    """Parse raw RESP bytes into Python values (sets as sorted lists)."""
    pos = [0]

    def line():
        i = raw.index(b"\r\n", pos[0])
        ln = raw[pos[0]:i]
        pos[0] = i + 2
        return ln

    def one():
        ln = line()
        t, rest = ln[:1], ln[1:]
        if t in (b"+", b"-"):
            return rest.decode()
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            s = raw[pos[0]:pos[0] + n]
            pos[0] += n + 2
            return s
        if t in (b"*", b"~", b"%"):
            n = int(rest)
            if n < 0:
                return None
            if t == b"%":
                n *= 2
            return [one() for _ in range(n)]
        if t == b"_":
            return None
        raise ValueError(ln)
    return one()


if __name__ == "__main__":
    dicetest.main(globals())
