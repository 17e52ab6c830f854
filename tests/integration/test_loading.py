"""Serving clients while the dataset loads at start (issue 13): the server
listens before it loads, and every 2 MB of the file it serves the events
that came meanwhile, answering -LOADING to commands without the loading
flag, while INFO persistence shows loading:1 and the loading_* fields with
real progress; afterwards the data is there. For an RDB file, an AOF with
an RDB preamble and a plain AOF; beside redis-server on the same dump where
it is installed."""
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

HAVE_REDIS = dicetest.have_redis_server()
LOADING = b"-LOADING Redis is loading the dataset in memory\r\n"
FIELDS = ["loading_start_time", "loading_total_bytes", "loading_rdb_used_mem",
          "loading_loaded_bytes", "loading_loaded_perc",
          "loading_eta_seconds"]


def info_fields(reply):
    out = {}
    for line in reply.split(b"\r\n"):
        if b":" in line and not line.startswith(b"$"):
            k, v = line.split(b":", 1)
            out[k.decode()] = v.decode()
    return out


def probe(srv):
    """Talk to srv while it loads: GET, INFO persistence, PING, ECHO, until
    loading:0. Returns what was seen."""
    c = srv.conn(timeout=60)
    seen = {"get": [], "ping": [], "echo": [], "loaded": [], "infos": 0,
            "fields": None}
    # The four go in one write: the server answers them at one of its
    # progress points, so a client slowed by a loaded machine still sees
    # most points (one command a round trip would need four).
    batch = (dicetest.encode("GET", "key:1") +
             dicetest.encode("INFO", "persistence") +
             dicetest.encode("PING") + dicetest.encode("ECHO", "hi"))
    while True:
        c.send(batch)
        get, info, ping, echo = [c.read_reply() for _ in range(4)]
        seen["get"].append(get)
        info = info_fields(info)
        if info.get("loading") != "1":
            break
        seen["infos"] += 1
        seen["fields"] = [k for k in info if k.startswith("loading_")]
        seen["loaded"].append((int(info["loading_loaded_bytes"]),
                               int(info["loading_total_bytes"]),
                               float(info["loading_loaded_perc"])))
        seen["ping"].append(ping)
        seen["echo"].append(echo)
    seen["after"] = c.cmd("GET", "key:1")
    seen["dbsize"] = c.cmd("DBSIZE")
    c.close()
    return seen


class Loading(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="loadtest-")
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, kind, d, *args, **kw):
        s = dicetest.Server(kind, args=["--dir", d, "--enable-debug-command",
                                        "yes"] + list(args), **kw)
        self.servers.append(s)
        return s

    def stop(self, s):
        self.servers.remove(s)
        self.assertEqual(s.stop(), 0)

    def check(self, seen, n):
        # Commands without the loading flag were refused while it loaded,
        # with Redis's text; INFO, ECHO ran.
        self.assertGreaterEqual(seen["infos"], 2, seen)
        self.assertEqual(seen["get"][0], LOADING)
        # (the last of each may come after the load ended)
        for r in seen["get"][:-1] + seen["ping"][:-1]:
            self.assertEqual(r, LOADING)
        self.assertIn(seen["get"][-1], (LOADING, b"$7\r\nvalue:1\r\n"))
        self.assertIn(seen["ping"][-1], (LOADING, b"+PONG\r\n"))
        for r in seen["echo"]:
            self.assertEqual(r, b"$2\r\nhi\r\n")
        self.assertEqual(seen["fields"], FIELDS)
        loaded = [x[0] for x in seen["loaded"]]
        self.assertEqual(loaded, sorted(loaded))
        self.assertGreater(loaded[-1], loaded[0])
        for done, total, perc in seen["loaded"]:
            self.assertGreater(total, 0)
            self.assertLessEqual(done, total)
            self.assertAlmostEqual(perc, done * 100.0 / total, delta=0.01)
        self.assertEqual(seen["after"], b"$7\r\nvalue:1\r\n")
        self.assertEqual(seen["dbsize"], b":%d\r\n" % n)

    def test_rdb(self):
        n = 1000000
        d = os.path.join(self.tmp, "rdb")
        os.mkdir(d)
        s = self.start("dice", d)
        r = s.redis()
        r.execute_command("DEBUG", "POPULATE", n)
        r.save()
        self.stop(s)
        size = os.path.getsize(os.path.join(d, "dump.rdb"))
        s = self.start("dice", d)
        seen = probe(s)
        self.check(seen, n)
        self.assertEqual(seen["loaded"][0][1], size)
        stats = info_fields(s.conn().cmd("INFO", "errorstats"))
        self.assertEqual(int(stats["errorstat_LOADING"].split("=")[1]),
                         (seen["get"] + seen["ping"]).count(LOADING))
        if not HAVE_REDIS:
            return
        # The same file through redis-server: the same replies.
        rs = self.start("redis", d)
        rseen = probe(rs)
        self.check(rseen, n)
        self.assertEqual(rseen["loaded"][0][1], size)

    def aof(self, preamble):
        n = 600000
        d = os.path.join(self.tmp, "aof-" + preamble)
        os.mkdir(d)
        args = ["--appendonly", "yes", "--aof-use-rdb-preamble", preamble]
        s = self.start("dice", d, *args)
        r = s.redis()
        r.execute_command("DEBUG", "POPULATE", n)
        r.bgrewriteaof()
        end = time.time() + 60
        while r.info("persistence")["aof_rewrite_in_progress"] or \
                r.info("persistence")["aof_rewrites"] < 1:
            self.assertLess(time.time(), end)
            time.sleep(0.05)
        r.set("after-rewrite", "x")  # one command in the incr file
        self.stop(s)
        s = self.start("dice", d, *args)
        seen = probe(s)
        self.check(seen, n + 1)
        self.assertEqual(s.redis().get("after-rewrite"), b"x")

    def test_aof_preamble(self):
        self.aof("yes")

    def test_aof_plain(self):
        self.aof("no")


if __name__ == "__main__":
    dicetest.main(globals())
