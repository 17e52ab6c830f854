"""The embedding examples (examples/*.c) as a newcomer would run them: each
is started with --port 0, announces "ready <port>", is driven with
python3-redis, redis-cli and raw sockets, and must exit 0 on SIGTERM (under
the sanitizer build that also means no leak or memory error)."""
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402
from dicetest import encode  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("DICE_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))


def example_path(name):
    return os.path.join(BUILD, "examples", name)


class Example:
    """A running example program."""

    def __init__(self, name, timeout=10.0):
        self.name = name
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([example_path(name), "--port", "0"],
                                     stdout=subprocess.PIPE, stderr=self.err)
        line = b""
        deadline = time.time() + timeout
        while not line.endswith(b"\n"):
            left = deadline - time.time()
            r, _, _ = select.select([self.proc.stdout], [], [], max(left, 0))
            if not r:
                self.proc.kill()
                raise RuntimeError("%s did not say ready" % name)
            b = os.read(self.proc.stdout.fileno(), 1)
            if not b:
                raise RuntimeError("%s exited: %s" % (name, self.stderr()))
            line += b
        word, port = line.split()
        assert word == b"ready", line
        self.port = int(port)

    def stderr(self):
        self.err.seek(0)
        return self.err.read().decode(errors="replace")

    def redis(self, **kw):
        import redis
        return redis.Redis(host="127.0.0.1", port=self.port,
                           socket_timeout=10, **kw)

    def cli(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.port)] + list(args),
                             capture_output=True, timeout=20, check=True)
        return out.stdout.decode()

    def conn(self):
        return dicetest.Conn(self.port)

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self.proc.stdout.close()
        return rc


class ExampleCase(unittest.TestCase):
    NAME = None

    def setUp(self):
        self.ex = Example(self.NAME)

    def tearDown(self):
        if self.ex.proc.poll() is None:
            rc = self.ex.stop()
            self.assertEqual(rc, 0, "%s exit code %r\n%s"
                             % (self.NAME, rc, self.ex.stderr()))


class CustomServer(ExampleCase):
    NAME = "custom_server"

    def test_counters_with_redis_py(self):
        import redis
        r = self.ex.redis()
        self.assertEqual([r.execute_command("HIT", "home") for _ in range(3)],
                         [1, 2, 3])
        self.assertEqual(r.execute_command("HIT", "about"), 1)
        self.assertEqual(r.execute_command("HIT", b"bin\x00ary"), 1)
        self.assertEqual(r.execute_command("HIT", "about"), 2)
        # RESP2: the map comes as a flat name,count array, biggest first.
        self.assertEqual(r.execute_command("TOP"),
                         [b"home", 3, b"about", 2, b"bin\x00ary", 1])
        self.assertEqual(r.execute_command("TOP", 1), [b"home", 3])
        self.assertEqual(r.execute_command("TOP", 0), [])
        with self.assertRaisesRegex(redis.ResponseError, "not an integer"):
            r.execute_command("TOP", "many")
        with self.assertRaisesRegex(redis.ResponseError, "syntax error"):
            r.execute_command("TOP", 1, 2)
        with self.assertRaisesRegex(redis.ResponseError,
                                    "wrong number of arguments for 'hit'"):
            r.execute_command("HIT")
        # Own commands only: no built-ins were added.
        with self.assertRaisesRegex(redis.ResponseError, "unknown command 'PING'"):
            r.ping()

    def test_redis_cli_and_pipeline(self):
        self.assertEqual(self.ex.cli("HIT", "x"), "1\n")
        self.assertEqual(self.ex.cli("hit", "x"), "2\n")
        self.assertEqual(self.ex.cli("TOP"), "x\n2\n")
        c = self.ex.conn()
        c.send(b"".join(encode("HIT", "p") for _ in range(1000)))
        for i in range(1000):
            self.assertEqual(c.read_reply(), b":%d\r\n" % (i + 1))
        c.close()

    def test_sigint_stops_cleanly(self):
        self.assertEqual(self.ex.cli("HIT", "y"), "1\n")
        self.assertEqual(self.ex.stop(signal.SIGINT), 0, self.ex.stderr())


class MixedServer(ExampleCase):
    NAME = "mixed_server"

    def test_builtins_and_custom_share_the_keyspace(self):
        import redis
        r = self.ex.redis()
        self.assertTrue(r.ping())
        r.set("a", 5)
        self.assertEqual(r.incr("b"), 1)
        r.set("c", "-10")
        self.assertEqual(r.execute_command("SUMKEYS", "a", "b", "c", "none"), -4)
        self.assertEqual(r.execute_command("SUMKEYS", "none"), 0)
        r.set("s", "abc")
        with self.assertRaisesRegex(redis.ResponseError, "not an integer"):
            r.execute_command("SUMKEYS", "a", "s")
        r.set("big", 2**62)
        with self.assertRaisesRegex(redis.ResponseError, "not an integer"):
            r.execute_command("SUMKEYS", "big", "big")
        # GETORSET writes through db.h; GET (built-in) sees it.
        self.assertEqual(r.execute_command("GETORSET", "k", "first"), b"first")
        self.assertEqual(r.execute_command("GETORSET", "k", "second"), b"first")
        self.assertEqual(r.get("k"), b"first")
        self.assertEqual(r.execute_command("GETORSET", "a", "x"), b"5")
        # The custom command honours the client's SELECTed database.
        r1 = self.ex.redis(db=1)
        self.assertEqual(r1.execute_command("GETORSET", "k", "one"), b"one")
        self.assertEqual(r.get("k"), b"first")
        self.assertEqual(r1.get("k"), b"one")
        # Expiry applies to keys read by the custom command.
        r.set("t", 7, px=50)
        self.assertEqual(r.execute_command("SUMKEYS", "t"), 7)
        time.sleep(0.2)
        self.assertEqual(r.execute_command("SUMKEYS", "t", "a"), 5)
        self.assertEqual(r.execute_command("GETORSET", "t", "new"), b"new")

    def test_redis_cli(self):
        self.assertEqual(self.ex.cli("SET", "x", "40"), "OK\n")
        self.assertEqual(self.ex.cli("INCRBY", "y", "2"), "2\n")
        self.assertEqual(self.ex.cli("SUMKEYS", "x", "y"), "42\n")
        self.assertEqual(self.ex.cli("COMMAND", "GETKEYS", "SUMKEYS", "x", "y"),
                         "x\ny\n")
        self.assertEqual(self.ex.cli("DBSIZE"), "2\n")

    def test_shutdown_command_exits_zero(self):
        self.assertEqual(self.ex.cli("SET", "x", "1"), "OK\n")
        subprocess.run(["redis-cli", "-p", str(self.ex.port), "SHUTDOWN",
                        "NOSAVE"], capture_output=True, timeout=20)
        rc = self.ex.proc.wait(timeout=20)
        self.assertEqual(rc, 0, self.ex.stderr())


class WorkerServer(ExampleCase):
    NAME = "worker_server"

    def test_pipelined_slow_commands_keep_order(self):
        c = self.ex.conn()
        # The first job is much slower than the second: the replies must
        # still come in request order, PING after both.
        c.send(encode("SLOWSQUARE", 3, 300) + encode("SLOWSQUARE", 4, 0) +
               encode("PING") + encode("SLOWSQUARE", -5, 20))
        self.assertEqual(c.read_reply(), b":9\r\n")
        self.assertEqual(c.read_reply(), b":16\r\n")
        self.assertEqual(c.read_reply(), b"+PONG\r\n")
        self.assertEqual(c.read_reply(), b":25\r\n")
        c.close()

    def test_redis_py_pipeline(self):
        import redis
        r = self.ex.redis()
        p = r.pipeline(transaction=False)
        for i in range(20):
            p.execute_command("SLOWSQUARE", i, 20 - i)
        p.ping()
        self.assertEqual(p.execute(), [i * i for i in range(20)] + [True])
        with self.assertRaisesRegex(redis.ResponseError, "overflows"):
            r.execute_command("SLOWSQUARE", 2**40, 0)
        with self.assertRaisesRegex(redis.ResponseError, "not an integer"):
            r.execute_command("SLOWSQUARE", "x")
        with self.assertRaisesRegex(redis.ResponseError, "not an integer"):
            r.execute_command("SLOWSQUARE", 1, 99999)

    def test_loop_serves_others_while_a_job_runs(self):
        a = self.ex.conn()
        a.send(encode("SLOWSQUARE", 6, 1500))
        b = self.ex.conn()
        for _ in range(50):
            self.assertEqual(b.cmd("PING"), b"+PONG\r\n")
        # A's answer is not there yet: its job is still sleeping.
        a.sock.setblocking(False)
        with self.assertRaises(BlockingIOError):
            a.sock.recv(16)
        a.sock.setblocking(True)
        a.sock.settimeout(10)
        self.assertEqual(a.read_reply(), b":36\r\n")
        a.close()
        b.close()

    def test_two_clients_use_both_workers(self):
        # Figures only (no timing assertion): two 300 ms jobs from two
        # clients on a pool of two should take about 300 ms, not 600.
        a, b = self.ex.conn(), self.ex.conn()
        t0 = time.time()
        a.send(encode("SLOWSQUARE", 2, 300))
        b.send(encode("SLOWSQUARE", 3, 300))
        self.assertEqual(a.read_reply(), b":4\r\n")
        self.assertEqual(b.read_reply(), b":9\r\n")
        print("\n  two 300 ms jobs on two clients: %.0f ms"
              % ((time.time() - t0) * 1000), file=sys.stderr)
        a.close()
        b.close()

    def test_redis_cli(self):
        self.assertEqual(self.ex.cli("SLOWSQUARE", "12", "50"), "144\n")
        self.assertEqual(self.ex.cli("PING"), "PONG\n")

    def test_shutdown_with_a_job_in_flight(self):
        a = self.ex.conn()
        a.send(encode("SLOWSQUARE", 7, 800))
        self.assertEqual(self.ex.conn().cmd("PING"), b"+PONG\r\n")
        time.sleep(0.1)  # let a worker take the job
        self.ex.proc.send_signal(signal.SIGTERM)
        # The worker finishes, the reply is delivered, the process exits 0.
        self.assertEqual(a.read_reply(), b":49\r\n")
        self.assertEqual(self.ex.stop(), 0, self.ex.stderr())
        a.close()

    def test_peer_leaves_before_the_answer(self):
        a = self.ex.conn()
        a.send(encode("SLOWSQUARE", 8, 200))
        a.close()
        time.sleep(0.4)
        self.assertEqual(self.ex.cli("SLOWSQUARE", "9", "0"), "81\n")


class HostLoop(ExampleCase):
    NAME = "host_loop"

    def test_host_and_loop_both_tick(self):
        r = self.ex.redis()
        h1, l1 = r.execute_command("TICKS")
        time.sleep(0.6)
        h2, l2 = r.execute_command("TICKS")
        # The host's timerfd (50 ms) and the libdice timer (100 ms) both
        # advance: the host polls its own fd and honours the loop's timeout.
        self.assertGreater(h2, h1)
        self.assertGreater(l2, l1)
        self.assertTrue(r.ping())
        self.assertEqual(r.echo("hi"), b"hi")

    def test_redis_cli_and_pipeline(self):
        self.assertEqual(self.ex.cli("PING"), "PONG\n")
        out = self.ex.cli("TICKS").split()
        self.assertEqual(len(out), 2)
        c = self.ex.conn()
        c.send(b"".join(encode("ECHO", str(i)) for i in range(2000)))
        for i in range(2000):
            s = str(i).encode()
            self.assertEqual(c.read_reply(), b"$%d\r\n%s\r\n" % (len(s), s))
        # A big reply that cannot be written at once needs the writable
        # event, which reaches the host through the backend fd too.
        big = b"x" * (4 << 20)
        c.send(encode("ECHO", big))
        self.assertEqual(c.read_reply(), b"$%d\r\n" % len(big) + big + b"\r\n")
        c.close()


if __name__ == "__main__":
    missing = [n for n in ("custom_server", "mixed_server", "worker_server",
                           "host_loop") if not os.path.exists(example_path(n))]
    if missing:
        print("examples not built: %s" % ", ".join(missing))
        sys.exit(dicetest.SKIP)
    dicetest.main(globals())
