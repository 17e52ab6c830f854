"""The append-only file (lib/server/aof.c): Redis 7.0's multi-part layout
that redis-check-aof accepts (RDB preamble and plain base), directories
that move between redis-server 7.0 and dice-server both ways (compared key
by key), a truncated tail, corruption in the middle, BGREWRITEAOF under
concurrent writes (DEBUG DIGEST before = after a restart), turning it on
at run time, the BGSAVE/BGREWRITEAOF scheduling replies, a fork failure,
and a write error (-MISCONF, reads served, recovery)."""
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402
import rdbdata  # noqa: E402

HAVE_REDIS = dicetest.have_redis_server()
HAVE_CHECK = shutil.which("redis-check-aof") is not None
AOFDIR = "appendonlydir"
MANIFEST = "appendonly.aof.manifest"


def dice(d, *args, **kw):
    return dicetest.Server("dice", args=["--dir", d, "--appendonly", "yes",
                                         "--enable-debug-command", "yes"] +
                           list(args), **kw)


def redis_srv(d, *args):
    return dicetest.Server("redis", args=["--dir", d, "--enable-debug-command",
                                          "yes", "--appendonly", "yes"] +
                           list(args))


def client(srv):
    """A redis-py client that shows BGREWRITEAOF's reply as it is, after
    the server has loaded its dataset."""
    r = srv.redis()
    for name in ("BGREWRITEAOF", "BGSAVE"):
        r.response_callbacks.pop(name, None)
    end = time.time() + 30
    while True:
        try:
            r.ping()
            return r
        except Exception:  # noqa: BLE001  (-LOADING)
            if time.time() > end:
                raise
            time.sleep(0.05)


def view(srv):
    client(srv)
    # An AOF's stream commands do not carry consumers' seen-time.
    return rdbdata.server_view(srv, seen_times=False)


def manifest(d):
    with open(os.path.join(d, AOFDIR, MANIFEST)) as f:
        return [line.split() for line in f.read().splitlines()]


def files_of(d, kind):
    return [m[1] for m in manifest(d) if m[5] == kind]


def wait_rewrite(r, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        info = r.info("persistence")
        if not info["aof_rewrite_in_progress"] and \
                not info["aof_rewrite_scheduled"]:
            return info
        time.sleep(0.05)
    raise AssertionError("rewrite did not finish")


def check_aof(tc, d):
    if not HAVE_CHECK:
        return
    out = subprocess.run(["redis-check-aof",
                          os.path.join(d, AOFDIR, MANIFEST)],
                         capture_output=True, text=True)
    tc.assertEqual(out.returncode, 0, out.stdout + out.stderr)
    tc.assertIn("All AOF files and manifest are valid", out.stdout)


def start_fails(d, *args):
    """Run dice-server on d expecting it to refuse to start: its output."""
    out = subprocess.run([dicetest.server_path(), "--port",
                          str(dicetest.free_port()), "--save", "", "--dir", d,
                          "--appendonly", "yes"] + list(args),
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0, out.stdout + out.stderr
    return out.stdout + out.stderr


class Aof(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="aoftest-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def sub(self, name):
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        return d

    def test_layout_and_restart(self):
        for preamble in ("yes", "no"):
            d = self.sub("p" + preamble)
            s = dice(d, "--aof-use-rdb-preamble", preamble)
            try:
                r = client(s)
                info = r.info("persistence")
                self.assertEqual(info["aof_enabled"], 1)
                self.assertEqual(manifest(d), [
                    ["file", "appendonly.aof.1.base.rdb" if preamble == "yes"
                     else "appendonly.aof.1.base.aof", "seq", "1", "type",
                     "b"],
                    ["file", "appendonly.aof.1.incr.aof", "seq", "1", "type",
                     "i"]])
                rdbdata.fill(r)
                r.set("rel", "v", ex=1000)       # logged as PXAT
                r.incrbyfloat("f", 1.5)          # logged as SET KEEPTTL
                r.sadd("pop", *range(20))
                r.spop("pop", 3)                 # logged as SREM
                want = view(s)
                digest = r.execute_command("DEBUG", "DIGEST")
                with open(os.path.join(d, AOFDIR,
                                       "appendonly.aof.1.incr.aof"),
                          "rb") as f:
                    incr = f.read()
                self.assertTrue(incr.startswith(b"*2\r\n$6\r\nSELECT\r\n"))
                self.assertIn(b"PXAT", incr)
                self.assertNotIn(b"spop", incr.lower())
                # A rewrite folds everything into a new base.
                self.assertEqual(r.execute_command("BGREWRITEAOF"),
                                 b"Background append only file rewriting "
                                 b"started")
                info = wait_rewrite(r)
                self.assertEqual(info["aof_rewrites"], 1)
                self.assertEqual(info["aof_last_bgrewrite_status"], "ok")
                r.set("after", "rewrite")
                want[(0, b"after")] = ("string", b"rewrite", -1)
                digest = r.execute_command("DEBUG", "DIGEST")
            finally:
                self.assertEqual(s.stop(), 0)
            self.assertEqual(files_of(d, "b"),
                             ["appendonly.aof.2.base." +
                              ("rdb" if preamble == "yes" else "aof")])
            self.assertEqual(files_of(d, "i"), ["appendonly.aof.2.incr.aof"])
            self.assertEqual(sorted(os.listdir(os.path.join(d, AOFDIR))),
                             sorted(files_of(d, "b") + files_of(d, "i") +
                                    [MANIFEST]))
            check_aof(self, d)
            s = dice(d)
            try:
                r = client(s)
                self.assertEqual(r.execute_command("DEBUG", "DIGEST"), digest)
                self.assertEqual(view(s), want)
            finally:
                self.assertEqual(s.stop(), 0)

    @unittest.skipUnless(HAVE_REDIS, "redis-server not installed")
    def test_interchange_with_redis(self):
        for preamble in ("yes", "no"):
            # dice-server -> redis-server
            a = self.sub("d" + preamble)
            s = dice(a, "--aof-use-rdb-preamble", preamble)
            try:
                r = client(s)
                rdbdata.fill(r)
                r.execute_command("BGREWRITEAOF")
                wait_rewrite(r)
                r.set("tail", "1")
                r.rpush("list:big", "more")
                want = view(s)
            finally:
                s.stop()
            rs = redis_srv(a, "--aof-use-rdb-preamble", preamble)
            try:
                self.assertEqual(view(rs), want)
            finally:
                rs.stop()
            # redis-server -> dice-server
            b = self.sub("r" + preamble)
            rs = redis_srv(b, "--aof-use-rdb-preamble", preamble)
            try:
                r = client(rs)
                rdbdata.fill(r)
                r.execute_command("BGREWRITEAOF")
                wait_rewrite(r)
                r.set("tail", "2")
                r.incr("counter")
                want = view(rs)
            finally:
                rs.stop()
            s = dice(b)
            try:
                self.assertEqual(view(s), want)
            finally:
                self.assertEqual(s.stop(), 0)

    def fill_and_stop(self, d, n=200, *args):
        s = dice(d, *args)
        try:
            r = client(s)
            for i in range(n):
                r.set("k%d" % i, "v%d" % i)
        finally:
            self.assertEqual(s.stop(), 0)
        return os.path.join(d, AOFDIR, "appendonly.aof.1.incr.aof")

    def test_truncated_tail(self):
        d = self.sub("t")
        path = self.fill_and_stop(d)
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.truncate(size - 5)      # the last SET cut short
        out = start_fails(d, "--aof-load-truncated", "no")
        self.assertIn("Unexpected end of file reading the append only file "
                      "appendonly.aof.1.incr.aof", out)
        s = dice(d)
        try:
            r = client(s)
            self.assertEqual(r.dbsize(), 199)
            self.assertEqual(r.get("k198"), b"v198")
            self.assertIsNone(r.get("k199"))
            out = s.output()
            self.assertIn("!!! Warning: short read while loading the AOF "
                          "file appendonly.aof.1.incr.aof!!!", out)
            self.assertIn("AOF appendonly.aof.1.incr.aof loaded anyway "
                          "because aof-load-truncated is enabled", out)
            r.set("k199", "again")
        finally:
            self.assertEqual(s.stop(), 0)
        check_aof(self, d)
        s = dice(d)
        try:
            self.assertEqual(s.redis().get("k199"), b"again")
        finally:
            s.stop()

    def test_truncated_transaction_reverted(self):
        d = self.sub("m")
        s = dice(d)
        try:
            r = client(s)
            r.set("before", "1")
            p = r.pipeline(transaction=True)
            p.set("in1", "x")
            p.set("in2", "y")
            p.execute()
        finally:
            s.stop()
        path = os.path.join(d, AOFDIR, "appendonly.aof.1.incr.aof")
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) - len(b"*1\r\n$4\r\nEXEC\r\n"))
        s = dice(d)
        try:
            r = client(s)
            self.assertEqual(r.get("before"), b"1")
            self.assertIsNone(r.get("in1"))
            self.assertIn("Revert incomplete MULTI/EXEC transaction", s.output())
        finally:
            s.stop()

    def test_corruption_in_the_middle(self):
        d = self.sub("c")
        path = self.fill_and_stop(d)
        with open(path, "rb") as f:
            data = f.read()
        at = data.index(b"*3\r\n$3\r\nSET\r\n$3\r\nk50\r\n")
        with open(path, "wb") as f:
            f.write(data[:at] + b"!garbage" + data[at + 8:])
        out = start_fails(d)
        self.assertIn("Bad file format reading the append only file "
                      "appendonly.aof.1.incr.aof at offset %d" % at, out)

    def test_rewrite_under_concurrent_writes(self):
        d = self.sub("w")
        s = dice(d, "--appendfsync", "always")
        stop = threading.Event()
        errors = []

        def writer(tag):
            try:
                r = client(s)
                i = 0
                while not stop.is_set():
                    p = r.pipeline(transaction=False)
                    for _ in range(20):
                        p.set("%s:%d" % (tag, i % 500), i)
                        p.rpush("%s:l" % tag, i)
                        p.hincrby("%s:h" % tag, i % 50, 1)
                        i += 1
                    p.execute()
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        try:
            r = client(s)
            rdbdata.fill(r)
            ts = [threading.Thread(target=writer, args=("w%d" % n,))
                  for n in range(3)]
            for t in ts:
                t.start()
            for _ in range(4):
                time.sleep(0.2)
                r.execute_command("BGREWRITEAOF")
                wait_rewrite(r)
            stop.set()
            for t in ts:
                t.join()
            self.assertEqual(errors, [])
            info = r.info("persistence")
            self.assertEqual(info["aof_rewrites"], 4)
            digest = r.execute_command("DEBUG", "DIGEST")
            want = view(s)
        finally:
            stop.set()
            self.assertEqual(s.stop(), 0)
        check_aof(self, d)
        s = dice(d)
        try:
            self.assertEqual(s.redis().execute_command("DEBUG", "DIGEST"),
                             digest)
            self.assertEqual(view(s), want)
        finally:
            s.stop()

    def test_enable_at_run_time(self):
        d = self.sub("e")
        s = dicetest.Server("dice", args=["--dir", d])
        try:
            r = client(s)
            r.set("old", "data")
            self.assertEqual(r.info("persistence")["aof_enabled"], 0)
            self.assertEqual(r.config_set("appendonly", "yes"), True)
            r.set("new", "write")
            info = wait_rewrite(r)
            self.assertEqual(info["aof_enabled"], 1)
            self.assertEqual(info["aof_rewrites"], 1)
            r.set("later", "x")
            self.assertEqual(r.config_get("appendfsync"),
                             {"appendfsync": "everysec"})
            with self.assertRaises(Exception) as cm:
                r.config_set("appendfsync", "bad")
            self.assertIn("argument(s) must be one of the following: "
                          "everysec, always, no", str(cm.exception))
            with self.assertRaises(Exception) as cm:
                r.config_set("appendfilename", "x.aof")
            self.assertIn("can't set immutable config", str(cm.exception))
        finally:
            s.stop()
        s = dice(d)
        try:
            r = client(s)
            self.assertEqual(r.mget("old", "new", "later"),
                             [b"data", b"write", b"x"])
        finally:
            s.stop()

    def test_child_scheduling_and_fork_failure(self):
        d = self.sub("s")
        s = dice(d)
        try:
            r = client(s)
            r.set("k", "v" * 1000)
            r.execute_command("DEBUG", "DICE-FAIL-FORK", "1")
            with self.assertRaises(Exception) as cm:
                r.execute_command("BGREWRITEAOF")
            self.assertIn("Can't execute an AOF background rewriting",
                          str(cm.exception))
            info = r.info("persistence")
            self.assertEqual(info["aof_last_bgrewrite_status"], "err")
            self.assertEqual(info["aof_rewrites_consecutive_failures"], 1)
            r.execute_command("DEBUG", "DICE-FAIL-FORK", "0")
            # A slow child: many keys, then both kinds one after another.
            p = r.pipeline(transaction=False)
            for i in range(200000):
                p.set("key:%d" % i, "x" * 50)
            p.execute()
            self.assertEqual(r.execute_command("BGREWRITEAOF"),
                             b"Background append only file rewriting started")
            try:
                r.execute_command("BGSAVE")
                bgsave_refused = None
            except Exception as e:  # noqa: BLE001
                bgsave_refused = str(e)
            if bgsave_refused is not None:
                self.assertIn("Another child process is active (AOF?)",
                              bgsave_refused)
                self.assertEqual(r.execute_command("BGSAVE", "SCHEDULE"),
                                 b"Background saving scheduled")
            with self.assertRaises(Exception) as cm:
                r.execute_command("BGREWRITEAOF")
            self.assertIn("Background append only file rewriting already in "
                          "progress", str(cm.exception))
            wait_rewrite(r)
            # The scheduled BGSAVE runs after; a rewrite asked for meanwhile
            # is scheduled in turn.
            end = time.time() + 20
            while time.time() < end and not r.info("persistence")[
                    "rdb_bgsave_in_progress"] and r.info(
                    "persistence")["rdb_saves"] == 0:
                time.sleep(0.02)
            if r.info("persistence")["rdb_bgsave_in_progress"]:
                self.assertEqual(r.execute_command("BGREWRITEAOF"),
                                 b"Background append only file rewriting "
                                 b"scheduled")
            wait_rewrite(r)
            info = r.info("persistence")
            self.assertEqual(info["aof_last_bgrewrite_status"], "ok")
            self.assertEqual(info["aof_rewrites_consecutive_failures"], 0)
        finally:
            s.stop()

    def test_write_error_misconf_and_recovery(self):
        # A bounded file size (RLIMIT_FSIZE with SIGXFSZ ignored) makes
        # writes past it fail with EFBIG, as a full disk would with ENOSPC.
        limit = 256 * 1024

        def cap():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE,
                               (limit, resource.RLIM_INFINITY))
        d = self.sub("f")
        s = dice(d, "--auto-aof-rewrite-percentage", "0", preexec_fn=cap)
        try:
            r = client(s)
            val = "x" * 1000
            refused = None
            for i in range(2000):
                try:
                    r.set("k%d" % i, val)
                except Exception as e:  # noqa: BLE001
                    refused = str(e)
                    break
                time.sleep(0.0005 if i % 50 == 0 else 0)
            self.assertIsNotNone(refused)
            # A short write is reported as ENOSPC, as Redis does; a
            # write that took nothing with its own errno.
            self.assertIn(refused, ("MISCONF Errors writing to the AOF "
                                    "file: No space left on device",
                                    "MISCONF Errors writing to the AOF "
                                    "file: File too large"))
            info = r.info("persistence")
            self.assertEqual(info["aof_last_write_status"], "err")
            self.assertEqual(r.get("k0"), val.encode())  # reads served
            with self.assertRaises(Exception):
                r.ping()
            self.assertRegex(s.output(), "(Error writing to|Short write "
                             "while writing to) the AOF file")
            # The disk "recovers": the cron's retry succeeds.
            resource.prlimit(s.proc.pid, resource.RLIMIT_FSIZE,
                             (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            end = time.time() + 10
            while time.time() < end and \
                    r.info("persistence")["aof_last_write_status"] != "ok":
                time.sleep(0.05)
            self.assertEqual(r.info("persistence")["aof_last_write_status"],
                             "ok")
            r.set("after", "recovery")
            self.assertIn("AOF write error looks solved, Redis can write "
                          "again.", s.output())
            want = r.dbsize()
        finally:
            self.assertEqual(s.stop(), 0)
        s = dice(d)
        try:
            r = client(s)
            self.assertEqual(r.dbsize(), want)
            self.assertEqual(r.get("after"), b"recovery")
        finally:
            s.stop()


if __name__ == "__main__":
    dicetest.main(globals())
