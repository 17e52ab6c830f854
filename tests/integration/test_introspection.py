"""Introspection of dice-server against redis-server 7.0: INFO section field
names (everything), commandstats/errorstats/latencystats, SLOWLOG entry
shapes and truncation texts, LATENCY reply shapes, MONITOR lines (times
masked) with redis-cli monitor, MEMORY STATS field names, CONFIG
RESETSTAT. Differential parts are skipped without redis-server."""
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

HAVE_REDIS = dicetest.have_redis_server()


def info_text(srv, *sections):
    """INFO's raw text (redis-py would parse it into a dict)."""
    c = srv.conn()
    raw = c.cmd("INFO", *sections)
    c.close()
    return raw.split(b"\r\n", 1)[1].decode()


def info_fields(srv, section):
    text = info_text(srv, section)
    sections, cur = {}, None
    for line in text.splitlines():
        if line.startswith("# "):
            cur = line[2:]
            sections[cur] = []
        elif line and ":" in line:
            sections[cur].append(line.split(":", 1)[0])
    return sections


class Both(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        args = ["--enable-debug-command", "yes"]
        cls.dice = dicetest.Server("dice", args)
        cls.redis_srv = dicetest.Server("redis", args) if HAVE_REDIS else None

    @classmethod
    def tearDownClass(cls):
        cls.dice.stop()
        if cls.redis_srv:
            cls.redis_srv.stop()

    def servers(self):
        out = [self.dice.redis()]
        if self.redis_srv:
            out.append(self.redis_srv.redis())
        return out

    def test_info_everything_fields(self):
        if not self.redis_srv:
            self.skipTest("redis-server not installed")
        got = []
        for srv in (self.dice, self.redis_srv):
            r = srv.redis()
            r.set("k", "v")
            r.execute_command("CONFIG", "SET", "slowlog-log-slower-than",
                              "10000")
            got.append(info_fields(srv, "everything"))
        d, rd = got
        self.assertEqual(list(d.keys()), list(rd.keys()))
        skip = {"Server": {"dice_version", "dice_tls"}}  # dice_* are ours
        for sec in ("Server", "Clients", "Persistence", "Stats",
                    "Replication", "CPU", "Cluster"):
            self.assertEqual([x for x in d[sec]
                              if x not in skip.get(sec, ())], rd[sec], sec)
        # Memory: every field we show is one Redis shows.
        self.assertTrue(set(d["Memory"]) <= set(rd["Memory"]),
                        set(d["Memory"]) - set(rd["Memory"]))

    def test_info_sections_args(self):
        f = info_fields(self.dice, "default")
        self.assertNotIn("Commandstats", f)
        self.assertNotIn("Latencystats", f)
        text = info_text(self.dice, "server", "clients")
        self.assertIn("# Server", text)
        self.assertIn("# Clients", text)
        self.assertNotIn("# Memory", text)
        f = info_fields(self.dice, "all")
        self.assertIn("Latencystats", f)

    def test_commandstats_errorstats(self):
        for srv in (self.dice, self.redis_srv):
            if not srv:
                continue
            r = srv.redis()
            r.execute_command("CONFIG", "RESETSTAT")
            r.set("a", "1")
            with self.assertRaises(Exception):
                r.execute_command("GET")
            with self.assertRaises(Exception):
                r.execute_command("NOSUCH")
            r.lpush("lst", "x")
            with self.assertRaises(Exception):
                r.execute_command("INCR", "lst")
            info = r.info("commandstats")
            self.assertEqual(info["cmdstat_get"]["rejected_calls"], 1)
            self.assertEqual(info["cmdstat_get"]["calls"], 0)
            self.assertEqual(info["cmdstat_incr"]["failed_calls"], 1)
            self.assertEqual(info["cmdstat_set"]["calls"], 1)
            self.assertEqual(info["cmdstat_set"]["failed_calls"], 0)
            e = info_text(srv, "errorstats")
            self.assertIn("errorstat_ERR:count=2\r\n", e)
            self.assertIn("errorstat_WRONGTYPE:count=1\r\n", e)
            lat = r.info("latencystats")
            self.assertIn("latency_percentiles_usec_set", lat)
            self.assertEqual(r.info("stats")["total_error_replies"], 3)

    def test_slowlog_shapes(self):
        shapes = []
        for r in self.servers():
            r.execute_command("CONFIG", "SET", "slowlog-log-slower-than", "0")
            r.execute_command("SLOWLOG", "RESET")
            r.client_setname("me")
            r.rpush("l", *range(40))
            r.set("big", "x" * 200)
            r.execute_command("AUTH", "a", "b") if False else None
            try:
                r.execute_command("HELLO", "3", "AUTH", "u", "p")
            except Exception:
                pass
            r.execute_command("CONFIG", "SET", "slowlog-log-slower-than",
                              "10000")
            raw = r.execute_command("SLOWLOG", "GET", "4")
            # newest first: hello, set big, rpush, client setname
            ent = [(e[3] if isinstance(e, list) else e["command"])
                   for e in raw]
            shapes.append([[a.decode() if isinstance(a, bytes) else a
                            for a in x] for x in ent])
            self.assertEqual(len(raw[0]), 6)
            self.assertEqual(raw[0][5], b"me")
            self.assertIsInstance(r.execute_command("SLOWLOG", "LEN"), int)
            with self.assertRaises(Exception) as cm:
                r.execute_command("SLOWLOG", "GET", "-2")
            self.assertIn("count should be greater than or equal to -1",
                          str(cm.exception))
        d = shapes[0]
        self.assertEqual(d[1][2], "x" * 128 + "... (72 more bytes)")
        self.assertEqual(d[2][-1], "... (11 more arguments)")
        self.assertEqual(len(d[2]), 32)
        self.assertEqual(d[0], ["HELLO", "3", "AUTH", "(redacted)",
                                "(redacted)"])
        if len(shapes) == 2:
            self.assertEqual(shapes[0], shapes[1])

    def test_latency_shapes(self):
        for r in self.servers():
            r.execute_command("LATENCY", "RESET")
            r.execute_command("CONFIG", "SET", "latency-monitor-threshold",
                              "1")
            r.execute_command("DEBUG", "SLEEP", "0.02")
            latest = r.execute_command("LATENCY", "LATEST")
            self.assertEqual(latest[0][0], b"command")
            self.assertEqual(len(latest[0]), 4)
            self.assertGreaterEqual(latest[0][2], 20)
            hist = r.execute_command("LATENCY", "HISTORY", "command")
            self.assertEqual(len(hist[0]), 2)
            g = r.execute_command("LATENCY", "GRAPH", "command")
            lines = g.decode().split("\n")
            self.assertTrue(lines[0].startswith("command - high "))
            self.assertEqual(lines[1], "-" * 80)
            self.assertEqual(lines[5], "_")
            doc = r.execute_command("LATENCY", "DOCTOR").decode()
            self.assertIn("1. command: 1 latency spikes", doc)
            h = r.execute_command("LATENCY", "HISTOGRAM", "debug", "nope")
            self.assertEqual(h[0], b"debug")
            self.assertEqual(h[1][0], b"calls")
            self.assertEqual(h[1][2], b"histogram_usec")
            # keys are hdr_histogram's (2^k + 2^(k-7) - 1) / 1000
            self.assertIn(h[1][3][-2], (16908, 33816, 67633))
            self.assertEqual(r.execute_command("LATENCY", "RESET"), 1)
            with self.assertRaises(Exception) as cm:
                r.execute_command("LATENCY", "GRAPH", "nope")
            self.assertIn("No samples available for event 'nope'",
                          str(cm.exception))
            r.execute_command("CONFIG", "SET", "latency-monitor-threshold",
                              "0")

    def test_doctor_texts(self):
        # The deterministic reports, byte for byte with redis-server.
        texts = []
        for r in self.servers():
            r.execute_command("LATENCY", "RESET")
            out = [r.execute_command("LATENCY", "DOCTOR")]
            # A threshold no command reaches: enabled, and no spike.
            r.execute_command("CONFIG", "SET", "latency-monitor-threshold",
                              "100000")
            out.append(r.execute_command("LATENCY", "DOCTOR"))
            r.execute_command("CONFIG", "SET", "latency-monitor-threshold",
                              "0")
            out.append(r.execute_command("MEMORY", "DOCTOR"))
            texts.append(out)
        self.assertTrue(texts[0][0].startswith(b"I'm sorry, Dave"))
        self.assertIn(b"take a stress pill", texts[0][1])
        self.assertTrue(texts[0][2].startswith(b"Hi Sam, this instance is "
                                               b"empty"))
        if len(texts) == 2:
            self.assertEqual(texts[0], texts[1])

    def test_memory_doctor_big_client_buffers(self):
        # More than 5 MB of data, and a client that does not read its
        # replies (1 MB values): the report's client-buffer paragraph.
        # (A sanitizer build's allocator is not malloc's: used memory reads
        # near zero there, so only redis-server is asked.)
        sanitized = os.environ.get("DICE_SANITIZE", "").upper() in (
            "ON", "1", "TRUE", "YES")
        servers = [] if sanitized else [self.dice]
        if self.redis_srv:
            servers.append(self.redis_srv)
        for srv in servers:
            r = srv.redis()
            r.execute_command("SELECT", "9")
            r.set("big", "x" * (1 << 20))
            r.execute_command("DEBUG", "POPULATE", "60000", "doc", "100")
            c = srv.conn()
            c.sock.sendall(b"*2\r\n$6\r\nSELECT\r\n$1\r\n9\r\n" +
                           b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n" * 40)
            doc = b""
            for _ in range(50):
                doc = r.execute_command("MEMORY", "DOCTOR")
                if b"Big client buffers" in doc:
                    break
                time.sleep(0.05)
            c.close()
            self.assertTrue(doc.startswith(b"Sam, I detected a few issues"),
                            doc[:80])
            self.assertIn(b" * Big client buffers: The clients output "
                          b"buffers in this instance are greater than 200K "
                          b"per client (on average).", doc)
            self.assertTrue(doc.endswith(b"\n\nI'm here to keep you safe, "
                                         b"Sam. I want to help you.\n"))
            r.flushdb()

    def test_memory_stats_fields(self):
        keys, dbs = [], []
        for r in self.servers():
            r.execute_command("SELECT", "3")
            r.set("m1", "v")
            r.set("m2", "v", ex=100)
            r.execute_command("SELECT", "0")
            st = r.execute_command("MEMORY", "STATS")
            names = [st[i].decode() for i in range(0, len(st), 2)]
            keys.append([n for n in names if not n.startswith("db.")])
            d3 = st[st.index(b"db.3") + 1]
            dbs.append((names.index("db.3") - names.index("functions.caches"),
                        d3[0::2]))
            self.assertGreater(d3[1], 0)
            self.assertGreater(d3[3], 0)
            self.assertNotIn("db.5", names)
            r.execute_command("SELECT", "3")
            r.flushdb()
            r.execute_command("SELECT", "0")
            self.assertEqual(r.execute_command("MEMORY", "PURGE"), b"OK")
            self.assertTrue(r.execute_command("MEMORY", "DOCTOR"))
            self.assertTrue(r.execute_command("MEMORY", "MALLOC-STATS"))
        if len(keys) == 2:
            self.assertEqual(keys[0], keys[1])
            self.assertEqual(dbs[0], dbs[1])

    def monitor_lines(self, srv):
        p = subprocess.Popen(["redis-cli", "-p", str(srv.port), "monitor"],
                             stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
        r = srv.redis()
        r.set('a\x01"\\b\n', "v v")
        try:
            r.execute_command("AUTH", "secret")
        except Exception:
            pass
        pipe = r.pipeline(transaction=True)
        pipe.set("q", "1")
        pipe.get("q")
        pipe.execute()
        r.execute_command("CONFIG", "GET", "port")  # admin: not shown
        try:
            r.execute_command("GET")  # rejected: not shown
        except Exception:
            pass
        r.execute_command("PING")
        time.sleep(0.5)
        p.terminate()
        out = p.communicate(timeout=10)[0]
        lines = []
        for line in out.splitlines():
            if line == "OK":
                continue
            m = re.match(r"^\d+\.\d{6} \[(\d+) 127\.0\.0\.1:\d+\] (.*)$",
                         line)
            self.assertTrue(m, line)
            lines.append(m.group(1) + " " + m.group(2))
        return lines

    def test_monitor_lines(self):
        d = self.monitor_lines(self.dice)
        self.assertEqual(d[0], '0 "SET" "a\\x01\\"\\\\b\\n" "v v"')
        self.assertEqual(d[1], '0 "AUTH" "(redacted)"')
        self.assertEqual(d[2:], ['0 "MULTI"', '0 "SET" "q" "1"',
                                 '0 "GET" "q"', '0 "EXEC"', '0 "PING"'])
        if self.redis_srv:
            self.assertEqual(d, self.monitor_lines(self.redis_srv))

    def test_monitor_flag(self):
        c = self.dice.conn()
        self.assertEqual(c.cmd("MONITOR"), b"+OK\r\n")
        r = self.dice.redis()
        lst = r.execute_command("CLIENT", "LIST")
        if isinstance(lst, bytes):
            lst = lst.decode()
        self.assertIn("flags=O ", lst)
        c.close()


if __name__ == "__main__":
    dicetest.main(globals())
