"""Lua scripting (lib/scripting/, lib/commands/scripting.c): EVAL, EVALSHA,
EVAL_RO, EVALSHA_RO, SCRIPT.

- A differential corpus against a real redis-server, byte for byte, in
  RESP2 and RESP3: every conversion rule both ways (redis.call replies to
  Lua values, Lua values to replies, setresp 3), pcall error tables,
  script errors with their line numbers, the sandbox's refusals,
  read-only and shebang flag refusals, numkeys errors, SCRIPT
  subcommands, math.random's sequence, the bit library, pairs() and next()
  over the read-only libraries.
- Real clients: redis-py's register_script and its Lock (Lua), redis-cli
  --eval.
- The busy sequence with a real long-running script: other clients get
  BUSY, SCRIPT KILL stops a script that has not written, UNKILLABLE once
  it has, NOTBUSY when none runs, SHUTDOWN NOSAVE stops the server
  meanwhile. Bounded in time (busy-reply-threshold lowered)."""
import os
import re
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

if not os.environ.get("DICE_SERVER") and not os.path.exists(
        dicetest.server_path()):
    sys.exit(dicetest.SKIP)

# Each entry is one command; "setup" commands run too and are compared.
CORPUS = [
    # Lua -> reply
    ["EVAL", "return 1", "0"],
    ["EVAL", "return 3.99", "0"],
    ["EVAL", "return -3.99", "0"],
    ["EVAL", "return 'str'", "0"],
    ["EVAL", "return true", "0"],
    ["EVAL", "return false", "0"],
    ["EVAL", "return nil", "0"],
    ["EVAL", "return {}", "0"],
    ["EVAL", "return {1,2,3,'x',{4,{5}},true,false}", "0"],
    ["EVAL", "return {1,nil,3}", "0"],
    ["EVAL", "return {ok='fine'}", "0"],
    ["EVAL", "return {ok='a\\r\\nb'}", "0"],
    ["EVAL", "return {err='MYERR custom'}", "0"],
    ["EVAL", "return {err='noprefix'}", "0"],
    ["EVAL", "return {err='x', ok='y'}", "0"],
    ["EVAL", "return redis.status_reply('PONG')", "0"],
    ["EVAL", "return redis.error_reply('MY err')", "0"],
    ["EVAL", "return redis.error_reply('noprefix')", "0"],
    ["EVAL", "return redis.error_reply('-CODE with dash')", "0"],
    ["EVAL", "return redis.error_reply()", "0"],
    ["EVAL", "return redis.error_reply(1)", "0"],
    ["EVAL", "return type(redis.error_reply())", "0"],
    ["EVAL", "return redis.status_reply()", "0"],
    ["EVAL", "return redis.status_reply({})", "0"],
    ["EVAL", "return redis.error_reply('')", "0"],
    ["EVAL", "return {double=3.5}", "0"],
    ["EVAL", "return {double=1/3}", "0"],
    ["EVAL", "return {double=0/0}", "0"],
    ["EVAL", "return {double=-(0/0)}", "0"],
    ["EVAL", "return {double=1/0}", "0"],
    ["EVAL", "return {double=-1/0}", "0"],
    ["EVAL", "return {big_number='123456789012345678901234567890'}", "0"],
    ["EVAL", "return {map={a=1}}", "0"],
    ["EVAL", "return {set={a=true}}", "0"],
    ["EVAL", "return {verbatim_string={format='txt', string='hello'}}", "0"],
    ["EVAL", "redis.setresp(3); return true", "0"],
    ["EVAL", "redis.setresp(3); return false", "0"],
    ["EVAL", "redis.setresp(3); return {double=2.5}", "0"],
    ["EVAL", "redis.setresp(3); return {map={k='v'}}", "0"],
    ["EVAL", "redis.setresp(3); return {set={m=true}}", "0"],
    ["EVAL", "redis.setresp(3); return {big_number='99'}", "0"],
    ["EVAL", "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}", "2", "k1", "k2",
     "a1", "a2"],
    ["EVAL", "return #KEYS + #ARGV * 10", "1", "k", "a", "b"],
    # reply -> Lua
    ["SET", "s", "str"],
    ["RPUSH", "l", "a", "b"],
    ["HSET", "h", "f", "v"],
    ["SADD", "st", "m"],
    ["ZADD", "z", "1.5", "m"],
    ["EVAL", "return redis.call('get', 's')", "0"],
    ["EVAL", "return redis.call('get', 'nosuch')", "0"],
    ["EVAL", "return type(redis.call('get', 'nosuch'))", "0"],
    ["EVAL", "return redis.call('set', 'x', 1.1)", "0"],
    ["EVAL", "return redis.call('get', 'x')", "0"],
    ["EVAL", "local r = redis.call('set', 'y', 'v'); return r['ok']", "0"],
    ["EVAL", "return redis.call('incr', 'cnt')", "0"],
    ["EVAL", "return redis.call('lrange', 'l', 0, -1)", "0"],
    ["EVAL", "return redis.call('hgetall', 'h')", "0"],
    ["EVAL", "return redis.call('zrange', 'z', 0, -1, 'withscores')", "0"],
    ["EVAL", "return type(redis.call('lpop', 'nolist'))", "0"],
    ["EVAL", "return redis.call('ping')", "0"],
    ["EVAL", "redis.setresp(3); return redis.call('hgetall', 'h')", "0"],
    ["EVAL", "redis.setresp(3); local r = redis.call('hgetall', 'h'); "
     "return r['map']['f']", "0"],
    ["EVAL", "redis.setresp(3); return redis.call('smembers', 'st')", "0"],
    ["EVAL", "redis.setresp(3); local r = redis.call('zscore', 'z', 'm'); "
     "return r['double'] * 2", "0"],
    ["EVAL", "redis.setresp(3); return type(redis.call('get', 'nosuch'))",
     "0"],
    ["EVAL", "redis.setresp(3); return redis.call('get', 'nosuch') == nil",
     "0"],
    ["EVAL", "redis.setresp(3); return redis.call('zscore', 'z', 'm')", "0"],
    ["EVAL", "redis.setresp(3); return redis.call('zrange', 'z', 0, -1, "
     "'withscores')", "0"],
    ["EVAL", "return redis.setresp(4)", "0"],
    # errors and pcall
    ["EVAL", "return redis.call('incr', 's')", "0"],
    ["EVAL", "return redis.pcall('incr', 's')", "0"],
    ["EVAL", "local t = redis.pcall('incr', 's'); return t['err']", "0"],
    ["EVAL", "local t = redis.pcall('nosuch'); return t['err']", "0"],
    ["EVAL", "local ok, e = pcall(redis.call, 'incr', 's'); "
     "return {tostring(ok), e['err']}", "0"],
    ["EVAL", "return redis.call('nosuch')", "0"],
    ["EVAL", "return redis.call('get')", "0"],
    ["EVAL", "return redis.call()", "0"],
    ["EVAL", "return redis.call({})", "0"],
    ["EVAL", "return redis.call('get', {})", "0"],
    ["EVAL", "return redis.call('multi')", "0"],
    ["EVAL", "return redis.call('subscribe', 'c')", "0"],
    ["EVAL", "return redis.call('client', 'id')", "0"],
    ["EVAL", "return redis.call('config')", "0"],
    ["EVAL", "return redis.call('blpop', 'l2', 0)", "0"],
    ["EVAL", "error('boom')", "0"],
    ["EVAL", "error({err='MY boom'})", "0"],
    ["EVAL", "\n\nerror('line three')", "0"],
    ["EVAL", "local function f() error('deep') end\nf()", "0"],
    ["EVAL", "local x = nil; return x.y", "0"],
    ["EVAL", "return 1 +", "0"],
    ["EVAL", "syntax error here", "0"],
    # the sandbox
    ["EVAL", "return x", "0"],
    ["EVAL", "x = 1", "0"],
    ["EVAL", "redis.call = nil", "0"],
    ["EVAL", "string.foo = 1", "0"],
    ["EVAL", "_G.foo = 1", "0"],
    ["EVAL", "return print", "0"],
    ["EVAL", "return os.time()", "0"],
    ["EVAL", "return io", "0"],
    ["EVAL", "return require('x')", "0"],
    ["EVAL", "return loadfile", "0"],
    ["EVAL", "return dofile", "0"],
    ["EVAL", "return setfenv", "0"],
    ["EVAL", "return type(loadstring)", "0"],
    ["EVAL", "return type(debug)", "0"],
    ["EVAL", "return {type(bit), type(string), type(math), "
     "type(table), type(coroutine), type(pcall)}", "0"],
    # pairs and next walk a library as on Redis, without handing it out
    ["EVAL", "local t = {} for k in pairs(string) do t[#t + 1] = k end "
     "return t", "0"],
    ["EVAL", "local t = {} for k in pairs(math) do t[#t + 1] = k end "
     "return t", "0"],
    ["EVAL", "local t = {} for k in pairs(table) do t[#t + 1] = k end "
     "return t", "0"],
    ["EVAL", "local t = {} for k in pairs(bit) do t[#t + 1] = k end "
     "return t", "0"],
    ["EVAL", "local t = {} for k in pairs(redis) do t[#t + 1] = k end "
     "table.sort(t) return t", "0"],
    ["EVAL", "local f, s, k = pairs(string) "
     "return {type(f), tostring(s == string), tostring(k)}", "0"],
    ["EVAL", "local _, t = pairs(string) t.foo = 1", "0"],
    ["EVAL", "return {next(math) ~= nil, next({}) == nil, next({5})}", "0"],
    ["EVAL", "return next(math, 'nosuchkey')", "0"],
    # the globals: the same names as Redis, walked by pairs and next
    ["EVAL", "local t = {} for k in pairs(_G) do t[#t + 1] = k end "
     "table.sort(t) return t", "0"],
    ["EVAL", "return type(next(_G))", "0"],
    ["EVAL", "return rawget(_G, 'KEYS')[1]", "1", "k"],
    ["EVAL", "return rawget(string, 'upper')('a')", "0"],
    # raw writes, metatables and table.insert cannot reach a library
    ["EVAL", "rawset(_G, 'x', 1) return x", "0"],
    ["EVAL", "return {pcall(rawset, _G, 'a', 1)}", "0"],
    ["EVAL", "rawset(redis, 'x', 1) return redis.x", "0"],
    ["EVAL", "return tostring(redis.x)", "0"],
    ["EVAL", "setmetatable(_G, {})", "0"],
    ["EVAL", "setmetatable(string, {}) return 1", "0"],
    ["EVAL", "table.insert(string, 1) return 1", "0"],
    ["EVAL", "table.insert(_G, 1) return 1", "0"],
    ["EVAL", "local t = {} table.insert(t, 'v') return t", "0"],
    ["EVAL", "local n = 0 table.foreach(string, function() n = n + 1 end) "
     "return n", "0"],
    ["EVAL", "local n = 0 table.foreach(_G, function() n = n + 1 end) "
     "return n", "0"],
    ["EVAL", "return {table.remove(string), table.maxn(string), #_G, "
     "table.concat(string)}", "0"],
    ["EVAL", "string.upper = nil", "0"],
    ["EVAL", "return cjson.encode({string})", "0"],
    ["EVAL", "return cjson.encode(_G)", "0"],
    ["EVAL", "getmetatable('').__index.x = 1 return string.x", "0"],
    ["EVAL", "getmetatable('').__index = {} return 1", "0"],
    ["EVAL", "return {tostring(string.x), ('ab'):upper(), "
     "tostring(getmetatable('').__index == string)}", "0"],
    ["EVAL", "return getmetatable(_G)", "0"],
    ["EVAL", "return tostring(getmetatable(string))", "0"],
    ["EVAL", "return tostring(getmetatable(setmetatable({}, {})) ~= nil)",
     "0"],
    # the encoders see a library's table (its functions: an error)
    ["EVAL", "return cjson.encode(string)", "0"],
    ["EVAL", "return cjson.encode(math)", "0"],
    ["EVAL", "return cmsgpack.pack(redis)", "0"],
    ["EVAL", "local t = {} for k in pairs(redis) do t[#t + 1] = k end "
     "return t", "0"],
    ["EVAL", "return redis.sha1hex()", "0"],
    ["EVAL", "redis.log('x', 'y')", "0"],
    ["EVALSHA", "nosuch", "x"],
    ["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "x"],
    ["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"],
    ["EVAL", "local t = {} for k, v in pairs(cmsgpack.unpack("
     "cmsgpack.pack(redis))) do t[#t + 1] = k .. '=' .. tostring(v) end "
     "table.sort(t) return t", "0"],
    # loadstring: chunks run in the same sandbox
    ["EVAL", "return loadstring('return 1 + 1')()", "0"],
    ["EVAL", "return loadstring('x = 1')()", "0"],
    ["EVAL", "return {loadstring('syntax error here')}", "0"],
    ["EVAL", "return loadstring(string.dump(function() return 1 end))", "0"],
    ["EVAL", "return {type(getfenv), type(setfenv), type(newproxy), "
     "type(__redis__err__handler), type(load), type(gcinfo)}", "0"],
    ["EVAL", "return next(1)", "0"],
    ["EVAL", "return pairs()", "0"],
    ["EVAL", "local n = 0 for k in pairs({a=1, b=2, 3}) do n = n + 1 end "
     "return n", "0"],
    ["EVAL", "local ok, e = pcall(error, {err='x'}); return {tostring(ok), e}",
     "0"],
    ["EVAL", "local ok, e = pcall(error, {1}); return type(e)", "0"],
    ["EVAL", "return {pcall(function() return 1, 2 end)}", "0"],
    ["EVAL", "return {math.random(), math.random(100), math.random(5, 10)}",
     "0"],
    ["EVAL", "return tostring(math.random())", "0"],
    ["EVAL", "math.randomseed(7); return tostring(math.random())", "0"],
    ["EVAL", "return tostring(math.random())", "0"],
    ["EVAL", "return {bit.band(0xff, 0x0f), bit.bor(1, 2), bit.bxor(3, 1), "
     "bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-16, 2), "
     "bit.tohex(255), bit.tohex(-1, -4), bit.bnot(0), bit.tobit(2^32 + 5), "
     "bit.rol(1, 33), bit.bswap(0x01020304)}", "0"],
    ["EVAL", "return redis.sha1hex('')", "0"],
    ["EVAL", "return redis.sha1hex('abc')", "0"],
    ["EVAL", "return {redis.REDIS_VERSION, redis.REDIS_VERSION_NUM}", "0"],
    ["EVAL", "return redis.replicate_commands()", "0"],
    ["EVAL", "return redis.set_repl(redis.REPL_ALL)", "0"],
    ["EVAL", "return redis.acl_check_cmd('get', 'x')", "0"],
    ["EVAL", "return redis.acl_check_cmd('nosuch')", "0"],
    ["EVAL", "redis.log(redis.LOG_WARNING, 'from', 'lua'); return 1", "0"],
    ["EVAL", "return redis.log(99, 'x')", "0"],
    ["EVAL", "return redis.log(1)", "0"],
    ["EVAL", "return string.format('%d %s', 5, 'x')", "0"],
    ["EVAL", "return table.concat({'a','b'}, ',')", "0"],
    ["EVAL", "return string.rep('a', 3) .. ('x'):upper()", "0"],
    ["EVAL", "return tonumber('12') + 1", "0"],
    ["EVAL", "return redis.call('select', 3)", "0"],
    ["EVAL", "redis.call('select', 3); return redis.call('set', 'in3', 'v')",
     "0"],
    ["GET", "in3"],
    # numkeys
    ["EVAL", "return 1", "-1"],
    ["EVAL", "return 1", "3", "a"],
    ["EVAL", "return 1", "x"],
    ["EVAL", "return 1"],
    ["EVALSHA", "0123456789012345678901234567890123456789", "0"],
    ["EVALSHA", "abc", "0"],
    # read-only and flags
    ["EVAL_RO", "return redis.call('get', 's')", "0"],
    ["EVAL_RO", "return redis.call('set', 'a', 'b')", "0"],
    ["EVAL_RO", "return redis.call('publish', 'ch', 'm')", "0"],
    ["EVAL", "#!lua flags=no-writes\nreturn redis.call('set','a','b')", "0"],
    ["EVAL", "#!lua flags=no-writes\nreturn redis.call('get','s')", "0"],
    ["EVAL_RO", "#!lua\nreturn 1", "0"],
    ["EVAL_RO", "#!lua flags=no-writes,allow-oom\nreturn 2", "0"],
    ["EVAL", "#!lua flags=allow-oom,allow-stale,no-cluster\nreturn 3", "0"],
    ["EVAL", "#!lua flags=allow-cross-slot-keys\nreturn 4", "0"],
    ["EVAL", "#!lua flags=\nreturn redis.call('set','fl','1')", "0"],
    ["EVAL", "#!lua flags=bogus\nreturn 1", "0"],
    ["EVAL", "#!lua name=x\nreturn 1", "0"],
    ["EVAL", "#!python\nreturn 1", "0"],
    ["EVAL", "#!lua", "0"],
    ["EVAL", "#!lua\nerror('second line')", "0"],
    # SCRIPT
    ["SCRIPT", "LOAD", "return 'loaded'"],
    ["EVALSHA", "a54e4b7d5f8ac35c98e6b30e2bf5ed64be46f8d0", "0"],
    ["EVALSHA", "A54E4B7D5F8AC35C98E6B30E2BF5ED64BE46F8D0", "0"],
    ["EVALSHA_RO", "a54e4b7d5f8ac35c98e6b30e2bf5ed64be46f8d0", "0"],
    ["SCRIPT", "EXISTS", "a54e4b7d5f8ac35c98e6b30e2bf5ed64be46f8d0", "nope"],
    ["SCRIPT", "LOAD", "return +"],
    ["SCRIPT", "FLUSH", "BOGUS"],
    ["SCRIPT", "FLUSH", "ASYNC"],
    ["SCRIPT", "EXISTS", "a54e4b7d5f8ac35c98e6b30e2bf5ed64be46f8d0"],
    ["SCRIPT", "FLUSH"],
    ["SCRIPT", "KILL"],
    ["SCRIPT", "NOSUCH"],
    ["SCRIPT"],
    ["SCRIPT", "HELP"],
]


class Differential(dicetest.BothServers):
    def run_corpus(self, proto):
        d, r = self.dice.conn(), self.redis.conn()
        for c in (d, r):
            c.cmd("FLUSHALL")
            c.cmd("SCRIPT", "FLUSH")
            if proto == 3:
                c.cmd("HELLO", "3")
        for cmd in CORPUS:
            with self.subTest(proto=proto, cmd=cmd):
                self.assertEqual(d.cmd(*cmd), r.cmd(*cmd))
        d.close()
        r.close()

    def test_resp2(self):
        self.run_corpus(2)

    def test_resp3(self):
        self.run_corpus(3)


class Clients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dice = dicetest.Server("dice")

    @classmethod
    def tearDownClass(cls):
        cls.dice.stop()

    def test_register_script(self):
        r = self.dice.redis()
        r.flushall()
        incr_by = r.register_script(
            "return redis.call('INCRBY', KEYS[1], ARGV[1])")
        self.assertEqual(incr_by(keys=["n"], args=[5]), 5)
        r.script_flush()  # the helper falls back to EVAL on NOSCRIPT
        self.assertEqual(incr_by(keys=["n"], args=[2]), 7)
        self.assertEqual(r.script_exists(incr_by.sha), [True])

    def test_lock(self):
        r = self.dice.redis()
        r.flushall()
        lock = r.lock("resource", timeout=10)
        self.assertTrue(lock.acquire(blocking=False))
        other = r.lock("resource", timeout=10)
        self.assertFalse(other.acquire(blocking=False))
        self.assertTrue(lock.extend(5))
        self.assertTrue(lock.reacquire())
        lock.release()
        self.assertTrue(other.acquire(blocking=False))
        other.release()
        self.assertIsNone(r.get("resource"))

    def test_redis_cli_eval(self):
        with open(os.path.join(self.dice.dir, "s.lua"), "w") as f:
            f.write("redis.call('set', KEYS[1], ARGV[1])\n"
                    "return redis.call('get', KEYS[1])\n")
        out = subprocess.run(
            ["redis-cli", "-p", str(self.dice.port), "--eval",
             os.path.join(self.dice.dir, "s.lua"), "k1", ",", "hello"],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(out.stdout.strip(), "hello")


LONG = "local i = 0 while true do i = i + 1 end"
LONG_WRITE = "redis.call('set', 'w', 1) local i = 0 while true do i = i + 1 end"


class Busy(unittest.TestCase):
    def setUp(self):
        self.dice = dicetest.Server("dice", ["--busy-reply-threshold", "100"])

    def tearDown(self):
        self.dice.stop()

    def start(self, script):
        c = self.dice.conn(timeout=30)
        c.send(dicetest.encode("EVAL", script, "0"))
        time.sleep(0.3)  # past the threshold
        return c

    def test_kill(self):
        other = self.dice.conn()
        self.assertEqual(other.cmd("SCRIPT", "KILL"),
                         b"-NOTBUSY No scripts in execution right now.\r\n")
        t0 = time.time()
        runner = self.start(LONG)
        self.assertEqual(
            other.cmd("GET", "x"),
            b"-BUSY Redis is busy running a script. You can only call "
            b"SCRIPT KILL or SHUTDOWN NOSAVE.\r\n")
        self.assertEqual(other.cmd("SHUTDOWN"), other.cmd("PING"))
        self.assertEqual(other.cmd("SCRIPT", "KILL"), b"+OK\r\n")
        reply = runner.read_reply()
        self.assertTrue(reply.startswith(
            b"-ERR Script killed by user with SCRIPT KILL..."), reply)
        self.assertEqual(other.cmd("PING"), b"+PONG\r\n")
        self.assertLess(time.time() - t0, 10)

    def test_unkillable_then_shutdown(self):
        other = self.dice.conn()
        self.start(LONG_WRITE)
        self.assertTrue(other.cmd("SCRIPT", "KILL").startswith(
            b"-UNKILLABLE Sorry the script already executed write commands"))
        other.send(dicetest.encode("SHUTDOWN", "NOSAVE"))
        self.assertTrue(other.closed_by_peer(10))
        self.dice.proc.wait(timeout=10)


LOOP_LIB = ("#!lua name=loop\nredis.register_function('spin', function() "
            "local i = 0 while true do i = i + 1 end end)\n"
            "redis.register_function('spinw', function(k) "
            "redis.call('set', k[1], 1) local i = 0 while true do "
            "i = i + 1 end end)")


class BusyFunction(unittest.TestCase):
    """A long FCALL on both servers: FUNCTION STATS's running_script
    (duration masked), the BUSY text, SCRIPT KILL and FUNCTION KILL of the
    wrong kind, then FUNCTION KILL; EVAL's side the same way round."""

    def setUp(self):
        if not dicetest.have_redis_server():
            raise unittest.SkipTest("no redis-server")
        args = ["--busy-reply-threshold", "100"]
        self.servers = [dicetest.Server("dice", args),
                        dicetest.Server("redis", args)]

    def tearDown(self):
        for s in self.servers:
            s.stop()

    @staticmethod
    def mask(reply):
        # "duration_ms" then ":<n>": the figure differs run to run
        return re.sub(rb"(duration_ms\r\n):\d+", rb"\1:N", reply)

    def sequence(self, srv, start, kill_other, kill, finish=True):
        other = srv.conn()
        other.cmd("FUNCTION", "LOAD", "REPLACE", LOOP_LIB)
        runner = srv.conn(timeout=30)
        runner.send(dicetest.encode(*start))
        time.sleep(0.3)
        out = [self.mask(other.cmd("FUNCTION", "STATS")),
               other.cmd("GET", "x"), other.cmd(*kill_other),
               other.cmd(*kill)]
        if not finish:
            return out
        out.append(runner.read_reply())
        out.append(other.cmd("PING"))
        out.append(self.mask(other.cmd("FUNCTION", "STATS")))
        return out

    def both(self, *args):
        d, r = (self.sequence(s, *args) for s in self.servers)
        self.maxDiff = None
        self.assertEqual(d, r)

    def test_function_kill(self):
        self.both(("FCALL", "spin", "0"), ("SCRIPT", "KILL"),
                  ("FUNCTION", "KILL"))

    def test_script_kill(self):
        self.both(("EVAL", LONG, "0"), ("FUNCTION", "KILL"),
                  ("SCRIPT", "KILL"))

    def test_function_unkillable(self):
        d, r = (self.sequence(s, ("FCALL", "spinw", "1", "w"),
                              ("SCRIPT", "KILL"), ("FUNCTION", "KILL"), False)
                for s in self.servers)
        self.assertEqual(d, r)
        for s in self.servers:
            c = s.conn()
            c.send(dicetest.encode("SHUTDOWN", "NOSAVE"))
            self.assertTrue(c.closed_by_peer(10))


if __name__ == "__main__":
    dicetest.main(globals())
