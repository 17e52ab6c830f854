"""RDB snapshots (lib/server/rdb.c, lib/types/rdb_file.c): files move
between redis-server 7.0 and dice-server both ways (checked with
redis-check-rdb and key by key through both servers), BGSAVE gives a
consistent snapshot while writes go on, save points fire, a fork failure
and a failed save give Redis's -MISCONF, and truncated or corrupt files are
refused with a message naming the file and the offset."""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402
import rdbdata  # noqa: E402

HAVE_REDIS = dicetest.have_redis_server()
HAVE_CHECK = shutil.which("redis-check-rdb") is not None


def dice(d, *args):
    return dicetest.Server("dice", args=["--dir", d, "--enable-debug-command",
                                         "yes"] + list(args))


def redis_srv(d, *args):
    return dicetest.Server("redis", args=["--dir", d, "--enable-debug-command",
                                          "yes"] + list(args))


def wait_bgsave(r, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        info = r.info("persistence")
        if not info["rdb_bgsave_in_progress"]:
            return info
        time.sleep(0.05)
    raise AssertionError("BGSAVE did not finish")


def check_rdb(tc, path):
    if not HAVE_CHECK:
        return
    out = subprocess.run(["redis-check-rdb", path], capture_output=True,
                         text=True)
    tc.assertEqual(out.returncode, 0, out.stdout + out.stderr)
    tc.assertIn("RDB looks OK", out.stdout)


class Files(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="rdbtest-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def sub(self, name):
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        return d

    def test_dice_save_load_roundtrip(self):
        a = self.sub("a")
        s = dice(a)
        try:
            r = s.redis()
            rdbdata.fill(r)
            want = rdbdata.server_view(s)
            digest = r.execute_command("DEBUG", "DIGEST")
            self.assertEqual(r.save(), True)
            r.execute_command("DEBUG", "RELOAD")
            self.assertEqual(r.execute_command("DEBUG", "DIGEST"), digest)
            self.assertEqual(rdbdata.server_view(s), want)
            info = r.info("persistence")
            self.assertEqual(info["rdb_last_load_keys_loaded"], len(want))
            self.assertEqual(info["rdb_changes_since_last_save"], 0)
        finally:
            self.assertEqual(s.stop(), 0)
        check_rdb(self, os.path.join(a, "dump.rdb"))
        # And again through a restart (loaded before serving).
        s = dice(a)
        try:
            self.assertEqual(rdbdata.server_view(s), want)
            self.assertIn("Done loading RDB", s.output())
        finally:
            s.stop()

    @unittest.skipUnless(HAVE_REDIS, "redis-server not installed")
    def test_redis_to_dice(self):
        for compression in ("yes", "no"):
            a, b = self.sub("r" + compression), self.sub("d" + compression)
            rs = redis_srv(a, "--rdbcompression", compression)
            try:
                rdbdata.fill(rs.redis())
                want = rdbdata.server_view(rs)
                rs.redis().save()
            finally:
                rs.stop()
            shutil.copy(os.path.join(a, "dump.rdb"), b)
            ds = dice(b)
            try:
                self.assertEqual(rdbdata.server_view(ds), want)
                # Encodings as Redis chose them.
                r = ds.redis()
                for k, enc in (("list:small", b"quicklist"),
                               ("list:big", b"quicklist"),
                               ("hash:small", b"listpack"),
                               ("hash:big", b"hashtable"),
                               ("set:intset", b"intset"),
                               ("set:str", b"hashtable"),
                               ("zset:small", b"listpack"),
                               ("zset:big", b"skiplist"),
                               ("str:int", b"int"), ("str:emb", b"embstr")):
                    self.assertEqual(r.object("encoding", k), enc, k)
            finally:
                self.assertEqual(ds.stop(), 0)

    @unittest.skipUnless(HAVE_REDIS, "redis-server not installed")
    def test_dice_to_redis(self):
        for opts in (("--rdbcompression", "yes"), ("--rdbcompression", "no"),
                     ("--rdbchecksum", "no")):
            a = self.sub("x" + "".join(opts))
            ds = dice(a, *opts)
            try:
                rdbdata.fill(ds.redis())
                want = rdbdata.server_view(ds)
                ds.redis().save()
            finally:
                ds.stop()
            path = os.path.join(a, "dump.rdb")
            with open(path, "rb") as f:
                data = f.read()
            self.assertEqual(data[:9], b"REDIS0010")
            if "--rdbchecksum" in opts:
                self.assertEqual(data[-8:], b"\0" * 8)
            else:
                self.assertNotEqual(data[-8:], b"\0" * 8)
            check_rdb(self, path)
            rs = redis_srv(a)
            try:
                self.assertEqual(rdbdata.server_view(rs), want)
            finally:
                self.assertEqual(rs.stop(), 0)

    def test_bgsave_consistent_while_writing(self):
        a = self.sub("bg")
        s = dice(a, "--save", "")
        try:
            r = s.redis()
            p = r.pipeline(transaction=False)
            for i in range(200000):
                p.set("k%d" % i, "v%d" % i)
            p.execute()
            rdbdata.fill(r, big=2000)
            c = rdbdata.Conn(s)
            # One batch: the digest, the fork, then writes the child must
            # not see.
            batch = [("DEBUG", "DIGEST"), ("BGSAVE",)]
            batch += [("SET", "k%d" % i, "changed") for i in range(0, 200000, 7)]
            batch += [("DEL", "list:big"), ("FLUSHDB",)]
            c.send(b"".join(dicetest.encode(*x) for x in batch))
            digest = c.read_reply()
            self.assertEqual(c.read_reply(), "Background saving started")
            for _ in batch[2:]:
                c.read_reply()
            info = wait_bgsave(r)
            self.assertEqual(info["rdb_last_bgsave_status"], "ok")
            self.assertGreaterEqual(info["rdb_last_cow_size"], 0)
            self.assertGreater(info["rdb_changes_since_last_save"], 0)
            r.execute_command("DEBUG", "RELOAD", "NOSAVE")
            self.assertEqual(r.execute_command("DEBUG", "DIGEST").decode(),
                             digest)
            self.assertNotEqual(r.dbsize(), 0)
            self.assertIn("Background saving terminated with success",
                          s.output())
        finally:
            self.assertEqual(s.stop(), 0)

    def test_bgsave_replies(self):
        a = self.sub("rep")
        s = dice(a, "--save", "")
        try:
            r = s.redis()
            for i in range(300):
                r.set("k%d" % i, "x" * 1000)
            c = rdbdata.Conn(s)
            c.send(dicetest.encode("BGSAVE") + dicetest.encode("BGSAVE") +
                   dicetest.encode("SAVE"))
            self.assertEqual(c.read_reply(), "Background saving started")
            second = c.read_reply()
            third = c.read_reply()
            # The child may already be done when the second arrives.
            for got in (second, third):
                self.assertIn(str(got), (
                    "Background saving started", "OK",
                    "ERR Background save already in progress"))
            wait_bgsave(r)
            self.assertEqual(c.cmd("BGSAVE", "x"), "ERR syntax error")
            wait_bgsave(r)
            c.send(dicetest.encode("MULTI") + dicetest.encode("BGSAVE") +
                   dicetest.encode("EXEC"))
            c.read_reply(), c.read_reply()
            self.assertEqual(c.read_reply(), ["Background saving scheduled"])
            time.sleep(0.3)
            info = wait_bgsave(r)
            self.assertGreaterEqual(info["rdb_saves"], 2)
            t = r.lastsave()
            self.assertLessEqual(abs(t.timestamp() - time.time()), 5)
        finally:
            s.stop()

    def test_save_points_fire(self):
        a = self.sub("sp")
        s = dice(a, "--save", "1 2")
        try:
            r = s.redis()
            self.assertEqual(r.config_get("save"), {"save": "1 2"})
            r.set("a", 1)
            time.sleep(1.5)
            self.assertFalse(os.path.exists(os.path.join(a, "dump.rdb")))
            r.set("b", 2)
            end = time.time() + 5
            while time.time() < end and not os.path.exists(
                    os.path.join(a, "dump.rdb")):
                time.sleep(0.1)
            self.assertTrue(os.path.exists(os.path.join(a, "dump.rdb")))
            wait_bgsave(r)
            self.assertIn("2 changes in 1 seconds. Saving...", s.output())
            self.assertEqual(r.info("persistence")["rdb_changes_since_last_save"],
                             0)
        finally:
            s.stop()

    @unittest.skipUnless(HAVE_REDIS, "redis-server not installed")
    def test_config_save_parsing_as_redis(self):
        ds, rs = dice(self.sub("c1")), redis_srv(self.sub("c2"))
        try:
            d, r = rdbdata.Conn(ds), rdbdata.Conn(rs)
            for v in ("", "100", "100 -1", "100 0", "0 0", "abc", "10 20 30 40",
                      "3600 1 300 100 60 10000"):
                self.assertEqual(d.cmd("CONFIG", "SET", "save", v),
                                 r.cmd("CONFIG", "SET", "save", v), v)
                self.assertEqual(d.cmd("CONFIG", "GET", "save"),
                                 r.cmd("CONFIG", "GET", "save"), v)
            for name in ("rdbcompression", "rdbchecksum", "dbfilename",
                         "stop-writes-on-bgsave-error"):
                self.assertEqual(d.cmd("CONFIG", "GET", name),
                                 r.cmd("CONFIG", "GET", name), name)
            self.assertEqual(d.cmd("CONFIG", "SET", "dbfilename", "a/b"),
                             r.cmd("CONFIG", "SET", "dbfilename", "a/b"))
            for cmd in (("LASTSAVE", "x"), ("SAVE", "x"), ("BGSAVE", "a", "b")):
                self.assertEqual(d.cmd(*cmd), r.cmd(*cmd), cmd)
            d.close(), r.close()
        finally:
            ds.stop(), rs.stop()

    @unittest.skipUnless(HAVE_REDIS, "redis-server not installed")
    def test_failed_bgsave_misconf_as_redis(self):
        replies = []
        for kind in ("dice", "redis"):
            d = self.sub("gone-" + kind)
            s = (dice if kind == "dice" else redis_srv)(d, "--save", "3600 1")
            try:
                r = s.redis()
                c = rdbdata.Conn(s)
                r.set("k", "v")
                # The directory goes away: the child cannot write.
                shutil.rmtree(d)
                self.assertEqual(c.cmd("BGSAVE"), "Background saving started")
                info = wait_bgsave(r)
                self.assertEqual(info["rdb_last_bgsave_status"], "err")
                got = [c.cmd("SET", "k", "w"), c.cmd("PING"), c.cmd("GET", "k"),
                       c.cmd("SAVE")]
                c.cmd("CONFIG", "SET", "stop-writes-on-bgsave-error", "no")
                got.append(c.cmd("SET", "k", "w"))
                c.cmd("CONFIG", "SET", "stop-writes-on-bgsave-error", "yes")
                got.append(c.cmd("SET", "k", "w"))
                os.makedirs(d)
                got.append(c.cmd("SAVE"))
                got.append(c.cmd("SET", "k", "w"))
                replies.append(got)
            finally:
                s.stop()
        # After that Redis, which chdir()s into dir, still writes into the
        # removed directory; dice-server opens dir by its path each time
        # (docs/compatibility.md).
        self.assertEqual(replies[0][:6], replies[1][:6])
        self.assertEqual(replies[0][6:], ["OK", "OK"])
        self.assertTrue(str(replies[0][0]).startswith("MISCONF"))

    def test_fork_failure(self):
        a = self.sub("ff")
        s = dice(a, "--save", "3600 1")
        try:
            c = rdbdata.Conn(s)
            c.cmd("SET", "k", "v")
            self.assertEqual(c.cmd("DEBUG", "DICE-FAIL-FORK", "1"), "OK")
            self.assertEqual(c.cmd("BGSAVE"), "ERR")
            self.assertIn("Can't save in background: fork", s.output())
            self.assertTrue(str(c.cmd("SET", "k", "w")).startswith("MISCONF"))
            self.assertEqual(c.cmd("GET", "k"), b"v")
            c.cmd("DEBUG", "DICE-FAIL-FORK", "0")
            self.assertEqual(c.cmd("BGSAVE"), "Background saving started")
            wait_bgsave(s.redis())
            self.assertEqual(c.cmd("SET", "k", "w"), "OK")
        finally:
            s.stop()

    def test_shutdown_and_flushall_save(self):
        a = self.sub("sd")
        # Redis's default save points (the harness starts with none).
        s = dice(a, "--save", "3600 1 300 100 60 10000")
        r = s.redis()
        r.set("k", "v")
        r.rpush("l", 1, 2, 3)
        try:
            r.shutdown()
        except Exception:
            pass
        s.proc.wait(timeout=10)
        self.assertIn("Saving the final RDB snapshot", s.output())
        s.stop()
        s = dice(a, "--save", "3600 1 300 100 60 10000")
        try:
            r = s.redis()
            self.assertEqual(r.get("k"), b"v")
            r.flushall()
            s2 = os.path.getsize(os.path.join(a, "dump.rdb"))
            r.execute_command("DEBUG", "RELOAD", "NOSAVE")
            self.assertEqual(r.dbsize(), 0)
            self.assertLess(s2, 200)
        finally:
            s.stop()
        s = dice(a, "--save", "")
        r = s.redis()
        r.set("x", 1)
        try:
            r.execute_command("SHUTDOWN")
        except Exception:
            pass
        s.proc.wait(timeout=10)
        s.stop()
        s = dice(a)
        try:
            self.assertEqual(s.redis().dbsize(), 0)  # nothing saved
        finally:
            s.stop()

    def test_truncated_and_corrupt_files_refused(self):
        a = self.sub("src")
        s = dice(a)
        try:
            rdbdata.fill(s.redis(), big=100)
            s.redis().save()
        finally:
            s.stop()
        with open(os.path.join(a, "dump.rdb"), "rb") as f:
            good = f.read()
        cases = [good[:n] for n in (0, 5, 9, 30, len(good) // 2,
                                    len(good) - 9, len(good) - 1)]
        flipped = bytearray(good)
        flipped[len(good) // 2] ^= 0x5a
        cases.append(bytes(flipped))
        for i, data in enumerate(cases):
            d = self.sub("bad%d" % i)
            with open(os.path.join(d, "dump.rdb"), "wb") as f:
                f.write(data)
            log = os.path.join(d, "log")
            with open(log, "w") as lf:
                p = subprocess.run([dicetest.server_path(), "--port",
                                    str(dicetest.free_port()), "--dir", d],
                                   stdout=lf, stderr=subprocess.STDOUT,
                                   timeout=20)
            with open(log) as lf:
                out = lf.read()
            self.assertNotEqual(p.returncode, 0, out)
            self.assertLess(p.returncode, 128, out)  # refused, not crashed
            self.assertIn("dump.rdb", out)
            self.assertRegex(out, r"at offset \d+")


if __name__ == "__main__":
    unittest.main()
