"""The generic key commands of dice-server (lib/commands/keys.c): DEL UNLINK
EXISTS TYPE KEYS SCAN RANDOMKEY RENAME RENAMENX COPY TOUCH DBSIZE OBJECT,
the EXPIRE/TTL family, PERSIST, FLUSHDB FLUSHALL SWAPDB MOVE.

Replies are checked as raw RESP bytes: a fixed table of commands with the
bytes redis-server 7.0 answers (the same table is replayed against a real
redis-server when one is installed, which proves the expected bytes), real
expiry (lazy and active), SCAN completeness while the table rehashes, glob
patterns, several databases, and a differential run of a few hundred
seeded command sequences against redis-server."""
import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402
from dicetest import encode  # noqa: E402

LLMAX = "9223372036854775807"
LLMIN = "-9223372036854775808"

OK = b"+OK\r\n"
NIL = b"$-1\r\n"
SYNTAX = b"-ERR syntax error\r\n"
NOTINT = b"-ERR value is not an integer or out of range\r\n"
RANGE = b"-ERR DB index is out of range\r\n"
SAME = b"-ERR source and destination objects are the same\r\n"
INTRANGE = (b"-ERR value is out of range, value must between -2147483648 "
            b"and 2147483647\r\n")
FREQ_ERR = (b"-ERR An LFU maxmemory policy is not selected, access frequency "
            b"not tracked. Please note that when switching between policies "
            b"at runtime LRU and LFU data will take some time to adjust.\r\n")
OBJECT_HELP = (
    b"*15\r\n"
    b"+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
    b"+ENCODING <key>\r\n"
    b"+    Return the kind of internal representation used in order to store "
    b"the value\r\n"
    b"+    associated with a <key>.\r\n"
    b"+FREQ <key>\r\n"
    b"+    Return the access frequency index of the <key>. The returned "
    b"integer is\r\n"
    b"+    proportional to the logarithm of the recent access frequency of "
    b"the key.\r\n"
    b"+IDLETIME <key>\r\n"
    b"+    Return the idle time of the <key>, that is the approximated number "
    b"of\r\n"
    b"+    seconds elapsed since the last access to the key.\r\n"
    b"+REFCOUNT <key>\r\n"
    b"+    Return the number of references of the value associated with the "
    b"specified\r\n"
    b"+    <key>.\r\n"
    b"+HELP\r\n"
    b"+    Prints this help.\r\n")


def i(n):
    return b":%d\r\n" % n


def bulk(s):
    if isinstance(s, str):
        s = s.encode()
    return b"$%d\r\n%s\r\n" % (len(s), s)


def arr(*items):
    return b"*%d\r\n" % len(items) + b"".join(items)


def err(s):
    return b"-ERR " + s.encode() + b"\r\n"


# (command, expected reply) run in order on one connection, starting from
# an empty keyspace in db 0. Replies whose order Redis does not define
# (KEYS, SCAN with several keys) are kept to one element here.
FIXED = [
    (["FLUSHALL"], OK),
    # DEL / UNLINK / EXISTS / TOUCH count repeats as Redis does.
    (["SET", "a", "1"], OK),
    (["SET", "b", "hello"], OK),
    (["EXISTS", "a", "a", "b", "zz"], i(3)),
    (["TOUCH", "a", "a", "zz"], i(2)),
    (["DEL", "a", "a", "zz"], i(1)),
    (["UNLINK", "b", "b"], i(1)),
    (["EXISTS", "a", "b"], i(0)),
    (["DEL"], err("wrong number of arguments for 'del' command")),
    (["EXISTS"], err("wrong number of arguments for 'exists' command")),
    # TYPE
    (["SET", "s", "v"], OK),
    (["TYPE", "s"], b"+string\r\n"),
    (["TYPE", "zz"], b"+none\r\n"),
    (["type", "s", "x"], err("wrong number of arguments for 'type' command")),
    # KEYS / RANDOMKEY / DBSIZE on one key
    (["KEYS", "*"], arr(bulk("s"))),
    (["KEYS", "s?"], arr()),
    (["RANDOMKEY"], bulk("s")),
    (["DBSIZE"], i(1)),
    (["DBSIZE", "x"], err("wrong number of arguments for 'dbsize' command")),
    # SCAN arguments
    (["SCAN", "0"], arr(bulk("0"), arr(bulk("s")))),
    (["SCAN", ""], arr(bulk("0"), arr(bulk("s")))),
    (["SCAN", "0", "COUNT", "1000", "MATCH", "s", "TYPE", "string"],
     arr(bulk("0"), arr(bulk("s")))),
    (["SCAN", "0", "TYPE", "STRING"], arr(bulk("0"), arr(bulk("s")))),
    (["SCAN", "0", "TYPE", "list"], arr(bulk("0"), arr())),
    (["SCAN", "0", "TYPE", "nosuchtype"], arr(bulk("0"), arr())),
    (["SCAN", "0", "MATCH", "x*"], arr(bulk("0"), arr())),
    (["SCAN", "0", "MATCH", "x*", "MATCH", "*"],
     arr(bulk("0"), arr(bulk("s")))),
    (["SCAN", "0", b"count\x00junk", "5"], arr(bulk("0"), arr(bulk("s")))),
    (["SCAN", "x"], err("invalid cursor")),
    (["SCAN", " 1"], err("invalid cursor")),
    (["SCAN", "1 "], err("invalid cursor")),
    (["SCAN", "-"], err("invalid cursor")),
    (["SCAN", "18446744073709551616"], err("invalid cursor")),
    (["SCAN", "x", "COUNT", "0"], err("invalid cursor")),
    (["SCAN", "0", "COUNT", "0"], SYNTAX),
    (["SCAN", "0", "COUNT", "-1"], SYNTAX),
    (["SCAN", "0", "COUNT", "x"], NOTINT),
    (["SCAN", "0", "COUNT", "01"], NOTINT),
    (["SCAN", "0", "COUNT"], SYNTAX),
    (["SCAN", "0", "MATCH"], SYNTAX),
    (["SCAN", "0", "FOO", "bar"], SYNTAX),
    (["SCAN", "0", "COUNT", "x", "FOO"], NOTINT),
    (["SCAN"], err("wrong number of arguments for 'scan' command")),
    # RENAME / RENAMENX
    (["RENAME", "zz", "t"], err("no such key")),
    (["RENAMENX", "zz", "t"], err("no such key")),
    (["RENAME", "s", "s"], OK),
    (["RENAMENX", "s", "s"], i(0)),
    (["RENAME", "s", "t"], OK),
    (["GET", "t"], bulk("v")),
    (["EXISTS", "s"], i(0)),
    (["SET", "u", "w"], OK),
    (["RENAMENX", "t", "u"], i(0)),
    (["RENAMENX", "t", "s"], i(1)),
    (["RENAME", "s", "u"], OK),
    (["GET", "u"], bulk("v")),
    (["DBSIZE"], i(1)),
    # COPY and its options, errors in argument order
    (["COPY", "u", "u"], SAME),
    (["COPY", "zz", "c"], i(0)),
    (["COPY", "u", "c"], i(1)),
    (["COPY", "u", "c"], i(0)),
    (["SET", "u", "new"], OK),
    (["COPY", "u", "c", "REPLACE"], i(1)),
    (["GET", "c"], bulk("new")),
    (["COPY", "u", "c", "replace", "REPLACE"], i(1)),
    (["COPY", "u", "u", "DB", "1"], i(1)),
    (["COPY", "u", "u", "DB", "1"], i(0)),
    (["COPY", "u", "u", "DB", "0"], SAME),
    (["COPY", "u", "c", "DB", "16"], RANGE),
    (["COPY", "u", "c", "DB", "-1"], RANGE),
    (["COPY", "u", "c", "DB", "x"], NOTINT),
    (["COPY", "u", "c", "DB", "4294967296"], INTRANGE),
    (["COPY", "u", "c", "DB"], SYNTAX),
    (["COPY", "u", "c", "FOO"], SYNTAX),
    (["COPY", "u", "c", "FOO", "DB", "99"], SYNTAX),
    (["COPY", "u", "c", "DB", "99", "FOO"], RANGE),
    (["COPY", "u", "c", "DB", "1", "DB", "99"], RANGE),
    (["COPY", "u", "u", "DB", "1", "DB", "0"], SAME),
    (["COPY", "u"], err("wrong number of arguments for 'copy' command")),
    # MOVE
    (["MOVE", "u", "0"], SAME),
    (["MOVE", "zz", "0"], SAME),
    (["MOVE", "u", "16"], RANGE),
    (["MOVE", "u", "-1"], RANGE),
    (["MOVE", "u", "x"], NOTINT),
    (["MOVE", "u", "-0"], NOTINT),
    (["MOVE", "u", "2147483648"], INTRANGE),
    (["MOVE", "zz", "1"], i(0)),
    (["MOVE", "u", "1"], i(0)),  # db 1 has "u" from COPY ... DB 1
    (["MOVE", "c", "2"], i(1)),
    (["EXISTS", "c"], i(0)),
    # SWAPDB
    (["SWAPDB", "x", "1"], err("invalid first DB index")),
    (["SWAPDB", "1", "x"], err("invalid second DB index")),
    (["SWAPDB", "x", "y"], err("invalid first DB index")),
    (["SWAPDB", "4294967296", "1"], err("invalid first DB index")),
    (["SWAPDB", "1", "-4294967296"], err("invalid second DB index")),
    (["SWAPDB", "16", "1"], RANGE),
    (["SWAPDB", "1", "-1"], RANGE),
    (["SWAPDB", "0", "0"], OK),
    (["DBSIZE"], i(1)),
    (["SWAPDB", "0", "2"], OK),
    (["GET", "c"], bulk("new")),
    (["GET", "u"], NIL),
    (["SWAPDB", "2", "0"], OK),
    (["GET", "u"], bulk("new")),
    # FLUSHDB / FLUSHALL modes
    (["FLUSHDB", "x"], SYNTAX),
    (["FLUSHDB", "ASYNC", "SYNC"], SYNTAX),
    (["FLUSHALL", "foo"], SYNTAX),
    (["FLUSHDB", "sync"], OK),
    (["DBSIZE"], i(0)),
    (["MOVE", "x", "1"], i(0)),
    (["SWAPDB", "0", "1"], OK),
    (["DBSIZE"], i(1)),
    (["FLUSHDB", "ASYNC"], OK),
    (["SWAPDB", "0", "2"], OK),
    (["DBSIZE"], i(1)),
    (["FLUSHALL", "ASYNC"], OK),
    (["DBSIZE"], i(0)),
    (["FLUSHALL", "SYNC"], OK),
    (["FLUSHALL"], OK),
    (["RANDOMKEY"], NIL),
    (["KEYS", "*"], arr()),
    (["SCAN", "0"], arr(bulk("0"), arr())),
    # EXPIRE family: options, then the number, then overflow, then the key
    (["SET", "k", "v"], OK),
    (["EXPIRE", "k", "100", "NX", "XX"],
     err("NX and XX, GT or LT options at the same time are not compatible")),
    (["EXPIRE", "k", "100", "nx", "gt"],
     err("NX and XX, GT or LT options at the same time are not compatible")),
    (["EXPIRE", "k", "100", "LT", "NX"],
     err("NX and XX, GT or LT options at the same time are not compatible")),
    (["EXPIRE", "k", "100", "GT", "LT"],
     err("GT and LT options at the same time are not compatible")),
    (["EXPIRE", "k", "x", "GT", "LT"],
     err("GT and LT options at the same time are not compatible")),
    (["EXPIRE", "k", "100", "foo"], err("Unsupported option foo")),
    (["EXPIRE", "k", "x", "NX", "bar"], err("Unsupported option bar")),
    (["EXPIRE", "k", "100", b"foo\x00tail"], err("Unsupported option foo")),
    (["EXPIRE", "k", "x"], NOTINT),
    (["EXPIRE", "k", "1.5"], NOTINT),
    (["EXPIRE", "k", ""], NOTINT),
    (["EXPIRE", "k", LLMAX], err("invalid expire time in 'expire' command")),
    (["EXPIRE", "k", "9223372036854776"],
     err("invalid expire time in 'expire' command")),
    (["EXPIRE", "k", LLMIN], err("invalid expire time in 'expire' command")),
    (["expire", "k", "-9223372036854776"],
     err("invalid expire time in 'expire' command")),
    (["PEXPIRE", "k", LLMAX], err("invalid expire time in 'pexpire' command")),
    (["EXPIREAT", "k", LLMAX],
     err("invalid expire time in 'expireat' command")),
    (["EXPIRE", "zz", "100"], i(0)),
    (["EXPIRE", "zz", "x"], NOTINT),
    (["EXPIRE", "zz", "-1", "NX", "NX"], i(0)),
    (["TTL", "k"], i(-1)),
    (["PTTL", "k"], i(-1)),
    (["EXPIRETIME", "k"], i(-1)),
    (["PEXPIRETIME", "k"], i(-1)),
    (["TTL", "zz"], i(-2)),
    (["PTTL", "zz"], i(-2)),
    (["EXPIRETIME", "zz"], i(-2)),
    (["PEXPIRETIME", "zz"], i(-2)),
    (["EXPIRE", "k", "100", "XX"], i(0)),
    (["EXPIRE", "k", "100", "GT"], i(0)),   # no TTL counts as infinite
    (["PEXPIREAT", "k", "4102444800000", "LT"], i(1)),
    (["PEXPIRETIME", "k"], i(4102444800000)),
    (["EXPIRETIME", "k"], i(4102444800)),
    (["EXPIREAT", "k", "4102444801", "NX"], i(0)),
    (["EXPIREAT", "k", "4102444801", "LT"], i(0)),
    (["EXPIREAT", "k", "4102444800", "GT"], i(0)),
    (["EXPIREAT", "k", "4102444801", "GT", "XX"], i(1)),
    (["PEXPIRETIME", "k"], i(4102444801000)),
    (["PEXPIREAT", "k", "4102444800999", "lt"], i(1)),
    (["EXPIRETIME", "k"], i(4102444801)),   # rounded to nearest second
    (["PEXPIREAT", "k", "4102444800499"], i(1)),
    (["EXPIRETIME", "k"], i(4102444800)),
    (["PERSIST", "k"], i(1)),
    (["PERSIST", "k"], i(0)),
    (["PERSIST", "zz"], i(0)),
    (["TTL", "k"], i(-1)),
    (["PEXPIREAT", "k", LLMAX], i(1)),
    (["PEXPIRETIME", "k"], i(9223372036854775807)),
    (["EXPIRETIME", "k"], i(9223372036854776)),
    (["PERSIST", "k"], i(1)),
    # A time in the past deletes the key and answers 1.
    (["EXPIRE", "k", "-1"], i(1)),
    (["EXISTS", "k"], i(0)),
    (["SET", "k", "v"], OK),
    (["PEXPIRE", "k", "0"], i(1)),
    (["EXISTS", "k"], i(0)),
    (["SET", "k", "v"], OK),
    (["EXPIREAT", "k", "1"], i(1)),
    (["EXISTS", "k"], i(0)),
    (["SET", "k", "v"], OK),
    (["PEXPIRE", "k", LLMIN], i(1)),
    (["EXISTS", "k"], i(0)),
    (["SET", "k", "v"], OK),
    (["EXPIRE", "k", "-9223372036854775"], i(1)),
    (["EXISTS", "k"], i(0)),
    (["SET", "k", "v"], OK),
    (["EXPIRE", "k", "-5", "LT"], i(1)),    # LT: no TTL is infinite
    (["EXISTS", "k"], i(0)),
    (["SET", "k", "v"], OK),
    (["EXPIRE", "k", "-5", "GT"], i(0)),
    (["EXPIRE", "k", "-5", "XX"], i(0)),
    (["EXISTS", "k"], i(1)),
    (["EXPIRE", "k"], err("wrong number of arguments for 'expire' command")),
    (["TTL"], err("wrong number of arguments for 'ttl' command")),
    (["PERSIST", "k", "x"],
     err("wrong number of arguments for 'persist' command")),
    # The TTL moves with RENAME, COPY and MOVE.
    (["PEXPIREAT", "k", "4102444800000"], i(1)),
    (["RENAME", "k", "k2"], OK),
    (["PEXPIRETIME", "k2"], i(4102444800000)),
    (["COPY", "k2", "k3"], i(1)),
    (["PEXPIRETIME", "k3"], i(4102444800000)),
    (["MOVE", "k3", "1"], i(1)),
    (["SET", "k2", "x"], OK),
    (["PEXPIRETIME", "k2"], i(-1)),
    (["FLUSHALL"], OK),
    # OBJECT
    (["SET", "int", "12"], OK),
    (["SET", "emb", "hello"], OK),
    (["SET", "raw", "x" * 45], OK),
    (["SET", "emb44", "x" * 44], OK),
    (["SET", "big", "12345"], OK),
    (["SET", "neg", "-1"], OK),
    (["SET", "lead0", "012"], OK),
    (["OBJECT", "ENCODING", "int"], bulk("int")),
    (["OBJECT", "ENCODING", "emb"], bulk("embstr")),
    (["OBJECT", "ENCODING", "raw"], bulk("raw")),
    (["OBJECT", "ENCODING", "emb44"], bulk("embstr")),
    (["OBJECT", "ENCODING", "big"], bulk("int")),
    (["OBJECT", "ENCODING", "lead0"], bulk("embstr")),
    (["OBJECT", "ENCODING", "zz"], NIL),
    (["OBJECT", "REFCOUNT", "int"], i(2147483647)),
    (["OBJECT", "REFCOUNT", "big"], i(1)),
    (["OBJECT", "REFCOUNT", "neg"], i(1)),
    (["OBJECT", "REFCOUNT", "emb"], i(1)),
    (["OBJECT", "REFCOUNT", "raw"], i(1)),
    (["OBJECT", "REFCOUNT", "zz"], NIL),
    (["OBJECT", "IDLETIME", "emb"], i(0)),
    (["OBJECT", "IDLETIME", "zz"], NIL),
    (["OBJECT", "FREQ", "emb"], FREQ_ERR),
    (["OBJECT", "FREQ", "zz"], NIL),
    (["object", "help"], OBJECT_HELP),
    (["OBJECT", "HELP", "x"],
     err("wrong number of arguments for 'object|help' command")),
    (["OBJECT", "foo"], err("unknown subcommand 'foo'. Try OBJECT HELP.")),
    (["OBJECT", "foo", "x"], err("unknown subcommand 'foo'. Try OBJECT HELP.")),
    (["OBJECT", "ENCODING"],
     err("wrong number of arguments for 'object|encoding' command")),
    (["OBJECT", "encoding", "a", "b"],
     err("wrong number of arguments for 'object|encoding' command")),
    (["OBJECT"], err("wrong number of arguments for 'object' command")),
    (["FLUSHALL"], OK),
]


class Fixed(unittest.TestCase):
    """Explicit bytes, on dice-server and (when installed) redis-server."""

    @classmethod
    def setUpClass(cls):
        cls.srv = dicetest.Server("dice")

    @classmethod
    def tearDownClass(cls):
        assert cls.srv.stop() == 0

    def run_table(self, port, table):
        c = dicetest.Conn(port)
        try:
            for n, (args, want) in enumerate(table):
                got = c.cmd(*args)
                self.assertEqual(got, want, "step %d: %r" % (n, args))
        finally:
            c.close()

    def test_fixed_table(self):
        self.run_table(self.srv.port, FIXED)

    def test_fixed_table_matches_redis(self):
        if not dicetest.have_redis_server():
            self.skipTest("redis-server is not installed")
        r = dicetest.Server("redis")
        try:
            self.run_table(r.port, FIXED)
        finally:
            r.stop()

    def test_resp3(self):
        c = self.srv.conn()
        c.cmd("HELLO", "3")
        self.assertEqual(c.cmd("FLUSHALL"), OK)
        self.assertEqual(c.cmd("RANDOMKEY"), b"_\r\n")
        self.assertEqual(c.cmd("OBJECT", "ENCODING", "zz"), b"_\r\n")
        self.assertEqual(c.cmd("OBJECT", "REFCOUNT", "zz"), b"_\r\n")
        self.assertEqual(c.cmd("KEYS", "*"), b"*0\r\n")
        self.assertEqual(c.cmd("SET", "a", "1"), OK)
        self.assertEqual(c.cmd("KEYS", "*"), arr(bulk("a")))
        self.assertEqual(c.cmd("SCAN", "0"), arr(bulk("0"), arr(bulk("a"))))
        self.assertEqual(c.cmd("OBJECT", "HELP"), OBJECT_HELP)
        self.assertEqual(c.cmd("TTL", "a"), i(-1))
        self.assertEqual(c.cmd("RENAME", "zz", "a"), err("no such key"))
        self.assertEqual(c.cmd("FLUSHALL"), OK)
        c.close()

    def test_binary_keys(self):
        c = self.srv.conn()
        c.cmd("FLUSHALL")
        k = b"a\x00b\r\n"
        self.assertEqual(c.cmd("SET", k, "v"), OK)
        self.assertEqual(c.cmd("EXISTS", k, b"a"), i(1))
        self.assertEqual(c.cmd("KEYS", "*"), arr(bulk(k)))
        self.assertEqual(c.cmd("KEYS", b"a\x00*"), arr(bulk(k)))
        self.assertEqual(c.cmd("RENAME", k, ""), OK)
        self.assertEqual(c.cmd("TYPE", ""), b"+string\r\n")
        self.assertEqual(c.cmd("RANDOMKEY"), bulk(""))
        self.assertEqual(c.cmd("COPY", "", k), i(1))
        self.assertEqual(c.cmd("DEL", "", k), i(2))
        c.close()

    def test_command_info(self):
        """Arity, flags and key positions as Redis 7.0 registers them."""
        import redis
        r = self.srv.redis()
        want = {
            "del": (-2, ["write"], 1, -1, 1),
            "unlink": (-2, ["write", "fast"], 1, -1, 1),
            "exists": (-2, ["readonly", "fast"], 1, -1, 1),
            "type": (2, ["readonly", "fast"], 1, 1, 1),
            "keys": (2, ["readonly"], 0, 0, 0),
            "scan": (-2, ["readonly"], 0, 0, 0),
            "randomkey": (1, ["readonly"], 0, 0, 0),
            "rename": (3, ["write"], 1, 2, 1),
            "renamenx": (3, ["write", "fast"], 1, 2, 1),
            "copy": (-3, ["write", "denyoom"], 1, 2, 1),
            "touch": (-2, ["readonly", "fast"], 1, -1, 1),
            "dbsize": (1, ["readonly", "fast"], 0, 0, 0),
            "object": (-2, [], 0, 0, 0),
            "expire": (-3, ["write", "fast"], 1, 1, 1),
            "pexpire": (-3, ["write", "fast"], 1, 1, 1),
            "expireat": (-3, ["write", "fast"], 1, 1, 1),
            "pexpireat": (-3, ["write", "fast"], 1, 1, 1),
            "ttl": (2, ["readonly", "fast"], 1, 1, 1),
            "pttl": (2, ["readonly", "fast"], 1, 1, 1),
            "expiretime": (2, ["readonly", "fast"], 1, 1, 1),
            "pexpiretime": (2, ["readonly", "fast"], 1, 1, 1),
            "persist": (2, ["write", "fast"], 1, 1, 1),
            "flushdb": (-1, ["write"], 0, 0, 0),
            "flushall": (-1, ["write"], 0, 0, 0),
            "swapdb": (3, ["write", "fast"], 0, 0, 0),
            "move": (3, ["write", "fast"], 1, 1, 1),
        }
        c = self.srv.conn()
        for name, (arity, flags, first, last, step) in want.items():
            raw = c.cmd("COMMAND", "INFO", name)
            head = b"*1\r\n*"
            self.assertTrue(raw.startswith(head), (name, raw))
            expect = (bulk(name) + i(arity) +
                      arr(*[b"+%s\r\n" % f.encode() for f in flags]) +
                      i(first) + i(last) + i(step))
            self.assertIn(expect, raw, name)
        c.close()
        del redis, r


class InfoFigures(unittest.TestCase):
    """INFO's keyspace and stats sections report the keyspace's own counts."""

    def test_info_keyspace_and_hits(self):
        srv = dicetest.Server("dice")
        try:
            c = srv.conn()
            c.cmd("SET", "a", "1")
            c.cmd("SET", "b", "2", "PX", "100000")
            c.cmd("SELECT", "3")
            c.cmd("SET", "c", "3")
            c.cmd("GET", "c")
            c.cmd("GET", "nosuch")
            info = c.cmd("INFO", "keyspace").decode()
            self.assertIn("db0:keys=2,expires=1,avg_ttl=", info)
            self.assertIn("db3:keys=1,expires=0,avg_ttl=0", info)
            self.assertNotIn("db1:", info)
            stats = c.cmd("INFO", "stats").decode()
            self.assertIn("keyspace_hits:1\r\n", stats)
            self.assertIn("keyspace_misses:1\r\n", stats)
            self.assertEqual(c.cmd("CONFIG", "RESETSTAT"), b"+OK\r\n")
            self.assertIn("keyspace_hits:0\r\n", c.cmd("INFO", "stats").decode())
            c.close()
        finally:
            self.assertEqual(srv.stop(), 0)


    def test_far_future_ttls_in_active_expiry(self):
        """Active expiry samples TTLs near INT64_MAX without overflowing its
        average (a sanitizer build aborts on signed overflow)."""
        srv = dicetest.Server("dice")
        try:
            c = srv.conn()
            for i in range(40):
                c.cmd("SET", "far%d" % i, "v")
                c.cmd("PEXPIREAT", "far%d" % i, str(9223372036854775807 - i))
            time.sleep(0.5)  # several 100 ms cron rounds sample them
            self.assertEqual(c.cmd("PING"), b"+PONG\r\n")
            info = c.cmd("INFO", "keyspace").decode()
            self.assertIn("db0:keys=40,expires=40,avg_ttl=", info)
            avg = int(info.split("avg_ttl=")[1].split("\r\n")[0])
            self.assertGreater(avg, 0)
            c.close()
        finally:
            self.assertEqual(srv.stop(), 0)


class Expiry(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = dicetest.Server("dice")

    @classmethod
    def tearDownClass(cls):
        assert cls.srv.stop() == 0

    def test_lazy_expiry(self):
        c = self.srv.conn()
        c.cmd("FLUSHALL")
        self.assertEqual(c.cmd("SET", "k", "v"), OK)
        self.assertEqual(c.cmd("PEXPIRE", "k", "100"), i(1))
        pttl = int(c.cmd("PTTL", "k")[1:-2])
        self.assertTrue(0 < pttl <= 100, pttl)
        self.assertEqual(c.cmd("TTL", "k"), i(0))   # 100 ms rounds to 0 s
        self.assertEqual(c.cmd("GET", "k"), bulk("v"))
        time.sleep(0.2)
        self.assertEqual(c.cmd("GET", "k"), NIL)
        self.assertEqual(c.cmd("TTL", "k"), i(-2))
        self.assertEqual(c.cmd("EXISTS", "k"), i(0))
        # EXPIRE in seconds: TTL rounds to the nearest second.
        c.cmd("SET", "k", "v")
        self.assertEqual(c.cmd("EXPIRE", "k", "100"), i(1))
        self.assertEqual(c.cmd("TTL", "k"), i(100))
        pt = int(c.cmd("PTTL", "k")[1:-2])
        self.assertTrue(99000 < pt <= 100000, pt)
        now = int(time.time() * 1000)
        pet = int(c.cmd("PEXPIRETIME", "k")[1:-2])
        self.assertTrue(abs(pet - (now + 100000)) < 2000, (pet, now))
        # Overwriting with SET clears the TTL.
        c.cmd("SET", "k", "w")
        self.assertEqual(c.cmd("TTL", "k"), i(-1))
        c.close()

    def test_expiry_in_other_db_and_after_move(self):
        c = self.srv.conn()
        c.cmd("FLUSHALL")
        c.cmd("SET", "k", "v")
        self.assertEqual(c.cmd("PEXPIRE", "k", "150"), i(1))
        self.assertEqual(c.cmd("MOVE", "k", "3"), i(1))
        self.assertEqual(c.cmd("SELECT", "3"), OK)
        pttl = int(c.cmd("PTTL", "k")[1:-2])
        self.assertTrue(0 < pttl <= 150, pttl)
        time.sleep(0.3)
        self.assertEqual(c.cmd("EXISTS", "k"), i(0))
        self.assertEqual(c.cmd("SELECT", "0"), OK)
        c.close()

    def test_active_expiry(self):
        """Keys nobody touches are reclaimed by the server's timer."""
        c = self.srv.conn()
        c.cmd("FLUSHALL")
        n = 1000
        c.send(b"".join(encode("SET", "ak:%d" % j, "v", "PX", "50")
                        for j in range(n)))
        for _ in range(n):
            self.assertEqual(c.read_reply(), OK)
        self.assertEqual(c.cmd("DBSIZE"), i(n))
        deadline = time.time() + 5
        size = n
        while time.time() < deadline:
            size = int(c.cmd("DBSIZE")[1:-2])
            if size == 0:
                break
            time.sleep(0.05)
        self.assertEqual(size, 0)
        # Keys with no TTL or a long one stay.
        c.cmd("SET", "keep", "v")
        c.cmd("SET", "long", "v", "EX", "100")
        c.cmd("SET", "short", "v", "PX", "30")
        time.sleep(0.5)
        self.assertEqual(c.cmd("DBSIZE"), i(2))
        c.close()


class Scan(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = dicetest.Server("dice")

    @classmethod
    def tearDownClass(cls):
        assert cls.srv.stop() == 0

    def test_scan_complete_while_rehashing(self):
        """Every key present for the whole iteration is returned, while a
        second connection grows and then shrinks the table."""
        c, w = self.srv.conn(), self.srv.conn()
        c.cmd("FLUSHALL")
        n = 20000
        for base in range(0, n, 1000):
            args = ["MSET"]
            for j in range(base, base + 1000):
                args += ["orig:%d" % j, "v"]
            self.assertEqual(c.cmd(*args), OK)
        self.assertEqual(c.cmd("DBSIZE"), i(n))
        seen = set()
        cursor = b"0"
        steps = 0
        made = 0
        dropped = 0
        while True:
            reply = c.cmd("SCAN", cursor, "COUNT", "10")
            cursor, keys = parse_scan(reply)
            seen.update(keys)
            steps += 1
            # Churn: first grow (forcing table growth and rehashing), then
            # delete everything extra (forcing shrinking).
            batch = []
            if steps < 600:
                for _ in range(40):
                    batch.append(encode("SET", "other:%d" % made, "x"))
                    made += 1
                for _ in range(10):
                    batch.append(encode("DEL", "other:%d" % dropped))
                    dropped += 1
            elif dropped < made:
                for _ in range(min(100, made - dropped)):
                    batch.append(encode("UNLINK", "other:%d" % dropped))
                    dropped += 1
            if batch:
                w.send(b"".join(batch))
                for _ in batch:
                    w.read_reply()
            if cursor == b"0":
                break
            self.assertLess(steps, 200000)
        missing = [j for j in range(n) if b"orig:%d" % j not in seen]
        self.assertEqual(missing, [], "%d keys never returned" % len(missing))
        self.assertTrue(all(k.startswith((b"orig:", b"other:")) for k in seen))
        self.assertGreater(made, 20000)
        c.close()
        w.close()

    def test_scan_match_type_count(self):
        c = self.srv.conn()
        c.cmd("FLUSHALL")
        args = ["MSET"]
        for j in range(500):
            args += ["m:%d" % j, "v"]
        c.cmd(*args)
        got = full_scan(c, "MATCH", "m:1*")
        want = {b"m:%d" % j for j in range(500) if str(j).startswith("1")}
        self.assertEqual(got, want)
        self.assertEqual(full_scan(c, "TYPE", "hash"), set())
        self.assertEqual(len(full_scan(c, "TYPE", "string", "COUNT", "1")),
                         500)
        self.assertEqual(len(full_scan(c, "COUNT", "100000")), 500)
        # A huge COUNT returns everything in one call.
        cur, keys = parse_scan(c.cmd("SCAN", "0", "COUNT", "100000"))
        self.assertEqual((cur, len(keys)), (b"0", 500))
        c.close()


def parse_scan(reply):
    """(cursor, [keys]) from a raw SCAN reply."""
    conn = _Parse(reply)
    assert conn.line() == b"*2"
    cursor = conn.bulk()
    n = int(conn.line()[1:])
    return cursor, [conn.bulk() for _ in range(n)]


class _Parse:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def line(self):
        j = self.data.index(b"\r\n", self.pos)
        out, self.pos = self.data[self.pos:j], j + 2
        return out

    def bulk(self):
        n = int(self.line()[1:])
        out = self.data[self.pos:self.pos + n]
        self.pos += n + 2
        return out


def full_scan(c, *opts):
    seen, cursor = set(), b"0"
    for _ in range(1000000):
        reply = c.cmd("SCAN", cursor, *opts)
        if reply.startswith(b"-"):
            return reply
        cursor, keys = parse_scan(reply)
        seen.update(keys)
        if cursor == b"0":
            return seen
    raise AssertionError("SCAN did not finish")


GLOB_KEYS = [
    "hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h?llo",
    "h[a]llo", "a\\b", "foo", "", "x-y", "X", "[", "]", "\\", "a^b", "abc",
    "bbc", "ab", b"h\xc3\xa9llo", "-", "a-b", "ABC", "a]b", "a*", "**",
    "\\*", "^", "!", "a!b", b"nul\x00byte", "z", "0", "09", "a[b",
]
GLOB_PATTERNS = [
    "*", "h?llo", "h*llo", "h[ae]llo", "h[^e]llo", "h[a-b]llo", "h[b-a]llo",
    "*[", "[", "\\*", "h\\?llo", "[\\]]", "[a-]*", "*\\", "[^]", "[]]",
    "[!a]*", "**", "*?*", "???", "", "a\\", "[a-z", "[z-a]bc", "a[", "[-]",
    "[a-c]b?", "\\", "\\\\", "[\\\\]", "*b", "a*b", "*c*", "h*", "?", "??",
    "[^a-z]", "[0-9]*", "*[*]*", "*[?]*", "nul*", b"nul\x00*", "[[]",
    "a[^]b", "a[]]b", "[a-", "[^", "h[e-", "*\\", "\\a\\b\\c", "[abc",
    "A*", "a?c", "x[-]y", "a[\\-]b", "[\\-a]", "hello*", "*llo", "h[xa]l*o",
]


class Glob(unittest.TestCase):
    def test_keys_like_redis(self):
        if not dicetest.have_redis_server():
            self.skipTest("redis-server is not installed")
        d, r = dicetest.Server("dice"), dicetest.Server("redis")
        try:
            cd, cr = d.conn(), r.conn()
            for k in GLOB_KEYS:
                self.assertEqual(cd.cmd("SET", k, "v"), cr.cmd("SET", k, "v"))
            for p in GLOB_PATTERNS:
                a, b = cd.cmd("KEYS", p), cr.cmd("KEYS", p)
                self.assertEqual(sorted_array(a), sorted_array(b), p)
                self.assertEqual(full_scan(cd, "MATCH", p),
                                 full_scan(cr, "MATCH", p), p)
            cd.close()
            cr.close()
        finally:
            rc = d.stop()
            r.stop()
        self.assertEqual(rc, 0, "dice-server exit code")

    def test_keys_patterns(self):
        d = dicetest.Server("dice")
        try:
            c = d.conn()
            for k in ["hello", "hallo", "hxllo", "hllo", "h*llo"]:
                c.cmd("SET", k, "v")
            self.assertEqual(sorted_array(c.cmd("KEYS", "h?llo")),
                             [b"h*llo", b"hallo", b"hello", b"hxllo"])
            self.assertEqual(sorted_array(c.cmd("KEYS", "h[ae]llo")),
                             [b"hallo", b"hello"])
            self.assertEqual(sorted_array(c.cmd("KEYS", "h[^e]llo")),
                             [b"h*llo", b"hallo", b"hxllo"])
            self.assertEqual(sorted_array(c.cmd("KEYS", "h\\*llo")),
                             [b"h*llo"])
            self.assertEqual(sorted_array(c.cmd("KEYS", "h*")),
                             [b"h*llo", b"hallo", b"hello", b"hllo",
                              b"hxllo"])
            self.assertEqual(c.cmd("KEYS", "nomatch*"), b"*0\r\n")
            c.close()
        finally:
            rc = d.stop()
        self.assertEqual(rc, 0, "dice-server exit code")


def split_array(reply):
    """Elements (raw bytes each) of a flat array of bulk strings."""
    p = _Parse(reply)
    head = p.line()
    assert head[:1] == b"*", reply
    return [p.bulk() for _ in range(int(head[1:]))]


def sorted_array(reply):
    return sorted(split_array(reply))


class Databases(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = dicetest.Server("dice")

    @classmethod
    def tearDownClass(cls):
        assert cls.srv.stop() == 0

    def test_select_swapdb_move(self):
        c, o = self.srv.conn(), self.srv.conn()
        c.cmd("FLUSHALL")
        self.assertEqual(c.cmd("SET", "k", "in0"), OK)
        self.assertEqual(c.cmd("SELECT", "1"), OK)
        self.assertEqual(c.cmd("DBSIZE"), i(0))
        self.assertEqual(c.cmd("SET", "k", "in1"), OK)
        self.assertEqual(c.cmd("SET", "only1", "x"), OK)
        self.assertEqual(c.cmd("DBSIZE"), i(2))
        # MOVE refuses a key that exists in the destination.
        self.assertEqual(c.cmd("MOVE", "k", "0"), i(0))
        self.assertEqual(c.cmd("MOVE", "only1", "0"), i(1))
        self.assertEqual(c.cmd("MOVE", "only1", "1"), SAME)
        self.assertEqual(o.cmd("GET", "only1"), bulk("x"))  # o is in db 0
        # SWAPDB is seen by every connection.
        self.assertEqual(o.cmd("SWAPDB", "0", "1"), OK)
        self.assertEqual(o.cmd("GET", "k"), bulk("in1"))
        self.assertEqual(c.cmd("GET", "k"), bulk("in0"))
        self.assertEqual(c.cmd("GET", "only1"), bulk("x"))
        # COPY across databases keeps the source.
        self.assertEqual(c.cmd("COPY", "k", "k", "DB", "5"), i(1))
        self.assertEqual(c.cmd("SELECT", "5"), OK)
        self.assertEqual(c.cmd("GET", "k"), bulk("in0"))
        # FLUSHDB empties only the selected db, FLUSHALL all of them.
        self.assertEqual(c.cmd("FLUSHDB"), OK)
        self.assertEqual(c.cmd("DBSIZE"), i(0))
        self.assertEqual(o.cmd("DBSIZE"), i(1))
        self.assertEqual(c.cmd("SELECT", "1"), OK)
        self.assertEqual(c.cmd("DBSIZE"), i(2))
        self.assertEqual(c.cmd("FLUSHALL"), OK)
        self.assertEqual(c.cmd("DBSIZE"), i(0))
        self.assertEqual(o.cmd("DBSIZE"), i(0))
        self.assertEqual(c.cmd("SELECT", "15"), OK)
        self.assertEqual(c.cmd("SET", "last", "v"), OK)
        self.assertEqual(c.cmd("SWAPDB", "15", "0"), OK)
        self.assertEqual(o.cmd("KEYS", "*"), arr(bulk("last")))
        c.close()
        o.close()


# ---- differential -------------------------------------------------------

KEYS_POOL = ["k0", "k1", "k2", "k3", "k4", "", b"b\x00in", "K0", "k10"]
INTS = ["0", "1", "-1", "2", "15", "16", "100", "-100", LLMAX, LLMIN,
        "2147483647", "2147483648", "-2147483649", "4294967296", "-0", "01",
        "+5", " 5", "5 ", "", "abc", "1.5", "1e3", "9223372036854775808",
        "9223372036854775", "9223372036854776", "-9223372036854776"]
DBS = ["0", "1", "2", "15", "16", "-1", "x", "2147483648", "-0", "01"]
VALUES = ["0", "1", "9999", "10000", "-5", "123456789", "hello", "",
          "x" * 44, "x" * 45, "007", "1.5", "  3"]
FUTURE_S = str(int(time.time()) + 100000)
FUTURE_MS = str(int(time.time() * 1000) + 100000000)
# No small positive relative time: whether such a key is still there a few
# commands later would depend on timing. "1" is absolute only (the past).
TIMES = ["-1", "0", "100000", "99999999", FUTURE_S, FUTURE_MS, LLMAX,
         LLMIN, "x", "", "-0", "9223372036854775", "9223372036854776",
         "-9223372036854775", "-9223372036854776"]
EXP_OPTS = ["NX", "XX", "GT", "LT", "nx", "gT", "foo", b"xx\x00y", "X"]
# Commands whose integer reply depends on the clock: (tolerance, unit).
TIMED = {"ttl": 1, "pttl": 1000, "expiretime": 1, "pexpiretime": 1000}


def gen_command(rnd):
    k = lambda: rnd.choice(KEYS_POOL)  # noqa: E731
    pick = rnd.random()
    kind = rnd.choice([
        "set", "set", "set", "mset", "del", "unlink", "exists", "touch",
        "type", "keys", "scan", "scanerr", "randomkey", "rename", "renamenx",
        "copy", "dbsize", "object", "expire", "expire", "ttl", "persist",
        "flushdb", "swapdb", "move", "select", "get", "arity"])
    if kind == "set":
        return ["SET", k(), rnd.choice(VALUES)]
    if kind == "mset":
        return ["MSET"] + [x for _ in range(rnd.randint(1, 4))
                           for x in (k(), rnd.choice(VALUES))]
    if kind in ("del", "unlink", "exists", "touch"):
        return [kind.upper()] + [k() for _ in range(rnd.randint(1, 4))]
    if kind == "type":
        return ["TYPE", k()]
    if kind == "get":
        return ["GET", k()]
    if kind == "keys":
        return ["KEYS", rnd.choice(["*", "k?", "k*", "[kK]0", "*0", "",
                                    "k[^0]", "b*", "\\k0", "[a-k]1*"])]
    if kind == "scan":
        opts = []
        for _ in range(rnd.randint(0, 3)):
            opts += rnd.choice([["MATCH", rnd.choice(["k*", "*", "?0", "b*"])],
                                ["COUNT", rnd.choice(["1", "2", "10", "1000"])],
                                ["TYPE", rnd.choice(["string", "STRING",
                                                     "list", "none", "x"])]])
        return ["SCANALL"] + opts
    if kind == "scanerr":
        return ["SCAN", rnd.choice(["x", "-", " 0", "0x", "1.0",
                                    "18446744073709551616", "0"]),
                ] + rnd.choice([[], ["COUNT", rnd.choice(INTS)], ["COUNT"],
                                ["MATCH"], ["TYPE"], ["FOO", "1"],
                                ["count", "0", "match", "*"]])
    if kind == "randomkey":
        return ["RANDOMKEY"]
    if kind in ("rename", "renamenx"):
        return [kind.upper(), k(), k()]
    if kind == "copy":
        cmd = ["COPY", k(), k()]
        for _ in range(rnd.randint(0, 3)):
            cmd += rnd.choice([["REPLACE"], ["DB", rnd.choice(DBS)], ["DB"],
                               ["foo"], ["replace"]])
        return cmd
    if kind == "dbsize":
        return ["DBSIZE"]
    if kind == "object":
        return ["OBJECT", rnd.choice(["ENCODING", "encoding", "IDLETIME",
                                      "FREQ", "foo"]), k()]
    if kind == "expire":
        cmd = [rnd.choice(["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT",
                           "expire", "pexpireat"]), k(), rnd.choice(TIMES)]
        if "at" in cmd[0].lower() and pick < 0.1:
            cmd[2] = "1"
        if pick < 0.5:
            cmd += [rnd.choice(EXP_OPTS) for _ in range(rnd.randint(1, 3))]
        return cmd
    if kind == "ttl":
        return [rnd.choice(["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"]), k()]
    if kind == "persist":
        return ["PERSIST", k()]
    if kind == "flushdb":
        return [rnd.choice(["FLUSHDB", "FLUSHALL"])] + rnd.choice(
            [[], [], ["ASYNC"], ["sync"], ["x"], ["ASYNC", "SYNC"]])
    if kind == "swapdb":
        return ["SWAPDB", rnd.choice(DBS), rnd.choice(DBS)]
    if kind == "move":
        return ["MOVE", k(), rnd.choice(DBS)]
    if kind == "select":
        return ["SELECT", rnd.choice(["0", "0", "1", "2", "15"])]
    # arity errors
    return rnd.choice([["DEL"], ["TYPE"], ["TYPE", "a", "b"], ["KEYS"],
                       ["RENAME", "a"], ["COPY", "a"], ["MOVE", "a"],
                       ["SWAPDB", "0"], ["TTL"], ["EXPIRE", "a"],
                       ["RANDOMKEY", "x"], ["OBJECT"], ["OBJECT", "HELP", "x"],
                       ["PERSIST"], ["TOUCH"], ["SCAN"]])


FIXED_SEQUENCES = [
    [["SET", "k0", "1"], ["COPY", "k0", "k1", "DB", "1"], ["SELECT", "1"],
     ["GET", "k1"], ["SWAPDB", "0", "1"], ["KEYS", "*"], ["SELECT", "0"],
     ["KEYS", "*"], ["MOVE", "k1", "1"], ["DBSIZE"]],
    [["SET", "k0", "v"], ["EXPIRE", "k0", "100", "NX"],
     ["EXPIRE", "k0", "200", "NX"], ["EXPIRE", "k0", "50", "GT"],
     ["EXPIRE", "k0", "150", "GT", "XX"], ["TTL", "k0"],
     ["EXPIRE", "k0", "120", "LT"], ["TTL", "k0"], ["PERSIST", "k0"],
     ["EXPIRE", "k0", "1", "LT"], ["TTL", "k0"]],
    [["MSET", "a", "1", "b", "2", "c", "3"], ["RENAME", "a", "b"],
     ["MGET", "a", "b", "c"], ["RENAMENX", "b", "c"], ["RENAMENX", "b", "d"],
     ["KEYS", "*"], ["DEL", "a", "b", "c", "d"], ["RANDOMKEY"]],
    [["SET", "n", "5"], ["OBJECT", "REFCOUNT", "n"], ["SET", "n", "10000"],
     ["OBJECT", "REFCOUNT", "n"], ["SET", "n", "x"],
     ["OBJECT", "REFCOUNT", "n"], ["OBJECT", "ENCODING", "n"]],
]


def normalize(cmd, reply):
    """Reply bytes with nondeterministic parts made comparable."""
    name = cmd[0].lower() if isinstance(cmd[0], str) else ""
    if name == "keys" and reply.startswith(b"*"):
        return ("keys", tuple(sorted_array(reply)))
    if name == "randomkey":
        return ("randomkey", reply[:1])
    if name == "object" and len(cmd) > 1 and \
            str(cmd[1]).lower() == "idletime" and reply.startswith(b":"):
        return ("idle", int(reply[1:-2]) <= 1)
    return reply


class Differential(unittest.TestCase):
    """Seeded command sequences on dice-server and redis-server; replies
    must be byte-identical after normalization of what Redis leaves
    unordered or time-dependent."""

    N_RANDOM = 400

    def run_both(self, cd, cr, cmd, where):
        if cmd[0] == "SCANALL":
            a, b = full_scan(cd, *cmd[1:]), full_scan(cr, *cmd[1:])
            self.assertEqual(a, b, where)
            return
        a, b = cd.cmd(*cmd), cr.cmd(*cmd)
        name = cmd[0].lower()
        if name == "scan" and a.startswith(b"*2\r\n") and \
                b.startswith(b"*2\r\n"):
            # Cursors are each server's own: only a scan that both finish
            # in one call is compared key by key.
            (ca, ka), (cb, kb) = parse_scan(a), parse_scan(b)
            if ca == cb == b"0":
                self.assertEqual(sorted(ka), sorted(kb), where)
            return
        if name in TIMED and a.startswith(b":") and b.startswith(b":"):
            x, y = int(a[1:-2]), int(b[1:-2])
            if x >= 0 or y >= 0:
                self.assertLessEqual(abs(x - y), TIMED[name],
                                     "%s: %r vs %r" % (where, a, b))
                return
        self.assertEqual(normalize(cmd, a), normalize(cmd, b),
                         "%s: dice %r redis %r" % (where, a, b))

    def test_differential(self):
        if not dicetest.have_redis_server():
            print("redis-server not installed: differential test skipped")
            self.skipTest("redis-server is not installed")
        d, r = dicetest.Server("dice"), dicetest.Server("redis")
        try:
            cd, cr = d.conn(), r.conn()
            seqs = [("fixed%d" % n, s) for n, s in enumerate(FIXED_SEQUENCES)]
            for seed in range(self.N_RANDOM):
                rnd = random.Random(seed)
                seqs.append(("seed%d" % seed,
                             [gen_command(rnd)
                              for _ in range(rnd.randint(5, 40))]))
            ncmds = 0
            for label, seq in seqs:
                resp3 = label.startswith("seed") and int(label[4:]) % 5 == 0
                for c in (cd, cr):
                    c.cmd("FLUSHALL")
                    c.cmd("SELECT", "0")
                    c.cmd("HELLO", "3" if resp3 else "2")
                for n, cmd in enumerate(seq):
                    self.run_both(cd, cr, cmd, "%s step %d %r" % (label, n,
                                                                  cmd))
                    ncmds += 1
                # Final state must agree too.
                for db in range(3):
                    for c in (cd, cr):
                        c.cmd("SELECT", str(db))
                    self.run_both(cd, cr, ["SCANALL"], "%s final db%d" %
                                  (label, db))
            self.assertGreater(ncmds, 5000)
            cd.close()
            cr.close()
        finally:
            rc = d.stop()
            r.stop()
        self.assertEqual(rc, 0, "dice-server exit code")


if __name__ == "__main__":
    dicetest.main(globals())
