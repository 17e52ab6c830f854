"""Transactions (lib/server/multi.c, lib/commands/multi.c): MULTI EXEC
DISCARD WATCH UNWATCH.

- Scripted scenarios with two connections (queueing errors, EXECABORT,
  runtime errors inside EXEC, WATCH touched by the other client or by the
  same one, by expiry before EXEC, FLUSHDB, FLUSHALL, SWAPDB, MOVE, RESET,
  QUIT), replayed byte for byte against a real redis-server in RESP2 and
  RESP3.
- A seeded differential run of random MULTI/EXEC/WATCH interleavings of
  two clients against redis-server.
- python3-redis: pipeline(transaction=True), and WATCH retry loops from
  several processes incrementing one counter (the final value is the
  number of increments)."""
import multiprocessing
import os
import random
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402
from dicetest import encode  # noqa: E402

# Each scenario: a list of (who, command) with who in "a", "b", or
# ("sleep", seconds). Every reply of every command is compared.
S = "sleep"
SCENARIOS = {
    "errors": [
        ("a", ["MULTI"]), ("a", ["MULTI"]), ("a", ["SET", "a", "1"]),
        ("a", ["GET"]), ("a", ["FOO", "x"]), ("a", ["EXEC"]),
        ("a", ["EXEC"]), ("a", ["DISCARD"]),
        ("a", ["MULTI"]), ("a", ["WATCH", "a"]), ("a", ["SET", "a", "1"]),
        ("a", ["EXEC"]),
        ("a", ["MULTI"]), ("a", ["SHUTDOWN"]), ("a", ["SET", "x", "1"]),
        ("a", ["EXEC"]), ("a", ["GET", "x"]),
        ("a", ["WATCH"]), ("a", ["UNWATCH", "x"]), ("a", ["MULTI", "x"]),
        ("a", ["EXEC", "x"]), ("a", ["DISCARD", "x"]),
    ],
    "nested_multi_does_not_abort": [
        ("a", ["MULTI"]), ("a", ["MULTI"]), ("a", ["SET", "a", "1"]),
        ("a", ["EXEC"]),
    ],
    "runtime_errors_no_rollback": [
        ("a", ["MULTI"]), ("a", ["SET", "q", "x"]), ("a", ["INCR", "q"]),
        ("a", ["SETRANGE", "q", "-1", "x"]), ("a", ["SET", "r", "1"]),
        ("a", ["EXEC"]), ("a", ["GET", "r"]), ("a", ["GET", "q"]),
    ],
    "empty_and_discard": [
        ("a", ["MULTI"]), ("a", ["EXEC"]), ("a", ["MULTI"]),
        ("a", ["SET", "d", "1"]), ("a", ["DISCARD"]), ("a", ["GET", "d"]),
        ("a", ["EXEC"]),
    ],
    "select_inside": [
        ("a", ["MULTI"]), ("a", ["SET", "k", "0"]), ("a", ["SELECT", "3"]),
        ("a", ["SET", "k", "3"]), ("a", ["EXEC"]), ("a", ["GET", "k"]),
        ("a", ["SELECT", "0"]), ("a", ["GET", "k"]),
    ],
    "reset_and_quit": [
        ("a", ["WATCH", "k"]), ("a", ["MULTI"]), ("a", ["SET", "k", "1"]),
        ("a", ["RESET"]), ("a", ["EXEC"]), ("b", ["SET", "k", "2"]),
        ("a", ["MULTI"]), ("a", ["INCR", "k"]), ("a", ["EXEC"]),
        ("a", ["MULTI"]), ("a", ["INCR", "k"]), ("a", ["QUIT"]),
        ("b", ["GET", "k"]),
    ],
    "watch_other_modifies": [
        ("a", ["SET", "k", "1"]), ("a", ["WATCH", "k"]),
        ("b", ["SET", "k", "1"]), ("a", ["MULTI"]), ("a", ["SET", "x", "1"]),
        ("a", ["EXEC"]), ("a", ["GET", "x"]),
    ],
    "watch_self_modifies": [
        ("a", ["WATCH", "k"]), ("a", ["SET", "k", "1"]), ("a", ["MULTI"]),
        ("a", ["SET", "x", "1"]), ("a", ["EXEC"]),
    ],
    "watch_untouched": [
        ("a", ["WATCH", "k", "k2", "k"]), ("b", ["SET", "other", "1"]),
        ("b", ["GET", "k"]), ("b", ["DEL", "k"]), ("b", ["PERSIST", "k"]),
        ("a", ["MULTI"]), ("a", ["SET", "k", "x"]), ("a", ["EXEC"]),
    ],
    "watch_del_incr_expire": [
        ("a", ["SET", "k", "5"]), ("a", ["WATCH", "k"]),
        ("b", ["INCR", "k"]), ("a", ["MULTI"]), ("a", ["EXEC"]),
        ("a", ["WATCH", "k"]), ("b", ["DEL", "k"]), ("a", ["MULTI"]),
        ("a", ["EXEC"]), ("a", ["SET", "k", "1"]), ("a", ["WATCH", "k"]),
        ("b", ["EXPIRE", "k", "100"]), ("a", ["MULTI"]), ("a", ["EXEC"]),
        ("a", ["WATCH", "k"]), ("b", ["PERSIST", "k"]), ("a", ["MULTI"]),
        ("a", ["EXEC"]),
    ],
    "watch_rename_copy_move": [
        ("a", ["SET", "k", "1"]), ("a", ["WATCH", "k", "dst"]),
        ("b", ["RENAME", "k", "k2"]), ("a", ["MULTI"]), ("a", ["EXEC"]),
        ("a", ["WATCH", "dst"]), ("b", ["COPY", "k2", "dst"]),
        ("a", ["MULTI"]), ("a", ["EXEC"]), ("a", ["WATCH", "k2"]),
        ("b", ["MOVE", "k2", "1"]), ("a", ["MULTI"]), ("a", ["EXEC"]),
        ("a", ["SELECT", "1"]), ("a", ["WATCH", "mk"]),
        ("b", ["SET", "mk", "1"]), ("b", ["MOVE", "mk", "1"]),
        ("a", ["MULTI"]), ("a", ["EXEC"]),
    ],
    "watch_other_db_same_name": [
        ("a", ["WATCH", "k"]), ("a", ["SELECT", "1"]),
        ("b", ["SELECT", "1"]), ("b", ["SET", "k", "1"]),
        ("a", ["MULTI"]), ("a", ["EXEC"]), ("a", ["WATCH", "k"]),
        ("b", ["SELECT", "0"]), ("b", ["SET", "k", "2"]),
        ("a", ["MULTI"]), ("a", ["EXEC"]),
    ],
    "watch_flush": [
        ("a", ["WATCH", "missing"]), ("b", ["FLUSHALL"]), ("a", ["MULTI"]),
        ("a", ["EXEC"]), ("a", ["SET", "k", "1"]), ("a", ["WATCH", "k"]),
        ("b", ["FLUSHALL"]), ("a", ["MULTI"]), ("a", ["EXEC"]),
        ("a", ["SET", "k", "1"]), ("a", ["WATCH", "k"]),
        ("b", ["SELECT", "1"]), ("b", ["FLUSHDB"]), ("a", ["MULTI"]),
        ("a", ["EXEC"]), ("a", ["WATCH", "k"]), ("b", ["SELECT", "0"]),
        ("b", ["FLUSHDB"]), ("a", ["MULTI"]), ("a", ["EXEC"]),
    ],
    "watch_swapdb": [
        ("a", ["WATCH", "k"]), ("b", ["SWAPDB", "0", "1"]), ("a", ["MULTI"]),
        ("a", ["EXEC"]), ("a", ["WATCH", "k"]), ("b", ["SELECT", "1"]),
        ("b", ["SET", "k", "1"]), ("b", ["SWAPDB", "0", "1"]),
        ("a", ["MULTI"]), ("a", ["EXEC"]), ("a", ["WATCH", "k"]),
        ("b", ["SWAPDB", "1", "0"]), ("a", ["MULTI"]), ("a", ["EXEC"]),
        ("a", ["SET", "z", "1"]), ("a", ["WATCH", "nothere"]),
        ("b", ["SWAPDB", "0", "2"]), ("a", ["MULTI"]), ("a", ["EXEC"]),
    ],
    "watch_expires_before_exec": [
        ("a", ["SET", "k", "v", "PX", "150"]), ("a", ["WATCH", "k"]),
        (S, 0.3), ("a", ["MULTI"]), ("a", ["SET", "x", "1"]),
        ("a", ["EXEC"]), ("a", ["GET", "x"]),
    ],
    "watch_expires_while_queueing": [
        ("a", ["SET", "k", "v", "PX", "150"]), ("a", ["WATCH", "k"]),
        ("a", ["MULTI"]), ("a", ["GET", "k"]), (S, 0.3), ("a", ["EXEC"]),
    ],
    "watch_already_expired_then_deleted": [
        ("a", ["SET", "k", "v", "PX", "20"]), (S, 0.1),
        ("a", ["WATCH", "k"]), ("b", ["GET", "k"]), ("a", ["MULTI"]),
        ("a", ["SET", "x", "1"]), ("a", ["EXEC"]),
    ],
    "watch_already_expired_then_set": [
        ("a", ["SET", "k", "v", "PX", "20"]), (S, 0.1),
        ("a", ["WATCH", "k"]), ("b", ["SET", "k", "new"]),
        ("a", ["MULTI"]), ("a", ["EXEC"]),
    ],
    "unwatch_and_discard_forget": [
        ("a", ["WATCH", "k"]), ("a", ["UNWATCH"]), ("b", ["SET", "k", "1"]),
        ("a", ["MULTI"]), ("a", ["EXEC"]), ("a", ["WATCH", "k"]),
        ("a", ["MULTI"]), ("a", ["DISCARD"]), ("b", ["SET", "k", "2"]),
        ("a", ["MULTI"]), ("a", ["EXEC"]), ("a", ["WATCH", "k"]),
        ("b", ["SET", "k", "3"]), ("a", ["UNWATCH"]), ("a", ["MULTI"]),
        ("a", ["EXEC"]), ("a", ["WATCH", "k"]), ("a", ["MULTI"]),
        ("a", ["UNWATCH"]), ("b", ["SET", "k", "4"]), ("a", ["EXEC"]),
    ],
    "dirty_watch_and_abort": [
        ("a", ["WATCH", "k"]), ("b", ["SET", "k", "1"]), ("a", ["MULTI"]),
        ("a", ["NOSUCH"]), ("a", ["EXEC"]), ("a", ["WATCH", "k"]),
        ("b", ["SET", "k", "1"]), ("a", ["WATCH", "j"]), ("a", ["MULTI"]),
        ("a", ["EXEC"]),
    ],
    "exec_watch_each_other": [
        ("a", ["WATCH", "k"]), ("b", ["WATCH", "k"]), ("a", ["MULTI"]),
        ("b", ["MULTI"]), ("a", ["INCR", "k"]), ("b", ["INCR", "k"]),
        ("a", ["EXEC"]), ("b", ["EXEC"]), ("a", ["GET", "k"]),
    ],
}


def run_scenario(port, steps, resp3):
    conns = {"a": dicetest.Conn(port), "b": dicetest.Conn(port)}
    out = []
    for c in conns.values():
        c.cmd("FLUSHALL")
        if resp3:
            c.cmd("HELLO", "3")  # its reply holds the client id: not kept
    for who, what in steps:
        if who == S:
            time.sleep(what)
            continue
        c = conns[who]
        r = c.cmd(*what)
        out.append((who, " ".join(what), r))
        if what[0].upper() == "QUIT":
            out.append((who, "closed", c.closed_by_peer()))
    for c in conns.values():
        c.close()
    return out


# The random differential: two clients, few keys, WATCH and writes of the
# other client between a WATCH and the EXEC, errors while queueing.
KEYS = ["k1", "k2", "k3"]


def random_step(rng):
    k = rng.choice(KEYS)
    who = rng.choice("ab")
    pick = rng.random()
    if pick < 0.15:
        return who, ["WATCH"] + rng.sample(KEYS, rng.randint(1, 2))
    if pick < 0.25:
        return who, ["MULTI"]
    if pick < 0.35:
        return who, ["EXEC"]
    if pick < 0.38:
        return who, ["DISCARD"]
    if pick < 0.41:
        return who, ["UNWATCH"]
    if pick < 0.44:
        return who, [rng.choice(["GET", "BADCMD"])]  # arity / unknown
    cmd = rng.choice([
        ["SET", k, str(rng.randint(0, 9))], ["INCR", k], ["GET", k],
        ["DEL", k], ["APPEND", k, "x"], ["EXPIRE", k, "100"],
        ["PERSIST", k], ["EXISTS", k], ["RENAME", k, rng.choice(KEYS)],
        ["FLUSHDB"], ["SWAPDB", "0", "1"], ["MOVE", k, "1"],
        ["SELECT", str(rng.randint(0, 1))], ["SETRANGE", k, "-1", "e"],
    ])
    return who, cmd


class Transactions(unittest.TestCase):
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
        for resp3 in (False, True):
            for name, steps in SCENARIOS.items():
                with self.subTest(name=name, resp3=resp3):
                    got = run_scenario(self.dice.port, steps, resp3)
                    want = run_scenario(self.redis.port, steps, resp3)
                    self.assertEqual(got, want)

    def test_client_list_fields(self):
        # flags x (in MULTI, or EXEC running) and d (a watched key
        # changed), multi=<queued>, cmd= of the last queued command, and
        # cmd=exec for commands EXEC runs.
        self.need_redis()

        def fields(port):
            a, b = dicetest.Conn(port), dicetest.Conn(port)
            aid = a.cmd("CLIENT", "ID")[1:-2].decode()
            out = []

            def look(raw):
                out.append(re.findall(rb"flags=\S+|multi=\S+|cmd=\S+", raw))
            for cmd in (["WATCH", "k"], ["MULTI"], ["SET", "a", "1"],
                        ["INCR", "x"]):
                a.cmd(*cmd)
            look(b.cmd("CLIENT", "LIST", "ID", aid))
            b.cmd("SET", "k", "1")
            look(b.cmd("CLIENT", "LIST", "ID", aid))
            a.cmd("EXEC")
            look(b.cmd("CLIENT", "LIST", "ID", aid))
            a.cmd("MULTI")
            a.cmd("SET", "a", "1")
            a.cmd("CLIENT", "INFO")
            look(a.cmd("EXEC"))
            a.close()
            b.close()
            return out
        self.assertEqual(fields(self.dice.port), fields(self.redis.port))

    def test_known_bytes(self):
        # A few exact replies, so the test says something without redis.
        c = self.dice.conn()
        self.assertEqual(c.cmd("EXEC"), b"-ERR EXEC without MULTI\r\n")
        self.assertEqual(c.cmd("MULTI"), b"+OK\r\n")
        self.assertEqual(c.cmd("SET", "a", "1"), b"+QUEUED\r\n")
        self.assertEqual(c.cmd("NOPE"), b"-ERR unknown command 'NOPE', "
                         b"with args beginning with: \r\n")
        self.assertEqual(c.cmd("EXEC"), b"-EXECABORT Transaction discarded "
                         b"because of previous errors.\r\n")
        c.cmd("WATCH", "w")
        c.cmd("SET", "w", "1")
        c.cmd("MULTI")
        self.assertEqual(c.cmd("EXEC"), b"*-1\r\n")
        c.cmd("HELLO", "3")
        c.cmd("WATCH", "w")
        c.cmd("SET", "w", "2")
        c.cmd("MULTI")
        self.assertEqual(c.cmd("EXEC"), b"_\r\n")
        c.close()

    def test_random_against_redis(self):
        self.need_redis()
        seen = set()
        for seed in range(40):
            rng = random.Random(seed)
            steps = [random_step(rng) for _ in range(60)]
            with self.subTest(seed=seed):
                got = run_scenario(self.dice.port, steps, seed % 2 == 1)
                want = run_scenario(self.redis.port, steps, seed % 2 == 1)
                self.assertEqual(got, want)
            seen.update(r[:2] for _, c, r in want if c == "EXEC")
        # The runs did reach every outcome of EXEC: ran, failed by a
        # watched key (RESP2 and RESP3), aborted by a queueing error.
        for outcome in (b"*-", b"_\r", b"-E", b"*1", b"*0"):
            self.assertIn(outcome, seen)

    def test_pipeline_transaction(self):
        r = self.dice.redis()
        r.flushall()
        p = r.pipeline(transaction=True)
        p.set("p", 1).incr("p").incrby("p", 5).get("p")
        self.assertEqual(p.execute(), [True, 2, 7, b"7"])
        # A runtime error is returned in its slot; the rest ran.
        p = r.pipeline(transaction=True)
        p.set("s", "x").incr("s").set("t", 1)
        res = p.execute(raise_on_error=False)
        self.assertTrue(res[0])
        self.assertIsInstance(res[1], Exception)
        self.assertTrue(res[2])
        self.assertEqual(r.get("t"), b"1")

    def test_watch_retry_loops(self):
        port = self.dice.port
        r = self.dice.redis()
        r.set("counter", 0)
        nproc, per = 4, 150
        ctx = multiprocessing.get_context("fork")
        procs = [ctx.Process(target=incr_worker, args=(port, per))
                 for _ in range(nproc)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
            self.assertEqual(p.exitcode, 0)
        self.assertEqual(int(r.get("counter")), nproc * per)


def incr_worker(port, n):
    import redis
    r = redis.Redis(host="127.0.0.1", port=port)
    done = 0
    retries = 0
    while done < n:
        with r.pipeline() as p:
            try:
                p.watch("counter")
                v = int(p.get("counter"))
                p.multi()
                p.set("counter", v + 1)
                p.execute()
                done += 1
            except redis.WatchError:
                retries += 1
                if retries > 100000:
                    os._exit(2)
    os._exit(0)


if __name__ == "__main__":
    dicetest.main(globals())
