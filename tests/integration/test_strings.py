"""The string commands of dice-server against Redis 7.0's exact replies.

Two parts:
- Explicit tests: every command and option, every error text, with the
  expected reply bytes written out (RESP2, and RESP3 where the reply shape
  differs). Set STRINGS_TARGET=redis to run them against the real
  redis-server instead, which checks the expectations themselves.
- A differential test: several hundred deterministic command sequences
  (hand-written edge cases plus a seeded random mix) sent to dice-server and
  redis-server, replies compared byte for byte, in RESP2 and RESP3. Only
  TTL/PTTL values are compared as ranges (the two servers' clocks are read
  at slightly different instants). Skipped when redis-server is missing."""
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402
from dicetest import encode  # noqa: E402

TARGET = os.environ.get("STRINGS_TARGET", "dice")

NIL = b"$-1\r\n"
NIL3 = b"_\r\n"
OK = b"+OK\r\n"
EMPTY = b"$0\r\n\r\n"
WRONGTYPE = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
SYNTAX = b"-ERR syntax error\r\n"
NOTINT = b"-ERR value is not an integer or out of range\r\n"
NOTFLOAT = b"-ERR value is not a valid float\r\n"
OVERFLOW = b"-ERR increment or decrement would overflow\r\n"
NANINF = b"-ERR increment would produce NaN or Infinity\r\n"
BULKLEN = b"-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
OFFSET = b"-ERR offset is out of range\r\n"


def bulk(s):
    if isinstance(s, str):
        s = s.encode()
    return b"$%d\r\n%s\r\n" % (len(s), s)


def integer(n):
    return b":%d\r\n" % n


def badexpire(cmd):
    return b"-ERR invalid expire time in '%s' command\r\n" % cmd.encode()


def arity(cmd):
    return b"-ERR wrong number of arguments for '%s' command\r\n" % cmd.encode()


class Strings(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if TARGET == "redis" and not dicetest.have_redis_server():
            raise unittest.SkipTest("redis-server not installed")
        cls.srv = dicetest.Server(TARGET)

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        if TARGET == "dice":
            assert rc == 0, "dice-server exit code %r" % rc

    def setUp(self):
        self.c = self.srv.conn()
        self.assertEqual(self.c.cmd("FLUSHALL"), OK)

    def tearDown(self):
        self.c.close()

    def r(self, *args):
        return self.c.cmd(*args)

    def resp3(self):
        c = self.srv.conn()
        self.assertTrue(c.cmd("HELLO", "3").startswith(b"%"))
        return c

    # ---- GET / SET -----------------------------------------------------

    def test_get_set(self):
        self.assertEqual(self.r("GET", "k"), NIL)
        self.assertEqual(self.r("SET", "k", "v"), OK)
        self.assertEqual(self.r("GET", "k"), bulk("v"))
        self.assertEqual(self.r("SET", "k", ""), OK)
        self.assertEqual(self.r("GET", "k"), EMPTY)
        binv = b"\x00\xff\r\n$-1\r\n"
        self.assertEqual(self.r("SET", b"b\x00k", binv), OK)
        self.assertEqual(self.r("GET", b"b\x00k"), bulk(binv))
        # Integers survive the int encoding unchanged, non-canonical ones too.
        for v in ["0", "-1", "123", "9223372036854775807", "-9223372036854775808",
                  "9223372036854775808", "01", "-0", "+1", " 1", "1.0"]:
            self.assertEqual(self.r("SET", "n", v), OK)
            self.assertEqual(self.r("GET", "n"), bulk(v), v)
        long = "x" * 1000
        self.assertEqual(self.r("SET", "l", long), OK)
        self.assertEqual(self.r("GET", "l"), bulk(long))
        c3 = self.resp3()
        self.assertEqual(c3.cmd("GET", "missing"), NIL3)
        self.assertEqual(c3.cmd("GET", "k"), EMPTY)
        c3.close()

    def test_set_nx_xx_get(self):
        self.assertEqual(self.r("SET", "k", "1", "XX"), NIL)
        self.assertEqual(self.r("GET", "k"), NIL)
        self.assertEqual(self.r("SET", "k", "1", "nx"), OK)
        self.assertEqual(self.r("SET", "k", "2", "NX"), NIL)
        self.assertEqual(self.r("SET", "k", "3", "xX"), OK)
        self.assertEqual(self.r("GET", "k"), bulk("3"))
        self.assertEqual(self.r("SET", "k", "4", "GET"), bulk("3"))
        self.assertEqual(self.r("SET", "k2", "4", "GET"), NIL)
        self.assertEqual(self.r("GET", "k2"), bulk("4"))
        # GET with NX/XX (allowed since 7.0): the old value, set or not.
        self.assertEqual(self.r("SET", "k", "5", "NX", "GET"), bulk("4"))
        self.assertEqual(self.r("GET", "k"), bulk("4"))
        self.assertEqual(self.r("SET", "k3", "5", "GET", "NX"), NIL)
        self.assertEqual(self.r("GET", "k3"), bulk("5"))
        self.assertEqual(self.r("SET", "k4", "5", "XX", "GET"), NIL)
        self.assertEqual(self.r("GET", "k4"), NIL)
        self.assertEqual(self.r("SET", "k", "6", "XX", "GET"), bulk("4"))
        self.assertEqual(self.r("GET", "k"), bulk("6"))
        # Repeating an option is accepted.
        self.assertEqual(self.r("SET", "k", "7", "NX", "NX"), NIL)
        self.assertEqual(self.r("SET", "k", "7", "GET", "GET"), bulk("6"))
        c3 = self.resp3()
        self.assertEqual(c3.cmd("SET", "k", "8", "NX"), NIL3)
        self.assertEqual(c3.cmd("SET", "nk", "8", "GET"), NIL3)
        c3.close()

    def test_set_expire_options(self):
        self.assertEqual(self.r("SET", "k", "v", "EX", "100"), OK)
        self.assertEqual(self.r("TTL", "k"), integer(100))
        self.assertEqual(self.r("SET", "k", "v", "PX", "100000"), OK)
        ttl = int(self.r("PTTL", "k")[1:-2])
        self.assertTrue(99000 <= ttl <= 100000, ttl)
        self.assertEqual(self.r("SET", "k", "v", "EXAT", "4102444800"), OK)
        self.assertEqual(self.r("EXPIRETIME", "k"), integer(4102444800))
        self.assertEqual(self.r("SET", "k", "v", "PXAT", "4102444800123"), OK)
        self.assertEqual(self.r("PEXPIRETIME", "k"), integer(4102444800123))
        # KEEPTTL keeps it; a plain SET clears it.
        self.assertEqual(self.r("SET", "k", "w", "KEEPTTL"), OK)
        self.assertEqual(self.r("PEXPIRETIME", "k"), integer(4102444800123))
        self.assertEqual(self.r("GET", "k"), bulk("w"))
        self.assertEqual(self.r("SET", "k", "x"), OK)
        self.assertEqual(self.r("TTL", "k"), integer(-1))
        # An absolute time in the past leaves no key.
        self.assertEqual(self.r("SET", "k", "v", "EXAT", "1"), OK)
        self.assertEqual(self.r("GET", "k"), NIL)
        self.assertEqual(self.r("SET", "k", "v", "PXAT", "1", "GET"), NIL)
        self.assertEqual(self.r("EXISTS", "k"), integer(0))
        # The last of a repeated expire option wins.
        self.assertEqual(self.r("SET", "k", "v", "EX", "10", "EX", "200"), OK)
        self.assertEqual(self.r("TTL", "k"), integer(200))
        # Expire + NX that fails: nothing changes.
        self.assertEqual(self.r("SET", "k", "z", "NX", "EX", "5"), NIL)
        self.assertEqual(self.r("TTL", "k"), integer(200))
        self.assertEqual(self.r("SET", "k", "z", "XX", "PX", "5000000", "GET"),
                         bulk("v"))
        self.assertEqual(self.r("TTL", "k"), integer(5000))

    def test_set_errors(self):
        syntax = [
            ("NX", "XX"), ("XX", "NX"), ("EX",), ("PX",), ("EXAT",), ("PXAT",),
            ("EX", "10", "PX", "10"), ("PX", "10", "EX", "10"),
            ("EX", "10", "EXAT", "10"), ("PXAT", "10", "EXAT", "10"),
            ("EX", "10", "KEEPTTL"), ("KEEPTTL", "PX", "10"),
            ("KEEPTTL", "EXAT", "10"), ("PERSIST",), ("foo",), ("",),
            ("NXX",), ("GET", "EX"), ("EX", "10", "foo"), ("KEEPTTLX",),
        ]
        for opts in syntax:
            self.assertEqual(self.r("SET", "k", "v", *opts), SYNTAX, opts)
        for opt in ["EX", "PX", "EXAT", "PXAT"]:
            for bad in ["0", "-1", "-9223372036854775808"]:
                self.assertEqual(self.r("SET", "k", "v", opt, bad),
                                 badexpire("set"), (opt, bad))
            for bad in ["abc", "", "1.5", " 1", "+1", "01", "9223372036854775808",
                        "1e3", "0x10"]:
                self.assertEqual(self.r("SET", "k", "v", opt, bad), NOTINT,
                                 (opt, bad))
        # Overflow: seconds * 1000, or + now for relative times.
        for opt, val in [("EX", "9999999999999999"), ("EX", "9223372036854775"),
                         ("EXAT", "9999999999999999"),
                         ("PX", "9223372036854775807"),
                         ("PX", "9223372036854000000")]:
            self.assertEqual(self.r("SET", "k", "v", opt, val),
                             badexpire("set"), (opt, val))
        self.assertEqual(self.r("SET", "k", "v", "EXAT", "9223372036854775"), OK)
        self.assertEqual(self.r("SET", "k", "v", "PXAT", "9223372036854775807"),
                         OK)
        # The expire value is checked before GET and before NX/XX.
        self.assertEqual(self.r("SET", "k", "v", "GET", "EX", "0"),
                         badexpire("set"))
        self.assertEqual(self.r("GET", "k"), bulk("v"))
        # Option matching stops at a NUL byte, like Redis's C strings.
        self.assertEqual(self.r("SET", "k", "w", b"xx\x00junk"), OK)
        self.assertEqual(self.r("GET", "k"), bulk("w"))
        self.assertEqual(self.r("SET"), arity("set"))
        self.assertEqual(self.r("SET", "k"), arity("set"))
        self.assertEqual(self.r("GET"), arity("get"))
        self.assertEqual(self.r("GET", "a", "b"), arity("get"))

    def test_setnx_setex_psetex(self):
        self.assertEqual(self.r("SETNX", "k", "1"), integer(1))
        self.assertEqual(self.r("SETNX", "k", "2"), integer(0))
        self.assertEqual(self.r("GET", "k"), bulk("1"))
        self.assertEqual(self.r("SETEX", "k", "100", "v"), OK)
        self.assertEqual(self.r("TTL", "k"), integer(100))
        self.assertEqual(self.r("GET", "k"), bulk("v"))
        self.assertEqual(self.r("PSETEX", "k", "200000", "w"), OK)
        self.assertEqual(self.r("TTL", "k"), integer(200))
        for bad in ["0", "-5"]:
            self.assertEqual(self.r("SETEX", "k", bad, "v"), badexpire("setex"))
            self.assertEqual(self.r("PSETEX", "k", bad, "v"),
                             badexpire("psetex"))
        self.assertEqual(self.r("SETEX", "k", "9999999999999999", "v"),
                         badexpire("setex"))
        self.assertEqual(self.r("PSETEX", "k", "9223372036854775807", "v"),
                         badexpire("psetex"))
        self.assertEqual(self.r("SETEX", "k", "x", "v"), NOTINT)
        self.assertEqual(self.r("PSETEX", "k", "1.5", "v"), NOTINT)
        self.assertEqual(self.r("GET", "k"), bulk("w"))
        self.assertEqual(self.r("SETNX", "k"), arity("setnx"))
        self.assertEqual(self.r("SETEX", "k", "1"), arity("setex"))
        self.assertEqual(self.r("PSETEX", "k", "1", "v", "x"), arity("psetex"))

    def test_getset_getdel(self):
        self.assertEqual(self.r("GETSET", "k", "1"), NIL)
        self.assertEqual(self.r("GETSET", "k", "2"), bulk("1"))
        self.assertEqual(self.r("GET", "k"), bulk("2"))
        self.assertEqual(self.r("EXPIRE", "k", "100"), integer(1))
        self.assertEqual(self.r("GETSET", "k", "3"), bulk("2"))
        self.assertEqual(self.r("TTL", "k"), integer(-1))  # GETSET clears it
        self.assertEqual(self.r("GETDEL", "k"), bulk("3"))
        self.assertEqual(self.r("GETDEL", "k"), NIL)
        self.assertEqual(self.r("EXISTS", "k"), integer(0))
        self.assertEqual(self.r("GETSET", "k"), arity("getset"))
        self.assertEqual(self.r("GETDEL"), arity("getdel"))
        c3 = self.resp3()
        self.assertEqual(c3.cmd("GETDEL", "nope"), NIL3)
        self.assertEqual(c3.cmd("GETSET", "nope", "x"), NIL3)
        c3.close()

    def test_getex(self):
        self.assertEqual(self.r("GETEX", "k"), NIL)
        # A missing key answers nil before the expire value is checked.
        self.assertEqual(self.r("GETEX", "k", "EX", "-1"), NIL)
        self.assertEqual(self.r("GETEX", "k", "EX", "abc"), NIL)
        self.assertEqual(self.r("SET", "k", "v"), OK)
        self.assertEqual(self.r("GETEX", "k"), bulk("v"))
        self.assertEqual(self.r("TTL", "k"), integer(-1))
        self.assertEqual(self.r("GETEX", "k", "EX", "100"), bulk("v"))
        self.assertEqual(self.r("TTL", "k"), integer(100))
        self.assertEqual(self.r("GETEX", "k", "PX", "300000"), bulk("v"))
        self.assertEqual(self.r("TTL", "k"), integer(300))
        self.assertEqual(self.r("GETEX", "k", "EXAT", "4102444800"), bulk("v"))
        self.assertEqual(self.r("EXPIRETIME", "k"), integer(4102444800))
        self.assertEqual(self.r("GETEX", "k", "PXAT", "4102444800001"),
                         bulk("v"))
        self.assertEqual(self.r("PEXPIRETIME", "k"), integer(4102444800001))
        self.assertEqual(self.r("GETEX", "k", "PERSIST"), bulk("v"))
        self.assertEqual(self.r("TTL", "k"), integer(-1))
        self.assertEqual(self.r("GETEX", "k", "persist"), bulk("v"))
        for bad in ["0", "-1"]:
            self.assertEqual(self.r("GETEX", "k", "EX", bad), badexpire("getex"))
            self.assertEqual(self.r("GETEX", "k", "PXAT", bad),
                             badexpire("getex"))
        self.assertEqual(self.r("GETEX", "k", "EX", "9999999999999999"),
                         badexpire("getex"))
        self.assertEqual(self.r("GETEX", "k", "EX", "x"), NOTINT)
        for opts in [("NX",), ("XX",), ("GET",), ("KEEPTTL",), ("EX",),
                     ("EX", "1", "PX", "1"), ("PERSIST", "EX", "1"),
                     ("EX", "10", "PERSIST"), ("foo",)]:
            self.assertEqual(self.r("GETEX", "k", *opts), SYNTAX, opts)
        # A past absolute time returns the value and deletes the key.
        self.assertEqual(self.r("GETEX", "k", "EXAT", "1"), bulk("v"))
        self.assertEqual(self.r("EXISTS", "k"), integer(0))
        self.assertEqual(self.r("SET", "k", "v"), OK)
        self.assertEqual(self.r("GETEX", "k", "PXAT", "1"), bulk("v"))
        self.assertEqual(self.r("GET", "k"), NIL)
        self.assertEqual(self.r("GETEX"), arity("getex"))

    # ---- multi-key -------------------------------------------------------

    def test_mget_mset_msetnx(self):
        self.assertEqual(self.r("MSET", "a", "1", "b", "2", "a", "3"), OK)
        self.assertEqual(self.r("MGET", "a", "b", "c"),
                         b"*3\r\n" + bulk("3") + bulk("2") + NIL)
        self.assertEqual(self.r("MGET", "c"), b"*1\r\n" + NIL)
        self.assertEqual(self.r("MSET", "a"), arity("mset"))
        self.assertEqual(self.r("MSET", "a", "1", "b"), arity("mset"))
        self.assertEqual(self.r("MSETNX", "a", "1", "b"), arity("msetnx"))
        self.assertEqual(self.r("MSET"), arity("mset"))
        self.assertEqual(self.r("MGET"), arity("mget"))
        self.assertEqual(self.r("MSETNX", "c", "1", "a", "2"), integer(0))
        self.assertEqual(self.r("EXISTS", "c"), integer(0))
        self.assertEqual(self.r("MSETNX", "c", "1", "d", "2"), integer(1))
        self.assertEqual(self.r("MGET", "c", "d"),
                         b"*2\r\n" + bulk("1") + bulk("2"))
        self.assertEqual(self.r("EXPIRE", "a", "100"), integer(1))
        self.assertEqual(self.r("MSET", "a", "x"), OK)
        self.assertEqual(self.r("TTL", "a"), integer(-1))
        c3 = self.resp3()
        self.assertEqual(c3.cmd("MGET", "zz", "a"), b"*2\r\n" + NIL3 + bulk("x"))
        c3.close()

    # ---- APPEND / STRLEN / GETRANGE / SETRANGE ----------------------------

    def test_append_strlen(self):
        self.assertEqual(self.r("STRLEN", "k"), integer(0))
        self.assertEqual(self.r("APPEND", "k", "ab"), integer(2))
        self.assertEqual(self.r("APPEND", "k", ""), integer(2))
        self.assertEqual(self.r("APPEND", "k", b"\x00c"), integer(4))
        self.assertEqual(self.r("GET", "k"), bulk(b"ab\x00c"))
        self.assertEqual(self.r("STRLEN", "k"), integer(4))
        self.assertEqual(self.r("SET", "n", "12345"), OK)
        self.assertEqual(self.r("STRLEN", "n"), integer(5))
        self.assertEqual(self.r("APPEND", "n", "6"), integer(6))
        self.assertEqual(self.r("INCR", "n"), integer(123457))
        self.assertEqual(self.r("SET", "m", "-9223372036854775808"), OK)
        self.assertEqual(self.r("STRLEN", "m"), integer(20))
        self.assertEqual(self.r("APPEND", "e", ""), integer(0))
        self.assertEqual(self.r("EXISTS", "e"), integer(1))
        self.assertEqual(self.r("EXPIRE", "k", "100"), integer(1))
        self.assertEqual(self.r("APPEND", "k", "d"), integer(5))
        self.assertEqual(self.r("TTL", "k"), integer(100))  # kept
        self.assertEqual(self.r("APPEND", "k"), arity("append"))
        self.assertEqual(self.r("STRLEN"), arity("strlen"))

    def test_getrange(self):
        self.assertEqual(self.r("GETRANGE", "k", "0", "-1"), EMPTY)
        self.assertEqual(self.r("SET", "k", "Hello World"), OK)
        cases = [
            ("0", "4", "Hello"), ("0", "-1", "Hello World"), ("-5", "-1", "World"),
            ("-1", "-1", "d"), ("5", "3", ""), ("-1", "-3", ""),
            ("-100", "-200", ""), ("-100", "2", "Hel"), ("3", "-100", ""),
            ("0", "100", "Hello World"), ("10", "100", "d"), ("11", "100", ""),
            ("-100", "-100", "H"), ("-100", "-11", "H"), ("0", "0", "H"),
            ("9223372036854775807", "9223372036854775807", ""),
            ("-9223372036854775808", "9223372036854775807", "Hello World"),
            ("-9223372036854775808", "-9223372036854775808", "H"),
        ]
        for s, e, want in cases:
            self.assertEqual(self.r("GETRANGE", "k", s, e), bulk(want), (s, e))
            self.assertEqual(self.r("SUBSTR", "k", s, e), bulk(want), (s, e))
        self.assertEqual(self.r("SET", "n", "-12345"), OK)
        self.assertEqual(self.r("GETRANGE", "n", "1", "2"), bulk("12"))
        self.assertEqual(self.r("SET", "e", ""), OK)
        self.assertEqual(self.r("GETRANGE", "e", "0", "-1"), EMPTY)
        self.assertEqual(self.r("GETRANGE", "e", "-1", "0"), EMPTY)
        for s, e in [("a", "1"), ("1", "b"), ("", "1"), ("1.0", "2"),
                     ("9223372036854775808", "1")]:
            self.assertEqual(self.r("GETRANGE", "k", s, e), NOTINT)
            # ... checked before the key is looked up.
            self.assertEqual(self.r("GETRANGE", "missing", s, e), NOTINT)
        self.assertEqual(self.r("GETRANGE", "k", "0"), arity("getrange"))
        self.assertEqual(self.r("SUBSTR", "k", "0", "1", "2"), arity("substr"))

    def test_setrange(self):
        self.assertEqual(self.r("SETRANGE", "k", "0", ""), integer(0))
        self.assertEqual(self.r("EXISTS", "k"), integer(0))
        self.assertEqual(self.r("SETRANGE", "k", "3", "ab"), integer(5))
        self.assertEqual(self.r("GET", "k"), bulk(b"\x00\x00\x00ab"))
        self.assertEqual(self.r("SETRANGE", "k", "1", "XYZW"), integer(5))
        self.assertEqual(self.r("GET", "k"), bulk(b"\x00XYZW"))
        self.assertEqual(self.r("SETRANGE", "k", "7", "!"), integer(8))
        self.assertEqual(self.r("GET", "k"), bulk(b"\x00XYZW\x00\x00!"))
        self.assertEqual(self.r("SETRANGE", "k", "100", ""), integer(8))
        self.assertEqual(self.r("SET", "n", "1234"), OK)
        self.assertEqual(self.r("SETRANGE", "n", "1", "9"), integer(4))
        self.assertEqual(self.r("INCR", "n"), integer(1935))
        self.assertEqual(self.r("SETRANGE", "k", "-1", "x"), OFFSET)
        self.assertEqual(self.r("SETRANGE", "k", "-1", ""), OFFSET)
        self.assertEqual(self.r("SETRANGE", "k", "x", "x"), NOTINT)
        self.assertEqual(self.r("SETRANGE", "k", "9223372036854775808", "x"),
                         NOTINT)
        self.assertEqual(self.r("SETRANGE", "k", "536870912", "x"), BULKLEN)
        self.assertEqual(self.r("SETRANGE", "k", "536870911", "xy"), BULKLEN)
        self.assertEqual(self.r("SETRANGE", "k", "9223372036854775807", "x"),
                         BULKLEN)
        self.assertEqual(self.r("SETRANGE", "new", "536870912", "x"), BULKLEN)
        self.assertEqual(self.r("EXISTS", "new"), integer(0))
        self.assertEqual(self.r("SETRANGE", "new", "536870912", ""), integer(0))
        self.assertEqual(self.r("SETRANGE", "k", "536870912", ""), integer(8))
        self.assertEqual(self.r("SETRANGE", "k", "0"), arity("setrange"))

    def test_proto_max_bulk_len(self):
        self.assertEqual(self.r("CONFIG", "SET", "proto-max-bulk-len", "1mb"), OK)
        try:
            self.assertEqual(self.r("SETRANGE", "k", "1048576", "a"), BULKLEN)
            self.assertEqual(self.r("SETRANGE", "k", "1048575", "a"),
                             integer(1048576))
            self.assertEqual(self.r("APPEND", "k", "b"), BULKLEN)
            self.assertEqual(self.r("APPEND", "k", ""), integer(1048576))
            self.assertEqual(self.r("STRLEN", "k"), integer(1048576))
            # LCS: (1048577 * 2) * 4 bytes of table > 1mb.
            self.assertEqual(self.r("SET", "s", "a"), OK)
            self.assertEqual(
                self.r("LCS", "k", "s", "LEN"),
                b"-ERR Insufficient memory, transient memory for LCS exceeds "
                b"proto-max-bulk-len\r\n")
        finally:
            self.assertEqual(
                self.r("CONFIG", "SET", "proto-max-bulk-len", "512mb"), OK)

    # ---- counters --------------------------------------------------------

    def test_incr_decr(self):
        self.assertEqual(self.r("INCR", "k"), integer(1))
        self.assertEqual(self.r("INCR", "k"), integer(2))
        self.assertEqual(self.r("DECR", "k"), integer(1))
        self.assertEqual(self.r("DECR", "k2"), integer(-1))
        self.assertEqual(self.r("INCRBY", "k", "10"), integer(11))
        self.assertEqual(self.r("INCRBY", "k", "-20"), integer(-9))
        self.assertEqual(self.r("DECRBY", "k", "-9"), integer(0))
        self.assertEqual(self.r("DECRBY", "k", "5"), integer(-5))
        self.assertEqual(self.r("GET", "k"), bulk("-5"))
        self.assertEqual(self.r("SET", "k", "9223372036854775806"), OK)
        self.assertEqual(self.r("INCR", "k"), integer(9223372036854775807))
        self.assertEqual(self.r("INCR", "k"), OVERFLOW)
        self.assertEqual(self.r("INCRBY", "k", "1"), OVERFLOW)
        self.assertEqual(self.r("DECRBY", "k", "-1"), OVERFLOW)
        self.assertEqual(self.r("INCRBY", "k", "-9223372036854775808"),
                         integer(-1))
        self.assertEqual(self.r("SET", "k", "-9223372036854775808"), OK)
        self.assertEqual(self.r("DECR", "k"), OVERFLOW)
        self.assertEqual(self.r("INCRBY", "k", "-1"), OVERFLOW)
        self.assertEqual(self.r("DECRBY", "k", "-9223372036854775807"),
                         integer(-1))
        self.assertEqual(self.r("DECRBY", "k", "-9223372036854775808"),
                         b"-ERR decrement would overflow\r\n")
        self.assertEqual(self.r("DECRBY", "missing", "-9223372036854775808"),
                         b"-ERR decrement would overflow\r\n")
        for v in ["abc", "", " 1", "1 ", "+1", "01", "-0", "1.0", "0x10",
                  "9223372036854775808", "1e3", "a" * 50]:
            self.assertEqual(self.r("SET", "s", v), OK)
            self.assertEqual(self.r("INCR", "s"), NOTINT, v)
            self.assertEqual(self.r("GET", "s"), bulk(v))
            self.assertEqual(self.r("INCRBY", "k", v), NOTINT, v)
            self.assertEqual(self.r("DECRBY", "k", v), NOTINT, v)
        # INCR keeps the TTL.
        self.assertEqual(self.r("SET", "t", "5", "EX", "100"), OK)
        self.assertEqual(self.r("INCR", "t"), integer(6))
        self.assertEqual(self.r("TTL", "t"), integer(100))
        self.assertEqual(self.r("INCR"), arity("incr"))
        self.assertEqual(self.r("DECR", "a", "b"), arity("decr"))
        self.assertEqual(self.r("INCRBY", "a"), arity("incrby"))
        self.assertEqual(self.r("DECRBY", "a"), arity("decrby"))

    def test_incrbyfloat(self):
        self.assertEqual(self.r("INCRBYFLOAT", "f", "10.5"), bulk("10.5"))
        self.assertEqual(self.r("INCRBYFLOAT", "f", "0.1"), bulk("10.6"))
        # Long double arithmetic shows through, as in Redis.
        self.assertEqual(self.r("INCRBYFLOAT", "f", "-5.0e3"),
                         bulk("-4989.39999999999999991"))
        self.assertEqual(self.r("INCRBYFLOAT", "f2", "-5.0e3"), bulk("-5000"))
        self.assertEqual(self.r("INCRBYFLOAT", "f2", "5000"), bulk("0"))
        self.assertEqual(self.r("INCRBYFLOAT", "g", "1e5"), bulk("100000"))
        self.assertEqual(self.r("INCRBYFLOAT", "g", "0x10"), bulk("100016"))
        self.assertEqual(self.r("SET", "i", "3"), OK)
        self.assertEqual(self.r("INCRBYFLOAT", "i", "1.5"), bulk("4.5"))
        self.assertEqual(self.r("INCRBYFLOAT", "h", "-0.0"), bulk("0"))
        self.assertEqual(self.r("INCRBYFLOAT", "j", "5"), bulk("5"))
        self.assertEqual(self.r("INCR", "j"), integer(6))
        for bad in ["abc", "", " 1", "1 ", "nan", "1e", "--1", "1.2.3"]:
            self.assertEqual(self.r("INCRBYFLOAT", "f", bad), NOTFLOAT, bad)
        # A NUL byte ends strtold's parse early: Redis refuses such a
        # number, in the increment and in the stored value.
        self.assertEqual(self.r("INCRBYFLOAT", "f", b"1\x00"), NOTFLOAT)
        self.assertEqual(self.r("SET", "z", b"\x00\x00"), OK)
        self.assertEqual(self.r("INCRBYFLOAT", "z", "1"), NOTFLOAT)
        self.assertEqual(self.r("SET", "z", b"2\x00"), OK)
        self.assertEqual(self.r("INCRBYFLOAT", "z", "1"), NOTFLOAT)
        self.assertEqual(self.r("INCRBYFLOAT", "f", "inf"), NANINF)
        self.assertEqual(self.r("INCRBYFLOAT", "f", "-inf"), NANINF)
        self.assertEqual(self.r("INCRBYFLOAT", "f", "1e5000"), NOTFLOAT)
        self.assertEqual(self.r("SET", "s", "hello"), OK)
        self.assertEqual(self.r("INCRBYFLOAT", "s", "1"), NOTFLOAT)
        self.assertEqual(self.r("INCRBYFLOAT", "nokey", "x"), NOTFLOAT)
        self.assertEqual(self.r("EXISTS", "nokey"), integer(0))
        self.assertEqual(self.r("SET", "t", "1", "EX", "100"), OK)
        self.assertEqual(self.r("INCRBYFLOAT", "t", "1.25"), bulk("2.25"))
        self.assertEqual(self.r("TTL", "t"), integer(100))
        self.assertEqual(self.r("INCRBYFLOAT", "t"), arity("incrbyfloat"))

    # ---- LCS -------------------------------------------------------------

    def test_lcs(self):
        self.assertEqual(self.r("MSET", "a", "ohmytext", "b", "mynewtext"), OK)
        self.assertEqual(self.r("LCS", "a", "b"), bulk("mytext"))
        self.assertEqual(self.r("LCS", "a", "b", "LEN"), integer(6))
        self.assertEqual(self.r("LCS", "a", "missing"), EMPTY)
        self.assertEqual(self.r("LCS", "x", "y", "len"), integer(0))
        idx = (b"*4\r\n$7\r\nmatches\r\n*2\r\n"
               b"*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
               b"*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n"
               b"$3\r\nlen\r\n:6\r\n")
        self.assertEqual(self.r("LCS", "a", "b", "IDX"), idx)
        self.assertEqual(
            self.r("LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"),
            b"*4\r\n$7\r\nmatches\r\n*1\r\n"
            b"*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
            b"$3\r\nlen\r\n:6\r\n")
        self.assertEqual(
            self.r("LCS", "a", "b", "IDX", "MINMATCHLEN", "-5"), idx)
        self.assertEqual(
            self.r("LCS", "a", "b", "IDX", "MINMATCHLEN", "100"),
            b"*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:6\r\n")
        # WITHMATCHLEN / MINMATCHLEN without IDX change nothing.
        self.assertEqual(self.r("LCS", "a", "b", "WITHMATCHLEN"), bulk("mytext"))
        self.assertEqual(self.r("LCS", "a", "b", "LEN", "MINMATCHLEN", "3"),
                         integer(6))
        c3 = self.resp3()
        self.assertEqual(
            c3.cmd("LCS", "a", "b", "IDX", "WITHMATCHLEN"),
            b"%2\r\n$7\r\nmatches\r\n*2\r\n"
            b"*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
            b"*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n"
            b"$3\r\nlen\r\n:6\r\n")
        c3.close()
        self.assertEqual(
            self.r("LCS", "a", "b", "IDX", "LEN"),
            b"-ERR If you want both the length and indexes, please just use "
            b"IDX.\r\n")
        self.assertEqual(self.r("LCS", "a", "b", "foo"), SYNTAX)
        self.assertEqual(self.r("LCS", "a", "b", "MINMATCHLEN"), SYNTAX)
        self.assertEqual(self.r("LCS", "a", "b", "MINMATCHLEN", "x"), NOTINT)
        self.assertEqual(self.r("LCS", "a"), arity("lcs"))
        self.assertEqual(self.r("SET", "n", "12345"), OK)
        self.assertEqual(self.r("SET", "m", "2x4"), OK)
        self.assertEqual(self.r("LCS", "n", "m"), bulk("24"))
        self.assertEqual(self.r("LCS", "n", "n"), bulk("12345"))
        # The DP table is bounded by proto-max-bulk-len (512 MB): two
        # 12,000-byte strings need 576 MB and are refused.
        self.assertEqual(self.r("SETRANGE", "big1", "11999", "x"),
                         integer(12000))
        self.assertEqual(self.r("SETRANGE", "big2", "11999", "y"),
                         integer(12000))
        self.assertEqual(
            self.r("LCS", "big1", "big2", "LEN"),
            b"-ERR Insufficient memory, transient memory for LCS exceeds "
            b"proto-max-bulk-len\r\n")
        self.assertEqual(self.r("LCS", "big1", "n", "LEN"), integer(0))

    def test_lcs_large_strings_refused_quickly(self):
        # Two strings near the 512 MB maximum: refused without allocating.
        self.assertEqual(self.r("SETRANGE", "h1", "100000000", "x"),
                         integer(100000001))
        self.assertEqual(self.r("SETRANGE", "h2", "100000000", "y"),
                         integer(100000001))
        self.assertEqual(
            self.r("LCS", "h1", "h2"),
            b"-ERR Insufficient memory, transient memory for LCS exceeds "
            b"proto-max-bulk-len\r\n")
        self.assertEqual(self.r("DEL", "h1", "h2"), integer(2))


# ---- differential --------------------------------------------------------

INTS = ["0", "1", "-1", "2", "-2", "5", "-5", "100", "-100", "3", "10",
        "9223372036854775807", "-9223372036854775808", "9223372036854775808",
        "x", "", "1.5", "01", "+1", " 1"]
VALUES = ["", "hello", "0", "-1", "123", "9223372036854775807",
          "-9223372036854775808", "9223372036854775808", "1e5", "inf", "-inf",
          "nan", "  1", "1 ", "0x10", "5.0e3", "+1", "01", "-0", "3.14",
          b"\x00\xff\r\n", "a" * 50, "1.5", "-0.0", ".5", "5.", "1e308",
          "1e-320", "12345678901234567890", "ohmytext", "mynewtext", "abcabc",
          "10", "-10", "0.1", "1e", "0b1", "١"]
FLOATS = ["1", "-1", "0.1", "1e5", "inf", "-inf", "nan", "  1", "0x10", "5.0e3",
          "1e308", "-1e308", "", "abc", "1.5", "-0", "1e-320", "1e5000", "3"]
RELEXP = ["100", "100000", "-1", "0", "9999999999999999",
          "9223372036854775807", "9223372036854775", "abc", "1.5", "01"]
ABSEXP = ["1", "4102444800", "4102444800000", "-1", "0", "9999999999999999",
          "9223372036854775807", "x"]


def randcase(rng, s):
    return "".join(ch.upper() if rng.random() < 0.5 else ch.lower() for ch in s)


def gen_command(rng, keys):
    k = lambda: rng.choice(keys)  # noqa: E731
    v = lambda: rng.choice(VALUES)  # noqa: E731
    i = lambda: rng.choice(INTS)  # noqa: E731
    name = rng.choice([
        "GET", "GET", "SET", "SET", "SET", "SETNX", "SETEX", "PSETEX", "GETSET",
        "GETDEL", "GETEX", "GETEX", "MGET", "MSET", "MSETNX", "APPEND",
        "STRLEN", "GETRANGE", "SUBSTR", "SETRANGE", "INCR", "DECR", "INCRBY",
        "DECRBY", "INCRBYFLOAT", "INCRBYFLOAT", "LCS", "TTL", "PTTL",
        "EXISTS"])
    n = randcase(rng, name) if rng.random() < 0.2 else name
    if name in ("GET", "STRLEN", "INCR", "DECR", "GETDEL", "TTL", "PTTL",
                "EXISTS"):
        args = [k()]
    elif name in ("SETNX", "GETSET", "APPEND"):
        args = [k(), v()]
    elif name in ("SETEX", "PSETEX"):
        args = [k(), rng.choice(RELEXP), v()]
    elif name in ("GETRANGE", "SUBSTR"):
        args = [k(), i(), i()]
    elif name == "SETRANGE":
        off = rng.choice(["0", "1", "3", "10", "-1", "x", "536870912",
                          "9223372036854775807"])
        args = [k(), off, v()]
    elif name in ("INCRBY", "DECRBY"):
        args = [k(), i()]
    elif name == "INCRBYFLOAT":
        args = [k(), rng.choice(FLOATS)]
    elif name == "MGET":
        args = [k() for _ in range(rng.randint(1, 4))]
    elif name in ("MSET", "MSETNX"):
        args = []
        for _ in range(rng.randint(1, 3)):
            args += [k(), v()]
        if rng.random() < 0.1:
            args.pop()  # odd count: arity error
    elif name == "LCS":
        args = [k(), k()]
        opts = ["IDX", "LEN", "WITHMATCHLEN", "MINMATCHLEN", "foo"]
        for _ in range(rng.randint(0, 3)):
            o = rng.choice(opts)
            args.append(randcase(rng, o))
            if o == "MINMATCHLEN" and rng.random() < 0.9:
                args.append(rng.choice(["0", "1", "2", "-1", "x"]))
    elif name in ("SET", "GETEX"):
        args = [k(), v()] if name == "SET" else [k()]
        pool = (["NX", "XX", "GET", "KEEPTTL", "EX", "PX", "EXAT", "PXAT",
                 "foo"] if name == "SET" else
                ["EX", "PX", "EXAT", "PXAT", "PERSIST", "NX", "foo"])
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            o = rng.choice(pool)
            args.append(randcase(rng, o) if rng.random() < 0.3 else o)
            if o in ("EX", "PX") and rng.random() < 0.95:
                args.append(rng.choice(RELEXP))
            elif o in ("EXAT", "PXAT") and rng.random() < 0.95:
                args.append(rng.choice(ABSEXP))
    else:
        raise AssertionError(name)
    if rng.random() < 0.02:  # wrong argument count
        args = args[:-1] if args and rng.random() < 0.5 else args + ["extra"]
    return [n] + args


FIXED = [
    [["SET", "a", "1"], ["INCR", "a"], ["GET", "a"], ["APPEND", "a", "x"],
     ["INCR", "a"], ["STRLEN", "a"]],
    [["SET", "a", "10", "EX", "100"], ["TTL", "a"], ["INCRBYFLOAT", "a", "0.5"],
     ["TTL", "a"], ["GETEX", "a", "PERSIST"], ["TTL", "a"]],
    [["SET", "a", "x", "PXAT", "1"], ["GET", "a"], ["EXISTS", "a"]],
    [["SETRANGE", "a", "5", ""], ["EXISTS", "a"], ["SETRANGE", "a", "5", "z"],
     ["GET", "a"], ["GETRANGE", "a", "-3", "-1"]],
    [["MSET", "a", "ohmytext", "b", "mynewtext"], ["LCS", "a", "b", "IDX"],
     ["LCS", "a", "b", "IDX", "WITHMATCHLEN"], ["LCS", "b", "a", "IDX"],
     ["LCS", "a", "b", "IDX", "MINMATCHLEN", "3", "WITHMATCHLEN"]],
    [["MSET", "a", "abcabcabc", "b", "cbacbacba"], ["LCS", "a", "b"],
     ["LCS", "a", "b", "IDX", "WITHMATCHLEN"], ["LCS", "b", "b", "IDX"]],
    [["SET", "a", "9223372036854775807"], ["INCRBYFLOAT", "a", "1"],
     ["INCRBYFLOAT", "a", "-1e30"], ["INCRBYFLOAT", "a", "1e308"],
     ["INCRBYFLOAT", "a", "1e308"]],
    [["INCRBYFLOAT", "a", "0.1"], ["INCRBYFLOAT", "a", "0.2"],
     ["INCRBYFLOAT", "a", "-0.3"], ["INCRBYFLOAT", "a", "1e-17"],
     ["INCRBYFLOAT", "a", "3.0e-5"], ["GET", "a"]],
    [["GETEX", "a", "EX", "0"], ["SET", "a", "b"], ["GETEX", "a", "EX", "0"],
     ["GETEX", "a", "EXAT", "1"], ["GET", "a"]],
    [["SET", "a", "v", "EX", "100", "KEEPTTL"], ["SET", "a", "v", "KEEPTTL",
                                                 "GET"],
     ["SET", "a", "w", "GET", "XX", "EXAT", "4102444800"], ["TTL", "a"]],
    [["get"], ["set", "a"], ["getrange", "a", "1"], ["mget"], ["mset", "a"],
     ["msetnx", "a", "b", "c"], ["lcs", "a"], ["incrbyfloat", "a"],
     ["getex"], ["setex", "a", "1"], ["psetex", "a"], ["substr", "a", "1"]],
]


class Differential(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not dicetest.have_redis_server():
            raise unittest.SkipTest("redis-server not installed: no "
                                    "differential comparison")
        if TARGET == "redis":
            raise unittest.SkipTest("STRINGS_TARGET=redis: nothing to compare")
        cls.dice = dicetest.Server("dice")
        cls.redis = dicetest.Server("redis")

    @classmethod
    def tearDownClass(cls):
        cls.redis.stop()
        rc = cls.dice.stop()
        assert rc == 0, "dice-server exit code %r" % rc

    @staticmethod
    def sequences():
        rng = random.Random(20240607)
        seqs = [list(s) for s in FIXED]
        for _ in range(400):
            keys = rng.choice([["a"], ["a", "b"], ["a", "b", "c"]])
            seqs.append([gen_command(rng, keys)
                         for _ in range(rng.randint(3, 12))])
        return seqs

    @staticmethod
    def prefixed(cmd, prefix):
        """Give every key of the sequence a per-sequence prefix, so the
        sequences do not see each other's keys."""
        name = cmd[0].upper()
        out = list(cmd)
        if name in ("MSET", "MSETNX"):
            pos = range(1, len(cmd), 2)
        elif name in ("MGET", "EXISTS"):
            pos = range(1, len(cmd))
        elif name == "LCS":
            pos = [1, 2]
        else:
            pos = [1]
        for p in pos:
            if p < len(out):
                k = out[p]
                out[p] = prefix + (k if isinstance(k, bytes) else k.encode())
        return out

    def same(self, cmd, a, b):
        if a == b:
            return True
        name = cmd[0].upper()
        if name in ("TTL", "PTTL") and a[:1] == b":" and b[:1] == b":":
            x, y = int(a[1:-2]), int(b[1:-2])
            slack = 1 if name == "TTL" else 1500
            return x >= 0 and y >= 0 and abs(x - y) <= slack
        return False

    def run_all(self, proto):
        seqs = self.sequences()
        conns = []
        for srv in (self.dice, self.redis):
            c = srv.conn()
            if proto == 3:
                hello = c.cmd("HELLO", "3")
                self.assertTrue(hello.startswith(b"%"), hello)
            self.assertEqual(c.cmd("FLUSHALL"), OK)
            conns.append(c)
        mismatches = []
        total = 0
        for n, seq in enumerate(seqs):
            prefix = b"s%d:" % n
            cmds = [self.prefixed(cmd, prefix) for cmd in seq]
            payload = b"".join(encode(*cmd) for cmd in cmds)
            replies = []
            for c in conns:
                c.send(payload)
                replies.append([c.read_reply() for _ in cmds])
            for cmd, a, b in zip(cmds, replies[0], replies[1]):
                total += 1
                if not self.same(cmd, a, b):
                    mismatches.append("seq %d %r:\n  dice  %r\n  redis %r" %
                                      (n, cmd, a[:200], b[:200]))
        for c in conns:
            c.close()
        self.assertGreater(total, 2000)
        self.assertEqual(mismatches, [], "\n".join(mismatches[:15]))

    def test_resp2(self):
        self.run_all(2)

    def test_resp3(self):
        self.run_all(3)


if __name__ == "__main__":
    dicetest.main(globals())
