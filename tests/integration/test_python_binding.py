"""The ctypes binding examples/python/dice.py: a Python-hosted server (built-
ins plus Python commands) in a subprocess, run blocking and driven by
asyncio, talked to with python3-redis and raw RESP2/RESP3; then the
library's value reader building Python objects through its constructor
callback; then the example_server.py demo."""
import gc
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("DICE_SOURCE_DIR", os.path.join(HERE, "..", ".."))
PYDIR = os.path.join(SOURCE, "examples", "python")
sys.path.insert(0, HERE)
sys.path.insert(0, PYDIR)
import dicetest  # noqa: E402
from dicetest import encode  # noqa: E402

BUILD = os.environ.get("DICE_BUILD_DIR", os.path.join(SOURCE, "build"))
LIB = os.environ.get("DICE_LIB", os.path.join(BUILD, "libdice.so"))


def sanitized():
    return os.environ.get("DICE_SANITIZE", "").upper() in ("ON", "1", "TRUE")


def python_env():
    """Environment for a Python process loading libdice. A sanitizer build
    of the library needs the ASan runtime loaded first (LD_PRELOAD); leak
    detection is off because the interpreter itself keeps memory at exit."""
    env = dict(os.environ, DICE_LIB=LIB, PYTHONUNBUFFERED="1")
    if sanitized() and "libasan" not in env.get("LD_PRELOAD", ""):
        asan = subprocess.run(["gcc", "-print-file-name=libasan.so"],
                              capture_output=True, text=True).stdout.strip()
        ubsan = subprocess.run(["gcc", "-print-file-name=libubsan.so"],
                               capture_output=True, text=True).stdout.strip()
        env["LD_PRELOAD"] = " ".join(p for p in (asan, ubsan) if os.path.isabs(p))
        env["ASAN_OPTIONS"] = "detect_leaks=0:" + env.get("ASAN_OPTIONS", "")
    return env


SERVER_SCRIPT = textwrap.dedent(r'''
    import asyncio, os, signal, sys, threading
    sys.path.insert(0, os.environ["PYDIR"])
    import dice

    mode = sys.argv[1]
    loop = dice.Loop()
    srv = dice.Server(loop)
    srv.config_set("port", "0")
    srv.config_set("loglevel", "warning")
    srv.add_builtins(dice.BUILTIN_ALL)

    class Odd:
        pass

    VALUES = {
        b"none": None,
        b"bytes": b"a\r\nb\x00",
        b"str": "h\u00e9llo",
        b"int": -42,
        b"bigint": 2**70,
        b"float": 1.5,
        b"true": True,
        b"false": False,
        b"list": [1, b"x", None],
        b"tuple": (b"t", 2),
        b"dict": {b"k": 1},
        b"set": {b"only"},
        b"error": dice.ReplyError("MYERR custom failure"),
        b"simple": dice.SimpleString("FINE"),
        b"empty": [],
        b"nested": [{b"a": [1, 2.5, {b"s"}]}, [[b"deep"]]],
        b"verbatim": dice.Verbatim("some text", "txt"),
        b"unsupported": [1, Odd()],
    }

    @srv.command("types", arity=2)
    def types(args):
        if args[1] == b"raise":
            raise ValueError("bad input")
        if args[1] == b"raiseerr":
            raise dice.ReplyError("NOPE not this one")
        return VALUES[args[1]]

    @srv.command("args", arity=-1)
    def args_cmd(args):
        return args

    @srv.command("pyget", arity=2, first_key=1, last_key=1, key_step=1)
    def pyget(args):
        return srv.get(args[1])

    @srv.command("pyset", arity=3, flags=dice.CMD_WRITE, first_key=1,
                 last_key=1, key_step=1)
    def pyset(args):
        srv.set(args[1], args[2])
        return dice.SimpleString("OK")

    @srv.command("later", arity=2, with_client=True)
    def later(client, args):
        reply = client.hold()
        loop.call_later(int(args[1]), lambda: reply(b"later " + args[1]))

    @srv.command("thread", arity=2, with_client=True)
    def thread(client, args):
        reply = client.hold()
        n = int(args[1])
        def work():
            import time
            time.sleep(0.05)
            loop.post(lambda: reply(n * 2))  # back on the loop thread
        threading.Thread(target=work).start()

    @srv.command("whoami", arity=1, with_client=True)
    def whoami(client, args):
        return [client.id, client.proto, client.db]

    ticks = [0]

    @srv.command("aticks", arity=1)
    def aticks(args):
        return ticks[0]

    port = srv.start()
    print("ready %d" % port, flush=True)

    if mode == "run":
        got = loop.run()
        print("stopped by", got, flush=True)
    else:
        async def main():
            aloop = asyncio.get_running_loop()
            stop = asyncio.Event()
            for s in (signal.SIGINT, signal.SIGTERM):
                aloop.add_signal_handler(s, stop.set)
            srv.on_shutdown(lambda s: stop.set())
            async def ticker():
                while True:
                    ticks[0] += 1
                    await asyncio.sleep(0.01)
            t = asyncio.ensure_future(ticker())
            loop.attach_asyncio(aloop)
            await stop.wait()
            loop.detach_asyncio()
            t.cancel()
        asyncio.run(main())
        print("stopped asyncio", flush=True)
    srv.close()
    loop.close()
''')


class PyServer:
    def __init__(self, mode, script=None, args=()):
        self.out = tempfile.TemporaryFile()
        env = python_env()
        env["PYDIR"] = PYDIR
        cmd = [sys.executable, "-c", SERVER_SCRIPT, mode] if script is None \
            else [sys.executable, script] + list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=self.out, env=env)
        line = self.proc.stdout.readline()
        if not line.startswith(b"ready "):
            self.proc.kill()
            raise RuntimeError("no ready line: %r %s" % (line, self.stderr()))
        self.port = int(line.split()[1])

    def stderr(self):
        self.out.seek(0)
        return self.out.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        if self.proc.stdout.closed:
            return self.proc.returncode, self.rest
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self.rest = self.proc.stdout.read().decode()
        self.proc.stdout.close()
        return rc, self.rest

    def redis(self):
        import redis
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10)


class ServerChecks:
    """Checks shared by the blocking and the asyncio mode."""

    MODE = None

    def setUp(self):
        self.s = PyServer(self.MODE)

    def tearDown(self):
        rc, out = self.s.stop()
        self.assertEqual(rc, 0, "exit %r\n%s" % (rc, self.s.stderr()))
        self.assertIn("stopped", out)

    def test_reply_types_resp2_redis_py(self):
        import redis
        r = self.s.redis()
        T = lambda k: r.execute_command("TYPES", k)  # noqa: E731
        self.assertIsNone(T("none"))
        self.assertEqual(T("bytes"), b"a\r\nb\x00")
        self.assertEqual(T("str"), "h\u00e9llo".encode())
        self.assertEqual(T("int"), -42)
        self.assertEqual(T("bigint"), str(2**70).encode())  # RESP2: bulk
        self.assertEqual(T("float"), b"1.5")  # RESP2: bulk
        self.assertEqual(T("true"), 1)
        self.assertEqual(T("false"), 0)
        self.assertEqual(T("list"), [1, b"x", None])
        self.assertEqual(T("tuple"), [b"t", 2])
        self.assertEqual(T("dict"), [b"k", 1])  # RESP2: flat array
        self.assertEqual(T("set"), [b"only"])
        self.assertEqual(T("simple"), b"FINE")
        self.assertEqual(T("empty"), [])
        self.assertEqual(T("verbatim"), b"some text")
        self.assertEqual(T("nested"),
                         [[b"a", [1, b"2.5", [b"s"]]], [[b"deep"]]])
        with self.assertRaisesRegex(redis.ResponseError,
                                    "^MYERR custom failure$"):
            T("error")
        with self.assertRaisesRegex(redis.ResponseError, "bad input"):
            T("raise")
        with self.assertRaisesRegex(redis.ResponseError, "not this one"):
            T("raiseerr")
        with self.assertRaisesRegex(redis.ResponseError,
                                    "cannot reply with a Odd"):
            T("unsupported")
        # The connection is still in step after all those errors.
        self.assertTrue(r.ping())
        self.assertEqual(r.execute_command("ARGS", b"\x00\xff", "", "x y"),
                         [b"ARGS", b"\x00\xff", b"", b"x y"])

    def test_reply_types_resp3_raw(self):
        import dice
        c = dicetest.Conn(self.s.port)
        hello = dice.parse(c.cmd("HELLO", "3"))[0]
        self.assertEqual(hello[b"proto"], 3)
        want = {
            "none": b"_\r\n",
            "float": b",1.5\r\n",
            "true": b"#t\r\n",
            "false": b"#f\r\n",
            "bigint": b"(%d\r\n" % 2**70,
            "dict": b"%1\r\n$1\r\nk\r\n:1\r\n",
            "set": b"~1\r\n$4\r\nonly\r\n",
            "simple": b"+FINE\r\n",
            "error": b"-MYERR custom failure\r\n",
            "raise": b"-ERR bad input\r\n",
            "verbatim": b"=13\r\ntxt:some text\r\n",
            "str": b"$6\r\nh\xc3\xa9llo\r\n",
        }
        for k, raw in want.items():
            self.assertEqual(c.cmd("TYPES", k), raw, k)
        # And back through the library's reader into Python objects.
        nested = dice.parse(c.cmd("TYPES", "nested"))[0]
        self.assertEqual(nested, [{b"a": [1, 2.5, {b"s"}]}, [[b"deep"]]])
        self.assertEqual(dice.parse(c.cmd("WHOAMI"))[0][1:], [3, 0])
        c.close()

    def test_builtins_and_keyspace_from_python(self):
        r = self.s.redis()
        self.assertTrue(r.set("k", "v"))
        self.assertEqual(r.get("k"), b"v")
        self.assertEqual(r.execute_command("PYGET", "k"), b"v")
        self.assertIsNone(r.execute_command("PYGET", "missing"))
        self.assertEqual(r.execute_command("PYSET", "p", "from python"), b"OK")
        self.assertEqual(r.get("p"), b"from python")
        self.assertEqual(r.incr("n"), 1)
        self.assertEqual(r.execute_command("PYGET", "n"), b"1")
        self.assertEqual(r.dbsize(), 3)

    def test_deferred_replies_keep_pipeline_order(self):
        c = dicetest.Conn(self.s.port)
        c.send(encode("LATER", 80) + encode("THREAD", 21) + encode("PING") +
               encode("LATER", 0))
        self.assertEqual(c.read_reply(), b"$8\r\nlater 80\r\n")
        self.assertEqual(c.read_reply(), b":42\r\n")
        self.assertEqual(c.read_reply(), b"+PONG\r\n")
        self.assertEqual(c.read_reply(), b"$7\r\nlater 0\r\n")
        # Another client is served while one waits.
        c.send(encode("LATER", 300))
        other = dicetest.Conn(self.s.port)
        self.assertEqual(other.cmd("PING"), b"+PONG\r\n")
        self.assertEqual(c.read_reply(), b"$9\r\nlater 300\r\n")
        c.close()
        other.close()

    def test_pipeline_many(self):
        r = self.s.redis()
        p = r.pipeline(transaction=False)
        for i in range(500):
            p.execute_command("ARGS", i)
        self.assertEqual(p.execute(),
                         [[b"ARGS", str(i).encode()] for i in range(500)])


class BlockingMode(ServerChecks, unittest.TestCase):
    MODE = "run"

    def test_sigint_returns_from_run(self):
        self.assertTrue(self.s.redis().ping())
        rc, out = self.s.stop(signal.SIGINT)
        self.assertEqual(rc, 0, self.s.stderr())
        self.assertIn("stopped by %d" % signal.SIGINT, out)


class AsyncioMode(ServerChecks, unittest.TestCase):
    MODE = "asyncio"

    def test_asyncio_task_runs_alongside(self):
        r = self.s.redis()
        t1 = r.execute_command("ATICKS")
        time.sleep(0.3)
        t2 = r.execute_command("ATICKS")
        self.assertGreater(t2, t1)

    def test_shutdown_command(self):
        c = dicetest.Conn(self.s.port)
        c.send(encode("SHUTDOWN", "NOSAVE"))
        self.assertTrue(c.closed_by_peer(10))
        self.assertEqual(self.s.proc.wait(timeout=20), 0, self.s.stderr())


class ReaderChecks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import dice
        cls.dice = dice
        dice.load_library(LIB)

    CASES = [
        (b"+OK\r\n", "OK"),
        (b"-ERR oops\r\n", None),  # checked separately: ReplyError
        (b":0\r\n", 0),
        (b":-9223372036854775808\r\n", -9223372036854775808),
        (b"$0\r\n\r\n", b""),
        (b"$5\r\na\r\nb\x00\r\n", b"a\r\nb\x00"),
        (b"$-1\r\n", None),
        (b"*-1\r\n", None),
        (b"*0\r\n", []),
        (b"*3\r\n:1\r\n$1\r\nx\r\n$-1\r\n", [1, b"x", None]),
        (b"_\r\n", None),
        (b",3.25\r\n", 3.25),
        (b",-inf\r\n", float("-inf")),
        (b"#t\r\n", True),
        (b"#f\r\n", False),
        (b"(-12345678901234567890123\r\n", -12345678901234567890123),
        (b"=15\r\ntxt:Some string\r\n", "Some string"),
        (b"%2\r\n+a\r\n:1\r\n$1\r\nb\r\n*2\r\n:1\r\n:2\r\n",
         {"a": 1, b"b": [1, 2]}),
        (b"~3\r\n:1\r\n:2\r\n:1\r\n", {1, 2}),
        (b"*2\r\n*2\r\n%1\r\n:1\r\n~1\r\n+x\r\n*0\r\n_\r\n",
         [[{1: {"x"}}, []], None]),
        (b"%1\r\n*2\r\n:1\r\n:2\r\n+v\r\n", {(1, 2): "v"}),
        (b">2\r\n+message\r\n$2\r\nhi\r\n", ["message", b"hi"]),
    ]

    def test_each_case(self):
        dice = self.dice
        for raw, want in self.CASES:
            got = dice.parse(raw)
            self.assertEqual(len(got), 1, raw)
            if raw.startswith(b"-"):
                self.assertIsInstance(got[0], dice.ReplyError)
                self.assertEqual(got[0].message, "ERR oops")
                continue
            self.assertEqual(got[0], want, raw)
            if want is not None:
                self.assertIsInstance(got[0], type(want), raw)
        self.assertIsInstance(dice.parse(b"+OK\r\n")[0], dice.SimpleString)
        v = dice.parse(b"=15\r\nmkd:Some string\r\n")[0]
        self.assertIsInstance(v, dice.Verbatim)
        self.assertEqual(v.format, "mkd")
        self.assertIsInstance(dice.parse(b">0\r\n")[0], dice.Push)
        blob = dice.parse(b"!11\r\nSYNTAX oops\r\n")[0]
        self.assertEqual(blob, dice.ReplyError("SYNTAX oops"))

    def test_partial_feeds_byte_by_byte(self):
        dice = self.dice
        stream = b"".join(raw for raw, _ in self.CASES)
        whole = dice.parse(stream)
        self.assertEqual(len(whole), len(self.CASES))
        r = dice.Reader()
        got = []
        for i in range(len(stream)):
            r.feed(stream[i:i + 1])
            gc.collect() if i % 97 == 0 else None  # callbacks must stay alive
            while True:
                v = r.get()
                if v is dice.INCOMPLETE:
                    break
                got.append(v)
        self.assertEqual(got, whole)
        self.assertEqual(r._objs, {})  # nothing half-built left behind
        r.close()

    def test_incomplete_is_not_none(self):
        dice = self.dice
        r = dice.Reader()
        r.feed(b"*2\r\n$-1\r\n")
        self.assertIs(r.get(), dice.INCOMPLETE)
        r.feed(b"_\r")
        self.assertIs(r.get(), dice.INCOMPLETE)
        r.feed(b"\n$-1\r\n")
        self.assertEqual(r.get(), [None, None])
        self.assertIsNone(r.get())  # a real null, not "incomplete"
        self.assertIs(r.get(), dice.INCOMPLETE)
        r.close()

    def test_attributes(self):
        dice = self.dice
        raw = (b"|1\r\n+ttl\r\n:10\r\n$1\r\nv\r\n"
               b"*2\r\n|1\r\n+key\r\n+a\r\n:1\r\n:2\r\n")
        self.assertEqual(dice.parse(raw), [b"v", [1, 2]])
        self.assertEqual(dice.parse(raw, attributes=True),
                         [dice.Attributed(b"v", {"ttl": 10}),
                          [dice.Attributed(1, {"key": "a"}), 2]])

    def test_deep_nesting_and_many_values(self):
        dice = self.dice
        depth = 60
        raw = b"*1\r\n" * depth + b":7\r\n"
        v = dice.parse(raw)[0]
        for _ in range(depth):
            self.assertIsInstance(v, list)
            v = v[0]
        self.assertEqual(v, 7)
        with self.assertRaises(dice.ProtocolError):
            dice.parse(b"*1\r\n" * 70 + b":7\r\n")
        many = dice.parse(b"".join(b":%d\r\n" % i for i in range(10000)))
        self.assertEqual(many, list(range(10000)))

    def test_protocol_errors(self):
        dice = self.dice
        for bad in (b"?\r\n", b":12x\r\n", b"$3\r\nabcde\r\n", b"#x\r\n",
                    b"*1\r\n:1\nx\r\n"):
            r = dice.Reader()
            r.feed(bad)
            with self.assertRaises(dice.ProtocolError, msg=bad):
                r.get()
            # The reader stays failed.
            with self.assertRaises(dice.ProtocolError):
                r.feed(b"+OK\r\n")
            r.close()
        # A partial tree dropped on error frees everything it had built.
        r = dice.Reader()
        r.feed(b"*3\r\n*1\r\n:1\r\n%1\r\n+k\r\n?")
        with self.assertRaises(dice.ProtocolError):
            r.get()
        self.assertEqual(r._objs, {})
        r.close()

    def test_reader_freed_with_partial_value(self):
        dice = self.dice
        r = dice.Reader()
        r.feed(b"*2\r\n*1\r\n:1\r\n")
        self.assertIs(r.get(), dice.INCOMPLETE)
        self.assertNotEqual(r._objs, {})
        objs = r._objs
        r.close()  # the C reader hands the partial tree back to be freed
        self.assertEqual(objs, {})


class InProcessLifetimes(unittest.TestCase):
    """Binding lifetimes, with the loop driven from this process."""

    @classmethod
    def setUpClass(cls):
        import dice
        cls.dice = dice
        dice.load_library(LIB)

    def drive(self, loop, conn, data, nreplies):
        """Send data, run the loop until nreplies replies arrived."""
        conn.sock.setblocking(False)
        conn.sock.sendall(data)
        out = []
        deadline = time.time() + 10
        while len(out) < nreplies and time.time() < deadline:
            try:
                loop.run_once(10)
            except Exception as e:  # an error a handler left for run_once
                out.append(("raised", e))
                continue
            try:
                conn.buf += conn.sock.recv(65536)
            except BlockingIOError:
                pass
            while conn.buf:
                try:
                    saved = conn.buf
                    conn.sock.setblocking(True)
                    conn.sock.settimeout(0.001)
                    out.append(conn.read_reply())
                except Exception:
                    conn.buf = saved
                    break
                finally:
                    conn.sock.setblocking(False)
        return out

    def test_server_dropped_by_caller_keeps_serving(self):
        dice = self.dice
        loop = dice.Loop()

        def make():
            srv = dice.Server(loop)
            srv.command("hi", lambda args: b"there", arity=1)
            return srv.start(port=0)

        port = make()
        gc.collect()
        c = dicetest.Conn(port)
        self.assertEqual(self.drive(loop, c, b"HI\r\n", 1), [b"$5\r\nthere\r\n"])
        c.close()
        for srv in list(loop._servers):
            srv.close()
        loop.close()

    def test_raise_after_hold_sends_one_reply(self):
        dice = self.dice
        loop = dice.Loop()
        srv = dice.Server(loop)
        srv.add_builtins()

        def slow(client, args):
            reply = client.hold()
            loop.call_later(50, lambda: reply(b"late"))
            raise ValueError("oops after hold")

        srv.command("slow", slow, arity=1, with_client=True)
        port = srv.start(port=0)
        c = dicetest.Conn(port)
        got = self.drive(loop, c, b"SLOW\r\nPING\r\n", 3)
        replies = [r for r in got if not isinstance(r, tuple)]
        raised = [r for r in got if isinstance(r, tuple)]
        self.assertEqual(replies, [b"$4\r\nlate\r\n", b"+PONG\r\n"])
        self.assertEqual(len(raised), 1)
        c.close()
        srv.close()
        loop.close()


class EmbeddedChecks(unittest.TestCase):
    """dice.Embedded and dice.Session: commands in this process, with no
    socket, no port and no thread, replies as Python objects."""

    @classmethod
    def setUpClass(cls):
        import dice
        cls.dice = dice
        dice.load_library(LIB)

    def setUp(self):
        self.db = self.dice.Embedded()

    def tearDown(self):
        self.db.close()

    def test_no_port(self):
        with self.assertRaises(self.dice.DiceError):
            self.db.server.port
        self.assertEqual(self.db.execute("PING"), "PONG")

    def test_builtin_replies(self):
        dice, db = self.dice, self.db
        ok = db.execute("SET", "k", "v")
        self.assertEqual(ok, "OK")
        self.assertIsInstance(ok, dice.SimpleString)
        self.assertEqual(db.execute("GET", "k"), b"v")
        self.assertIsNone(db.execute("GET", "missing"))
        self.assertEqual(db.execute("INCR", "n"), 1)
        self.assertEqual(db.execute("INCRBY", "n", 41), 42)
        self.assertEqual(db.execute("MGET", "k", "n", "missing"),
                         [b"v", b"42", None])
        self.assertEqual(db.execute("SET", b"bin\x00key", b"a\x00b"), "OK")
        self.assertEqual(db.execute("GET", b"bin\x00key"), b"a\x00b")
        self.assertEqual(db.execute("SET", "k", "w", "GET"), b"v")
        self.assertEqual(db.execute("EXISTS", "k", "n", "missing"), 2)
        self.assertEqual(db.execute("DEL", "k", "n"), 2)
        self.assertEqual(db.execute("DBSIZE"), 1)
        hello = db.execute("HELLO", "3")
        self.assertEqual(hello[b"proto"], 3)
        self.assertEqual(db.execute_raw("GET", "missing"), b"_\r\n")

    def test_resp3_and_resp2_types(self):
        dice, db = self.dice, self.db

        @db.server.command("kinds", arity=2)
        def kinds(args):
            return {b"map": {b"a": 1}, b"set": {b"x"}, b"double": 2.5,
                    b"bool": True, b"verbatim": dice.Verbatim("hi"),
                    b"big": 1 << 70, b"push": dice.Push([b"p"]),
                    b"list": [1, [b"n"], None]}[args[1]]

        self.assertEqual(db.execute("KINDS", "map"), {b"a": 1})
        self.assertEqual(db.execute("KINDS", "set"), {b"x"})
        self.assertEqual(db.execute("KINDS", "double"), 2.5)
        self.assertIs(db.execute("KINDS", "bool"), True)
        v = db.execute("KINDS", "verbatim")
        self.assertIsInstance(v, dice.Verbatim)
        self.assertEqual(v, "hi")
        self.assertEqual(db.execute("KINDS", "big"), 1 << 70)
        self.assertIsInstance(db.execute("KINDS", "push"), dice.Push)
        self.assertEqual(db.execute("KINDS", "list"), [1, [b"n"], None])
        s2 = db.session(proto=2)
        self.assertEqual(s2.execute("KINDS", "map"), [b"a", 1])
        self.assertEqual(s2.execute("KINDS", "double"), b"2.5")
        self.assertEqual(s2.execute("KINDS", "bool"), 1)
        self.assertEqual(s2.execute_raw("KINDS", "set"), b"*1\r\n$1\r\nx\r\n")
        s2.close()

    def test_errors_raise(self):
        dice, db = self.dice, self.db
        with self.assertRaises(dice.ReplyError) as cm:
            db.execute("NOSUCH", "a")
        self.assertIn("unknown command 'NOSUCH'", str(cm.exception))
        with self.assertRaises(dice.ReplyError) as cm:
            db.execute("GET")
        self.assertIn("wrong number of arguments for 'get'", str(cm.exception))
        db.execute("SET", "s", "text")
        with self.assertRaises(dice.ReplyError):
            db.execute("INCR", "s")
        with self.assertRaises(ValueError):
            db.execute()
        self.assertEqual(db.execute("PING"), "PONG")  # still usable

    def test_sessions_have_their_own_state(self):
        db = self.db
        other = db.session()
        self.assertEqual(db.execute("SELECT", 2), "OK")
        db.execute("SET", "k", "in2")
        self.assertIsNone(other.execute("GET", "k"))
        self.assertEqual(other.client.db, 0)
        self.assertEqual(db._session.client.db, 2)
        other.execute("SELECT", "2")
        self.assertEqual(other.execute("GET", "k"), b"in2")
        other.execute("CLIENT", "SETNAME", "other")
        self.assertEqual(other.execute("CLIENT", "GETNAME"), b"other")
        self.assertIsNone(db.execute("CLIENT", "GETNAME"))
        self.assertEqual(other.execute("QUIT"), "OK")
        with self.assertRaises(self.dice.DiceError) as cm:
            other.execute("PING")
        self.assertEqual(cm.exception.code, self.dice.E_CLOSED)
        other.close()

    def test_deferred_reply_from_timer(self):
        db, loop = self.db, self.db.loop

        def later(client, args):
            reply = client.hold()
            loop.call_later(int(args[1]), lambda: reply(b"late"))

        db.server.command("later", later, arity=2, with_client=True)
        t0 = time.time()
        self.assertEqual(db.execute("LATER", 30), b"late")
        self.assertGreaterEqual(time.time() - t0, 0.025)
        self.assertEqual(db.execute("PING"), "PONG")

    def test_deferred_inside_a_callback(self):
        dice, db, loop = self.dice, self.db, self.db.loop
        fired = []

        def later(client, args):
            reply = client.hold()

            def answer():
                fired.append(1)
                reply(b"late")
            loop.call_later(int(args[1]), answer)

        db.server.command("later", later, arity=2, with_client=True)
        inner = db.session()
        seen = []

        def from_timer():
            try:
                inner.execute("LATER", 10)
            except dice.DiceError as e:
                seen.append(e.code)

        loop.call_later(1, from_timer)
        while not seen:
            loop.run_once(100)
        self.assertEqual(seen, [dice.E_AGAIN])
        with self.assertRaises(dice.DiceError):
            inner.result()  # still pending
        while not fired:
            loop.run_once(100)
        self.assertEqual(inner.result(), b"late")
        # Freeing a session whose reply is still held: the late reply is
        # dropped, nothing crashes.
        seen.clear()
        fired.clear()
        loop.call_later(1, from_timer)
        while not seen:
            loop.run_once(100)
        inner.close()
        while not fired:
            loop.run_once(100)

    def test_beside_network_clients(self):
        db = self.db
        port = db.server.start(port=0)
        c = dicetest.Conn(port)
        c.sock.setblocking(False)
        c.sock.sendall(b"SET fromnet 1\r\n")
        buf = b""
        deadline = time.time() + 10
        while b"\r\n" not in buf and time.time() < deadline:
            db.loop.run_once(10)
            try:
                buf += c.sock.recv(100)
            except BlockingIOError:
                pass
        self.assertEqual(buf, b"+OK\r\n")
        self.assertEqual(db.execute("GET", "fromnet"), b"1")
        c.close()


class ExampleServer(unittest.TestCase):
    def test_demo_both_modes(self):
        script = os.path.join(PYDIR, "example_server.py")
        for extra in ([], ["--asyncio"]):
            s = PyServer(None, script=script, args=["--port", "0"] + extra)
            r = s.redis()
            self.assertTrue(r.set("greeting", "hi"))
            self.assertEqual(r.execute_command("SHOUT", "greeting"), b"HI!")
            self.assertIsNone(r.execute_command("SHOUT", "nope"))
            stats = r.execute_command("STATS")
            self.assertEqual(stats[:4], [b"shout_calls", 2, b"keys", 1])
            out = subprocess.run(["redis-cli", "-p", str(s.port), "SHOUT",
                                  "greeting"], capture_output=True,
                                 timeout=20).stdout
            self.assertEqual(out, b"HI!\n")
            rc, _ = s.stop()
            self.assertEqual(rc, 0, s.stderr())


def main():
    if not os.path.exists(LIB):
        print("libdice.so not found at %s" % LIB)
        sys.exit(dicetest.SKIP)
    env = python_env()
    if env.get("LD_PRELOAD") != os.environ.get("LD_PRELOAD"):
        # In-process reader tests load the library too: re-run this file
        # with the sanitizer runtime preloaded.
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    os.environ["DICE_LIB"] = LIB
    dicetest.main(globals())


if __name__ == "__main__":
    main()
