"""Crash test of the append-only file: clients write known sequences with
appendfsync always while dice-server is killed with SIGKILL at random
moments, over many rounds on the same directory, with rewrites (explicit
BGREWRITEAOF and automatic ones) and BGSAVEs running. After each restart
every acknowledged write is present with its value, nothing appears that
was never sent, and each transaction is all there or not at all.

Bounded: about 60 s by default. DICE_CRASH_ROUNDS=N runs exactly N rounds
instead (for a longer run), DICE_CRASH_SEED fixes the random moments:

    DICE_CRASH_ROUNDS=500 /usr/bin/python3 tests/integration/test_aof_crash.py
"""
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

WRITERS = 3


def value(tag, i):
    return ("%s-%d-" % (tag, i) + "x" * (i % 97)).encode()


class Writer(threading.Thread):
    """Writes t:<i> = value and RPUSH t:log i in one MULTI/EXEC, for
    i = start, start+1, ... until its connection fails."""

    def __init__(self, port, tag, start):
        super().__init__(daemon=True)
        self.port, self.tag, self.next = port, tag, start
        self.acked = start - 1  # last i whose EXEC was answered
        self.sent = start - 1   # last i whose EXEC was sent

    def run(self):
        import redis
        try:
            r = redis.Redis(host="127.0.0.1", port=self.port,
                            socket_timeout=10)
            while True:
                i = self.next
                p = r.pipeline(transaction=True)
                p.set("%s:%d" % (self.tag, i), value(self.tag, i))
                p.rpush("%s:log" % self.tag, i)
                self.sent = i
                p.execute()
                self.acked = i
                self.next = i + 1
        except Exception:  # noqa: BLE001  (killed: the connection drops)
            return


class Crash(unittest.TestCase):
    def check(self, s, tags, acked, sent, rnd_no):
        """Everything acknowledged is there, nothing unsent; returns the
        highest i present per tag."""
        import redis
        r = redis.Redis(host="127.0.0.1", port=s.port, socket_timeout=30)
        found = {}
        for t in tags:
            log = [int(x) for x in r.lrange("%s:log" % t, 0, -1)]
            top = log[-1] if log else 0
            where = "round %d, %s" % (rnd_no, t)
            # The log is 1..top in order: no gap, no repeat.
            self.assertEqual(log, list(range(1, top + 1)), where)
            self.assertGreaterEqual(top, acked[t], where + ": lost acked")
            self.assertLessEqual(top, sent[t], where + ": never sent")
            keys = r.mget(["%s:%d" % (t, i) for i in range(1, top + 2)])
            for i, v in enumerate(keys[:-1], 1):
                self.assertEqual(v, value(t, i), "%s: key %d" % (where, i))
            self.assertIsNone(keys[-1], where + ": a key past the log")
            found[t] = top
        self.assertEqual(r.dbsize(), sum(found[t] + 1 for t in tags
                                         if found[t]))
        r.close()
        return found

    def test_sigkill_rounds(self):
        rounds = int(os.environ.get("DICE_CRASH_ROUNDS", "0"))
        budget = float(os.environ.get("DICE_CRASH_SECONDS", "60"))
        seed = int(os.environ.get("DICE_CRASH_SEED", str(int(time.time()))))
        rnd = random.Random(seed)
        sys.stderr.write("DICE_CRASH_SEED=%d\n" % seed)
        d = tempfile.mkdtemp(prefix="aofcrash-")
        tags = ["w%d" % n for n in range(WRITERS)]
        acked = {t: 0 for t in tags}
        sent = {t: 0 for t in tags}
        t0 = time.time()
        done = rewrites_killed = 0
        try:
            while (rounds and done < rounds) or \
                    (not rounds and time.time() - t0 < budget):
                s = dicetest.Server("dice", args=[
                    "--dir", d, "--appendonly", "yes",
                    "--appendfsync", "always",
                    "--auto-aof-rewrite-percentage", "30",
                    "--auto-aof-rewrite-min-size", "64kb",
                    "--hz", "50"], wait_load=True)
                try:
                    found = self.check(s, tags, acked, sent, done)
                    ws = [Writer(s.port, t, found[t] + 1) for t in tags]
                    for w in ws:
                        w.start()
                    # Some rounds ask for a rewrite or a BGSAVE on top of
                    # the automatic rewrites, then kill at a random moment.
                    time.sleep(rnd.uniform(0.05, 0.6))
                    import redis
                    r = redis.Redis(host="127.0.0.1", port=s.port)
                    try:
                        what = rnd.random()
                        if what < 0.4:
                            r.execute_command("BGREWRITEAOF")
                        elif what < 0.55:
                            r.execute_command("BGSAVE", "SCHEDULE")
                        time.sleep(rnd.uniform(0.0, 0.3))
                        if r.info("persistence")["aof_rewrite_in_progress"]:
                            rewrites_killed += 1
                    except Exception:  # noqa: BLE001
                        pass
                    s.proc.send_signal(signal.SIGKILL)
                    s.proc.wait()
                    for w in ws:
                        w.join(timeout=30)
                        acked[w.tag] = max(acked[w.tag], w.acked,
                                           found[w.tag])
                        sent[w.tag] = max(found[w.tag], w.sent)
                finally:
                    if s.proc.poll() is None:
                        s.proc.kill()
                        s.proc.wait()
                    s.log.close()
                    shutil.rmtree(s.dir, ignore_errors=True)
                done += 1
            # A last start checks the last kill.
            s = dicetest.Server("dice", args=["--dir", d, "--appendonly",
                                              "yes"], wait_load=True)
            try:
                self.check(s, tags, acked, sent, done)
            finally:
                self.assertEqual(s.stop(), 0)
            sys.stderr.write("%d rounds, %d kills during a rewrite, %d "
                             "acknowledged transactions\n"
                             % (done, rewrites_killed, sum(acked.values())))
            self.assertGreater(sum(acked.values()), 0)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    dicetest.main(globals())
