"""Shared harness for the integration tests: start the real dice-server
(and, when installed, the real redis-server) on free loopback ports, talk
to them with raw sockets or python3-redis, stop them at the end.

Run under Debian's /usr/bin/python3, which sees python3-redis."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77  # ctest's SKIP_RETURN_CODE


def server_path():
    p = os.environ.get("DICE_SERVER")
    if p:
        return os.path.abspath(p)
    build = os.environ.get("DICE_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
    return os.path.join(build, "examples", "dice-server")


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, timeout=10.0, host="127.0.0.1"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited early with %s" % proc.returncode)
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("server did not listen on %d" % port)


def wait_unix(path, proc, timeout=10.0):
    """Until the unix socket at path accepts a connection (a server
    listens on TCP first: wait_port returns before this one is up)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited early with %s" % proc.returncode)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(0.5)
            s.connect(path)
            return
        except OSError:
            time.sleep(0.02)
        finally:
            s.close()
    raise RuntimeError("server did not listen on %s" % path)


def wait_loaded(port, proc, timeout=120.0):
    """Until INFO persistence says loading:0 (a server that refuses INFO,
    e.g. with requirepass, is taken as loaded)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return
        try:
            c = Conn(port, timeout=timeout)
            r = c.cmd("INFO", "persistence")
            c.close()
        except (OSError, EOFError):
            return  # closed by the server (e.g. maxclients): not ours to judge
        if not isinstance(r, bytes) or b"loading:1" not in r:
            return
        time.sleep(0.02)
    raise RuntimeError("server still loading after %.0f s" % timeout)


class Server:
    """A running server process. kind is 'dice' or 'redis'."""

    def __init__(self, kind="dice", args=(), port=None, preexec_fn=None,
                 conf=None, wait_load=False):
        """conf: a config file path, given first (before the options).
        wait_load: return once the dataset is loaded (both servers listen
        while they load and answer -LOADING meanwhile), not at the first
        connection (off by default: it costs a connection and an INFO,
        which the stats show, and files of a test's size load before the
        first client is served anyway)."""
        self.kind = kind
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="dicetest-")
        self.log = open(os.path.join(self.dir, "server.log"), "w+")
        first = [conf] if conf else []
        if kind == "dice":
            # No save points unless a test asks (as for redis-server below):
            # a stop by SIGTERM would otherwise write dump.rdb.
            cmd = [server_path()] + first + [
                "--port", str(self.port), "--save", ""] + list(args)
        else:
            cmd = ["redis-server"] + first + [
                "--port", str(self.port), "--save", "",
                "--appendonly", "no", "--dir", self.dir] + list(args)
        # preexec_fn runs in the child before exec (e.g. to lower its
        # open-file limit with resource.setrlimit).
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=self.dir, preexec_fn=preexec_fn)
        wait_port(self.port, self.proc)
        if wait_load:
            wait_loaded(self.port, self.proc)

    def stop(self):
        """SIGTERM, wait, return the exit code (None if it had to be killed)."""
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = None
        if rc != 0:
            # Show why: sanitizer reports and fatal errors land in the log.
            sys.stderr.write("--- %s-server exited %r; its log:\n%s\n"
                             % (self.kind, rc, self.output()[-6000:]))
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc

    def output(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def conn(self, timeout=10.0):
        return Conn(self.port, timeout)

    def redis(self, **kw):
        import redis  # python3-redis
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)


def have_redis_server():
    return shutil.which("redis-server") is not None


class BothServers(unittest.TestCase):
    """Tests comparing the two servers side by side: one dice-server
    (cls.dice) and one redis-server (cls.redis) for the whole class,
    which is skipped where redis-server is not installed."""

    @classmethod
    def setUpClass(cls):
        if not have_redis_server():
            raise unittest.SkipTest("no redis-server")
        cls.dice = Server("dice")
        cls.redis = Server("redis")

    @classmethod
    def tearDownClass(cls):
        cls.dice.stop()
        cls.redis.stop()


class Conn:
    """A raw RESP connection: send bytes, read exactly one reply's bytes."""

    def __init__(self, port, timeout=10.0, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        d = self.sock.recv(1 << 16)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n")
        line, self.buf = self.buf[: i + 2], self.buf[i + 2:]
        return line

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_reply(self):
        """Raw bytes of one complete RESP2/RESP3 reply."""
        line = self._line()
        t = line[:1]
        if t in (b"+", b"-", b":", b",", b"#", b"_", b"("):
            return line
        if t in (b"$", b"!", b"="):
            n = int(line[1:-2])
            if n < 0:
                return line
            return line + self._take(n + 2)
        if t in (b"*", b"~", b">", b"%", b"|"):
            n = int(line[1:-2])
            if n < 0:
                return line
            if t in (b"%", b"|"):
                n *= 2
            out = line
            for _ in range(n):
                out += self.read_reply()
            if t == b"|":  # an attribute precedes the real reply
                out += self.read_reply()
            return out
        raise ValueError("bad reply line %r" % line)

    def cmd(self, *args):
        """Send one command as a multibulk, return the raw reply bytes."""
        self.send(encode(*args))
        return self.read_reply()

    def closed_by_peer(self, timeout=2.0):
        """True if the server closes the connection within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                d = self.sock.recv(1 << 16)
                if not d:
                    return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def main(module_globals):
    """unittest entry point that exits non-zero on failure."""
    import unittest
    suite = unittest.defaultTestLoader.loadTestsFromModule(
        sys.modules[module_globals["__name__"]])
    res = unittest.TextTestRunner(verbosity=2).run(suite)
    if not res.wasSuccessful():
        sys.exit(1)
    if res.testsRun == len(res.skipped):
        sys.exit(SKIP)
