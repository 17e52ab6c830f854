"""dice-server under valgrind: serve a mix of traffic (pipelines, partial
commands, protocol errors, held clients, abrupt disconnects, every
collection type in both encodings, lazy frees, a transaction, blocked and
subscribed clients left connected), shut down with SIGTERM, and require no
memory errors and no leaks."""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402
from dicetest import encode  # noqa: E402


def start_valgrind(extra_args=lambda: ([], [])):
    """dice-server under valgrind on a free port: (proc, port, log path,
    extra ports); extra_args() gives more arguments and the ports they
    name, picked afresh for each try. Valgrind takes seconds to start (2-3 s
    measured on a loaded 2-core machine, against milliseconds for the
    bare server), and free_port() only found a port that was free then:
    a parallel test's server or connection can take it meanwhile. Then
    ours fails to bind and exits 1, and wait_port succeeds on the other
    server, which the test then drives. So the server must answer with
    its own pid, else it starts again on other ports."""
    for attempt in range(5):
        port = dicetest.free_port()
        extra, ports = extra_args()
        log = tempfile.NamedTemporaryFile(prefix="vg-", suffix=".log",
                                          delete=False)
        log.close()
        proc = subprocess.Popen(
            ["valgrind", "--leak-check=full", "--show-leak-kinds=all",
             "--errors-for-leak-kinds=definite,indirect,possible",
             "--error-exitcode=99", "--log-file=" + log.name,
             dicetest.server_path(), "--port", str(port), "--save", ""] +
            extra, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for p in [port] + ports:
                dicetest.wait_port(p, proc, timeout=60)
            who = dicetest.Conn(port, timeout=30)
            info = who.cmd("INFO", "server")
            who.close()
            if b"\r\nprocess_id:%d\r\n" % proc.pid in info:
                return proc, port, log.name, ports
        except (RuntimeError, OSError, EOFError):
            pass
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.unlink(log.name)
    raise AssertionError("dice-server under valgrind did not start")


class Valgrind(unittest.TestCase):
    def test_no_leaks_at_shutdown(self):
        if os.environ.get("DICE_SANITIZE") == "ON":
            self.skipTest("sanitizer build: valgrind cannot run ASan binaries")
        if not shutil.which("valgrind"):
            self.skipTest("valgrind not installed")
        proc, port, logname, _ = start_valgrind()
        try:
            c = dicetest.Conn(port, timeout=30)
            self.assertEqual(c.cmd("PING"), b"+PONG\r\n")
            c.send(b"".join(encode("ECHO", "v%d" % i) for i in range(300)))
            for i in range(300):
                c.read_reply()
            for cmd in (["SET", "k", "v"], ["GET", "k"], ["INCR", "n"],
                        ["EXPIRE", "k", "100"], ["DEL", "k"], ["CLIENT", "SETNAME", "x"],
                        ["COMMAND", "INFO", "get"], ["INFO"], ["CONFIG", "GET", "*"]):
                c.cmd(*cmd)
            # Every collection type, big enough to leave its compact
            # encoding, freed at once, lazily (UNLINK: the lazy-free
            # thread) and at shutdown.
            for t in range(3):
                pairs = [x for i in range(300) for x in ("f%d" % i, "v")]
                scored = [x for i in range(300) for x in (str(i), "m%d" % i)]
                c.send(encode("RPUSH", "l%d" % t, *["e%d" % i for i in range(300)]) +
                       encode("HSET", "h%d" % t, *pairs) +
                       encode("SADD", "s%d" % t, *["m%d" % i for i in range(300)]) +
                       encode("SADD", "i%d" % t, *[str(i) for i in range(600)]) +
                       encode("ZADD", "z%d" % t, *scored))
                for _ in range(5):
                    c.read_reply()
            self.assertEqual(c.cmd("DEL", "l0", "h0", "s0", "i0", "z0"), b":5\r\n")
            self.assertEqual(c.cmd("UNLINK", "l1", "h1", "s1", "i1", "z1"),
                             b":5\r\n")
            # A hash big enough for its free effort to pass the threshold
            # (its member table's pool pages): freed on the lazy-free
            # thread.
            for i in range(0, 300000, 1000):
                c.send(encode("HSET", "hbig", *[x for j in range(i, i + 1000)
                                                for x in ("field:%d" % j, "v")]))
            for i in range(0, 300000, 1000):
                c.read_reply()
            self.assertEqual(c.cmd("UNLINK", "hbig"), b":1\r\n")
            for cmd in (["SINTERSTORE", "d", "s2", "s2"],
                        ["ZUNIONSTORE", "zu", "1", "z2"],
                        ["LRANGE", "l2", "0", "-1"], ["HGETALL", "h2"],
                        ["MULTI"], ["SET", "a", "1"], ["LPUSH", "q", "x"], ["EXEC"],
                        ["WATCH", "a"], ["UNWATCH"], ["PUBLISH", "ch", "m"]):
                c.cmd(*cmd)
            # A client blocked when the server goes away, one served, one
            # subscribed.
            b = dicetest.Conn(port, timeout=30)
            b.send(encode("BLPOP", "nokey", "0"))
            s = dicetest.Conn(port, timeout=30)
            s.send(encode("SUBSCRIBE", "ch") + encode("PSUBSCRIBE", "c*"))
            w = dicetest.Conn(port, timeout=30)
            w.send(encode("BRPOP", "q2", "0"))
            time.sleep(0.3)
            c.cmd("LPUSH", "q2", "v")
            self.assertTrue(w.read_reply().startswith(b"*2"))
            c.cmd("PUBLISH", "ch", "hello")
            # Tracking clients (default, BCAST, a redirection), keys in the
            # table and a BCAST key pending, and a client held by CLIENT
            # PAUSE with input behind its held command, at shutdown.
            t = dicetest.Conn(port, timeout=30)
            t.cmd("HELLO", "3")
            t.cmd("CLIENT", "TRACKING", "on")
            t.cmd("MGET", "tk1", "tk2")
            tb = dicetest.Conn(port, timeout=30)
            tid = t.cmd("CLIENT", "ID")[1:-2]
            tb.cmd("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "tk",
                   "REDIRECT", tid)
            c.cmd("SET", "tk1", "x")
            c.cmd("CLIENT", "PAUSE", "60000", "WRITE")
            h = dicetest.Conn(port, timeout=30)
            h.send(encode("SET", "held", "1") + b"GET held\r\nINCR x")
            time.sleep(0.2)
            # A partial command left behind by a client that goes away.
            p = dicetest.Conn(port, timeout=30)
            p.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc")
            time.sleep(0.2)
            p.close()
            # A protocol error.
            e = dicetest.Conn(port, timeout=30)
            e.send(b"*1\r\nx\r\n")
            e.read_reply()
            e.close()
            # A client with unread output.
            u = dicetest.Conn(port, timeout=30)
            u.send(encode("ECHO", "y" * 100000) * 50)
            time.sleep(0.5)
            u.close()
            c.close()
            time.sleep(0.3)
        finally:
            proc.terminate()
            rc = proc.wait(timeout=60)
        with open(logname) as f:
            report = f.read()
        os.unlink(logname)
        self.assertEqual(rc, 0, report[-4000:])
        self.assertIn("ERROR SUMMARY: 0 errors", report, report[-4000:])

    def test_tls_clients_at_shutdown(self):
        """TLS clients connected when the server goes: established ones (one
        with a partial command, one with unread output), one stuck in its
        handshake, one refused (no certificate). OpenSSL 3 frees its global
        state itself at exit (its own atexit OPENSSL_cleanup), so the heap
        is empty at exit: no suppression file and no cleanup call needed."""
        if os.environ.get("DICE_SANITIZE") == "ON":
            self.skipTest("sanitizer build: valgrind cannot run ASan binaries")
        if not shutil.which("valgrind") or not shutil.which("openssl"):
            self.skipTest("valgrind or openssl not installed")
        import socket
        import ssl
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import test_tls
        certs = tempfile.mkdtemp(prefix="vgtls-")
        test_tls.CERTS = certs
        test_tls.make_certs(certs)
        def tls():
            tport = dicetest.free_port()
            return test_tls.tls_args(tport), [tport]
        proc, port, logname, (tport,) = start_valgrind(tls)
        try:
            if b"dice_tls:no" in dicetest.Conn(port, timeout=30).cmd("INFO"):
                self.skipTest("libdice built without TLS")
            a = test_tls.TLSConn(tport, timeout=60)
            self.assertEqual(a.cmd("SET", "k", "v" * 100000), b"+OK\r\n")
            self.assertEqual(len(a.cmd("GET", "k")), 100000 + 11)
            a.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc")
            u = test_tls.TLSConn(tport, timeout=60)
            u.send(encode("GET", "k") * 100)
            stuck = socket.create_connection(("127.0.0.1", tport))
            stuck.sendall(b"\x16\x03\x01\x02\x00\x01")
            self.assertTrue(test_tls.refused(tport, certfile=None))
            gone = test_tls.TLSConn(tport, timeout=60)
            gone.cmd("PING")
            gone.sock.close()  # no close_notify
            time.sleep(1.0)
        finally:
            proc.terminate()
            rc = proc.wait(timeout=120)
            shutil.rmtree(certs, ignore_errors=True)
        with open(logname) as f:
            report = f.read()
        os.unlink(logname)
        self.assertEqual(rc, 0, report[-4000:])
        self.assertIn("ERROR SUMMARY: 0 errors", report, report[-4000:])


if __name__ == "__main__":
    dicetest.main(globals())
