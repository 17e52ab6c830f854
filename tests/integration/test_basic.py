"""Foundation behaviour of dice-server over real sockets: PING/ECHO/QUIT,
inline and multibulk requests, pipelining, partial commands, Redis's error
texts, protocol errors, slow readers, maxclients, IPv6, signals, and the
real redis-cli / redis-benchmark / python3-redis clients."""
import os
import shutil
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402
from dicetest import encode  # noqa: E402


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Basic(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = dicetest.Server("dice")

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        assert rc == 0, "dice-server exit code %r\n%s" % (rc, "")

    def setUp(self):
        self.c = self.srv.conn()

    def tearDown(self):
        self.c.close()

    def test_ping_echo(self):
        self.assertEqual(self.c.cmd("PING"), b"+PONG\r\n")
        self.assertEqual(self.c.cmd("ping", "hello"), b"$5\r\nhello\r\n")
        self.assertEqual(self.c.cmd("ECHO", "a\r\nb"), b"$4\r\na\r\nb\r\n")
        self.assertEqual(self.c.cmd("echo", ""), b"$0\r\n\r\n")

    def test_inline(self):
        self.c.send(b"PING\r\n")
        self.assertEqual(self.c.read_reply(), b"+PONG\r\n")
        self.c.send(b"ping\n")  # bare LF, as telnet or nc may send
        self.assertEqual(self.c.read_reply(), b"+PONG\r\n")
        self.c.send(b'ECHO "a b\\x41\\n"\r\n')
        self.assertEqual(self.c.read_reply(), b"$5\r\na bA\n\r\n")
        self.c.send(b"\r\n\r\nPING\r\n")  # empty lines are skipped
        self.assertEqual(self.c.read_reply(), b"+PONG\r\n")

    def test_pipeline_in_order(self):
        n = 5000
        data = b"".join(encode("ECHO", str(i)) for i in range(n))
        self.c.send(data)
        for i in range(n):
            s = str(i).encode()
            self.assertEqual(self.c.read_reply(), b"$%d\r\n%s\r\n" % (len(s), s))

    def test_partial_command_byte_by_byte(self):
        data = encode("ECHO", "x" * 100) + b"PING\r\n" + encode("PING", "y")
        for b in data:
            self.c.send(bytes([b]))
            time.sleep(0.0005)
        self.assertEqual(self.c.read_reply(), b"$100\r\n" + b"x" * 100 + b"\r\n")
        self.assertEqual(self.c.read_reply(), b"+PONG\r\n")
        self.assertEqual(self.c.read_reply(), b"$1\r\ny\r\n")

    def test_random_splits(self):
        # A partial command is kept at its size and put in front of the
        # next read (below 16 KB), or read into room of its own (a bulk
        # bigger than the shared buffer, or a long pending command): cut
        # a mixed stream at random points, each piece its own read.
        import random
        rnd = random.Random(12)
        vals = [b"a", b"x" * 5000, b"y" * 20000, b"z" * 70000, b"w" * 300000]
        data, want = b"", b""
        for i in range(60):
            v = vals[i % len(vals)]
            data += encode("ECHO", v)
            want += b"$%d\r\n%s\r\n" % (len(v), v)
            if i % 7 == 0:
                data += b'ECHO "q \\x41"\r\n'
                want += b"$3\r\nq A\r\n"
            if i % 11 == 0:  # many small arguments: a long header run
                data += encode("RPUSH", "l%d" % i, *(["e"] * 5000))
                want += b":5000\r\n"
        got = []

        def reader():  # replies are read while we send: no deadlock
            n = 0
            while n < len(want):
                got.append(self.c.read_reply())
                n += len(got[-1])

        import threading
        t = threading.Thread(target=reader)
        t.start()
        pos = 0
        while pos < len(data):
            n = rnd.choice((1, 3, 17, 500, 9000, 40000, 120000))
            self.c.send(data[pos:pos + n])
            pos += n
            time.sleep(0.001)
        t.join(60)
        self.assertEqual(b"".join(got), want)
        self.assertEqual(self.c.cmd("PING"), b"+PONG\r\n")

    def test_large_argument(self):
        big = os.urandom(8 * 1024 * 1024)
        self.c.send(encode("ECHO", big))
        self.assertEqual(self.c.read_reply(), b"$%d\r\n" % len(big) + big + b"\r\n")

    def test_unknown_command(self):
        self.assertEqual(
            self.c.cmd("foo", "a", "b"),
            b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n")
        self.assertEqual(
            self.c.cmd("nosuch"),
            b"-ERR unknown command 'nosuch', with args beginning with: \r\n")
        # The connection stays usable after a command error.
        self.assertEqual(self.c.cmd("PING"), b"+PONG\r\n")

    def test_wrong_arity(self):
        self.assertEqual(self.c.cmd("ECHO"),
                         b"-ERR wrong number of arguments for 'echo' command\r\n")

    def test_protocol_errors_close(self):
        cases = [
            (b"*2\r\nx\r\n", b"-ERR Protocol error: expected '$', got 'x'\r\n"),
            (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
            (b"*1\r\n$-5\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
            (b'PING "open\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
            (b"x" * 70000, b"-ERR Protocol error: too big inline request\r\n"),
        ]
        for data, want in cases:
            c = self.srv.conn()
            c.send(data)
            self.assertEqual(c.read_reply(), want)
            self.assertTrue(c.closed_by_peer(), "not closed after %r" % data[:20])
            c.close()
        # Others are untouched.
        self.assertEqual(self.c.cmd("PING"), b"+PONG\r\n")

    def test_quit(self):
        self.assertEqual(self.c.cmd("QUIT"), b"+OK\r\n")
        self.assertTrue(self.c.closed_by_peer())

    def test_command(self):
        r = self.c.cmd("COMMAND", "COUNT")
        self.assertTrue(r.startswith(b":"), r)
        self.assertGreater(int(r[1:-2]), 0)

    def test_real_clients(self):
        if shutil.which("redis-cli"):
            out = subprocess.run(["redis-cli", "-p", str(self.srv.port), "ping"],
                                 capture_output=True, timeout=20)
            self.assertEqual(out.stdout, b"PONG\n")
        else:
            print("skip redis-cli part: redis-cli not installed")
        try:
            r = self.srv.redis()
        except ImportError:
            self.skipTest("python3-redis not importable")
        self.assertTrue(r.ping())
        self.assertEqual(r.echo("héllo"), "héllo".encode())

    def test_redis_benchmark_ping(self):
        if not shutil.which("redis-benchmark"):
            self.skipTest("redis-benchmark not installed")
        out = subprocess.run(["redis-benchmark", "-p", str(self.srv.port), "-t", "ping",
                              "-n", "100000", "-P", "16", "-q"],
                             capture_output=True, timeout=120, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("requests per second", out.stdout)


class SlowReader(unittest.TestCase):
    def test_output_is_bounded(self):
        """A client that pipelines 200 MB of replies and reads none does
        not make the server hold 200 MB: it stops reading that client."""
        srv = dicetest.Server("dice")
        try:
            c = srv.conn()
            payload = b"z" * 16384
            cmd = encode("ECHO", payload)
            total = 12800  # 12800 * 16 KB = 200 MB of replies
            base = rss_kb(srv.proc.pid)
            c.sock.setblocking(False)
            sent_cmds = 0
            pending = b""
            deadline = time.time() + 20
            while sent_cmds < total and time.time() < deadline:
                if not pending:
                    pending = cmd * 64
                try:
                    n = c.sock.send(pending)
                    pending = pending[n:]
                    if not pending:
                        sent_cmds += 64
                except BlockingIOError:
                    # Both the socket buffers and the server stopped taking
                    # our input: that is the backpressure we want.
                    time.sleep(0.2)
                    try:
                        n = c.sock.send(pending)
                        pending = pending[n:]
                        continue
                    except BlockingIOError:
                        break
            peak = rss_kb(srv.proc.pid)
            self.assertLess(peak - base, 64 * 1024,
                            "server RSS grew by %d KB" % (peak - base))
            self.assertLess(sent_cmds, total, "server accepted everything")
            # Another client is served meanwhile.
            other = srv.conn()
            self.assertEqual(other.cmd("PING"), b"+PONG\r\n")
            other.close()
            # Nothing was lost: read back every reply the server took in.
            # The rest of our input goes in from another thread, since the
            # server takes it only as we drain its output.
            import threading
            c.sock.setblocking(True)
            c.sock.settimeout(30)
            rest = pending + encode("PING")
            sender = threading.Thread(target=c.sock.sendall, args=(rest,))
            sender.start()
            want = b"$16384\r\n" + payload + b"\r\n"
            got = 0
            while True:
                r = c.read_reply()
                if r == b"+PONG\r\n":
                    break
                self.assertEqual(r, want)
                got += 1
            sender.join(30)
            self.assertEqual(got % 64, 0)
            self.assertGreaterEqual(got, sent_cmds)
            c.close()
        finally:
            self.assertEqual(srv.stop(), 0)


class Limits(unittest.TestCase):
    def test_maxclients(self):
        srv = dicetest.Server("dice", ["--maxclients", "5"])
        try:
            # The harness's readiness probe was a client too: wait until a
            # connection sees itself as the only one before filling up.
            first = None
            for _ in range(100):
                first = srv.conn()
                if b"connected_clients:1\r\n" in first.cmd("INFO", "clients"):
                    break
                first.close()
                time.sleep(0.05)
            conns = [first] + [srv.conn() for _ in range(4)]
            for c in conns:
                self.assertEqual(c.cmd("PING"), b"+PONG\r\n")
            extra = srv.conn()
            self.assertEqual(extra.read_reply(), b"-ERR max number of clients reached\r\n")
            self.assertTrue(extra.closed_by_peer())
            extra.close()
            self.assertEqual(conns[0].cmd("PING"), b"+PONG\r\n")
            conns[0].close()
            time.sleep(0.2)
            again = srv.conn()
            self.assertEqual(again.cmd("PING"), b"+PONG\r\n")
            again.close()
            for c in conns[1:]:
                c.close()
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_ipv6_and_multiple_binds(self):
        try:
            s = socket.socket(socket.AF_INET6)
            s.bind(("::1", 0))
            s.close()
        except OSError:
            self.skipTest("no IPv6 loopback on this machine")
        srv = dicetest.Server("dice", ["--bind", "127.0.0.1", "::1"])
        try:
            c6 = socket.create_connection(("::1", srv.port), timeout=5)
            c6.sendall(b"PING\r\n")
            self.assertEqual(c6.recv(100), b"+PONG\r\n")
            c6.close()
            c4 = srv.conn()
            self.assertEqual(c4.cmd("PING"), b"+PONG\r\n")
            c4.close()
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_sigint_stops_cleanly(self):
        srv = dicetest.Server("dice")
        srv.proc.send_signal(2)
        self.assertEqual(srv.proc.wait(timeout=10), 0)
        self.assertIn("bye bye", srv.output())
        srv.stop()

    def test_cli_help_version_and_bad_option(self):
        exe = dicetest.server_path()
        out = subprocess.run([exe, "--version"], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0)
        self.assertIn("dice-server v=", out.stdout)
        out = subprocess.run([exe, "--help"], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0)
        self.assertIn("Usage", out.stdout)
        out = subprocess.run([exe, "--no-such-setting", "1"], capture_output=True,
                             text=True, timeout=10)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("no-such-setting", out.stderr)
        out = subprocess.run([exe, "--port", "notaport"], capture_output=True,
                             text=True, timeout=10)
        self.assertNotEqual(out.returncode, 0)

    def test_config_file(self):
        import tempfile
        port = dicetest.free_port()
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write("# a comment\nport %d\nbind \"127.0.0.1\"\nmaxclients 7\n" % port)
            path = f.name
        proc = subprocess.Popen([dicetest.server_path(), path, "--save", ""],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            dicetest.wait_port(port, proc)
            c = dicetest.Conn(port)
            self.assertEqual(c.cmd("PING"), b"+PONG\r\n")
            c.close()
        finally:
            proc.terminate()
            self.assertEqual(proc.wait(timeout=10), 0)
            os.unlink(path)


if __name__ == "__main__":
    dicetest.main(globals())
