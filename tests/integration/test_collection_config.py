"""The collection encoding settings (issue 10) and MEMORY USAGE, each
request sent to dice-server and to redis-server 7.0 and the reply bytes
compared: CONFIG GET of every name and alias (as typed, and by patterns
that list both), CONFIG SET through either name with Redis's range and
parse errors, a 7.2-only name refused, config-file and command-line forms,
and MEMORY USAGE's argument errors. (The redis-server half is skipped when
it is not installed.)"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

HAVE_REDIS = dicetest.have_redis_server()

SETTINGS = [
    ("list-max-listpack-size", "list-max-ziplist-size"),
    ("list-compress-depth", None),
    ("hash-max-listpack-entries", "hash-max-ziplist-entries"),
    ("hash-max-listpack-value", "hash-max-ziplist-value"),
    ("set-max-intset-entries", None),
    ("zset-max-listpack-entries", "zset-max-ziplist-entries"),
    ("zset-max-listpack-value", "zset-max-ziplist-value"),
]

REQUESTS = []
for name, alias in SETTINGS:
    for n in [name, name.upper()] + ([alias, alias.upper()] if alias else []):
        REQUESTS.append(("CONFIG", "GET", n))
        for v in ("-1", "0", "7", "1k", "2kb", "x", "", "99999999999999999999",
                  "-2147483649", "2147483648", "9223372036854775807"):
            REQUESTS.append(("CONFIG", "SET", n, v))
            REQUESTS.append(("CONFIG", "GET", name))
for pat in ("*ziplist*", "*listpack*", "hash-max-*", "*intset*",
            "list-*", "zset-max-*-value"):
    REQUESTS.append(("CONFIG", "GET", pat))
REQUESTS += [
    ("CONFIG", "SET", "hash-max-ziplist-entries", "1",
     "hash-max-listpack-entries", "2"),
    ("CONFIG", "GET", "hash-max-ziplist-entries"),
    ("CONFIG", "SET", "hash-max-ziplist-entries", "1",
     "hash-max-ziplist-entries", "2"),
    ("CONFIG", "SET", "set-max-listpack-entries", "1"),
    ("CONFIG", "GET", "set-max-listpack-*"),
    ("SET", "k", "v"),
    ("MEMORY", "USAGE", "nokey"),
    ("MEMORY", "USAGE", "k", "SAMPLES", "-1"),
    ("MEMORY", "USAGE", "k", "SAMPLES", "x"),
    ("MEMORY", "USAGE", "k", "SAMPLES"),
    ("MEMORY", "USAGE", "k", "foo"),
    ("MEMORY", "USAGE"),
    ("MEMORY", "HELPX"),
]


def sorted_pairs(reply):
    """CONFIG GET with a pattern lists in table order: compare as a set of
    name/value lines."""
    lines = reply.split(b"\r\n")
    head, body = lines[0], lines[1:-1]
    # Each pair is four lines: $len, name, $len, value.
    return head, sorted(tuple(body[i:i + 4]) for i in range(0, len(body), 4))


class CollectionSettings(unittest.TestCase):
    def test_against_redis(self):
        if not HAVE_REDIS:
            self.skipTest("redis-server not installed")
        srvs = [dicetest.Server(k, []) for k in ("dice", "redis")]
        try:
            conns = [s.conn() for s in srvs]
            for req in REQUESTS:
                got = [c.cmd(*req) for c in conns]
                if req[:2] == ("CONFIG", "GET") and "*" in req[2]:
                    got = [sorted_pairs(g) for g in got]
                self.assertEqual(got[0], got[1], req)
            # MEMORY USAGE of an existing key: an integer on both.
            for c in conns:
                self.assertTrue(c.cmd("MEMORY", "USAGE", "k").startswith(b":"))
        finally:
            for s in srvs:
                self.assertEqual(s.stop(), 0)

    def test_command_line_alias(self):
        kinds = ["dice", "redis"] if HAVE_REDIS else ["dice"]
        for kind in kinds:
            srv = dicetest.Server(kind, ["--hash-max-ziplist-entries", "33",
                                         "--zset-max-listpack-value", "5"])
            try:
                c = srv.conn()
                self.assertEqual(c.cmd("CONFIG", "GET", "hash-max-listpack-entries"),
                                 b"*2\r\n$25\r\nhash-max-listpack-entries\r\n$2\r\n33\r\n",
                                 kind)
                self.assertEqual(c.cmd("CONFIG", "GET", "zset-max-ziplist-value"),
                                 b"*2\r\n$22\r\nzset-max-ziplist-value\r\n$1\r\n5\r\n",
                                 kind)
            finally:
                self.assertEqual(srv.stop(), 0, kind)


if __name__ == "__main__":
    dicetest.main(globals())
