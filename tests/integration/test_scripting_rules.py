"""What a script may do, against a real redis-server 7.0, byte for byte:

- ACL: redis.call / redis.pcall run as the caller's user (commands,
  sub-commands, read and write key patterns, channels) with Redis's script
  texts, logged in ACL LOG with the "lua" context; redis.acl_check_cmd
  answers for that user, "Invalid command passed to redis.acl_check_cmd()"
  for an unknown command or sub-command.
- -OOM with maxmemory low and noeviction: a denyoom call inside a script,
  a script with a shebang (or a function) that may write refused before
  it runs (before numkeys is parsed, before the *_ro refusal), allow-oom
  and no-writes scripts and functions that run anyway, EVAL and FCALL
  judged the same way.
- redis.set_repl: what reaches the append-only file (REPL_NONE and
  REPL_REPLICA writes do not, REPL_AOF and REPL_ALL ones do, wrapped in
  MULTI/EXEC only when two or more remain), compared with redis-server's
  incremental AOF; the flag errors; redis.replicate_commands.
- INFO memory's script fields, as Redis 7.0 names and orders them, and
  the EVAL script cache's bound (500, least recently used first; Redis
  7.0 keeps every script, 7.4 bounds them this way)."""
import glob
import hashlib
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

if not os.environ.get("DICE_SERVER") and not os.path.exists(
        dicetest.server_path()):
    sys.exit(dicetest.SKIP)

# (user or None, command); users log in with password "pw".
ACL_CORPUS = [
    (None, ["ACL", "SETUSER", "u1", "on", ">pw", "+@all", "-set",
            "+client|id", "-debug", "~r*", "%R~ro*", "%W~wo*", "&ch*"]),
    (None, ["ACL", "SETUSER", "u2", "on", ">pw", "+eval", "+evalsha",
            "+fcall", "+get", "~*"]),
    (None, ["ACL", "SETUSER", "u3", "on", ">pw", "+@all", "~*", "&*",
            "-client", "+client|id"]),
    (None, ["FUNCTION", "LOAD", "REPLACE",
            "#!lua name=acl\n"
            "redis.register_function('chk', function(k, a) "
            "return redis.acl_check_cmd(unpack(a)) end)\n"
            "redis.register_function('run', function(k, a) "
            "return redis.pcall(unpack(a)) end)"]),
    (None, ["ACL", "LOG", "RESET"]),
] + [("u1", ["EVAL", "return redis.acl_check_cmd(" + a + ")", "0"]) for a in [
    "'get','rk'", "'get','xk'", "'set','rk','v'", "'get','rok'",
    "'get','wok'", "'lpush','wok','v'", "'lpush','rok','v'",
    "'lmove','rok','wok','left','right'", "'lmove','wok','rok','left','right'",
    "'publish','chx','m'", "'publish','zz','m'", "'client','id'",
    "'client','kill'", "'client','nosuch'", "'client'", "'debug','x'",
    "'nosuch'", "", "1", "{}", "'get'", "'GET','rk'",
    "'eval','return 1','1','xk'", "'eval','return 1','1','rk'",
    "'subscribe','chx','zz'", "'psubscribe','ch*'", "'psubscribe','c*'",
    "'object','encoding','xk'", "'object','encoding','rk'",
]] + [
    ("u1", ["EVAL", "return redis.call('get','xk')", "0"]),
    ("u1", ["EVAL", "return redis.pcall('get','xk')", "0"]),
    ("u1", ["EVAL", "return redis.call('set','rk','v')", "0"]),
    ("u1", ["EVAL", "return redis.call('lpush','rok','v')", "0"]),
    ("u1", ["EVAL", "return redis.call('lpush','wok','v')", "0"]),
    ("u1", ["EVAL", "return redis.call('lrange','wok',0,-1)", "0"]),
    ("u1", ["EVAL", "return redis.call('publish','zz','v')", "0"]),
    ("u1", ["EVAL", "return redis.call('publish','chz','v')", "0"]),
    ("u1", ["EVAL", "return redis.call('client','kill','1.1.1.1:1')", "0"]),
    ("u1", ["FCALL", "chk", "0", "get", "xk"]),
    ("u1", ["FCALL", "chk", "0", "get", "rk"]),
    ("u1", ["FCALL", "run", "0", "get", "xk"]),
    ("u1", ["FCALL", "run", "0", "set", "rk", "v"]),
    ("u2", ["EVAL", "return redis.acl_check_cmd('get','x')", "0"]),
    ("u2", ["EVAL", "return redis.acl_check_cmd('set','x','y')", "0"]),
    ("u2", ["EVAL", "return redis.call('set','x','y')", "0"]),
    ("u2", ["EVAL", "return redis.pcall('set','x','y')", "0"]),
    ("u2", ["EVAL", "return redis.call('get','x')", "0"]),
    ("u2", ["EVAL", "return redis.pcall('get','x')", "0"]),
    ("u3", ["EVAL", "return redis.acl_check_cmd('client','id')", "0"]),
    ("u3", ["EVAL", "return redis.acl_check_cmd('client','list')", "0"]),
    ("u3", ["EVAL", "return redis.acl_check_cmd('client')", "0"]),
    ("u3", ["EVAL", "return redis.acl_check_cmd('config','get')", "0"]),
    ("u3", ["EVAL", "return redis.pcall('client','id') > 0", "0"]),
    (None, ["EVAL", "return redis.acl_check_cmd('set','x','y')", "0"]),
    (None, ["EVAL", "return redis.call('set','x','y')", "0"]),
    # The default user restricted: its scripts are checked too.
    (None, ["ACL", "SETUSER", "default", "-set"]),
    (None, ["EVAL", "return redis.acl_check_cmd('set','x','y')", "0"]),
    (None, ["EVAL", "return redis.pcall('set','x','y')", "0"]),
    (None, ["ACL", "SETUSER", "default", "+@all"]),
]

FUNCS = ("#!lua name=oom\n"
         "redis.register_function('w', function(k, a) "
         "return redis.call('set', k[1], 'v') end)\n"
         "redis.register_function{function_name='r', callback=function(k, a) "
         "return redis.call('get', k[1]) end, flags={'no-writes'}}\n"
         "redis.register_function{function_name='o', callback=function(k, a) "
         "return redis.call('set', k[1], 'v') end, flags={'allow-oom'}}\n"
         "redis.register_function{function_name='n', callback=function(k, a) "
         "return 1 end}\n"
         "redis.register_function{function_name='s', callback=function(k, a) "
         "return 2 end, flags={'allow-stale'}}\n"
         "redis.register_function{function_name='nw', "
         "callback=function(k, a) return redis.call('set', k[1], 'v') end, "
         "flags={'no-writes'}}\n")

OOM_CORPUS = [
    ["FUNCTION", "LOAD", "REPLACE", FUNCS],
    ["SCRIPT", "LOAD", "#!lua\nreturn 1"],
    ["SET", "big", "x"],
    ["CONFIG", "SET", "maxmemory-policy", "noeviction"],
    ["MULTI"],
    ["EVAL", "#!lua\nreturn 1", "0"],
    ["CONFIG", "SET", "maxmemory", "1"],
    ["EXEC"],
    # EVAL without a shebang: its first denyoom call is refused.
    ["EVAL", "return redis.call('set','a','b')", "0"],
    ["EVAL", "return redis.pcall('set','a','b')", "0"],
    ["EVAL", "return redis.call('get','big')", "0"],
    ["EVAL", "return 1", "0"],
    ["EVAL", "redis.call('del','a'); return redis.call('set','a','c')", "0"],
    ["EVAL", "redis.call('incr','n'); return redis.call('set','a','c')", "0"],
    ["EVAL", "return redis.call('del','nosuch')", "0"],
    # With a shebang: the script is judged before it runs.
    ["EVAL", "#!lua\nreturn redis.call('set','a','b')", "0"],
    ["EVAL", "#!lua\nreturn 1", "0"],
    ["EVAL", "#!lua\nreturn 1", "-1"],
    ["EVAL", "#!lua\nreturn 1", "x"],
    ["EVAL", "#!lua\nreturn 1", "5"],
    ["EVAL", "#!lua flags=bogus\nreturn 1", "0"],
    ["EVAL", "#!lua\nreturn +", "0"],
    ["EVAL", "return +", "0"],
    ["EVALSHA", "cb70127618f0b0be70c53cf6bfcfa54a29d9b0c0", "0"],
    ["EVALSHA", "CB70127618F0B0BE70C53CF6BFCFA54A29D9B0C0", "-1"],
    ["EVALSHA_RO", "cb70127618f0b0be70c53cf6bfcfa54a29d9b0c0", "0"],
    ["EVALSHA", "0000000000000000000000000000000000000000", "0"],
    ["EVAL_RO", "#!lua\nreturn 1", "0"],
    ["EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"],
    ["EVAL", "#!lua flags=no-writes\nreturn redis.call('get','big')", "0"],
    ["EVAL", "#!lua flags=no-writes\nreturn redis.call('set','a','b')", "0"],
    ["EVAL", "#!lua flags=allow-oom\nreturn redis.call('set','a','b')", "0"],
    ["EVAL", "#!lua flags=allow-oom\nreturn redis.call('get','a')", "0"],
    ["EVAL", "#!lua flags=allow-stale\nreturn 1", "0"],
    ["EVAL_RO", "return redis.call('get','a')", "0"],
    # Functions: the same rules through the same path.
    ["FCALL", "w", "1", "fk"],
    ["FCALL", "w", "-1", "fk"],
    ["FCALL", "w", "x", "fk"],
    ["FCALL", "n", "0"],
    ["FCALL", "s", "0"],
    ["FCALL", "r", "1", "fk"],
    ["FCALL", "nw", "1", "fk"],
    ["FCALL", "o", "1", "fk"],
    ["FCALL", "o", "-1", "fk"],
    ["FCALL", "nosuch", "-1"],
    ["FCALL_RO", "r", "1", "fk"],
    ["FCALL_RO", "w", "1", "fk"],
    ["FCALL_RO", "o", "1", "fk"],
    ["FUNCTION", "LOAD", "REPLACE", FUNCS],
    ["MULTI"],
    ["EVAL", "return 1", "0"],
    ["EXEC"],
    ["CONFIG", "SET", "maxmemory", "0"],
    ["FCALL_RO", "w", "1", "fk"],
    ["FCALL", "w", "1", "fk"],
    ["FCALL", "nw", "1", "fk"],
    ["FCALL_RO", "nw", "1", "fk"],
    ["FCALL", "s", "0"],
    ["EVAL", "#!lua\nreturn redis.call('set','a','b')", "0"],
]

SET_REPL_CORPUS = [
    ["EVAL", "return redis.set_repl()", "0"],
    ["EVAL", "return redis.set_repl(1, 2)", "0"],
    ["EVAL", "return redis.set_repl(4)", "0"],
    ["EVAL", "return redis.set_repl(-1)", "0"],
    ["EVAL", "return redis.set_repl(7)", "0"],
    ["EVAL", "return redis.set_repl(2^40)", "0"],
    ["EVAL", "return redis.set_repl(0/0)", "0"],
    ["EVAL", "return redis.set_repl('x')", "0"],
    ["EVAL", "return redis.set_repl('1')", "0"],
    ["EVAL", "return redis.set_repl(1.5)", "0"],
    ["EVAL", "return redis.set_repl({})", "0"],
    ["EVAL", "return redis.set_repl(nil)", "0"],
    ["EVAL", "return redis.set_repl(redis.REPL_ALL)", "0"],
    ["EVAL", "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_REPLICA, "
             "redis.REPL_SLAVE, redis.REPL_ALL}", "0"],
    ["EVAL", "return redis.replicate_commands()", "0"],
    ["EVAL", "return redis.replicate_commands(1)", "0"],
    ["EVAL_RO", "return redis.set_repl(0)", "0"],
]

# Scripts whose writes are compared in the two append-only files.
AOF_SCRIPTS = [
    "redis.call('set','a','1'); redis.set_repl(redis.REPL_NONE); "
    "redis.call('set','b','2'); redis.set_repl(redis.REPL_ALL); "
    "redis.call('set','c','3')",
    "redis.set_repl(redis.REPL_NONE); redis.call('set','d','4')",
    "redis.set_repl(redis.REPL_AOF); redis.call('set','e','5'); "
    "redis.set_repl(redis.REPL_REPLICA); redis.call('set','f','6')",
    "redis.set_repl(redis.REPL_SLAVE); redis.call('incr','n')",
    "redis.set_repl(redis.REPL_AOF); redis.call('set','p','1'); "
    "redis.call('select', 2); redis.call('set','q','1')",
    "redis.set_repl(redis.REPL_NONE); redis.call('del','a'); "
    "redis.set_repl(redis.REPL_ALL); return redis.call('get','a')",
]


def both():
    if not dicetest.have_redis_server():
        raise unittest.SkipTest("no redis-server")
    return dicetest.Server("dice"), dicetest.Server("redis")


class Acl(unittest.TestCase):
    def setUp(self):
        self.dice, self.redis = both()

    def tearDown(self):
        self.dice.stop()
        self.redis.stop()

    def test_corpus(self):
        conns = {}

        def conn(server, user):
            key = (server.port, user)
            if key not in conns:
                c = server.conn()
                if user:
                    self.assertEqual(c.cmd("AUTH", user, "pw"), b"+OK\r\n")
                conns[key] = c
            return conns[key]

        for user, cmd in ACL_CORPUS:
            with self.subTest(user=user, cmd=cmd):
                self.assertEqual(conn(self.dice, user).cmd(*cmd),
                                 conn(self.redis, user).cmd(*cmd))
        # ACL LOG: the refusals of redis.call / pcall (not acl_check_cmd),
        # with the "lua" context and the caller's client line.
        logs = []
        for s in (self.dice, self.redis):
            entries = s.redis().acl_log()
            logs.append([{k: e[k] for k in ("count", "reason", "context",
                                            "object", "username")}
                         for e in entries])
            for e in entries:  # the caller's client, running EVAL or FCALL
                self.assertIn(e["client-info"]["cmd"], ("eval", "fcall"))
        self.assertEqual(logs[0], logs[1])
        self.assertIn("lua", [e["context"] for e in logs[0]])


class Oom(unittest.TestCase):
    def test_corpus(self):
        dice, redis = both()
        try:
            d, r = dice.conn(), redis.conn()
            for cmd in OOM_CORPUS:
                with self.subTest(cmd=cmd):
                    self.assertEqual(d.cmd(*cmd), r.cmd(*cmd))
        finally:
            dice.stop()
            redis.stop()


class SetRepl(unittest.TestCase):
    def test_errors(self):
        dice, redis = both()
        try:
            d, r = dice.conn(), redis.conn()
            for cmd in SET_REPL_CORPUS:
                with self.subTest(cmd=cmd):
                    self.assertEqual(d.cmd(*cmd), r.cmd(*cmd))
        finally:
            dice.stop()
            redis.stop()

    def aof_of(self, kind):
        s = dicetest.Server(kind, ["--appendonly", "yes",
                                   "--appendfsync", "always"])
        try:
            c = s.conn()
            # dice-server writes in its working directory, the test's.
            deadline = time.time() + 10
            while time.time() < deadline and not glob.glob(
                    os.path.join(s.dir, "appendonlydir", "*.incr.aof")):
                time.sleep(0.05)
            for script in AOF_SCRIPTS:
                c.cmd("EVAL", script, "0")
            c.cmd("FUNCTION", "LOAD",
                  "#!lua name=l\nredis.register_function('f', "
                  "function(k, a) redis.set_repl(redis.REPL_NONE); "
                  "redis.call('set','g','7'); "
                  "redis.set_repl(redis.REPL_ALL); "
                  "return redis.call('set','h','8') end)")
            c.cmd("FCALL", "f", "0")
            c.cmd("SET", "last", "1")
            files = sorted(glob.glob(
                os.path.join(s.dir, "appendonlydir", "*.incr.aof")))
            self.assertEqual(len(files), 1, files)
            with open(files[0], "rb") as f:
                return f.read()
        finally:
            s.stop()

    def test_aof(self):
        if not dicetest.have_redis_server():
            raise unittest.SkipTest("no redis-server")
        mine, theirs = self.aof_of("dice"), self.aof_of("redis")
        self.assertEqual(mine, theirs)
        # What must and must not be there, said plainly.
        for present in (b"$1\r\na\r\n$1\r\n1", b"$1\r\nc\r\n",
                        b"$1\r\ne\r\n", b"$1\r\nh\r\n", b"$4\r\nlast"):
            self.assertIn(present, mine)
        for absent in (b"$1\r\nb\r\n$1\r\n2", b"$1\r\nd\r\n", b"$1\r\nf\r\n",
                       b"incr", b"$1\r\ng\r\n"):
            self.assertNotIn(absent, mine)


class InfoMemory(unittest.TestCase):
    FIELDS = ["used_memory_lua", "used_memory_vm_eval",
              "used_memory_lua_human", "used_memory_scripts_eval",
              "number_of_cached_scripts", "number_of_functions",
              "number_of_libraries", "used_memory_vm_functions",
              "used_memory_vm_total", "used_memory_vm_total_human",
              "used_memory_functions", "used_memory_scripts",
              "used_memory_scripts_human"]

    @staticmethod
    def info(c):
        out = {}
        order = []
        for line in c.cmd("INFO", "memory").decode().split("\r\n"):
            if ":" in line:
                k, v = line.split(":", 1)
                out[k] = v
                order.append(k)
        return out, order

    def test_fields_as_redis(self):
        dice, redis = both()
        try:
            for s in (dice, redis):
                s.conn().cmd("EVAL", "return 1", "0")
            d, dorder = self.info(dice.conn())
            r, rorder = self.info(redis.conn())
            names = [k for k in rorder if k in self.FIELDS]
            self.assertEqual([k for k in dorder if k in self.FIELDS], names)
            self.assertEqual(d["number_of_cached_scripts"], "1")
            self.assertEqual(d["used_memory_lua"], d["used_memory_vm_eval"])
        finally:
            dice.stop()
            redis.stop()

    def test_cache_bound(self):
        s = dicetest.Server("dice")
        try:
            c = s.conn()
            c.cmd("SCRIPT", "LOAD", "return 'kept'")
            before, _ = self.info(c)
            self.assertEqual(before["number_of_cached_scripts"], "1")
            c.cmd("EVAL", "return 0", "0")
            first = self.info(c)[0]
            self.assertGreater(int(first["used_memory_scripts_eval"]),
                               int(before["used_memory_scripts_eval"]))
            def sha(body):
                return hashlib.sha1(body.encode()).hexdigest()

            # 600 more EVAL scripts: the least recently used go (the first
            # one is run again midway, so it stays), SCRIPT LOAD's stays.
            for i in range(1, 601):
                if i == 450:
                    c.send(dicetest.encode("EVALSHA", sha("return 0"), "0"))
                c.send(dicetest.encode("EVAL", "return %d" % i, "0"))
            for i in range(1, 601):
                if i == 450:
                    self.assertEqual(c.read_reply(), b":0\r\n")
                self.assertEqual(c.read_reply(), b":%d\r\n" % i)
            after, _ = self.info(c)
            self.assertEqual(after["number_of_cached_scripts"], "501")
            exists = [sha("return 'kept'"), sha("return 0"), sha("return 1"),
                      sha("return 101"), sha("return 102"), sha("return 600")]
            self.assertEqual(c.cmd("SCRIPT", "EXISTS", *exists),
                             b"*6\r\n:1\r\n:1\r\n:0\r\n:0\r\n:1\r\n:1\r\n")
            self.assertEqual(
                c.cmd("EVALSHA", sha("return 1"), "0"),
                b"-NOSCRIPT No matching script. Please use EVAL.\r\n")
            c.cmd("SCRIPT", "FLUSH")
            after, _ = self.info(c)
            self.assertEqual(after["number_of_cached_scripts"], "0")
            self.assertEqual(after["used_memory_scripts_eval"], "0")
        finally:
            s.stop()


if __name__ == "__main__":
    dicetest.main(globals())
