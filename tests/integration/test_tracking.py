"""Client-side caching (lib/server/tracking.c, CLIENT TRACKING and friends in
lib/commands/connection.c).

- Scripted scenarios over several connections, replayed byte for byte
  against a real redis-server: default mode, NOLOOP, OPTIN/OPTOUT with
  CLIENT CACHING, REDIRECT to a RESP2 subscriber (the __redis__:invalidate
  channel) and to a RESP3 client, a broken redirection, BCAST with and
  without prefixes (one message per prefix per loop iteration, keys in
  order), FLUSHALL/FLUSHDB's null, expiry, MULTI/EXEC, every error text,
  CLIENT TRACKINGINFO / GETREDIR and the CLIENT LIST fields.
- tracking-table-max-keys: keys evicted from the table are invalidated.
- python3-redis (RESP3 when it has it) receives invalidation pushes."""
import os
import re
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402
from dicetest import encode  # noqa: E402

# A scenario is a list of steps:
#   (who, [command...])  send it, record its reply; "{ID:x}" in an argument
#                        is replaced by connection x's CLIENT ID;
#   ("read", who)        record one more reply (a push) of who's;
#   ("sleep", s)         wait;
#   ("close", who)       close who's connection.
# At the end every connection's unread bytes are recorded too.
R, S, X = "read", "sleep", "close"

SCENARIOS = {
    "default_mode": [
        ("a", ["HELLO", "3"]), ("a", ["CLIENT", "TRACKING", "on"]),
        ("a", ["GET", "k"]), ("b", ["SET", "k", "1"]), (R, "a"),
        ("b", ["SET", "k", "2"]),  # told once per read
        ("a", ["MGET", "k", "j", "k"]), ("b", ["DEL", "j"]),
        ("b", ["MSET", "j", "1", "k", "2"]), (R, "a"), (R, "a"),
        ("a", ["GET", "k"]), ("a", ["SET", "k", "3"]), (R, "a"),
        ("a", ["GET", "k"]), ("a", ["INCR", "k"]), (R, "a"),
        ("a", ["STRLEN", "k"]), ("b", ["EXPIRE", "k", "100"]), (R, "a"),
        ("a", ["EXISTS", "k"]), ("b", ["RENAME", "k", "k2"]), (R, "a"),
        ("a", ["GET", "k2"]), ("b", ["SELECT", "1"]),
        ("b", ["SET", "k2", "x"]), (R, "a"),  # one table for every db
        ("a", ["CLIENT", "TRACKING", "off"]), ("a", ["GET", "z"]),
        ("b", ["SET", "z", "1"]),
    ],
    "collections": [
        ("a", ["HELLO", "3"]), ("a", ["CLIENT", "TRACKING", "on"]),
        ("a", ["LRANGE", "l", "0", "-1"]), ("a", ["HGET", "h", "f"]),
        ("a", ["SMEMBERS", "s"]), ("a", ["ZSCORE", "z", "m"]),
        ("b", ["RPUSH", "l", "x"]), (R, "a"), ("b", ["HSET", "h", "f", "v"]),
        (R, "a"), ("b", ["SADD", "s", "m"]), (R, "a"),
        ("b", ["ZADD", "z", "1", "m"]), (R, "a"),
        ("a", ["TYPE", "l"]), ("a", ["LLEN", "l"]), ("b", ["LPOP", "l"]),
        (R, "a"),
    ],
    "noloop": [
        ("a", ["HELLO", "3"]),
        ("a", ["CLIENT", "TRACKING", "on", "NOLOOP"]), ("a", ["GET", "k"]),
        ("a", ["SET", "k", "1"]), ("a", ["GET", "k"]),
        ("b", ["SET", "k", "2"]), (R, "a"),
    ],
    "optin_optout": [
        ("a", ["HELLO", "3"]), ("a", ["CLIENT", "TRACKING", "on", "OPTIN"]),
        ("a", ["GET", "k"]), ("b", ["SET", "k", "1"]),
        ("a", ["CLIENT", "CACHING", "yes"]), ("a", ["CLIENT", "ID"]),
        ("a", ["GET", "k"]), ("a", ["GET", "j"]), ("b", ["SET", "j", "1"]),
        ("b", ["SET", "k", "2"]), (R, "a"),
        ("a", ["CLIENT", "CACHING", "yes"]), ("a", ["MULTI"]),
        ("a", ["GET", "m"]), ("a", ["GET", "n"]), ("a", ["EXEC"]),
        ("b", ["MSET", "m", "1", "n", "1"]), (R, "a"), (R, "a"),
        ("a", ["CLIENT", "TRACKING", "on", "OPTOUT"]),
        ("a", ["CLIENT", "TRACKING", "off"]),
        ("a", ["CLIENT", "TRACKING", "on", "OPTOUT"]),
        ("a", ["CLIENT", "CACHING", "no"]), ("a", ["GET", "k"]),
        ("a", ["GET", "j"]), ("b", ["SET", "k", "3"]),
        ("b", ["SET", "j", "3"]), (R, "a"),
        ("a", ["CLIENT", "TRACKINGINFO"]),
        ("a", ["CLIENT", "CACHING", "no"]), ("a", ["CLIENT", "TRACKINGINFO"]),
    ],
    "redirect_resp2_subscriber": [
        ("c", ["CLIENT", "ID"]),
        ("c", ["SUBSCRIBE", "__redis__:invalidate"]),
        ("a", ["CLIENT", "TRACKING", "on", "REDIRECT", "{ID:c}"]),
        ("a", ["CLIENT", "GETREDIR"]), ("a", ["GET", "k"]),
        ("b", ["SET", "k", "1"]), (R, "c"), ("a", ["GET", "k"]),
        ("a", ["SET", "k", "2"]), (R, "c"),
        ("b", ["FLUSHALL"]), (R, "c"), ("a", ["FLUSHDB"]), (R, "c"),
        ("a", ["CLIENT", "TRACKINGINFO"]),
    ],
    "redirect_resp2_not_subscribed": [
        ("c", ["CLIENT", "ID"]),
        ("a", ["CLIENT", "TRACKING", "on", "REDIRECT", "{ID:c}"]),
        ("a", ["GET", "k"]), ("b", ["SET", "k", "1"]), ("c", ["PING"]),
    ],
    "redirect_resp3_and_broken": [
        ("c", ["HELLO", "3"]), ("d", ["CLIENT", "ID"]),
        ("a", ["HELLO", "3"]),
        ("a", ["CLIENT", "TRACKING", "on", "REDIRECT", "{ID:c}"]),
        ("a", ["GET", "k"]), ("b", ["SET", "k", "1"]), (R, "c"),
        ("a", ["CLIENT", "TRACKING", "on", "REDIRECT", "{ID:d}"]),
        ("a", ["GET", "k"]), (X, "d"), (S, 0.1), ("b", ["SET", "k", "2"]),
        (R, "a"), ("a", ["CLIENT", "TRACKINGINFO"]),
        ("a", ["CLIENT", "GETREDIR"]),
    ],
    "bcast": [
        ("a", ["HELLO", "3"]),
        ("a", ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:",
               "PREFIX", "obj:"]),
        ("b", ["MSET", "user:2", "a", "obj:9", "b", "other", "c",
               "user:1", "d"]), (R, "a"), (R, "a"),
        ("b", ["SET", "user:1", "x"]), (R, "a"),
        ("a", ["SET", "obj:1", "y"]), (R, "a"),
        ("a", ["CLIENT", "TRACKINGINFO"]),
        ("a", ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "usr"]),
        ("a", ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:x"]),
        ("a", ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "abc"]),
        ("a", ["CLIENT", "TRACKINGINFO"]),
        ("a", ["CLIENT", "TRACKING", "off"]),
        ("a", ["CLIENT", "TRACKING", "on", "BCAST"]),
        ("b", ["SET", "anything", "1"]), (R, "a"),
        ("b", ["DEL", "anything"]), (R, "a"),
        ("b", ["FLUSHALL"]), (R, "a"),
        ("a", ["CLIENT", "TRACKINGINFO"]),
    ],
    "bcast_noloop": [
        ("a", ["HELLO", "3"]),
        ("a", ["CLIENT", "TRACKING", "on", "BCAST", "NOLOOP"]),
        ("a", ["SET", "mine", "1"]), ("b", ["SET", "theirs", "1"]),
        (R, "a"), ("a", ["MSET", "p", "1", "q", "2"]),
        ("a", ["CLIENT", "TRACKINGINFO"]),
    ],
    "flush_null": [
        ("a", ["HELLO", "3"]), ("a", ["CLIENT", "TRACKING", "on"]),
        ("b", ["FLUSHALL"]), (R, "a"), ("a", ["FLUSHDB"]), (R, "a"),
        ("a", ["FLUSHALL", "ASYNC"]), (R, "a"),
    ],
    "expiry": [
        ("a", ["HELLO", "3"]), ("a", ["CLIENT", "TRACKING", "on"]),
        ("b", ["SET", "k", "v", "PX", "100"]), ("a", ["GET", "k"]),
        (S, 0.3), ("b", ["GET", "k"]), (R, "a"),
    ],
    "multi_own_writes": [
        ("a", ["HELLO", "3"]), ("a", ["CLIENT", "TRACKING", "on"]),
        ("a", ["GET", "k"]), ("a", ["GET", "j"]), ("a", ["MULTI"]),
        ("a", ["SET", "k", "1"]), ("a", ["SET", "j", "1"]), ("a", ["EXEC"]),
        (R, "a"), (R, "a"),
    ],
    "errors": [
        ("a", ["CLIENT", "TRACKING", "on", "PREFIX", "x"]),
        ("a", ["CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"]),
        ("a", ["CLIENT", "TRACKING", "on", "BCAST", "OPTIN"]),
        ("a", ["CLIENT", "TRACKING", "on", "BCAST", "OPTOUT"]),
        ("a", ["CLIENT", "TRACKING", "on", "REDIRECT", "999999"]),
        ("a", ["CLIENT", "TRACKING", "on", "REDIRECT", "0"]),
        ("a", ["CLIENT", "TRACKING", "on", "REDIRECT", "x"]),
        ("a", ["CLIENT", "TRACKING", "on", "REDIRECT", "{ID:b}",
               "REDIRECT", "{ID:b}"]),
        ("a", ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "ab",
               "PREFIX", "abc"]),
        ("a", ["CLIENT", "TRACKING", "on", "FOO"]),
        ("a", ["CLIENT", "TRACKING", "maybe"]),
        ("a", ["CLIENT", "TRACKING", "on", "PREFIX"]),
        ("a", ["CLIENT", "TRACKING"]),
        ("a", ["CLIENT", "CACHING", "yes"]),
        ("a", ["CLIENT", "TRACKING", "on"]),
        ("a", ["CLIENT", "CACHING", "yes"]),
        ("a", ["CLIENT", "CACHING", "no"]),
        ("a", ["CLIENT", "CACHING", "maybe"]),
        ("a", ["CLIENT", "CACHING"]),
        ("a", ["CLIENT", "TRACKING", "on", "BCAST"]),
        ("a", ["CLIENT", "TRACKING", "on", "OPTIN"]),
        ("a", ["CLIENT", "TRACKING", "off"]),
        ("a", ["CLIENT", "TRACKING", "on", "OPTOUT"]),
        ("a", ["CLIENT", "TRACKING", "on", "OPTIN"]),
        ("a", ["CLIENT", "GETREDIR", "x"]),
        ("a", ["CLIENT", "TRACKINGINFO", "x"]),
        ("a", ["CLIENT", "TRACKING", "off"]),
        ("a", ["CLIENT", "GETREDIR"]), ("a", ["CLIENT", "TRACKINGINFO"]),
        ("a", ["CLIENT", "TRACKING", "off"]),
    ],
    "reset": [
        ("a", ["HELLO", "3"]),
        ("a", ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x"]),
        ("a", ["RESET"]), ("a", ["CLIENT", "TRACKINGINFO"]),
        ("b", ["SET", "x1", "1"]), ("a", ["PING"]),
    ],
}


def run_scenario(port, steps):
    conns = {}
    ids = {}

    def conn(who):
        if who not in conns:
            conns[who] = dicetest.Conn(port, timeout=3.0)
            ids[who] = conns[who].cmd("CLIENT", "ID")[1:-2].decode()
        return conns[who]
    for who in ("a", "b", "c", "d"):
        conn(who)
    conns["b"].cmd("FLUSHALL")
    out = []
    for step in steps:
        kind, arg = step
        if kind == S:
            time.sleep(arg)
        elif kind == X:
            conns.pop(arg).close()
        elif kind == R:
            try:
                out.append((R, arg, conns[arg].read_reply()))
            except socket.timeout:
                out.append((R, arg, b"<timeout>"))
        else:
            args = [re.sub(r"\{ID:(\w)\}", lambda m: ids[m.group(1)], a)
                    for a in arg]
            out.append((kind, arg, conns[kind].cmd(*args)))
    for who, c in sorted(conns.items()):
        c.sock.settimeout(0.1)
        rest = c.buf
        try:
            while True:
                d = c.sock.recv(65536)
                if not d:
                    break
                rest += d
        except (socket.timeout, ConnectionError):
            pass
        out.append(("rest", who, rest))
        c.close()
    # Ids differ between servers: mask them where replies carry them.
    masked = []
    for a, b, r in out:
        for who, i in ids.items():
            r = re.sub(rb"(:|id=|redir=)%s\b" % i.encode(),
                       rb"\1<id:%s>" % who.encode(), r)
        masked.append((a, b, r))
    return masked


class Tracking(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dice = dicetest.Server("dice")
        cls.redis = (dicetest.Server("redis") if dicetest.have_redis_server()
                     else None)

    @classmethod
    def tearDownClass(cls):
        assert cls.dice.stop() == 0
        if cls.redis:
            cls.redis.stop()

    def need_redis(self):
        if not self.redis:
            self.skipTest("redis-server not installed")

    def test_scenarios_against_redis(self):
        self.need_redis()
        for name, steps in SCENARIOS.items():
            with self.subTest(name=name):
                got = run_scenario(self.dice.port, steps)
                want = run_scenario(self.redis.port, steps)
                diff = [(g, w) for g, w in zip(got, want) if g != w]
                self.assertEqual(len(got), len(want))
                self.assertEqual(diff[:3], [])

    def test_known_bytes(self):
        a, b = self.dice.conn(), self.dice.conn()
        a.cmd("HELLO", "3")
        self.assertEqual(a.cmd("CLIENT", "TRACKING", "on"), b"+OK\r\n")
        a.cmd("GET", "kb")
        b.cmd("SET", "kb", "1")
        self.assertEqual(a.read_reply(),
                         b">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nkb\r\n")
        b.cmd("FLUSHALL")
        self.assertEqual(a.read_reply(), b">2\r\n$10\r\ninvalidate\r\n_\r\n")
        a.close()
        b.close()

    def test_client_list_fields(self):
        self.need_redis()

        def fields(port):
            a, b, c = (dicetest.Conn(port) for _ in range(3))
            cid = c.cmd("CLIENT", "ID")[1:-2].decode()
            aid = a.cmd("CLIENT", "ID")[1:-2].decode()
            out = []

            def look():
                raw = b.cmd("CLIENT", "LIST", "ID", aid)
                raw = raw.replace(b"redir=%s " % cid.encode(), b"redir=C ")
                out.append(re.findall(rb"flags=\S+|redir=\S+", raw))
            look()
            a.cmd("CLIENT", "TRACKING", "on", "REDIRECT", cid)
            look()
            c.close()
            a.cmd("GET", "k")
            time.sleep(0.1)
            b.cmd("SET", "k", "1")
            look()
            a.cmd("CLIENT", "TRACKING", "off")
            a.cmd("CLIENT", "TRACKING", "on", "BCAST")
            look()
            a.cmd("CLIENT", "NO-EVICT", "on")
            look()
            a.cmd("CLIENT", "TRACKING", "off")
            look()
            a.close()
            b.close()
            return out
        self.assertEqual(fields(self.dice.port), fields(self.redis.port))

    def test_table_max_keys(self):
        srv = dicetest.Server("dice")
        try:
            a, b = srv.conn(), srv.conn()
            b.cmd("CONFIG", "SET", "tracking-table-max-keys", "2")
            a.cmd("HELLO", "3")
            a.cmd("CLIENT", "TRACKING", "on")
            a.cmd("MGET", "k1", "k2", "k3")
            # One of the three is evicted from the table, and said so.
            push = a.read_reply()
            m = re.match(rb">2\r\n\$10\r\ninvalidate\r\n\*1\r\n\$2\r\n(k\d)"
                         rb"\r\n$", push)
            self.assertTrue(m, push)
            gone = m.group(1).decode()
            info = b.cmd("INFO", "stats")
            self.assertIn(b"tracking_total_keys:2\r\n", info)
            # The evicted key is no longer tracked; the others are.
            b.cmd("SET", gone, "x")
            kept = sorted({"k1", "k2", "k3"} - {gone})
            b.cmd("SET", kept[0], "x")
            self.assertEqual(a.read_reply(), b">2\r\n$10\r\ninvalidate\r\n*1"
                             b"\r\n$2\r\n" + kept[0].encode() + b"\r\n")
            # Lowering the limit evicts at once (CONFIG SET) down to it.
            b.cmd("CONFIG", "SET", "tracking-table-max-keys", "0")
            a.cmd("MGET", "a1", "a2", "a3", "a4")
            b.cmd("CONFIG", "SET", "tracking-table-max-keys", "1")
            got = [a.read_reply() for _ in range(4)]
            self.assertTrue(all(g.startswith(b">2\r\n$10\r\ninvalidate")
                                for g in got), got)
            info = b.cmd("INFO", "stats")
            self.assertIn(b"tracking_total_keys:1\r\n", info)
            clients = b.cmd("INFO", "clients")
            self.assertIn(b"tracking_clients:1\r\n", clients)
            a.close()
            b.close()
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_python_redis_client(self):
        # Debian's redis-py (4.3) speaks RESP2 only: the RESP2 way, a
        # subscriber on __redis__:invalidate that a tracking connection
        # redirects to.
        import redis
        r = self.dice.redis()
        p = r.pubsub()
        p.subscribe("__redis__:invalidate")
        self.assertEqual(p.get_message(timeout=2)["type"], "subscribe")
        sid = [c["id"] for c in r.client_list() if c["sub"] == "1"][0]
        pool = redis.ConnectionPool(host="127.0.0.1", port=self.dice.port,
                                    max_connections=1)
        cl = redis.Redis(connection_pool=pool)
        self.assertTrue(cl.execute_command("CLIENT", "TRACKING", "on",
                                           "REDIRECT", sid))
        self.assertEqual(cl.execute_command("CLIENT", "GETREDIR"), int(sid))
        cl.get("pk")
        r.set("pk", "1")
        msg = None
        deadline = time.time() + 3
        while time.time() < deadline and msg is None:
            msg = p.get_message(timeout=0.5)
        self.assertIsNotNone(msg)
        self.assertEqual(msg["channel"], b"__redis__:invalidate")
        self.assertEqual(msg["data"], [b"pk"])
        r.flushall()
        msg = None
        deadline = time.time() + 3
        while time.time() < deadline and msg is None:
            msg = p.get_message(timeout=0.5)
        self.assertEqual(msg["data"], None)
        p.close()
        pool.disconnect()


if __name__ == "__main__":
    dicetest.main(globals())
