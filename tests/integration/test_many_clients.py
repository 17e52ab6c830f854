"""The origin's promise: one dice-server answers 19,500 concurrent clients
from one epoll loop (the fd limit here is 20,000 per process). Open them
all, PING on every one, get every PONG, close them, and check the server
still answers a new client."""
import os
import resource
import selectors
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

N = int(os.environ.get("DICE_MANY_CLIENTS", "19500"))


class ManyClients(unittest.TestCase):
    def test_19500_clients(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < N + 100:
            self.skipTest("fd limit %d too low for %d clients" % (hard, N))
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        srv = dicetest.Server("dice")
        socks = []
        try:
            t0 = time.time()
            # SO_LINGER 0: close with RST so tens of thousands of client
            # ports are not left in TIME_WAIT for the next test run.
            linger = struct.pack("ii", 1, 0)
            for i in range(N):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                s.settimeout(10)
                s.connect(("127.0.0.1", srv.port))
                s.setblocking(False)
                socks.append(s)
            t1 = time.time()
            sel = selectors.DefaultSelector()
            for s in socks:
                s.send(b"*1\r\n$4\r\nPING\r\n")
                sel.register(s, selectors.EVENT_READ)
            got = {}
            deadline = time.time() + 120
            while len(got) < N and time.time() < deadline:
                for key, _ in sel.select(timeout=1):
                    s = key.fileobj
                    data = s.recv(64)
                    buf = got.get(s.fileno(), b"") + data
                    if buf == b"+PONG\r\n":
                        got[s.fileno()] = buf
                        sel.unregister(s)
                    elif not data:
                        self.fail("connection closed by server")
                    elif len(buf) >= 7:
                        self.fail("unexpected reply %r" % buf)
            t2 = time.time()
            self.assertEqual(len(got), N, "only %d of %d PONGs" % (len(got), N))
            with open("/proc/%d/status" % srv.proc.pid) as f:
                rss = [l for l in f if l.startswith("VmRSS")][0].strip()
            print("connected %d in %.2fs, PING round %.2fs, server %s"
                  % (N, t1 - t0, t2 - t1, rss))
            sel.close()
        finally:
            for s in socks:
                s.close()
        time.sleep(0.5)
        c = srv.conn()
        self.assertEqual(c.cmd("PING"), b"+PONG\r\n")
        c.close()
        self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    dicetest.main(globals())
