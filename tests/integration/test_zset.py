"""Sorted sets against redis-server 7.0: every command, option and error
compared reply byte for byte in RESP2 and RESP3, OBJECT ENCODING at the
thresholds, the generic commands on zsets (TYPE, COPY, RENAME, MOVE, SCAN
TYPE, DEBUG DIGEST-VALUE, MEMORY USAGE), COMMAND GETKEYS of the numkeys
commands, python3-redis and redis-cli, and a randomized differential run
(fixed seeds plus one random seed, printed)."""
import os
import random
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

# Each line: one command; both servers must answer the same bytes.
SCRIPT = """
ZADD z 1 a 2.5 b 3 c
ZADD z 1
ZADD z x a
ZADD z nan a
ZADD z NX XX 1 a
ZADD z GT LT 1 a
ZADD z GT NX 1 a
ZADD z INCR 1 a 2 b
ZADD z XX CH 5 a 9 nope
ZADD z GT CH 1 a 10 b
ZADD z LT CH 1 a 10 b
ZADD z NX 7 a 7 new
ZADD z INCR 1 c
ZADD z NX INCR 1 c
ZADD z XX INCR 1 nope
ZADD nokey XX 1 a
ZADD nokey XX INCR 1 a
ZADD z 1.5e300 big -inf small +inf large 0.1 tenth 100000000000000000000 e20
ZRANGE z 0 -1 WITHSCORES
ZINCRBY z 1 a
ZINCRBY z x a
ZINCRBY z inf inc
ZINCRBY z -inf inc
ZINCRBY z 1
ZSCORE z a
ZSCORE z nope
ZSCORE nokey a
ZMSCORE z a nope b
ZMSCORE nokey a b
ZRANK z c
ZRANK z nope
ZREVRANK z c
ZRANK nokey a
ZCARD z
ZCARD nokey
ZCOUNT z -inf +inf
ZCOUNT z (1 3
ZCOUNT z 1 (3
ZCOUNT z x 3
ZCOUNT z ( 3
ZCOUNT z nan 3
ZCOUNT nokey 1 2
ZCOUNT nokey x 2
ZRANGEBYSCORE z (1 +inf
ZRANGEBYSCORE z -inf +inf WITHSCORES LIMIT 1 2
ZRANGEBYSCORE z -inf +inf LIMIT -1 2
ZRANGEBYSCORE z -inf +inf LIMIT 1 -1
ZRANGEBYSCORE z -inf +inf LIMIT 100 1
ZRANGEBYSCORE z -inf +inf LIMIT 1
ZRANGEBYSCORE z -inf +inf LIMIT x 1
ZRANGEBYSCORE z -inf +inf BYLEX
ZREVRANGEBYSCORE z +inf -inf WITHSCORES
ZREVRANGEBYSCORE z (5 (1 LIMIT 1 1
ZRANGE z 0 1 LIMIT 0 1
ZRANGE z 0 1 LIMIT 0 -1
ZRANGE z 0 -1 REV WITHSCORES
ZRANGE z -100 100
ZRANGE z 5 1
ZRANGE z x 1
ZRANGE z 1 5 BYSCORE REV
ZRANGE z 5 1 BYSCORE REV WITHSCORES
ZRANGE z (1 5 BYSCORE LIMIT 1 1 WITHSCORES
ZRANGE z [a [b BYLEX WITHSCORES
ZRANGE z - + BYLEX BYSCORE
ZRANGE z 0 1 REV REV
ZRANGE z 0 1 WITHSCORES WITHSCORES
ZRANGE z 0 1 foo
ZRANGE nokey 0 1
ZRANGE nokey x 1
ZREVRANGE z 0 1 WITHSCORES
ZREVRANGE z 0 1 BYSCORE
DEL z
ZADD l 0 a 0 b 0 c 0 d 0 e 0 ee 0 f
ZRANGEBYLEX l - +
ZRANGEBYLEX l [b (e
ZRANGEBYLEX l (b [e LIMIT 1 2
ZRANGEBYLEX l + -
ZRANGEBYLEX l a +
ZRANGEBYLEX l [a ++
ZRANGEBYLEX l - + WITHSCORES
ZREVRANGEBYLEX l + -
ZREVRANGEBYLEX l [e (b
ZREVRANGEBYLEX l + - LIMIT 2 2
ZLEXCOUNT l - +
ZLEXCOUNT l [b [d
ZLEXCOUNT l b d
ZLEXCOUNT nokey - +
ZREMRANGEBYLEX l [a (b
ZREMRANGEBYLEX l x y
ZREMRANGEBYLEX nokey - +
ZRANGE l 0 -1
ZREMRANGEBYRANK l 0 0
ZREMRANGEBYRANK l -2 -1
ZREMRANGEBYRANK l 5 1
ZREMRANGEBYRANK l x 1
ZREMRANGEBYRANK nokey 0 1
ZRANGE l 0 -1
ZADD s 1 a 2 b 3 c 4 d 5 e
ZREMRANGEBYSCORE s (1 2
ZREMRANGEBYSCORE s x 2
ZREMRANGEBYSCORE s 10 20
ZRANGE s 0 -1 WITHSCORES
ZREM s a nope
ZREM s nope
ZREM nokey a
ZPOPMIN s
ZPOPMIN s 0
ZPOPMIN s -1
ZPOPMIN s x
ZPOPMIN s 1 2
ZPOPMAX s 10
ZPOPMAX s
ZPOPMIN nokey
ZPOPMIN nokey 3
EXISTS s
ZADD p 1 a 2 b 3 c 4 d
ZMPOP 1 p MIN
ZMPOP 2 nokey p MAX COUNT 2
ZMPOP 1 nokey MIN
ZMPOP 0 p MIN
ZMPOP -1 p MIN
ZMPOP x p MIN
ZMPOP 3 p MIN
ZMPOP 1 p FOO
ZMPOP 1 p MIN COUNT 0
ZMPOP 1 p MIN COUNT x
ZMPOP 1 p MIN COUNT 1 COUNT 1
ZMPOP 1 p MIN FOO
ZMPOP 1 p MAX COUNT 10
EXISTS p
ZADD a 1 x 2 y 3 z
ZADD b 10 y 20 z 30 w
SADD plain y q
ZUNION 2 a b WITHSCORES
ZUNION 2 a b WEIGHTS 2 0.5 AGGREGATE MAX WITHSCORES
ZUNION 2 a b AGGREGATE MIN
ZUNION 2 a b AGGREGATE FOO
ZUNION 2 a b WEIGHTS 1
ZUNION 2 a b WEIGHTS 1 x
ZUNION 0 a
ZUNION x a
ZUNION 3 a b
ZUNION 2 a nokey WITHSCORES
ZUNION 2 a plain WITHSCORES
ZINTER 2 a b WITHSCORES
ZINTER 2 a plain WITHSCORES
ZINTER 2 a nokey
ZINTER 2 a b WEIGHTS 1 -1 AGGREGATE SUM WITHSCORES
ZDIFF 2 a b WITHSCORES
ZDIFF 2 b a
ZDIFF 1 a WEIGHTS 1
ZDIFF 2 a plain
ZINTERCARD 2 a b
ZINTERCARD 2 a b LIMIT 1
ZINTERCARD 2 a b LIMIT -1
ZINTERCARD 2 a b LIMIT 0
ZINTERCARD 0 a
ZINTERCARD 2 a b WITHSCORES
ZUNIONSTORE d 2 a b WEIGHTS 2 3
ZRANGE d 0 -1 WITHSCORES
ZINTERSTORE d 2 a b AGGREGATE MAX
ZRANGE d 0 -1 WITHSCORES
ZINTERSTORE d 2 a nokey
EXISTS d
ZDIFFSTORE d 2 b a
ZRANGE d 0 -1 WITHSCORES
ZDIFFSTORE d 1 a WITHSCORES
ZUNIONSTORE d 0 a
ZUNIONSTORE str 1 a
TYPE str
ZRANGESTORE d a 0 1
ZRANGE d 0 -1 WITHSCORES
ZRANGESTORE d a (1 +inf BYSCORE LIMIT 0 1
ZRANGESTORE d a 0 1 WITHSCORES
ZRANGESTORE d nokey 0 1
EXISTS d
ZRANGESTORE d a [x [y BYLEX REV
ZRANDMEMBER nokey
ZRANDMEMBER nokey 3
ZRANDMEMBER a 0
ZRANDMEMBER a 5 WITHSCORES
ZRANDMEMBER a x
ZRANDMEMBER a 1 FOO
ZRANDMEMBER a 1 WITHSCORES x
ZRANDMEMBER a -9223372036854775808
ZRANDMEMBER a -9223372036854775807 WITHSCORES
ZSCAN a 0
ZSCAN a 0 MATCH y*
ZSCAN a 0 COUNT 0
ZSCAN a 0 COUNT x
ZSCAN a 0 FOO
ZSCAN a x
ZSCAN nokey 0
SET str v
ZADD str 1 a
ZRANGE str 0 1
ZSCORE str a
ZUNION 2 a str
ZPOPMIN str
ZMPOP 2 nokey str MIN
ZRANDMEMBER str
ZSCAN str 0
ZADD big 1 a
ZADD big INCR 1e308 a
ZADD big INCR 1e308 a
ZADD big 0 -0
ZADD big -0.0 m
ZRANGE big 0 -1 WITHSCORES
ZADD z2 3.0 a 0x10 b 1e3 c
ZRANGE z2 0 -1 WITHSCORES
ZRANGEBYSCORE z2 0x1 1e4
ZRANGEBYSCORE z2 " 1" 1e4
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


@unittest.skipUnless(dicetest.have_redis_server(), "redis-server not installed")
class ZsetTest(unittest.TestCase):
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
            c.cmd("CONFIG", "SET", "zset-max-listpack-entries", "128")
            c.cmd("CONFIG", "SET", "zset-max-listpack-value", "64")
            if proto == 3:
                c.cmd("HELLO", "3")
        return d, r

    def same(self, d, r, *args):
        a, b = d.cmd(*args), r.cmd(*args)
        self.assertEqual(a, b, "%r" % (args,))
        return a

    def script(self):
        # Plain sets as ZUNION/ZINTER/ZDIFF inputs need the set type.
        c = self.dice.conn()
        have_sets = b"sadd" in c.cmd("COMMAND", "INFO", "sadd")
        c.close()
        return [split(ln) for ln in SCRIPT.strip().splitlines()
                if have_sets or "plain" not in ln]

    def test_script_resp2_resp3(self):
        for proto in (2, 3):
            d, r = self.pair(proto)
            for args in self.script():
                self.same(d, r, *args)
            d.close(), r.close()

    def test_big_encoding_script(self):
        # The same script on sets already past the listpack thresholds.
        for proto in (2, 3):
            d, r = self.pair(proto)
            for c in (d, r):
                c.cmd("CONFIG", "SET", "zset-max-listpack-entries", "0")
            for args in self.script():
                if args[0] == "ZSCAN" or args[0] == "ZRANDMEMBER":
                    continue  # hashtable order: checked elsewhere
                self.same(d, r, *args)
            for c in (d, r):
                c.cmd("CONFIG", "SET", "zset-max-listpack-entries", "128")
            d.close(), r.close()

    def test_encodings_at_thresholds(self):
        d, r = self.pair()
        for n in (127, 128, 129):
            for c in (d, r):
                c.cmd("DEL", "k")
                for i in range(n):
                    c.cmd("ZADD", "k", str(i), "m%d" % i)
            self.same(d, r, "OBJECT", "ENCODING", "k")
        for ln in (64, 65):
            for c in (d, r):
                c.cmd("DEL", "k")
                c.cmd("ZADD", "k", "1", "x" * ln)
            self.same(d, r, "OBJECT", "ENCODING", "k")
            for c in (d, r):
                c.cmd("DEL", "k")
                c.cmd("ZADD", "k", "1", "a")
                c.cmd("ZADD", "k", "1", "x" * ln)
            self.same(d, r, "OBJECT", "ENCODING", "k")
        # Store results take the encoding their size calls for.
        for c in (d, r):
            c.cmd("DEL", "k")
            for i in range(200):
                c.cmd("ZADD", "k", str(i), "m%d" % i)
        self.same(d, r, "ZRANGESTORE", "dst", "k", "0", "9")
        self.same(d, r, "OBJECT", "ENCODING", "dst")
        self.same(d, r, "ZUNIONSTORE", "dst", "1", "k")
        self.same(d, r, "OBJECT", "ENCODING", "dst")
        self.same(d, r, "ZREMRANGEBYRANK", "k", "0", "150")
        self.same(d, r, "OBJECT", "ENCODING", "k")  # never back
        self.same(d, r, "ZINTERSTORE", "dst", "1", "k")
        self.same(d, r, "OBJECT", "ENCODING", "dst")
        for c in (d, r):
            c.cmd("CONFIG", "SET", "zset-max-listpack-value", "3")
        self.same(d, r, "ZADD", "n", "1", "abcd")
        self.same(d, r, "OBJECT", "ENCODING", "n")
        for c in (d, r):
            c.cmd("CONFIG", "SET", "zset-max-listpack-value", "64")

    def test_generic_commands(self):
        d, r = self.pair()
        for c in (d, r):
            c.cmd("ZADD", "z", "1", "a", "2", "b")
            c.cmd("SET", "s", "v")
        for args in (("TYPE", "z"), ("COPY", "z", "z2"), ("ZRANGE", "z2", "0", "-1"),
                     ("RENAME", "z2", "z3"), ("MOVE", "z3", "1"),
                     ("SCAN", "0", "TYPE", "zset"), ("EXISTS", "z3")):
            self.same(d, r, *args)
        mu = int(d.cmd("MEMORY", "USAGE", "z")[1:-2])
        self.assertGreater(mu, 0)
        # Digests: the same content in either encoding digests the same.
        d.cmd("CONFIG", "SET", "zset-max-listpack-entries", "0")
        d.cmd("ZADD", "big", "1", "a", "2", "b")
        d.cmd("CONFIG", "SET", "zset-max-listpack-entries", "128")
        self.assertEqual(d.cmd("DEBUG", "DIGEST-VALUE", "z")[-43:],
                         d.cmd("DEBUG", "DIGEST-VALUE", "big")[-43:])
        self.assertEqual(d.cmd("OBJECT", "ENCODING", "big"), b"$8\r\nskiplist\r\n")
        self.assertEqual(d.cmd("COPY", "big", "big2"), b":1\r\n")
        self.assertEqual(d.cmd("ZRANGE", "big2", "0", "-1", "WITHSCORES"),
                         d.cmd("ZRANGE", "z", "0", "-1", "WITHSCORES"))

    def test_getkeys_and_info(self):
        d, r = self.pair()
        for args in (("COMMAND", "GETKEYS", "ZUNIONSTORE", "dst", "2", "a", "b", "WEIGHTS", "1", "2"),
                     ("COMMAND", "GETKEYS", "ZUNION", "2", "a", "b"),
                     ("COMMAND", "GETKEYS", "ZINTERCARD", "1", "a", "LIMIT", "1"),
                     ("COMMAND", "GETKEYS", "ZMPOP", "2", "a", "b", "MIN"),
                     ("COMMAND", "GETKEYS", "ZRANGESTORE", "d", "s", "0", "1"),
                     ("COMMAND", "GETKEYS", "ZDIFFSTORE", "d", "5", "a"),
                     ("COMMAND", "GETKEYS", "BZMPOP", "0", "2", "a", "b", "MIN"),
                     ("COMMAND", "GETKEYS", "BZMPOP", "0", "3", "a", "b", "MIN"),
                     ("COMMAND", "GETKEYS", "BZPOPMIN", "a", "b", "0"),
                     ("COMMAND", "GETKEYS", "BZPOPMAX", "a", "0")):
            self.same(d, r, *args)
        for name in ("zadd", "zincrby", "zrem", "zcard", "zcount", "zlexcount", "zscore",
                     "zmscore", "zrank", "zrevrank", "zrange", "zrangestore",
                     "zrangebyscore", "zrevrangebyscore", "zrangebylex", "zrevrangebylex",
                     "zrevrange", "zremrangebyrank", "zremrangebyscore", "zremrangebylex",
                     "zpopmin", "zpopmax", "zmpop", "zrandmember", "zunion", "zinter",
                     "zdiff", "zintercard", "zunionstore", "zinterstore", "zdiffstore",
                     "zscan", "bzpopmin", "bzpopmax", "bzmpop"):
            a = d.cmd("COMMAND", "INFO", name)
            b = r.cmd("COMMAND", "INFO", name)
            # Everything, key specs included (Redis's, from the family's
            # table in lib/commands/zset.c, or derived where they agree).
            self.assertEqual(a, b, name)

    def test_python_client_and_cli(self):
        for srv in (self.dice,):
            c = srv.redis(decode_responses=True)
            c.flushall()
            self.assertEqual(c.zadd("lb", {"ann": 10, "bob": 20.5}), 2)
            self.assertEqual(c.zrange("lb", 0, -1, withscores=True),
                             [("ann", 10.0), ("bob", 20.5)])
            self.assertEqual(c.zincrby("lb", 1, "ann"), 11.0)
            self.assertEqual(c.zrevrank("lb", "bob"), 0)
            self.assertEqual(c.zpopmax("lb"), [("bob", 20.5)])
            out = subprocess.run(["redis-cli", "-p", str(srv.port), "ZSCORE", "lb", "ann"],
                                 capture_output=True, text=True).stdout
            self.assertEqual(out.strip(), "11")

    def test_scan_and_random_big(self):
        d, r = self.pair()
        for i in range(300):
            d.cmd("ZADD", "k", str(i % 7), "m%d" % i)
        seen, cur = set(), b"0"
        while True:
            reply = d.cmd("ZSCAN", "k", cur, "COUNT", "20")
            parts = reply.split(b"\r\n")
            cur = parts[2]
            items = parts[4::2][:-1] if False else [p for p in parts[5::2]]
            for i in range(0, len(items) - 1, 2):
                seen.add(items[i])
            if cur == b"0":
                break
        self.assertEqual(len(seen), 300)
        rep = d.cmd("ZRANDMEMBER", "k", "50")
        self.assertTrue(rep.startswith(b"*50\r\n"))
        members = rep.split(b"\r\n")[2::2][:50]
        self.assertEqual(len(set(members)), 50)
        self.assertTrue(d.cmd("ZRANDMEMBER", "k", "-500").startswith(b"*500\r\n"))
        self.assertTrue(d.cmd("ZRANDMEMBER", "k", "400").startswith(b"*300\r\n"))

    def test_differential_random(self):
        seeds = [1, 2, 3, random.randrange(1 << 30)]
        print("test_zset random seeds:", seeds, flush=True)
        deadline = time.time() + 60
        for seed in seeds:
            rnd = random.Random(seed)
            for proto in (2, 3):
                d, r = self.pair(proto)
                for c in (d, r):
                    c.cmd("CONFIG", "SET", "zset-max-listpack-entries",
                          str(rnd.choice([0, 4, 16, 128])))
                for step in range(1500):
                    args = self.random_cmd(rnd)
                    a, b = d.cmd(*args), r.cmd(*args)
                    self.assertEqual(a, b, "seed %d proto %d step %d: %r" % (seed, proto, step, args))
                # Digests are dice's own (not Redis's): compare contents.
                for key in ("k1", "k2", "k3", "lex"):
                    self.same(d, r, "ZRANGE", key, "0", "-1", "WITHSCORES")
                d.close(), r.close()
                if time.time() > deadline:
                    return

    def random_cmd(self, rnd):
        keys = ["k1", "k2", "k3"]
        k = rnd.choice(keys)
        mem = lambda: "m%d" % rnd.randrange(40)
        sc = lambda: rnd.choice([str(rnd.randrange(-5, 6)), str(rnd.randrange(100) / 4),
                                 "-inf", "+inf", "1e3"])
        bound = lambda: rnd.choice(["", "("]) + rnd.choice(["-inf", "+inf", str(rnd.randrange(-3, 8))])
        lex = lambda: rnd.choice(["-", "+", "[" + mem(), "(" + mem()])
        idx = lambda: str(rnd.randrange(-12, 12))
        ws = lambda: ["WITHSCORES"] if rnd.random() < 0.5 else []
        lim = lambda: ["LIMIT", str(rnd.randrange(-1, 4)), str(rnd.randrange(-1, 6))] if rnd.random() < 0.4 else []
        c = rnd.randrange(26)
        if c < 5:
            opts = rnd.sample(["NX", "XX", "GT", "LT", "CH"], rnd.randrange(3))
            if rnd.random() < 0.15:
                return ["ZADD", k] + opts + ["INCR", sc(), mem()]
            pairs = []
            for _ in range(rnd.randrange(1, 5)):
                pairs += [sc(), mem()]
            return ["ZADD", k] + opts + pairs
        if c == 5:
            return ["ZINCRBY", k, sc(), mem()]
        if c == 6:
            return ["ZREM", k, mem(), mem()]
        if c == 7:
            return ["ZRANGE", k, idx(), idx()] + (["REV"] if rnd.random() < 0.5 else []) + ws()
        if c == 8:
            return ["ZRANGEBYSCORE", k, bound(), bound()] + ws() + lim()
        if c == 9:
            return ["ZREVRANGEBYSCORE", k, bound(), bound()] + ws() + lim()
        if c == 10:
            # Lex ranges only where all scores are equal: key k3 below.
            return ["ZRANGEBYLEX", "lex", lex(), lex()] + lim()
        if c == 11:
            return ["ZADD", "lex", "0", mem()]
        if c == 12:
            return ["ZREVRANGEBYLEX", "lex", lex(), lex()] + lim()
        if c == 13:
            return ["ZCOUNT", k, bound(), bound()]
        if c == 14:
            return ["ZLEXCOUNT", "lex", lex(), lex()]
        if c == 15:
            return [rnd.choice(["ZRANK", "ZREVRANK", "ZSCORE"]), k, mem()]
        if c == 16:
            return ["ZREMRANGEBYRANK", k, idx(), idx()]
        if c == 17:
            return ["ZREMRANGEBYSCORE", k, bound(), bound()]
        if c == 18:
            return ["ZREMRANGEBYLEX", "lex", lex(), lex()]
        if c == 19:
            return [rnd.choice(["ZPOPMIN", "ZPOPMAX"]), k] + ([str(rnd.randrange(4))] if rnd.random() < 0.5 else [])
        if c == 20:
            return ["ZMPOP", "2", k, rnd.choice(keys), rnd.choice(["MIN", "MAX"]), "COUNT", str(rnd.randrange(1, 4))]
        if c == 21:
            op = rnd.choice(["ZUNION", "ZINTER", "ZDIFF"])
            ks = rnd.sample(keys, rnd.randrange(1, 4))
            extra = []
            if op != "ZDIFF" and rnd.random() < 0.5:
                extra += ["WEIGHTS"] + [rnd.choice(["1", "2", "-1", "0.5"]) for _ in ks]
            if op != "ZDIFF" and rnd.random() < 0.5:
                extra += ["AGGREGATE", rnd.choice(["SUM", "MIN", "MAX"])]
            return [op, str(len(ks))] + ks + extra + ws()
        if c == 22:
            op = rnd.choice(["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"])
            ks = rnd.sample(keys, rnd.randrange(1, 4))
            return [op, rnd.choice(keys), str(len(ks))] + ks
        if c == 23:
            return ["ZRANGESTORE", rnd.choice(keys), k, idx(), idx()]
        if c == 24:
            return ["ZMSCORE", k, mem(), mem()]
        return ["ZINTERCARD", "2", k, rnd.choice(keys)]


if __name__ == "__main__":
    dicetest.main(globals())
