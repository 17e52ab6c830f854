"""maxmemory (lib/server/evict.c) on the real servers: noeviction's -OOM
and OBJECT FREQ / IDLETIME replies byte for byte against redis-server, the
"evicted" keyspace event, volatile-* sparing keys without a TTL, LRU
keeping a touched set, and the limit holding under redis-benchmark load.
(Per-policy classes, LFU math and DEL propagation: tests/unit/test_evict.c.)"""
import os
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402


def info(r, section):
    return r.info(section)


class Eviction(unittest.TestCase):
    def setUp(self):
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop()

    def start(self, kind, *args):
        s = dicetest.Server(kind, args=args)
        self.servers.append(s)
        return s

    def both(self, *args):
        out = [self.start("dice", *args)]
        if dicetest.have_redis_server():
            out.append(self.start("redis", *args))
        return out

    def test_oom_and_object_replies_match_redis(self):
        script = [
            ["SET", "k", "v"], ["OBJECT", "FREQ", "k"],
            ["OBJECT", "IDLETIME", "k"],
            ["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"],
            ["OBJECT", "FREQ", "k"], ["OBJECT", "IDLETIME", "k"],
            ["OBJECT", "FREQ", "nokey"],
            ["CONFIG", "SET", "maxmemory-policy", "noeviction"],
            ["CONFIG", "SET", "maxmemory", "1"],
            ["SET", "x", "1"], ["GET", "k"], ["MULTI"], ["SET", "a", "b"],
            ["GET", "a"], ["EXEC"],
            ["EVAL", "return redis.call('set','x','y')", "0"],
            ["EVAL", "#!lua\nreturn redis.call('set','x','y')", "0"],
            ["EVAL", "#!lua flags=allow-oom\nreturn redis.call('set','x','y')",
             "0"],
            ["CONFIG", "SET", "maxmemory", "0"],
            ["CONFIG", "GET", "maxmemory"],
            ["CONFIG", "GET", "maxmemory-policy"],
            ["CONFIG", "GET", "maxmemory-samples"],
            ["CONFIG", "GET", "maxmemory-eviction-tenacity"],
            ["CONFIG", "GET", "lfu-log-factor"],
            ["CONFIG", "GET", "lfu-decay-time"],
            ["CONFIG", "SET", "maxmemory", "10mb"],
            ["CONFIG", "GET", "maxmemory"],
            ["CONFIG", "SET", "maxmemory-samples", "65"],
            ["CONFIG", "SET", "maxmemory-policy", "lru"],
        ]
        replies = []
        for s in self.both():
            c = s.conn()
            replies.append([c.cmd(*a) for a in script])
        self.assertEqual(
            replies[0][9],
            b"-OOM command not allowed when used memory > 'maxmemory'.\r\n")
        if len(replies) == 2:
            self.assertEqual(replies[0], replies[1])

    def test_evicted_event_and_counters(self):
        for s in self.both("--notify-keyspace-events", "KEe"):
            r = s.redis()
            p = r.pubsub()
            p.psubscribe("__key*__:*")
            p.get_message(timeout=1)
            r.config_set("maxmemory-policy", "allkeys-random")
            for i in range(200):
                r.set("key:%d" % i, "x" * 1000)
            used = int(info(r, "memory")["used_memory"])
            r.config_set("maxmemory", used - 100000)
            r.set("trigger", "1")
            got = set()
            deadline = time.time() + 3
            while time.time() < deadline:
                m = p.get_message(timeout=0.2)
                if m and m["type"] == "pmessage":
                    got.add(m["channel"].decode())
                if len(got) >= 2:
                    break
            self.assertIn("__keyevent@0__:evicted", got, s.kind)
            self.assertTrue(any(c.startswith("__keyspace@0__:key:")
                                for c in got), s.kind)
            st = info(r, "stats")
            self.assertGreater(st["evicted_keys"], 50, s.kind)
            mem = info(r, "memory")
            self.assertEqual(mem["maxmemory_policy"], "allkeys-random")
            self.assertEqual(mem["maxmemory"], used - 100000)

    def test_volatile_spares_persistent_keys(self):
        for s in self.both():
            r = s.redis()
            r.config_set("maxmemory-policy", "volatile-lru")
            for i in range(300):
                r.set("p:%d" % i, "x" * 1000)
            for i in range(300):
                r.set("t:%d" % i, "x" * 1000, ex=1000)
            used = int(info(r, "memory")["used_memory"])
            r.config_set("maxmemory", used - 150000)
            r.set("t:new", "1", ex=1000)
            self.assertEqual(sum(r.exists("p:%d" % i) for i in range(300)),
                             300, s.kind)
            self.assertLess(sum(r.exists("t:%d" % i) for i in range(300)),
                            300, s.kind)
            # Only persistent keys left over the limit: OOM.
            r.config_set("maxmemory", 1)
            with self.assertRaises(Exception) as cm:
                r.set("x", "1")
            self.assertIn("OOM", str(cm.exception))
            self.assertEqual(r.get("p:0"), b"x" * 1000)

    def test_lru_keeps_touched_set(self):
        s = self.start("dice")
        r = s.redis()
        r.config_set("maxmemory-policy", "allkeys-lru")
        for i in range(2000):
            r.set("k:%d" % i, "x" * 500)
        time.sleep(2.1)  # untouched keys grow 2 s idle
        for i in range(1000, 2000):
            r.get("k:%d" % i)
        used = int(info(r, "memory")["used_memory"])
        r.config_set("maxmemory", used - 400000)
        r.set("trigger", "1")
        old = sum(r.exists("k:%d" % i) for i in range(1000))
        new = sum(r.exists("k:%d" % i) for i in range(1000, 2000))
        self.assertLess(old, 1000)
        self.assertGreater(new, 950)
        self.assertGreater(new - old, 300)

    @unittest.skipUnless(shutil.which("redis-benchmark"), "no redis-benchmark")
    def test_limit_holds_under_load(self):
        limit = 20 * 1024 * 1024
        for s in self.both():
            r = s.redis()
            r.config_set("maxmemory-policy", "allkeys-lru")
            r.config_set("maxmemory", limit)
            subprocess.run(
                ["redis-benchmark", "-p", str(s.port), "-t", "set", "-n",
                 "300000", "-r", "10000000", "-d", "100", "-P", "16", "-c",
                 "20", "-q"], check=True, stdout=subprocess.DEVNULL,
                timeout=120)
            mem = info(r, "memory")
            self.assertLess(mem["used_memory"], limit * 1.05, s.kind)
            self.assertGreater(info(r, "stats")["evicted_keys"], 0, s.kind)


if __name__ == "__main__":
    dicetest.main(globals())
