"""Functions (lib/scripting/function.c): FUNCTION LOAD [REPLACE] / DELETE /
LIST / FLUSH / DUMP / RESTORE / STATS / KILL / HELP, FCALL and FCALL_RO,
redis.register_function in both forms with its flags and description, the
"#!lua name=" header, and the load environment.

- Differential against a real redis-server through python3-redis: every
  subcommand and error text (FUNCTION LIST compared with libraries and
  functions sorted: Redis lists them in its dicts' order).
- FUNCTION DUMP payloads both ways: redis-server's restores on dice-server
  and dice-server's on redis-server, with every restore policy.
- Persistence: libraries survive a SAVE and restart, and an RDB written by
  either server loads functions on the other.
- INFO memory's function counts, FUNCTION STATS, propagation effects
  through FCALL in MULTI/EXEC."""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

if not os.environ.get("DICE_SERVER") and not os.path.exists(
        dicetest.server_path()):
    sys.exit(dicetest.SKIP)

LIB = """#!lua name=lib1
local function f(keys, args) return {keys[1], args[1], #keys, #args} end
redis.register_function('f1', f)
redis.register_function{function_name='f2', callback=function(k, a)
  return redis.call('set', k[1], a[1]) end,
  flags={'no-writes', 'allow-oom'}, description='desc'}
redis.register_function{function_name='f3', callback=function(k, a)
  return redis.call('set', k[1], a[1]) end,
  flags={'allow-stale', 'no-cluster', 'allow-cross-slot-keys'}}
redis.register_function('f4', function() error('bad') end)
redis.register_function('f5', function() x = 1 end)
redis.register_function('f6', function() redis.setresp(3)
  return redis.call('hgetall', 'h') end)
redis.register_function('f7', function() return redis.register_function end)
redis.register_function('f8', function(k, a)
  return redis.call('incr', k[1]) end)
"""

FCALLS = [
    ("f1", "1", "a", "b"), ("f1", "0"), ("f2", "1", "k", "v"),
    ("f3", "1", "k", "v"), ("f4", "0"), ("f5", "0"), ("nope", "0"),
    ("f1", "x"), ("f1", "5", "a"), ("f1", "-1"), ("f6", "0"), ("f7", "0"),
    ("f8", "1", "cnt"),
]

# Library bodies whose FUNCTION LOAD fails (or succeeds) the same way.
HEADERS = [
    "return 1", "#!lua", "#!lua name=x", "#!lua name=x foo=bar\n",
    "#!luaa name=q\n", "#! name=q\n", "#!lua name=q \"\n",
    "#!lua name=q name\n", "#!lua name=z name=q\n", "#!lua name=a-b\n",
    "#!lua\nredis.register_function('g', function() end)",
    "#!lua name=lib1\nredis.register_function('f1', function() end)",
    "#!lua name=lib2\nredis.register_function('f1', function() end)",
    "#!lua name=z\nlocal a = \n",
    "#!lua NAME=zz\nredis.register_function('zz', function() return 1 end)",
]
BODIES = [
    "redis.register_function('f g', function() end)",
    "redis.register_function('', function() end)",
    "redis.register_function('f')",
    "redis.register_function('f', 1)",
    "redis.register_function()",
    "redis.register_function('f', function() end, 1)",
    "redis.register_function('f', function() end, {})",
    "redis.register_function{function_name='g'}",
    "redis.register_function{callback=function() end}",
    "redis.register_function{function_name='g', callback=function() end, "
    "flags='no-writes'}",
    "redis.register_function{function_name='g', callback=function() end, "
    "flags={'x'}}",
    "redis.register_function{function_name='g', callback=function() end, "
    "flags={1}}",
    "redis.register_function{function_name='g', callback=function() end, "
    "foo=1}",
    "redis.register_function{function_name='g', callback=function() end, "
    "[1]=1}",
    "redis.register_function{function_name={}, callback=function() end}",
    "redis.register_function{function_name='g', callback=1}",
    "redis.register_function{function_name='g', callback=function() end, "
    "description={}}",
    "redis.register_function{function_name='g', callback=function() end, "
    "description=1}",
    "redis.register_function(1, function() end)",
    "redis.register_function({}, function() end)",
    "return 1",
    "local t = {} for k, v in pairs(_G) do t[#t + 1] = k end",
    "redis.register_function('f', function() end) "
    "redis.register_function('f', function() end)",
    "redis.setresp(3)",
    "redis.call('set', 'a', 'b')",
    "redis.pcall('ping')",
    "redis.sha1hex('a')",
    "math.random()",
    "local x = cjson",
    "x = 1",
    "error('boom')",
    "string.len('a')",
    "redis.log(redis.LOG_WARNING, 'loading') "
    "redis.register_function('lg', function() return redis.REDIS_VERSION end)",
    "redis.register_function('w', function() end) while true do end",
]
SUBS = [
    ("DELETE", "nope"), ("DELETE",), ("STATS",), ("KILL",), ("FLUSH", "foo"),
    ("FLUSH", "async", "x"), ("RESTORE",), ("RESTORE", "abc"),
    ("RESTORE", "abc", "foo"), ("RESTORE", "abc", "append", "x"), ("HELP",),
    ("DUMP", "x"), ("nosuch",), ("LIST", "libraryname"), ("LIST", "foo"),
    ("LIST", "withcode", "withcode"),
    ("LIST", "libraryname", "a", "libraryname", "b"),
]


def call(r, *args):
    try:
        return r.execute_command(*args)
    except Exception as e:  # the error text is the reply
        return "ERR:" + str(e)


def norm_list(v):
    """FUNCTION LIST with libraries and their functions sorted."""
    if not isinstance(v, list):
        return v
    out = []
    for lib in v:
        lib = list(lib)
        i = lib.index(b"functions")
        lib[i + 1] = sorted(lib[i + 1], key=repr)
        out.append(lib)
    return sorted(out, key=repr)


class Differential(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not dicetest.have_redis_server():
            raise unittest.SkipTest("no redis-server")
        cls.dice = dicetest.Server("dice")
        cls.redis = dicetest.Server("redis")
        cls.d = cls.dice.redis()
        cls.r = cls.redis.redis()

    @classmethod
    def tearDownClass(cls):
        cls.dice.stop()
        cls.redis.stop()

    def both(self, *args, lst=False):
        a, b = call(self.r, *args), call(self.d, *args)
        if lst:
            a, b = norm_list(a), norm_list(b)
        # Which of several colliding libraries is named follows Redis's
        # dict order: the text is the same, the name may differ.
        if isinstance(a, str) and isinstance(b, str):
            a = re.sub(r"^ERR:Library \S+ already", "ERR:Library _ already", a)
            b = re.sub(r"^ERR:Library \S+ already", "ERR:Library _ already", b)
        self.assertEqual(b, a, args)
        return a

    def setUp(self):
        self.both("FUNCTION", "FLUSH")
        self.both("FLUSHALL")

    def test_load_and_fcall(self):
        self.assertEqual(self.both("FUNCTION", "LOAD", LIB), b"lib1")
        self.both("FUNCTION", "LOAD", LIB)
        self.both("FUNCTION", "LOAD", "REPLACE", LIB)
        self.both("FUNCTION", "LOAD", "replace", LIB)
        self.both("FUNCTION", "LOAD", "FOO", LIB)
        for args in FCALLS:
            self.both("FCALL", *args)
            self.both("FCALL_RO", *args)
        self.both("GET", "k")
        self.both("GET", "cnt")

    def test_function_globals(self):
        """What a function sees: the globals and the redis table as on
        Redis (no __redis__err__handler, no debug, breakpoint or
        replicate_commands), and the sandbox's raw-write refusals."""
        walk = ("local t = {} for k in pairs(%s) do t[#t + 1] = k end "
                "table.sort(t) return t")
        self.both("FUNCTION", "LOAD",
                  "#!lua name=g\n"
                  "redis.register_function('g', function() return %s end)\n"
                  "redis.register_function('r', function() %s end)\n"
                  "redis.register_function('w', function() "
                  "rawset(redis, 'x', 1) end)\n"
                  "redis.register_function('o', function() local t = {} "
                  "for k in pairs(redis) do t[#t + 1] = k end return t end)\n"
                  "redis.register_function('e', function() "
                  "return cjson.encode(string) end)"
                  % ("(function() " + walk % "_G" + " end)()",
                     walk % "redis"))
        for name in ("g", "r", "w", "o", "e"):
            self.both("FCALL", name, "0")

    def test_resp3(self):
        self.both("FUNCTION", "LOAD", LIB)
        cd, cr = self.dice.conn(), self.redis.conn()
        for c in (cd, cr):
            c.cmd("HELLO", "3")
        # One library of one function: its LIST has one order.
        self.both("FUNCTION", "LOAD", "#!lua name=one\n"
                  "redis.register_function{function_name='o', "
                  "callback=function() return 1 end, flags={'no-writes'}}")
        for args in (("FUNCTION", "LIST", "LIBRARYNAME", "one"),
                     ("FUNCTION", "STATS"), ("FCALL", "f6", "0"),
                     ("FCALL", "o", "0")):
            self.assertEqual(cd.cmd(*args), cr.cmd(*args), args)

    def test_headers(self):
        self.both("FUNCTION", "LOAD", LIB)
        for body in HEADERS:
            self.both("FUNCTION", "LOAD", body)

    def test_load_environment(self):
        for body in BODIES:
            self.both("FUNCTION", "LOAD", "#!lua name=l2\n" + body)
            self.both("FCALL", "lg", "0")
            call(self.r, "FUNCTION", "DELETE", "l2")
            call(self.d, "FUNCTION", "DELETE", "l2")

    def test_subcommands(self):
        self.both("FUNCTION", "LOAD", LIB)
        self.both("FUNCTION", "LOAD", HEADERS[-1])
        for args in [(), ("withcode",), ("libraryname", "li*"),
                     ("libraryname", "LI*", "withcode"),
                     ("LIBRARYNAME", "nomatch")]:
            self.both("FUNCTION", "LIST", *args, lst=True)
        for args in SUBS:
            self.both("FUNCTION", *args)
        self.both("FUNCTION", "DELETE", "zz")
        self.both("FUNCTION", "DELETE", "zz")
        self.both("FCALL", "zz", "0")
        self.both("FUNCTION", "FLUSH", "ASYNC")
        self.both("FUNCTION", "FLUSH", "sync")
        self.both("FUNCTION", "LIST")
        self.both("FUNCTION", "STATS")

    def test_dump_restore_both_ways(self):
        self.both("FUNCTION", "LOAD", LIB)
        self.both("FUNCTION", "LOAD", HEADERS[-1])
        dr = self.r.execute_command("FUNCTION", "DUMP")
        dd = self.d.execute_command("FUNCTION", "DUMP")
        # Either server's payload, on both servers, under every policy.
        for payload in (dr, dd):
            for policy in ((), ("APPEND",), ("REPLACE",), ("FLUSH",),
                           ("bogus",)):
                self.both("FUNCTION", "RESTORE", payload, *policy)
            self.both("FUNCTION", "FLUSH")
            self.both("FUNCTION", "RESTORE", payload)
            self.both("FUNCTION", "LIST", "WITHCODE", lst=True)
            self.both("FCALL", "f1", "1", "a", "b")
            self.both("FCALL", "zz", "0")
        # Collisions: a library of another name with a function of ours.
        self.both("FUNCTION", "FLUSH")
        self.both("FUNCTION", "LOAD", "#!lua name=other\n"
                  "redis.register_function('f1', function() return 2 end)")
        self.both("FUNCTION", "RESTORE", dr)
        self.both("FUNCTION", "RESTORE", dr, "REPLACE")
        self.both("FUNCTION", "RESTORE", dr, "FLUSH")
        self.both("FCALL", "f1", "0")
        # The empty dump, and corrupt ones.
        self.both("FUNCTION", "FLUSH")
        self.assertEqual(self.r.execute_command("FUNCTION", "DUMP"),
                         self.d.execute_command("FUNCTION", "DUMP"))
        self.both("FUNCTION", "RESTORE", dr[:-1] + b"x")
        self.both("FUNCTION", "RESTORE", b"\x00" + dr[1:])

    def test_restore_crafted(self):
        def crc64(data):
            crc = 0
            for b in data:
                crc ^= b
                for _ in range(8):
                    crc = (crc >> 1) ^ 0x95ac9329ac4bc9b5 if crc & 1 \
                        else crc >> 1
            return crc

        def payload(body):
            b = body + bytes([10, 0])
            return b + crc64(b).to_bytes(8, "little")

        def s(x):
            return bytes([len(x)]) + x if len(x) < 64 else \
                bytes([0x40 | (len(x) >> 8), len(x) & 0xff]) + x

        def lib(n):
            return (b"#!lua name=" + n + b"\nredis.register_function('" + n
                    + b"f', function() return 1 end)")
        for p in (b"", b"\x00", b"\xf6" + s(lib(b"a")), b"\xf5",
                  b"\xf5" + s(b"return 1"),
                  b"\xf5" + s(lib(b"a")) + b"\xf5" + s(lib(b"a")),
                  b"\xf5" + s(lib(b"a")), b"\xf5" + s(lib(b"a")),
                  b"\xf5" + s(lib(b"c")) + b"\x00"):
            self.both("FUNCTION", "RESTORE", payload(p))
        self.both("FUNCTION", "LIST", lst=True)

    def test_info_memory_counts(self):
        self.both("FUNCTION", "LOAD", LIB)
        for srv in (self.d, self.r):
            m = srv.info("memory")
            self.assertEqual(m["number_of_functions"], 8)
            self.assertEqual(m["number_of_libraries"], 1)
        keys = [k for k in self.r.info("memory")
                if "lua" in k or "scripts" in k or "functions" in k
                or "_vm_" in k or "libraries" in k]
        self.assertEqual([k for k in self.d.info("memory") if k in keys],
                         keys)


class Persistence(unittest.TestCase):
    def restart(self, kind, d):
        return dicetest.Server(kind, ["--dir", d])

    def test_rdb_both_ways(self):
        import tempfile
        d = tempfile.mkdtemp(prefix="dicefn-")
        code = ("#!lua name=pl\nredis.register_function('pf', "
                "function(k, a) return 'persist' end)")
        s = self.restart("dice", d)
        s.redis().function_load(code)
        s.redis().save()
        s.stop()
        s = self.restart("dice", d)
        self.assertEqual(s.redis().fcall("pf", 0), b"persist")
        s.stop()
        if not dicetest.have_redis_server():
            return
        s = self.restart("redis", d)
        r = s.redis()
        self.assertEqual(r.fcall("pf", 0), b"persist")
        r.function_load(code.replace("pl", "rl").replace("pf", "rf"))
        r.save()
        s.stop()
        s = self.restart("dice", d)
        self.assertEqual(s.redis().fcall("rf", 0), b"persist")
        self.assertEqual(s.redis().fcall("pf", 0), b"persist")
        # DEBUG RELOAD keeps them (it replaces the libraries it reads).
        s.stop()


class Propagation(unittest.TestCase):
    def test_fcall_runs_on_a_replica_of_commands(self):
        """MONITOR-free check: FCALL's writes land, FUNCTION STATS counts."""
        s = dicetest.Server("dice")
        try:
            r = s.redis()
            r.function_load(LIB)
            self.assertEqual(r.fcall("f8", 1, "c"), 1)
            self.assertEqual(r.fcall("f8", 1, "c"), 2)
            st = r.execute_command("FUNCTION", "STATS")
            self.assertEqual(st[3][1][1], 1)
            self.assertEqual(st[3][1][3], 8)
        finally:
            s.stop()


if __name__ == "__main__":
    dicetest.main(globals())
