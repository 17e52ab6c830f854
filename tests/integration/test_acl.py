"""ACL users and permissions against redis-server 7.0: the same ACL
SETUSER / GETUSER / LIST / DRYRUN / CAT sequence on both servers compared
reply by reply (invalid rules and their error texts included), each rule
kind through redis-cli --user --pass and python3-redis username=, the ACL
LOG, ACL SAVE/LOAD with an aclfile, clients killed when their user is
deleted, requirepass, HELLO AUTH, rename-command and protected mode."""
import os
import re
import socket
import subprocess
import tempfile
import time
import unittest

import dicetest

HAVE_REDIS = dicetest.have_redis_server()

seq = [
 ["ACL","SETUSER","a","on",">p1","~foo*","%R~bar","&ch*","+get","+set","-@all","+@string","-append","+client|id","+config|get"],
 ["ACL","GETUSER","a"], ["ACL","LIST"],
 ["ACL","SETUSER","b","+@all","-get","-debug","(+get ~x)"], ["ACL","GETUSER","b"],
 ["ACL","SETUSER","c","+select|0","+select|1"], ["ACL","GETUSER","c"],
 ["ACL","SETUSER","p","%R"], ["ACL","SETUSER","p","%RW~a","%R~b","%W~b","~c","%R~c"], ["ACL","GETUSER","p"],
 ["ACL","SETUSER","q",">a",">b",">a","<b","nopass"], ["ACL","GETUSER","q"],
 ["ACL","SETUSER","q","resetpass",">x","reset"], ["ACL","GETUSER","q"],
 ["ACL","SETUSER","u","on",">pw","~k*","%R~r*","%W~w*","&ch","+@all","-flushall"],
 ["ACL","DRYRUN","u","get","k1"],["ACL","DRYRUN","u","get","r1"],["ACL","DRYRUN","u","set","r1","v"],["ACL","DRYRUN","u","get","w1"],
 ["ACL","DRYRUN","u","set","w1","v"],["ACL","DRYRUN","u","set","w1","v","get"],["ACL","DRYRUN","u","lmove","k1","w1","left","right"],["ACL","DRYRUN","u","lmove","w1","k1","left","right"],
 ["ACL","DRYRUN","u","flushall"],["ACL","DRYRUN","u","publish","ch","x"],["ACL","DRYRUN","u","publish","other","x"],["ACL","DRYRUN","u","subscribe","ch","other"],
 ["ACL","DRYRUN","u","psubscribe","ch*"],["ACL","DRYRUN","u","psubscribe","ch"],["ACL","DRYRUN","u","config","get","x"],["ACL","DRYRUN","u","client|id"],
 ["ACL","DRYRUN","nouser","get","x"],["ACL","DRYRUN","u","nocmd","x"],["ACL","DRYRUN","u","get"],
 ["ACL","DRYRUN","u","mset","k1","v","w1","v"],["ACL","DRYRUN","u","mget","k1","w1"],["ACL","DRYRUN","u","del","w1"],["ACL","DRYRUN","u","del","r1"],
 ["ACL","DRYRUN","u","incr","w1"],["ACL","DRYRUN","u","exists","w1"],["ACL","DRYRUN","u","lpush","w1","x"],["ACL","DRYRUN","u","rpop","w1"],["ACL","DRYRUN","u","sort","r1"],["ACL","DRYRUN","u","sort","r1","store","w1"],["ACL","DRYRUN","u","sort","r1","store","r2"],
 ["ACL","DRYRUN","u","zunionstore","w1","2","k1","r1"],["ACL","DRYRUN","u","zunionstore","w1","2","k1","w2"],["ACL","DRYRUN","u","expire","r1","10"],["ACL","DRYRUN","u","hset","w1","f","v"],["ACL","DRYRUN","u","hget","w1","f"],
 ["ACL","DRYRUN","u","bitfield","r1","get","u8","0"],["ACL","DRYRUN","u","bitfield","w1","set","u8","0","1"],["ACL","DRYRUN","u","copy","r1","w1"],["ACL","DRYRUN","u","rename","r1","w1"],["ACL","DRYRUN","u","getdel","w1"],["ACL","DRYRUN","u","append","w1","x"],
 ["ACL","CAT"],["ACL","CAT","nosuch"],["ACL","GENPASS","0"],["ACL","GENPASS","4097"],["ACL","GENPASS","x"],["ACL","WHOAMI"],["ACL","USERS"],["ACL","DELUSER","default"],["ACL","DELUSER","nosuch","a"],["ACL","GETUSER","nosuch"],["ACL","SAVE"],["ACL","LOAD"],["ACL","LOG","x"],["ACL","LOG","-1"],["ACL","LOG","1","2"],["ACL","LOG","RESET"],["ACL","HELP"],["ACL"],["ACL","nosuch"],["ACL","SETUSER","a b","on"],["ACL","SETUSER"],["ACL","LIST"],
 ["ACL","SETUSER","t","allkeys","~x"],["ACL","SETUSER","t","&*","&x"],["ACL","SETUSER","sel","(~a +get)","(%R~b +@read -@all +set)","clearselectors"],["ACL","GETUSER","sel"],["ACL","SETUSER","sel","(~a +get)","(&x +publish)"],["ACL","GETUSER","sel"],["ACL","LIST"],
 ["ACL","DRYRUN","sel","get","a"],["ACL","DRYRUN","sel","get","b"],["ACL","DRYRUN","sel","publish","x","m"],["ACL","DRYRUN","sel","publish","y","m"],
]
for r in ['-select|0','+config|get|x','+nosuch','-nosuch','+@nosuch','+config|nosuch','+get|x','foo','>','<nopass','#abc','#'+'z'*64,'%X~a','%~a','%R','(','(+get','+get)','()','(~x','allkeys','%RW~a','%WR~b','+|','+config|','~','&','(on)','(>pass)','(reset)','(clearselectors)','clearselectors','+select|0|1','+@all|x','-@all','+client|kill','resetkeys','!'+'a'*64,'#'+'A'*64, '%r~x', '~a b', '&a b', '%R~a\tb', '&&', 'skip-sanitize-payload', 'sanitize-payload','(~a','~b)','+@READ','+GET','~*','%RW~*','&*']:
    seq.append(["ACL","SETUSER","t",r])
seq.append(["ACL","GETUSER","t"]); seq.append(["ACL","LIST"])
# Read versus write per key, as Redis derives it from each command's key
# specs (ACCESS needs read; INSERT, DELETE, UPDATE need write; a key with
# neither, as EXISTS's, needs only a matching pattern): the same calls for
# a read-only, a write-only and a no-keys user.
seq += [["ACL","SETUSER","ro","on","nopass","+@all","%R~*"],
        ["ACL","SETUSER","wo","on","nopass","+@all","%W~*"],
        ["ACL","SETUSER","nk","on","nopass","+@all","~other"]]
for call in [["get","k"],["set","k","v"],["set","k","v","get"],["incr","k"],["append","k","x"],["getdel","k"],["getex","k"],["getrange","k","0","1"],["setrange","k","0","x"],["strlen","k"],
             ["exists","k"],["type","k"],["ttl","k"],["expire","k","1"],["persist","k"],["del","k"],["unlink","k"],["touch","k"],["object","encoding","k"],["dump","k"],["restore","k","0","x"],
             ["copy","k","d"],["rename","k","d"],["renamenx","k","d"],["move","k","1"],["lpush","k","x"],["lrange","k","0","1"],["lpop","k"],["blpop","k","0"],["lmove","k","d","left","left"],["rpoplpush","k","d"],["lpos","k","x"],["linsert","k","before","a","b"],
             ["sadd","k","x"],["smembers","k"],["sismember","k","x"],["sinterstore","d","k"],["sintercard","1","k"],["smove","k","d","x"],["srandmember","k"],["spop","k"],
             ["hset","k","f","v"],["hget","k","f"],["hincrby","k","f","1"],["hgetall","k"],["hdel","k","f"],["hrandfield","k"],
             ["zadd","k","1","m"],["zrange","k","0","1"],["zrangestore","d","k","0","1"],["zincrby","k","1","m"],["zunionstore","d","1","k"],["zunion","1","k"],["zpopmin","k"],["bzpopmin","k","0"],["zmpop","1","k","min"],["zscore","k","m"],
             ["xadd","k","*","f","v"],["xrange","k","-","+"],["xread","streams","k","0"],["xreadgroup","group","g","c","streams","k",">"],["xdel","k","1-1"],["xtrim","k","maxlen","1"],["xack","k","g","1-1"],["xgroup","create","k","g","$"],["xinfo","stream","k"],["xautoclaim","k","g","c","0","0"],
             ["pfadd","k","x"],["pfcount","k"],["pfmerge","d","k"],["setbit","k","1","1"],["getbit","k","1"],["bitcount","k"],["bitop","and","d","k"],["bitfield_ro","k","get","u8","0"],["bitpos","k","1"],
             ["geoadd","k","1","1","m"],["geosearch","k","frommember","m","byradius","1","km"],["geosearchstore","d","k","frommember","m","byradius","1","km"],["georadius","k","1","1","1","km"],["georadius","k","1","1","1","km","store","d"],
             ["sort","k"],["sort","k","by","w*","get","g*"],["sort_ro","k"],["eval","return 1","1","k"],["eval_ro","return 1","1","k"],["watch","k"],["memory","usage","k"],["lcs","k","d"],["mset","k","v"],["msetnx","k","v"],["mget","k"],["incrbyfloat","k","1"],["psetex","k","1","v"],["getset","k","v"]]:
    for u in ("ro","wo","nk"):
        seq.append(["ACL","DRYRUN",u]+call)


def normalize(cmd, reply):
    """Redis lists single-command rules in its command dict's hash order
    (random per process): compare those words as a set."""
    if cmd[:2] not in (["ACL", "GETUSER"], ["ACL", "LIST"]):
        return reply
    def fix(m):
        words = m.group(0).split(b" ")
        head = [w for w in words if w.startswith((b"+@", b"-@")) or w[:1] in b"~%&#(" or not w[:1] in b"+-"]
        rest = sorted(w for w in words if w not in head)
        return b" ".join(head + rest)
    out = []
    for part in reply.split(b"\r\n"):
        out.append(fix(re.match(rb".*", part)) if b" " in part else part)
    return b"\r\n".join(out)


def kinds():
    return ["dice", "redis"] if HAVE_REDIS else ["dice"]


def outside_address():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))
        ip = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if ip.startswith("127.") else ip


def cli(port, *args, user=None, password=None):
    cmd = ["redis-cli", "-p", str(port)]
    if user is not None:
        cmd += ["--user", user]
    if password is not None:
        cmd += ["--pass", password]
    cmd += ["--no-auth-warning"] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout


class Differential(unittest.TestCase):
    @unittest.skipUnless(HAVE_REDIS, "redis-server not installed")
    def test_sequence_reply_by_reply(self):
        out = {}
        for kind in kinds():
            srv = dicetest.Server(kind)
            try:
                c = srv.conn()
                out[kind] = [c.cmd(*cmd) for cmd in seq]
                c.close()
            finally:
                self.assertEqual(srv.stop(), 0)
        for cmd, d, r in zip(seq, out["dice"], out["redis"]):
            if cmd[:2] == ["ACL", "GENPASS"] and d.startswith(b"$"):
                continue
            self.assertEqual(normalize(cmd, d), normalize(cmd, r), cmd)


    @unittest.skipUnless(HAVE_REDIS, "redis-server not installed")
    def test_dispatch_order(self):
        # Which refusal comes first (arity, unknown command, NOPERM for a
        # command, a key or a channel, no-multi inside MULTI, EXECABORT),
        # each pipeline on a fresh connection, compared byte for byte.
        enc = dicetest.encode
        setup = [("ACL", "SETUSER", "u", "reset", "on", "nopass", "+@all",
                  "-watch", "-get", "-debug", "~a*", "&ch"),
                 ("ACL", "SETUSER", "r", "reset", "on", "nopass", "+@read",
                  "+multi", "+exec", "%R~*")]
        cases = [
            [("AUTH", "u", "x"), ("MULTI",), ("WATCH", "k"), ("EXEC",)],
            [("AUTH", "u", "x"), ("GET",), ("GET", "a"), ("get", "a", "b"),
             ("nosuch", "x"), ("SET", "a"), ("SET", "b", "1")],
            [("AUTH", "u", "x"), ("MULTI",), ("GET", "a"), ("nosuch",),
             ("EXEC",)],
            [("AUTH", "u", "x"), ("MULTI",), ("SET", "b", "1"), ("EXEC",)],
            [("AUTH", "u", "x"), ("MULTI",), ("SET", "a1", "1"),
             ("PUBLISH", "x", "m"), ("EXEC",)],
            [("AUTH", "u", "x"), ("DEBUG", "SLEEP", "0"),
             ("SUBSCRIBE", "ch", "other"), ("PUBLISH", "nope", "m")],
            [("AUTH", "r", "x"), ("SET", "a", "1"), ("INCR", "a"),
             ("SORT", "a"), ("MULTI",), ("MULTI",), ("SET", "a", "1"),
             ("EXEC",)],
            [("AUTH", "nosuch", "x"), ("AUTH", "u", "x", "y"),
             ("HELLO", "3", "AUTH", "nosuch", "bad"), ("ACL", "WHOAMI"),
             ("AUTH", "u", "x"), ("ACL", "WHOAMI")],
        ]
        got = {}
        for kind in kinds():
            srv = dicetest.Server(kind)
            try:
                c = srv.conn()
                for cmd in setup:
                    self.assertEqual(c.cmd(*cmd), b"+OK\r\n")
                got[kind] = []
                for case in cases:
                    k = srv.conn()
                    for cmd in case:
                        k.send(enc(*cmd))
                    got[kind].append([k.read_reply() for _ in case])
                    k.close()
            finally:
                self.assertEqual(srv.stop(), 0)
        for case, d, r in zip(cases, got["dice"], got["redis"]):
            self.assertEqual(d, r, case)


    @unittest.skipUnless(HAVE_REDIS, "redis-server not installed")
    def test_before_auth(self):
        # With requirepass: what a client may do before AUTH, and every
        # AUTH / HELLO refusal, each pipeline on a fresh connection.
        cases = [[("PING",)], [("QUIT",)], [("HELLO", "3")],
                 [("HELLO", "2", "AUTH", "default", "bad")],
                 [("HELLO", "3", "AUTH", "default")],
                 [("CLIENT", "SETNAME", "x")], [("RESET",)], [("AUTH",)],
                 [("AUTH", "a", "b", "c")], [("ACL", "WHOAMI")], [("MULTI",)],
                 [("EXEC",)], [("SUBSCRIBE", "x")],
                 [("HELLO", "3", "SETNAME", "x")],
                 [("HELLO", "3", "AUTH", "default", "pw", "SETNAME", "a b")],
                 [("HELLO", "3", "AUTH", "default", "pw"), ("ACL", "WHOAMI")],
                 [("AUTH", "pw"), ("AUTH", "default", "pw"),
                  ("AUTH", "nobody", "pw")],
                 [("HELLO", "4")], [("HELLO", "x")], [("HELLO", "3", "FOO")],
                 [("COMMAND", "COUNT")], [("nosuch",)], [("GET",)],
                 [("GET", "a", "b")]]
        got = {}
        for kind in kinds():
            srv = dicetest.Server(kind, ["--requirepass", "pw"])
            try:
                got[kind] = []
                for case in cases:
                    k = srv.conn()
                    for cmd in case:
                        k.send(dicetest.encode(*cmd))
                    got[kind].append([k.read_reply() for _ in case])
                    k.close()
            finally:
                self.assertEqual(srv.stop(), 0)
        for case, d, r in zip(cases, got["dice"], got["redis"]):
            if case[0][0] == "HELLO" and d[0][:1] == b"%":
                d, r = d[0][:2], r[0][:2]  # ids and versions differ
            self.assertEqual(d, r, case)


class Rules(unittest.TestCase):
    """Each rule kind through redis-cli --user --pass, on both servers."""

    def test_rule_kinds(self):
        setup = [
            ["ACL", "SETUSER", "cmds", "on", ">pw", "~*", "+get", "+set"],
            ["ACL", "SETUSER", "cats", "on", ">pw", "~*", "+@read", "-@all",
             "+@string", "-append"],
            ["ACL", "SETUSER", "subs", "on", ">pw", "+config|get", "+client|id",
             "+select|0"],
            ["ACL", "SETUSER", "keys", "on", ">pw", "+@all", "%R~r*", "%W~w*",
             "~rw*"],
            ["ACL", "SETUSER", "chans", "on", ">pw", "+@all", "&news.*", "&exact"],
            ["ACL", "SETUSER", "sels", "on", ">pw", "+get", "~a*",
             "(+set ~b*)", "(+@read %R~c*)"],
        ]
        checks = [
            ("cmds", ["get", "x"]), ("cmds", ["set", "x", "1"]), ("cmds", ["del", "x"]),
            ("cats", ["get", "x"]), ("cats", ["append", "x", "y"]), ("cats", ["lpush", "l", "a"]),
            ("subs", ["config", "get", "hz"]), ("subs", ["config", "set", "hz", "10"]),
            ("subs", ["client", "id"]), ("subs", ["client", "info"]),
            ("subs", ["select", "0"]), ("subs", ["select", "1"]),
            ("keys", ["get", "r1"]), ("keys", ["set", "r1", "v"]), ("keys", ["set", "w1", "v"]),
            ("keys", ["get", "w1"]), ("keys", ["set", "rw1", "v"]), ("keys", ["get", "rw1"]),
            ("keys", ["lmove", "r1", "w1", "left", "left"]), ("keys", ["copy", "r1", "w1"]),
            ("chans", ["publish", "news.a", "m"]), ("chans", ["publish", "sport", "m"]),
            ("chans", ["publish", "exact", "m"]),
            ("sels", ["get", "a1"]), ("sels", ["get", "b1"]), ("sels", ["set", "b1", "v"]),
            ("sels", ["set", "a1", "v"]), ("sels", ["get", "c1"]), ("sels", ["set", "c1", "v"]),
        ]
        got = {}
        for kind in kinds():
            srv = dicetest.Server(kind)
            try:
                c = srv.conn()
                for s in setup:
                    self.assertEqual(c.cmd(*s), b"+OK\r\n", (kind, s))
                got[kind] = [cli(srv.port, *args, user=u, password="pw") for u, args in checks]
                # The channel rules for SUBSCRIBE/PSUBSCRIBE (patterns are
                # matched literally against PSUBSCRIBE's argument).
                sub = dicetest.Conn(srv.port)
                self.assertEqual(sub.cmd("AUTH", "chans", "pw"), b"+OK\r\n")
                got[kind].append(sub.cmd("SUBSCRIBE", "sport"))
                got[kind].append(sub.cmd("PSUBSCRIBE", "news.*x"))
                got[kind].append(sub.cmd("PSUBSCRIBE", "news.*"))
                sub.close()
                c.close()
            finally:
                self.assertEqual(srv.stop(), 0)
        d = dict(((u, tuple(a)), r) for (u, a), r in zip(checks, got["dice"]))
        self.assertEqual(d[("cmds", ("del", "x"))],
                         "NOPERM this user has no permissions to run the 'del' command\n\n")
        self.assertEqual(d[("keys", ("set", "r1", "v"))],
                         "NOPERM this user has no permissions to access one of the keys used as arguments\n\n")
        self.assertEqual(d[("chans", ("publish", "sport", "m"))],
                         "NOPERM this user has no permissions to access one of the channels used as arguments\n\n")
        self.assertTrue(got["dice"][-3].startswith(b"-NOPERM this user has no permissions to access one of the channels"))
        if "redis" in got:
            for (u, args), a, b in zip(checks + [("chans", ["subscribe"])] * 3, got["dice"], got["redis"]):
                if args == ["client", "id"]:  # ids differ; allowed both
                    a, b = a.isdigit() or a[:-1].isdigit(), b[:-1].isdigit()
                self.assertEqual(a, b, (u, args))

    def test_python_redis_username(self):
        import redis
        srv = dicetest.Server("dice")
        try:
            admin = srv.redis()
            admin.execute_command("ACL", "SETUSER", "alice", "on", ">secret", "~a:*", "+@all", "-flushall")
            r = srv.redis(username="alice", password="secret")
            self.assertTrue(r.set("a:1", "v"))
            self.assertEqual(r.get("a:1"), b"v")
            with self.assertRaises(redis.exceptions.NoPermissionError):
                r.get("b:1")
            with self.assertRaises(redis.exceptions.NoPermissionError):
                r.flushall()
            self.assertEqual(r.acl_whoami(), "alice")
            with self.assertRaises((redis.exceptions.AuthenticationError,
                                    redis.exceptions.ResponseError)):
                srv.redis(username="alice", password="wrong").ping()
            # CLIENT LIST shows the user.
            self.assertIn("user=alice", r.execute_command("CLIENT", "INFO").decode())
        finally:
            self.assertEqual(srv.stop(), 0)


class Log(unittest.TestCase):
    def test_log_entries(self):
        for kind in kinds():
            srv = dicetest.Server(kind)
            try:
                c = srv.conn()
                c.cmd("ACL", "SETUSER", "u", "on", ">pw", "~k*", "&ch", "+@all", "-flushall")
                u = dicetest.Conn(srv.port)
                u.cmd("AUTH", "u", "pw")
                u.cmd("GET", "other")
                u.cmd("FLUSHALL")
                u.cmd("FLUSHALL")
                u.cmd("PUBLISH", "nope", "x")
                u.cmd("MULTI")
                u.cmd("GET", "zzz")
                u.cmd("DISCARD")
                u.cmd("AUTH", "u", "bad")
                r = srv.redis()
                log = r.acl_log()
                self.assertEqual([(e["reason"], e["context"], e["object"], e["username"], e["count"]) for e in log],
                                 [("auth", "toplevel", "AUTH", "u", 1),
                                  ("key", "multi", "zzz", "u", 1),
                                  ("channel", "toplevel", "nope", "u", 1),
                                  ("command", "toplevel", "flushall", "u", 2),
                                  ("key", "toplevel", "other", "u", 1)], kind)
                for e in log:
                    self.assertEqual(sorted(e), sorted(["count", "reason", "context", "object", "username",
                                                        "age-seconds", "client-info"]))
                    info = e["client-info"]
                    if isinstance(info, dict):  # python3-redis parses it
                        self.assertEqual(info["user"], "u")
                    else:
                        self.assertIn("user=u", info)
                self.assertEqual(len(r.acl_log(count=2)), 2)
                self.assertEqual(c.cmd("ACL", "LOG", "RESET"), b"+OK\r\n")
                self.assertEqual(c.cmd("ACL", "LOG"), b"*0\r\n")
                u.close()
                c.close()
            finally:
                self.assertEqual(srv.stop(), 0)


    @unittest.skipUnless(HAVE_REDIS, "redis-server not installed")
    def test_scripts_and_entry_details_like_redis(self):
        # A script's commands are checked against its caller's user, with
        # Redis's script texts and the log context "lua"; an auth entry's
        # object is the command as typed; client-info's cmd= is the
        # denied command (Redis sets it when it looks the command up).
        calls = [("ACL", "SETUSER", "u", "on", ">pw", "~k*", "&ch", "+@all",
                  "-flushall", "-config|set"),
                 ("AUTH", "u", "pw"),
                 ("EVAL", "return redis.pcall('get','other')", "0"),
                 ("EVAL", "return redis.pcall('flushall')", "0"),
                 ("EVAL", "return redis.pcall('config','set','hz','5')", "0"),
                 ("EVAL", "return redis.pcall('publish','nope','x')", "0"),
                 ("EVAL", "return redis.call('get','other')", "0"),
                 ("EVAL", "return redis.call('get','k1')", "0"),
                 ("EVAL", "return {redis.acl_check_cmd('get','k1'),"
                  "redis.acl_check_cmd('get','zz'),"
                  "redis.acl_check_cmd('flushall')}", "0"),
                 ("FUNCTION", "LOAD", "#!lua name=l\nredis.register_function"
                  "('f', function() return redis.pcall('get', 'zz') end)"),
                 ("FCALL", "f", "0"),
                 ("CONFIG", "SET", "hz", "10"),
                 ("MULTI",), ("PUBLISH", "nope", "x"), ("EXEC",),
                 ("SUBSCRIBE", "nope"),
                 ("auth", "u", "bad"), ("HELLO", "3", "AUTH", "u", "bad"),
                 ("AuTh", "u", "bad")]
        got = {}
        for kind in kinds():
            srv = dicetest.Server(kind)
            try:
                c = srv.conn()
                got[kind] = [c.cmd(*a) for a in calls]
                log = srv.redis().acl_log()
                got[kind].append([
                    (e["count"], e["reason"], e["context"], e["object"],
                     e["username"], e["client-info"]["cmd"],
                     e["client-info"]["user"]) for e in log])
                c.close()
            finally:
                self.assertEqual(srv.stop(), 0)
        for a, d, r in zip(calls + ["ACL LOG"], got["dice"], got["redis"]):
            self.assertEqual(d, r, a)


class Files(unittest.TestCase):
    def test_save_load_round_trip(self):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "users.acl")
        with open(path, "w") as f:
            f.write("user default on nopass ~* &* +@all\n"
                    "user bob on #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 ~b* -@all +get\n")
        srv = dicetest.Server("dice", ["--aclfile", path])
        try:
            c = srv.conn()
            self.assertEqual(cli(srv.port, "get", "b1", user="bob", password="password"), "\n")
            self.assertEqual(c.cmd("ACL", "SETUSER", "carol", "on", ">x", "(+set ~c*)"), b"+OK\r\n")
            listed = c.cmd("ACL", "LIST")
            self.assertEqual(c.cmd("ACL", "SAVE"), b"+OK\r\n")
            with open(path) as f:
                text = f.read()
            self.assertIn("user carol on #2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881", text)
            c.cmd("ACL", "DELUSER", "carol")
            self.assertEqual(c.cmd("ACL", "LOAD"), b"+OK\r\n")
            self.assertEqual(c.cmd("ACL", "LIST"), listed)
            with open(path, "a") as f:
                f.write("user dave on +nosuchcommand\n")
            err = c.cmd("ACL", "LOAD")
            self.assertTrue(err.startswith(b"-ERR"), err)
            self.assertIn(b"Unknown command or category name in ACL", err)
            self.assertEqual(c.cmd("ACL", "LIST"), listed)  # unchanged
            c.close()
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_user_lines_and_rename_command(self):
        d = tempfile.mkdtemp()
        conf = os.path.join(d, "dice.conf")
        with open(conf, "w") as f:
            f.write("user eve on >pw ~* +@all -flushall\n"
                    "rename-command FLUSHDB WIPE\n"
                    "rename-command KEYS \"\"\n")
        port = dicetest.free_port()
        p = subprocess.Popen([dicetest.server_path(), conf, "--port", str(port),
                              "--save", ""],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            dicetest.wait_port(port, p)
            self.assertIn("user eve on", cli(port, "ACL", "LIST"))
            self.assertEqual(cli(port, "WIPE"), "OK\n")
            self.assertIn("unknown command 'FLUSHDB'", cli(port, "FLUSHDB"))
            self.assertIn("unknown command 'KEYS'", cli(port, "KEYS", "*"))
            self.assertEqual(cli(port, "PING", user="eve", password="pw"), "PONG\n")
        finally:
            p.terminate()
            p.wait()


    @unittest.skipUnless(HAVE_REDIS, "redis-server not installed")
    def test_rename_command_like_redis(self):
        # Redis renames only the dispatch table's key: COMMAND INFO/DOCS,
        # ACL rules (+flushdb, not +wipe; a removed KEYS still known), ACL
        # CAT and commandstats keep the original name; the DEBUG refusal
        # names DEBUG, "unknown subcommand" the name typed.
        args = ["--rename-command", "FLUSHDB", "WIPE",
                "--rename-command", "KEYS", "",
                "--rename-command", "CONFIG", "CFG",
                "--rename-command", "DEBUG", "DBG"]
        calls = [("WIPE",), ("FLUSHDB",), ("KEYS", "*"),
                 ("COMMAND", "INFO", "wipe", "flushdb", "keys", "cfg|get"),
                 ("ACL", "SETUSER", "u", "+wipe"),
                 ("ACL", "SETUSER", "u", "+flushdb", "+keys", "+config|get"),
                 ("ACL", "SETUSER", "u", "+cfg|get"),
                 ("ACL", "DRYRUN", "u", "wipe"), ("ACL", "DRYRUN", "u", "flushdb"),
                 ("ACL", "SETUSER", "v", "+@keyspace", "-keys"),
                 ("ACL", "DRYRUN", "v", "wipe"),
                 ("CFG", "nosuch"), ("CFG", "GET"), ("DBG", "SLEEP", "0"),
                 ("WIPE", "x"), ("INFO", "commandstats")]
        got = {}
        for kind in kinds():
            srv = dicetest.Server(kind, args)
            try:
                c = srv.conn()
                got[kind] = [c.cmd(*a) for a in calls]
                cat = c.cmd("ACL", "CAT", "keyspace")
                got[kind].append(b"keys" in cat and b"flushdb" in cat
                                 and b"wipe" not in cat)
                got[kind].append([sorted(  # hash order in Redis
                    w.split(b" ")) for w in c.cmd(
                        "ACL", "GETUSER", "u").split(b"\r\n")
                    if w.startswith(b"-@all")])
                c.close()
            finally:
                self.assertEqual(srv.stop(), 0)
        for a, d, r in zip(calls + ["cat", "getuser"], got["dice"],
                           got["redis"]):
            if a == ("INFO", "commandstats"):  # times differ
                d = re.sub(rb"usec[^,]*,usec_per_call=[^,]*", b"", d)
                r = re.sub(rb"usec[^,]*,usec_per_call=[^,]*", b"", r)
                d = sorted(d.split(b"\r\n")[1:])
                r = sorted(r.split(b"\r\n")[1:])
            self.assertEqual(d, r, a)


class Auth(unittest.TestCase):
    def test_requirepass_and_hello(self):
        for kind in kinds():
            srv = dicetest.Server(kind, ["--requirepass", "s3"])
            try:
                c = srv.conn()
                self.assertEqual(c.cmd("GET", "x"), b"-NOAUTH Authentication required.\r\n")
                self.assertEqual(c.cmd("AUTH", "nope"),
                                 b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")
                self.assertEqual(c.cmd("AUTH", "default", "s3"), b"+OK\r\n")
                self.assertEqual(c.cmd("ACL", "WHOAMI"), b"$7\r\ndefault\r\n")
                self.assertIn(b"#", c.cmd("ACL", "LIST"))
                c.cmd("ACL", "SETUSER", "h", "on", ">hp", "+@all")
                h = srv.conn()
                r = h.cmd("HELLO", "3", "AUTH", "h", "hp", "SETNAME", "nm")
                self.assertTrue(r.startswith(b"%7"), r)
                self.assertEqual(h.cmd("ACL", "WHOAMI"), b"$1\r\nh\r\n")
                self.assertEqual(h.cmd("CLIENT", "GETNAME"), b"$2\r\nnm\r\n")
                self.assertEqual(h.cmd("HELLO", "2", "AUTH", "h", "bad"),
                                 b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")
                # CONFIG SET requirepass "" makes the default user nopass.
                self.assertEqual(c.cmd("CONFIG", "SET", "requirepass", ""), b"+OK\r\n")
                self.assertEqual(dicetest.Conn(srv.port).cmd("GET", "x"), b"$-1\r\n")
                h.close()
                c.close()
            finally:
                self.assertEqual(srv.stop(), 0)

    def test_kill_on_delete(self):
        for kind in kinds():
            srv = dicetest.Server(kind)
            try:
                c = srv.conn()
                c.cmd("ACL", "SETUSER", "k", "on", "nopass", "+@all")
                v = srv.conn()
                self.assertEqual(v.cmd("AUTH", "k", "x"), b"+OK\r\n")
                # Its own DELUSER is answered, then the connection closes.
                self.assertEqual(v.cmd("ACL", "DELUSER", "k"), b":1\r\n")
                self.assertTrue(v.closed_by_peer(), kind)
                c.cmd("ACL", "SETUSER", "k", "on", "nopass", "+@all")
                w = srv.conn()
                w.cmd("AUTH", "k", "x")
                self.assertEqual(c.cmd("ACL", "DELUSER", "k"), b":1\r\n")
                self.assertTrue(w.closed_by_peer(), kind)
                # Disabling a user does not disconnect it in 7.0.
                c.cmd("ACL", "SETUSER", "k", "on", "nopass", "+@all")
                x = srv.conn()
                x.cmd("AUTH", "k", "x")
                c.cmd("ACL", "SETUSER", "k", "off", "-ping")
                self.assertEqual(x.cmd("PING"),
                                 b"-NOPERM this user has no permissions to run the 'ping' command\r\n")
                c.close()
            finally:
                self.assertEqual(srv.stop(), 0)

    def test_multi_noperm(self):
        for kind in kinds():
            srv = dicetest.Server(kind)
            try:
                c = srv.conn()
                c.cmd("ACL", "SETUSER", "m", "on", "nopass", "+@all", "-get", "~*")
                c.cmd("AUTH", "m", "x")
                self.assertEqual(c.cmd("MULTI"), b"+OK\r\n")
                self.assertEqual(c.cmd("GET", "x"),
                                 b"-NOPERM this user has no permissions to run the 'get' command\r\n")
                self.assertTrue(c.cmd("EXEC").startswith(b"-EXECABORT"))
                c.close()
            finally:
                self.assertEqual(srv.stop(), 0)


NETNS_SETUP = ("ip link set lo up && "
               "ip link add dv0 type veth peer name dv1 && "
               "ip addr add 10.251.0.1/24 dev dv0 && "
               "ip addr add 10.251.0.2/24 dev dv1 && "
               "ip link set dv0 up && ip link set dv1 up")


def netns_body():
    """Run inside a private network namespace with a veth pair: each
    server binds loopback and 10.251.0.1; a client from 10.251.0.2 must
    get -DENIED and be closed. Prints one reply per server; exit 0."""
    out = []
    for kind in kinds():
        srv = dicetest.Server(kind, ["--bind", "127.0.0.1", "10.251.0.1"])
        try:
            for _ in range(100):  # the veth link takes a moment to come up
                try:
                    s = socket.create_connection(("10.251.0.1", srv.port), 5,
                                                 ("10.251.0.2", 0))
                    break
                except OSError:
                    time.sleep(0.05)
            s.sendall(dicetest.encode("PING"))
            data = b""
            s.settimeout(5)
            while True:
                try:
                    d = s.recv(4096)
                except ConnectionResetError:
                    break
                if not d:
                    break
                data += d
            out.append("%s %s" % (kind, data.hex()))
            s.close()
        finally:
            assert srv.stop() == 0
    print("\n".join(out))


class ProtectedMode(unittest.TestCase):
    def test_refuses_veth_peer_in_netns(self):
        # A network namespace of our own with a veth pair, as issue 12
        # suggests: the non-loopback client exists whatever the machine's
        # own addresses are, and nothing outside the namespace changes.
        try:
            ok = subprocess.run(["unshare", "-n", "sh", "-c", NETNS_SETUP],
                                capture_output=True, timeout=20).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if not ok:
            self.skipTest("unshare -n with a veth pair is not allowed here")
        r = subprocess.run(["unshare", "-n", "sh", "-c", NETNS_SETUP +
                            " && exec /usr/bin/python3 %s --netns-body"
                            % os.path.abspath(__file__)],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        got = dict((k, bytes.fromhex(v)) for k, v in (
            line.split(" ", 1) for line in r.stdout.splitlines()
            if line.startswith(("dice ", "redis "))))
        self.assertTrue(got["dice"].startswith(
            b"-DENIED Redis is running in protected mode"), got)
        if "redis" in got:
            self.assertEqual(got["dice"], got["redis"])

    def test_refuses_non_loopback(self):
        outside = outside_address()
        if not outside:
            self.skipTest("no non-loopback address on this machine")
        got = {}
        for kind in kinds():
            srv = dicetest.Server(kind, ["--bind", "127.0.0.1", outside])
            try:
                far = dicetest.Conn(srv.port, host=outside)
                far.send(dicetest.encode("PING"))
                got[kind] = far.read_reply()
                self.assertTrue(far.closed_by_peer(), kind)
                self.assertEqual(srv.conn().cmd("PING"), b"+PONG\r\n")
                # With a password the outside may connect (and must AUTH).
                srv.conn().cmd("CONFIG", "SET", "requirepass", "pw")
                far = dicetest.Conn(srv.port, host=outside)
                self.assertEqual(far.cmd("PING"), b"-NOAUTH Authentication required.\r\n")
            finally:
                self.assertEqual(srv.stop(), 0)
        self.assertTrue(got["dice"].startswith(b"-DENIED Redis is running in protected mode"))
        if "redis" in got:
            self.assertEqual(got["dice"], got["redis"])


if __name__ == "__main__":
    if "--netns-body" in os.sys.argv:
        netns_body()
    else:
        dicetest.main(globals())
