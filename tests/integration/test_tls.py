"""TLS: dice-server and redis-server started with the same certificates
(a CA, a server certificate, client certificates, and a client certificate
of another CA, made here with `openssl req` / `openssl x509`), a TLS port
beside the plain one; redis-cli --tls, python3-redis with ssl=True and raw
TLS sockets from python's ssl module. Client certificate authentication
(yes, optional, an untrusted certificate), tls-protocols, big values and
pipelines over TLS, a slow reader, a stalled handshake (no busy loop),
CONFIG SET of tls-* (reload, a bad certificate rolled back, tls-port
moved), and replies compared with redis-server's byte for byte."""
import os
import resource
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402
from dicetest import encode  # noqa: E402

CERTS = None  # the temp dir with the certificates


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certs(d):
    """ca.crt/key, server.crt/key (localhost, 127.0.0.1), client.crt/key
    and server2.crt/key signed by it; other-ca and other-client.crt/key,
    a chain the servers do not trust."""
    ext = os.path.join(d, "san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=dice test %s" % ca,
                "-keyout", os.path.join(d, ca + ".key"),
                "-out", os.path.join(d, ca + ".crt"))
    for name, ca, cn in (("server", "ca", "localhost"),
                         ("server2", "ca", "localhost"),
                         ("client", "ca", "client"),
                         ("other-client", "other-ca", "client")):
        key, csr = os.path.join(d, name + ".key"), os.path.join(d, name + ".csr")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn,
                "-keyout", key, "-out", csr)
        openssl("x509", "-req", "-in", csr, "-days", "2",
                "-CA", os.path.join(d, ca + ".crt"),
                "-CAkey", os.path.join(d, ca + ".key"), "-CAcreateserial",
                "-extfile", ext, "-out", os.path.join(d, name + ".crt"))


def cert(name):
    return os.path.join(CERTS, name)


def tls_args(tls_port, *extra):
    return ["--tls-port", str(tls_port),
            "--tls-cert-file", cert("server.crt"),
            "--tls-key-file", cert("server.key"),
            "--tls-ca-cert-file", cert("ca.crt")] + list(extra)


def client_context(certfile="client", minv=None, maxv=None):
    ctx = ssl.create_default_context(cafile=cert("ca.crt"))
    if certfile:
        ctx.load_cert_chain(cert(certfile + ".crt"), cert(certfile + ".key"))
    if minv:
        ctx.minimum_version = minv
    if maxv:
        ctx.maximum_version = maxv
    return ctx


class TLSConn(dicetest.Conn):
    """dicetest.Conn over TLS."""

    def __init__(self, port, timeout=10.0, certfile="client", minv=None,
                 maxv=None):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        ctx = client_context(certfile, minv, maxv)
        self.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        self.buf = b""


def cli(port, *args, certfile="client"):
    cmd = ["redis-cli", "-p", str(port), "--tls", "--cacert", cert("ca.crt")]
    if certfile:
        cmd += ["--cert", cert(certfile + ".crt"), "--key", cert(certfile + ".key")]
    return subprocess.run(cmd + list(args), capture_output=True, timeout=30)


def refused(port, **kw):
    """True when a TLS client with these settings cannot run PING."""
    try:
        c = TLSConn(port, timeout=5, **kw)
        try:
            r = c.cmd("PING")
        finally:
            c.close()
        return r != b"+PONG\r\n"
    except (ssl.SSLError, OSError, ConnectionError, RuntimeError):
        return True


def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def setUpModule():
    global CERTS
    if not shutil.which("openssl"):
        raise unittest.SkipTest("openssl not installed")
    CERTS = tempfile.mkdtemp(prefix="dicetls-")
    make_certs(CERTS)


def tearDownModule():
    if CERTS:
        shutil.rmtree(CERTS, ignore_errors=True)


class TLS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dice_tls = dicetest.free_port()
        cls.dice = dicetest.Server("dice", tls_args(cls.dice_tls))
        info = cls.dice.conn().cmd("INFO", "server")
        if b"dice_tls:no" in info:
            cls.dice.stop()
            raise unittest.SkipTest("libdice built without TLS")
        cls.redis = None
        if dicetest.have_redis_server():
            cls.redis_tls = dicetest.free_port()
            cls.redis = dicetest.Server("redis", tls_args(cls.redis_tls))

    @classmethod
    def tearDownClass(cls):
        assert cls.dice.stop() == 0
        if cls.redis:
            cls.redis.stop()

    def servers(self):
        out = [(self.dice, self.dice_tls)]
        if self.redis:
            out.append((self.redis, self.redis_tls))
        return out

    def test_info_says_tls(self):
        self.assertIn(b"dice_tls:yes", self.dice.conn().cmd("INFO", "server"))

    def test_redis_cli_with_client_cert(self):
        r = cli(self.dice_tls, "SET", "cli:k", "v1")
        self.assertEqual(r.stdout, b"OK\n", r.stderr)
        r = cli(self.dice_tls, "GET", "cli:k")
        self.assertEqual(r.stdout, b"v1\n")
        # The plain port sees the same keyspace.
        self.assertEqual(self.dice.conn().cmd("GET", "cli:k"), b"$2\r\nv1\r\n")

    def test_python_redis_ssl(self):
        import redis
        r = redis.Redis(host="127.0.0.1", port=self.dice_tls, ssl=True,
                        ssl_ca_certs=cert("ca.crt"),
                        ssl_certfile=cert("client.crt"),
                        ssl_keyfile=cert("client.key"))
        self.assertTrue(r.set("py:k", "hello"))
        self.assertEqual(r.get("py:k"), b"hello")
        self.assertEqual(r.incr("py:n"), 1)
        r.close()

    def test_client_without_certificate_refused(self):
        before = self.dice.output().count("Error accepting a client connection")
        self.assertTrue(refused(self.dice_tls, certfile=None))
        r = cli(self.dice_tls, "PING", certfile=None)
        self.assertNotEqual(r.stdout, b"PONG\n")
        time.sleep(0.2)
        log = self.dice.output()
        self.assertGreater(log.count("Error accepting a client connection"),
                           before, log[-2000:])
        self.assertIn("peer did not return a certificate", log)
        self.assertEqual(self.dice.conn().cmd("PING"), b"+PONG\r\n")

    def test_untrusted_certificate_refused(self):
        self.assertTrue(refused(self.dice_tls, certfile="other-client"))
        self.assertFalse(refused(self.dice_tls))

    def test_auth_clients_optional(self):
        c = self.dice.conn()
        self.assertEqual(c.cmd("CONFIG", "SET", "tls-auth-clients", "optional"),
                         b"+OK\r\n")
        try:
            self.assertFalse(refused(self.dice_tls, certfile=None))
            self.assertFalse(refused(self.dice_tls))
            # A certificate that is presented must still verify.
            self.assertTrue(refused(self.dice_tls, certfile="other-client"))
            c.cmd("CONFIG", "SET", "tls-auth-clients", "no")
            self.assertFalse(refused(self.dice_tls, certfile=None))
        finally:
            self.assertEqual(c.cmd("CONFIG", "SET", "tls-auth-clients", "yes"),
                             b"+OK\r\n")
        self.assertTrue(refused(self.dice_tls, certfile=None))

    def test_protocols(self):
        for srv, port in self.servers():
            c = srv.conn()
            self.assertEqual(c.cmd("CONFIG", "SET", "tls-protocols", "TLSv1.3"),
                             b"+OK\r\n")
            try:
                self.assertTrue(refused(port, maxv=ssl.TLSVersion.TLSv1_2),
                                srv.kind)
                t = TLSConn(port, minv=ssl.TLSVersion.TLSv1_3)
                self.assertEqual(t.sock.version(), "TLSv1.3")
                self.assertEqual(t.cmd("PING"), b"+PONG\r\n")
                t.close()
                c.cmd("CONFIG", "SET", "tls-protocols", "TLSv1.2")
                t = TLSConn(port)
                self.assertEqual(t.sock.version(), "TLSv1.2")
                t.close()
                self.assertTrue(refused(port, minv=ssl.TLSVersion.TLSv1_3))
            finally:
                self.assertEqual(c.cmd("CONFIG", "SET", "tls-protocols", ""),
                                 b"+OK\r\n")
            self.assertFalse(refused(port, maxv=ssl.TLSVersion.TLSv1_2))

    def test_big_values_and_pipelines(self):
        t = TLSConn(self.dice_tls, timeout=60)
        for size in (1, 16383, 16384, 16385, 100000, 3 * 1024 * 1024 + 7):
            v = bytes((i * 7 + size) & 0xFF for i in range(size))
            self.assertEqual(t.cmd("SET", "big:%d" % size, v), b"+OK\r\n")
            self.assertEqual(t.cmd("GET", "big:%d" % size),
                             b"$%d\r\n%s\r\n" % (size, v))
        # A pipeline in one write, values of many record sizes.
        n = 5000
        t.send(b"".join(encode("SET", "p:%d" % i, "x" * (i % 300))
                        for i in range(n)))
        for _ in range(n):
            self.assertEqual(t.read_reply(), b"+OK\r\n")
        t.send(b"".join(encode("GET", "p:%d" % i) for i in range(n)))
        for i in range(n):
            v = b"x" * (i % 300)
            self.assertEqual(t.read_reply(), b"$%d\r\n%s\r\n" % (len(v), v))
        # A command cut into pieces across records and reads.
        msg = encode("SET", "cut", "y" * 70000)
        for i in range(0, len(msg), 997):
            t.sock.sendall(msg[i:i + 997])
        self.assertEqual(t.read_reply(), b"+OK\r\n")
        self.assertEqual(t.cmd("STRLEN", "cut"), b":70000\r\n")
        t.close()

    def test_slow_reader(self):
        c = TLSConn(self.dice_tls, timeout=60)
        size = 1024 * 1024
        c.cmd("SET", "slow", "z" * size)
        n = 40
        c.send(b"".join(encode("GET", "slow") for _ in range(n)))
        time.sleep(0.5)  # the server meets a full socket: backpressure
        # Others are served meanwhile, over TLS and plain TCP.
        o = TLSConn(self.dice_tls)
        self.assertEqual(o.cmd("PING"), b"+PONG\r\n")
        o.close()
        self.assertEqual(self.dice.conn().cmd("PING"), b"+PONG\r\n")
        expect = b"$%d\r\n%s\r\n" % (size, b"z" * size)
        for _ in range(n):
            got = c.read_reply()
            self.assertEqual(len(got), len(expect))
            self.assertEqual(got, expect)
            time.sleep(0.005)
        self.assertEqual(c.cmd("PING"), b"+PONG\r\n")
        c.close()

    def test_output_limit_over_tls(self):
        s = TLSConn(self.dice_tls, timeout=30)
        p = self.dice.conn()
        p.cmd("CONFIG", "SET", "client-output-buffer-limit", "pubsub 100kb 0 0")
        try:
            s.send(encode("SUBSCRIBE", "flood"))
            self.assertTrue(s.read_reply().startswith(b"*3"))
            payload = "m" * 50000
            n = 400  # 20 MB: more than loopback socket buffers hold
            p.send(b"".join(encode("PUBLISH", "flood", payload)
                            for _ in range(n)))
            for _ in range(n):
                p.read_reply()
            time.sleep(0.3)
            self.assertIn("overcoming of output buffer limits",
                          self.dice.output())
        finally:
            p.cmd("CONFIG", "SET", "client-output-buffer-limit",
                  "pubsub 32mb 8mb 60")
            s.close()

    def test_stalled_handshake_no_busy_loop(self):
        # A TCP connection to the TLS port that sends half a ClientHello,
        # another that sends nothing: neither blocks anyone, and the server
        # does not spin while they wait.
        half = socket.create_connection(("127.0.0.1", self.dice_tls))
        half.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        idle = socket.create_connection(("127.0.0.1", self.dice_tls))
        time.sleep(0.2)
        t = TLSConn(self.dice_tls)
        self.assertEqual(t.cmd("PING"), b"+PONG\r\n")
        pid = self.dice.proc.pid
        a = proc_cpu(pid)
        time.sleep(1.0)
        used = proc_cpu(pid) - a
        self.assertLess(used, 0.3, "server CPU while handshakes stall")
        self.assertEqual(t.cmd("PING"), b"+PONG\r\n")
        clients = self.dice.conn().cmd("CLIENT", "LIST")
        self.assertGreaterEqual(clients.count(b"id="), 3)
        half.close()
        idle.close()
        t.close()

    def test_config_get_matches_redis(self):
        if not self.redis:
            self.skipTest("redis-server not installed")
        got = {}
        for srv, _ in self.servers():
            r = srv.redis()
            got[srv.kind] = {k: v for k, v in r.config_get("tls-*").items()
                             if k != "tls-port"}
            r.close()
        self.assertEqual(got["dice"], got["redis"])

    def test_config_set_reload(self):
        for srv, port in self.servers():
            c = srv.conn()
            # A missing file: refused, the settings rolled back, service on.
            bad = c.cmd("CONFIG", "SET", "tls-cert-file", "/nonexistent.crt")
            self.assertEqual(
                bad, b"-ERR CONFIG SET failed (possibly related to argument "
                b"'tls-cert-file') - Unable to update TLS configuration. "
                b"Check server logs.\r\n", srv.kind)
            self.assertEqual(c.cmd("CONFIG", "GET", "tls-cert-file"),
                             encode("tls-cert-file", cert("server.crt")))
            self.assertFalse(refused(port))
            # A key that does not match the certificate.
            bad = c.cmd("CONFIG", "SET", "tls-key-file", cert("client.key"))
            self.assertTrue(bad.startswith(b"-ERR CONFIG SET failed"), bad)
            # Certificate and key together: one reload with both.
            ok = c.cmd("CONFIG", "SET", "tls-cert-file", cert("server2.crt"),
                       "tls-key-file", cert("server2.key"))
            self.assertEqual(ok, b"+OK\r\n", srv.kind)
            t = TLSConn(port)
            der = t.sock.getpeercert(binary_form=True)
            with open(cert("server2.crt")) as f:
                self.assertEqual(der, ssl.PEM_cert_to_DER_cert(f.read()))
            t.close()
            c.cmd("CONFIG", "SET", "tls-cert-file", cert("server.crt"),
                  "tls-key-file", cert("server.key"))
            self.assertFalse(refused(port))

    def test_tls_port_moves(self):
        c = self.dice.conn()
        new = dicetest.free_port()
        self.assertEqual(c.cmd("CONFIG", "SET", "tls-port", str(new)), b"+OK\r\n")
        try:
            self.assertFalse(refused(new))
            self.assertTrue(refused(self.dice_tls))
            self.assertEqual(c.cmd("CONFIG", "GET", "tls-port"),
                             encode("tls-port", str(new)))
        finally:
            self.assertEqual(
                c.cmd("CONFIG", "SET", "tls-port", str(self.dice_tls)),
                b"+OK\r\n")
        self.assertFalse(refused(self.dice_tls))

    def test_replies_match_redis(self):
        if not self.redis:
            self.skipTest("redis-server not installed")
        cmds = [["PING"], ["SET", "cmp:a", "1"], ["INCR", "cmp:a"],
                ["GET", "cmp:a"], ["GET", "cmp:none"],
                ["RPUSH", "cmp:l", "a", "b", "c"], ["LRANGE", "cmp:l", "0", "-1"],
                ["HSET", "cmp:h", "f", "v"], ["HGETALL", "cmp:h"],
                ["SET", "cmp:big", "q" * 200000], ["GET", "cmp:big"],
                ["NOSUCHCMD"], ["GET"], ["INCR", "cmp:l"],
                ["DEL", "cmp:a", "cmp:l", "cmp:h", "cmp:big"]]
        out = {}
        for srv, port in self.servers():
            t = TLSConn(port, timeout=30)
            # One at a time, then the same again as one pipeline.
            replies = [t.cmd(*cmd) for cmd in cmds]
            t.send(b"".join(encode(*cmd) for cmd in cmds))
            replies += [t.read_reply() for _ in cmds]
            out[srv.kind] = replies
            t.close()
        for i, (a, b) in enumerate(zip(out["dice"], out["redis"])):
            self.assertEqual(a, b, "reply %d to %r" % (i, cmds[i % len(cmds)]))


class StartupErrors(unittest.TestCase):
    def test_missing_key_refuses_to_start(self):
        port = dicetest.free_port()
        p = subprocess.run(
            [dicetest.server_path(), "--port", str(port), "--tls-port",
             str(dicetest.free_port()), "--tls-cert-file", cert("server.crt")],
            capture_output=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        out = p.stdout + p.stderr
        if b"built without OpenSSL" in out:
            self.skipTest("libdice built without TLS")
        self.assertIn(b"No tls-key-file configured!", out)
        self.assertIn(b"Failed to configure TLS", out)


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    dicetest.main(globals())
