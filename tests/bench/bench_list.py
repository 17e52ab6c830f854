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
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
N_ELEMS = 1000000


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Srv:
    def __init__(self, kind, binary, valgrind=None, extra=()):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="benchlist-")
        if kind == "dice":
            cmd = [binary, "--port", str(self.port), "--save", "",
                   "--dir", self.dir]
        else:
            cmd = ["redis-server", "--port", str(self.port), "--save", "",
                   "--appendonly", "no", "--dir", self.dir]
        if valgrind:
            cmd = ["valgrind", "--tool=callgrind",
                   "--callgrind-out-file=" + valgrind] + list(extra) + cmd
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, cwd=self.dir)
        for _ in range(600):
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.port))
                break
            except OSError:
                time.sleep(0.1)
        self.pid = self.proc.pid

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
        self.proc.terminate()
        self.proc.wait()


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


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    return 0


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
        subprocess.run(["callgrind_control", "-i", "on", str(s.pid)],
                       capture_output=True, check=True)
        subprocess.run(["callgrind_control", "-z", str(s.pid)],
                       capture_output=True, check=True)
        for which, n in IR_CMDS:
            for k in (n, 2 * n):
                run_requests(s, which, k)
                subprocess.run(["callgrind_control", "-d", str(s.pid)],
                               capture_output=True, check=True)
        s.stop()
        totals = {}
        d = os.path.dirname(base)
        for f in os.listdir(d):
            if not f.startswith(os.path.basename(base)):
                continue
            path = os.path.join(d, f)
            suffix = f.rsplit(".", 1)[1]
            with open(path) as fh:
                for ln in fh:
                    if ln.startswith("summary:") and f.count(".") >= 2:
                        totals[int(suffix)] = int(ln.split()[1])
            os.unlink(path)
        res = {}
        for i, (which, n) in enumerate(IR_CMDS):
            res[which] = (totals[2 * i + 2] - totals[2 * i + 1]) / n
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
