"""INFO client_recent_max_input_buffer / client_recent_max_output_buffer
are the largest client buffers of the last few seconds, as redis-server
7.0's (CLIENTS_PEAK_MEM_USAGE_SLOTS: 8 one-second slots): a client holding
1 MB of pending input or output makes the field jump, and some seconds
after it is gone the field falls back. Beside redis-server where it is
installed."""
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

MB = 1024 * 1024


def field(srv, name):
    for line in srv.conn().cmd("INFO", "clients").split(b"\r\n"):
        if line.startswith(name.encode() + b":"):
            return int(line.split(b":")[1])
    raise KeyError(name)


def wait_for(cond, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


class ClientPeak(unittest.TestCase):
    def run_both(self, fn):
        kinds = ["dice"] + (["redis"] if dicetest.have_redis_server() else [])
        for kind in kinds:
            s = dicetest.Server(kind)
            try:
                with self.subTest(kind=kind):
                    fn(s)
            finally:
                self.assertEqual(s.stop(), 0)

    def input_case(self, s):
        name = "client_recent_max_input_buffer"
        self.assertLess(field(s, name), 64 * 1024)
        # A SET whose 2 MB value has 1 MB sent so far: pending input.
        sock = socket.create_connection(("127.0.0.1", s.port))
        sock.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % (2 * MB) +
                     b"x" * MB)
        self.assertTrue(wait_for(lambda: field(s, name) >= MB, 5))
        sock.close()
        # Gone (the close is seen by now): the peak stays for some
        # seconds, then falls back.
        time.sleep(0.5)
        self.assertGreaterEqual(field(s, name), MB)
        self.assertTrue(wait_for(lambda: field(s, name) < 64 * 1024, 15))

    def output_case(self, s):
        name = "client_recent_max_output_buffer"
        r = s.redis()
        r.set("big", b"v" * MB)
        self.assertLess(field(s, name), 64 * 1024)
        # A reader that does not read: its replies pile up in the server.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", s.port))
        sock.sendall(b"GET big\r\n" * 8)
        self.assertTrue(wait_for(lambda: field(s, name) >= MB, 5))
        sock.close()
        time.sleep(0.5)
        self.assertGreaterEqual(field(s, name), MB)
        self.assertTrue(wait_for(lambda: field(s, name) < 64 * 1024, 15))
        r.close()

    def test_input(self):
        self.run_both(self.input_case)

    def test_output(self):
        self.run_both(self.output_case)


if __name__ == "__main__":
    dicetest.main(globals())
