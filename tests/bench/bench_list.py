"""List figures of issue 10, dice-server beside redis-server in one run:

  memory: RSS growth per element of one list of 1,000,000 short strings
          (vN), loaded into a fresh server with pipelined RPUSH of 1,000
          elements each;
  cpu:    server user+sys time per pipelined request (/proc/PID/stat) of
          LPUSH, RPOP and LRANGE 0 99 on a list of 1,000,000 elements;
  ir:     instructions per request under callgrind, (Ir(2N) - Ir(N)) / N,
          for the same commands (--ir: N = 20,000, 4,000 for LRANGE, the
          list loaded with instrumentation off; a few minutes).

  /usr/bin/python3 tests/bench/bench_list.py [--ir|--ir-only] [dice-server path]

Not a test: it prints figures."""
import os
import socket
import sys
import tempfile
import time

from benchlib import HOST, Server, callgrind_argv, callgrind_control, cpu_s, \
    dump_ir, dumps, remove_dumps, resp as enc, rss_kb

HERE = os.path.dirname(os.path.abspath(__file__))
N_ELEMS = 1000000


class Srv:
    """A fresh server (benchlib.Server; under callgrind if valgrind: its
    dump file, extra: more valgrind options) and one connection to it."""

    def __init__(self, kind, binary, valgrind=None, extra=()):
        self.server = Server(kind, binary, prefix=callgrind_argv(
            valgrind, extra) if valgrind else ())
        self.port = self.server.port
        self.pid = self.server.pid
        self.sock = socket.create_connection((HOST, self.port))

    def pipeline(self, payload, nreplies):
        """Send payload and read until nreplies top-level replies ended
        (counted by a cheap RESP scan of the replies we expect)."""
        self.sock.sendall(payload)
        buf = b""
        got = 0
        parser = _Counter()
        while got < nreplies:
            d = self.sock.recv(1 << 20)
            if not d:
                raise EOFError
            got += parser.feed(d)
        return buf

    def cmd(self, *args):
        self.pipeline(enc(*args), 1)

    def stop(self):
        self.sock.close()
        self.server.stop()


class _Counter:
    """Counts complete top-level RESP2 replies in a byte stream."""

    def __init__(self):
        self.buf = b""
        self.stack = []

    def feed(self, data):
        self.buf += data
        done = 0
        pos = 0
        b = self.buf
        while True:
            i = b.find(b"\r\n", pos)
            if i < 0:
                break
            t = b[pos:pos + 1]
            if t == b"$":
                n = int(b[pos + 1:i])
                end = i + 2 + (n + 2 if n >= 0 else 0)
                if end > len(b):
                    break
                pos = end
                done += self._item()
            elif t == b"*":
                n = int(b[pos + 1:i])
                pos = i + 2
                if n > 0:
                    self.stack.append(n)
                else:
                    done += self._item()
            else:
                pos = i + 2
                done += self._item()
        self.buf = b[pos:]
        return done

    def _item(self):
        while self.stack:
            self.stack[-1] -= 1
            if self.stack[-1] > 0:
                return 0
            self.stack.pop()
        return 1


def load(s, n=N_ELEMS, key=b"l"):
    batch = 1000
    chunk = []
    for i in range(0, n, batch):
        chunk.append(enc(b"RPUSH", key,
                         *[b"v%d" % j for j in range(i, min(n, i + batch))]))
        if len(chunk) == 50:
            s.pipeline(b"".join(chunk), len(chunk))
            chunk = []
    if chunk:
        s.pipeline(b"".join(chunk), len(chunk))


def requests(which, n):
    one = {"lpush": enc(b"LPUSH", b"l", b"vnew"),
           "rpop": enc(b"RPOP", b"l"),
           "lrange": enc(b"LRANGE", b"l", b"0", b"99")}[which]
    return one, n


def run_requests(s, which, n):
    one, _ = requests(which, n)
    per = 1000
    for i in range(0, n, per):
        k = min(per, n - i)
        s.pipeline(one * k, k)


def memory(binary):
    out = {}
    for kind in ("dice", "redis"):
        s = Srv(kind, binary)
        time.sleep(0.3)
        before = rss_kb(s.pid)
        load(s)
        time.sleep(1.0)
        after = rss_kb(s.pid)
        out[kind] = (after - before) * 1024.0 / N_ELEMS
        s.stop()
    return out


def cpu(binary, n=1000000):
    out = {}
    for kind in ("dice", "redis"):
        s = Srv(kind, binary)
        load(s)
        res = {}
        for which in ("lpush", "rpop", "lrange"):
            cnt = n if which != "lrange" else n // 10
            t0 = cpu_s(s.pid)
            run_requests(s, which, cnt)
            res[which] = (cpu_s(s.pid) - t0) / cnt * 1e6
        out[kind] = res
        s.stop()
    return out


IR_CMDS = (("lpush", 20000), ("rpop", 20000), ("lrange", 4000))


def ir(binary):
    """One callgrind process per server: the 1,000,000-element list is
    loaded with instrumentation off (--instr-atstart=no, fast), then for
    each command N requests and 2N requests are run, each closed by a
    dump (callgrind_control -d, which also zeroes the counters); the
    figure is (Ir(2N) - Ir(N)) / N, fixed costs cancelling out."""
    out = {}
    for kind in ("dice", "redis"):
        base = tempfile.mktemp(prefix="cg-list-")
        s = Srv(kind, binary, valgrind=base + ".%p",
                extra=["--instr-atstart=no"])
        load(s)
        callgrind_control(s.pid, "-i", "on")
        callgrind_control(s.pid, "-z")
        for which, n in IR_CMDS:
            for k in (n, 2 * n):
                run_requests(s, which, k)
                callgrind_control(s.pid, "-d")
        # base.PID.1, .2, ...: one dump per run; base.PID: what was left
        # at exit.
        irs = [dump_ir(f) for f in dumps("%s.%d." % (base, s.pid))]
        s.stop()
        remove_dumps(base)
        res = {}
        for i, (which, n) in enumerate(IR_CMDS):
            res[which] = (irs[2 * i + 1] - irs[2 * i]) / n
        out[kind] = res
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    binary = os.path.abspath(args[0]) if args else os.path.join(HERE, "..", "..", "build",
                                               "examples", "dice-server")
    if "--ir-only" in sys.argv:
        r = ir(binary)
        print("instructions per request (callgrind):")
        for which, _ in IR_CMDS:
            print("  %-7s dice %.0f  redis %.0f" % (which, r["dice"][which],
                                                    r["redis"][which]))
        return
    m = memory(binary)
    print("memory, one list of 1,000,000 vN (RSS growth per element):")
    for k, v in m.items():
        print("  %-6s %.2f B" % (k, v))
    c = cpu(binary)
    print("server CPU per request on a 1,000,000-element list (us):")
    for which in ("lpush", "rpop", "lrange"):
        print("  %-7s dice %.3f  redis %.3f" % (which, c["dice"][which],
                                                c["redis"][which]))
    if "--ir" in sys.argv:
        r = ir(binary)
        print("instructions per request (callgrind):")
        for which in ("lpush", "rpop", "lrange"):
            print("  %-7s dice %.0f  redis %.0f" % (which, r["dice"][which],
                                                    r["redis"][which]))


if __name__ == "__main__":
    main()
