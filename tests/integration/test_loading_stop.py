"""A shutdown while the dataset loads at start (issue 13), as redis-server
7.0: SHUTDOWN (with or without NOSAVE, even SAVE) and SIGTERM received
during the load stop it at the next progress step (every 2 MB of the
file), nothing is saved (a partial dataset never replaces the file, even
with save points set), and the process exits 0 at once with Redis's log
lines, not after the whole load. For an RDB file and an AOF directory."""
import hashlib
import os
import shutil
import signal
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

N = 2000000
SAVE = ["--save", "3600 1"]  # a plain SHUTDOWN would save, if not loading


def digest(d):
    """Name, size, mtime and hash of every file under d."""
    out = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            st = os.stat(p)
            with open(p, "rb") as fh:
                h = hashlib.sha1(fh.read()).hexdigest()
            out[os.path.relpath(p, d)] = (st.st_size, st.st_mtime_ns, h)
    return out


class LoadingStop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="loadstop-")
        cls.rdb = os.path.join(cls.tmp, "rdb")
        os.mkdir(cls.rdb)
        s = dicetest.Server("dice", args=["--dir", cls.rdb,
                                          "--enable-debug-command", "yes"])
        r = s.redis()
        r.execute_command("DEBUG", "POPULATE", N)
        r.save()
        assert s.stop() == 0
        # How long the whole load takes here (sanitizer builds are slower).
        t0 = time.monotonic()
        s = dicetest.Server("dice", args=["--dir", cls.rdb], wait_load=True)
        cls.full = time.monotonic() - t0
        assert s.stop() == 0

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def stop_during_load(self, d, how, args=()):
        before = digest(d)
        s = dicetest.Server("dice", args=["--dir", d] + SAVE + list(args))
        c = s.conn(timeout=30)
        # Loading: refused with -LOADING, so the stop lands mid-load.
        self.assertEqual(c.cmd("GET", "key:1"),
                         b"-LOADING Redis is loading the dataset in memory"
                         b"\r\n")
        t0 = time.monotonic()
        if how == "SIGTERM":
            s.proc.send_signal(signal.SIGTERM)
        else:
            parts = how.split()
            c.send(b"*%d\r\n" % len(parts) + b"".join(
                b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in parts))
        rc = s.proc.wait(timeout=60)
        took = time.monotonic() - t0
        log = s.output()
        c.close()
        self.assertEqual(s.stop(), 0)
        self.assertEqual(rc, 0, log)
        # Well below the full load: the load stopped at its next step.
        self.assertLess(took, self.full / 2, (took, self.full, log))
        self.assertEqual(digest(d), before)
        self.assertIn("User requested shutdown...", log)
        self.assertIn("dice-server is now ready to exit, bye bye...", log)
        self.assertNotIn("Saving the final RDB snapshot", log)
        self.assertNotIn("DB loaded from", log)
        if how == "SIGTERM":
            self.assertIn(":signal-handler (", log)
            self.assertIn("Received shutdown signal during loading, "
                          "scheduling shutdown.", log)
        return log

    def test_shutdown_nosave(self):
        self.stop_during_load(self.rdb, "SHUTDOWN NOSAVE")

    def test_shutdown_plain_saves_nothing(self):
        # Save points are set, yet a partial dataset is not saved.
        self.stop_during_load(self.rdb, "SHUTDOWN")

    def test_shutdown_save_saves_nothing(self):
        self.stop_during_load(self.rdb, "SHUTDOWN SAVE")

    def test_sigterm(self):
        self.stop_during_load(self.rdb, "SIGTERM")

    def test_aof_sigterm(self):
        # An AOF directory with an RDB preamble made from the same dump.
        d = os.path.join(self.tmp, "aof")
        os.mkdir(d)
        shutil.copy(os.path.join(self.rdb, "dump.rdb"), d)
        s = dicetest.Server("dice", args=["--dir", d], wait_load=True)
        r = s.redis()
        r.config_set("appendonly", "yes")
        end = time.time() + 60
        while r.info("persistence")["aof_rewrite_in_progress"] or \
                r.info("persistence")["aof_rewrites"] < 1:
            self.assertLess(time.time(), end)
            time.sleep(0.05)
        self.assertEqual(s.stop(), 0)
        os.unlink(os.path.join(d, "dump.rdb"))
        self.stop_during_load(d, "SIGTERM", ["--appendonly", "yes"])
        self.stop_during_load(d, "SHUTDOWN NOSAVE", ["--appendonly", "yes"])


if __name__ == "__main__":
    dicetest.main(globals())
