"""What the benchmark scripts of tests/bench share: one home for each piece.

    from benchlib import Server, cpu_s, rss_kb, ...

- free_port(): a loopback port nobody listens on.
- Server(kind, dice, ...): dice-server ("dice") or redis-server ("redis")
  started fresh on a free port, always with --save '' and a --dir (and
  working directory) of its own, so no dump.rdb of another run is loaded
  or written; .stop() ends it by its pid. stop_all() ends every server
  still running (call it from a finally: block; it also runs at exit).
- cpu_s(pid), rss_kb(pid): a process's CPU seconds (user+sys, from
  /proc/PID/stat) and resident set (VmRSS from /proc/PID/status);
  cpu_us_per_request, rss_growth_kb: the same over one run.
- type_args(cg, only): the options of bench_geo, bench_zset, bench_stream.
- resp(*args): one command in RESP, to send or to load with pipe(port,
  data) / pipe_file(port, path) (redis-cli --pipe).
- cli(port, *args): redis-cli's reply text; ping(port): one PING on a
  new connection; open_conns(port, count): many connections at once.
- redis_benchmark(port, args): one redis-benchmark run, its output;
  pipelined(port, n, args, r): the -P 16 -c 4 -q run most scripts make;
  csv_rps(out, test): requests per second from its --csv output.
- Callgrind: callgrind_argv(out) to put before a server's argv,
  callgrind_pid(port), callgrind_control(pid, *flags), dump_ir(path),
  newest_dump_ir(prefix), dumps(prefix), remove_dumps(prefix); the
  per-request figure
  (Ir(2N) - Ir(N)) / N of tests/bench/callgrind_req.sh is ir_per_request
  (or ir_zeroed: warm up, zero, run, dump).

Nothing here measures on its own: each script decides what to run and
prints its figures.
"""
import argparse
import atexit
import errno
import os
import select
import shutil
import socket
import struct
import subprocess
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
HOST = "127.0.0.1"

_running = []


def free_port():
    """A loopback TCP port that was free when asked (the kernel's choice)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def cpu_s(pid):
    """CPU seconds (user + system) process pid has used so far."""
    with open("/proc/%d/stat" % pid) as f:
        # The command name (field 2) may hold spaces: split after its ')'.
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kb(pid):
    """Resident set size of process pid in KiB (0 if not reported)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def resp(*args):
    """One command as a RESP array of bulk strings (bytes; str and numbers
    are encoded)."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def cli(port, *args, check=False):
    """redis-cli -p port args...: its standard output, stripped."""
    argv = ["redis-cli", "-p", str(port)] + [str(a) for a in args]
    return subprocess.run(argv, capture_output=True, text=True,
                          check=check).stdout.strip()


def pipe(port, data):
    """Send RESP commands (bytes) with redis-cli --pipe."""
    subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=data,
                   stdout=subprocess.DEVNULL, check=True)


def pipe_file(port, path):
    """Send the RESP commands in file path with redis-cli --pipe."""
    with open(path, "rb") as f:
        subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=f,
                       stdout=subprocess.DEVNULL, check=True)


def wait_port(port, proc=None, timeout=120):
    """Wait until port accepts a connection; raise if proc exits first or
    timeout seconds pass (the long default is for servers under valgrind)."""
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("server exited (status %s)" % proc.returncode)
        try:
            socket.create_connection((HOST, port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server on port %d did not start" % port)


# SO_LINGER on with 0 s: close() resets the connection (no TIME_WAIT).
LINGER_RST = struct.pack("ii", 1, 0)


def ping(port, timeout=60):
    """PING on a new connection: the reply line (b"+PONG\r\n"); when it
    comes, the server has read everything sent to it before."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        buf = b""
        while not buf.endswith(b"\r\n"):
            chunk = s.recv(64)
            if not chunk:
                break
            buf += chunk
        return buf


def open_conns(port, count, linger=LINGER_RST, timeout=30):
    """Open count connections to port at once (non-blocking connects, one
    epoll); return the sockets once every one is established."""
    ep = select.epoll()
    pending = {}
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        s.setblocking(False)
        rc = s.connect_ex((HOST, port))
        if rc not in (0, errno.EINPROGRESS):
            raise OSError(rc, os.strerror(rc))
        pending[s.fileno()] = s
        ep.register(s.fileno(), select.EPOLLOUT)
    done = []
    deadline = time.monotonic() + timeout
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError("connections not established in %d s"
                               % timeout)
        for fd, _ in ep.poll(1.0):
            s = pending.pop(fd)
            ep.unregister(fd)
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise OSError(err, os.strerror(err))
            done.append(s)
    ep.close()
    return done


class Server:
    """dice-server (kind "dice", binary dice) or redis-server (kind "redis")
    on a free loopback port, fresh: --save '' and --dir DIR always, where
    DIR is d if given (it is kept) or else a new temporary directory
    (removed by stop()); the server also runs in DIR; redis: the
    redis-server to run for kind "redis". extra: more options
    after those; prefix: a command to run the server under (e.g.
    callgrind_argv(out)); stdout: a file for the server's output (none by
    default). wait=False returns at once (the caller waits: e.g. for a
    load); else the port must accept connections.

    Attributes: kind, port, dir, proc, pid, argv (the server's own)."""

    def __init__(self, kind, dice, extra=(), prefix=(), d=None, stdout=None,
                 wait=True, redis="redis-server"):
        self.kind = kind
        self.port = free_port()
        self._owns_dir = d is None
        self.dir = d if d is not None else tempfile.mkdtemp(
            prefix="bench-%s-" % kind)
        exe = os.path.abspath(dice) if kind == "dice" else redis
        self.argv = [exe, "--port", str(self.port), "--bind", HOST,
                     "--save", "", "--dir", self.dir] + list(extra)
        out = stdout if stdout is not None else subprocess.DEVNULL
        self.proc = subprocess.Popen(list(prefix) + self.argv, stdout=out,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        self.pid = self.proc.pid
        _running.append(self)
        if wait:
            try:
                wait_port(self.port, self.proc)
            except Exception:
                self.stop()
                raise

    def stop(self, timeout=60):
        """End the server by its pid (SIGTERM, SIGKILL after timeout s)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self in _running:
            _running.remove(self)
        if self._owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def stop_all():
    """Stop every Server started here and not stopped yet."""
    for s in list(_running):
        s.stop(timeout=10)


atexit.register(stop_all)


def redis_benchmark(port, args, check=True, stderr=False):
    """redis-benchmark -h 127.0.0.1 -p port args...: its output (stdout,
    followed by its stderr if stderr)."""
    cmd = ["redis-benchmark", "-h", HOST, "-p", str(port)] + [
        str(a) for a in args]
    r = subprocess.run(cmd, capture_output=True, text=True, check=check)
    return r.stdout + r.stderr if stderr else r.stdout


def pipelined(port, n, args, r, check=True):
    """redis-benchmark -n n -r r -P 16 -c 4 -q args...: n requests, 16 in
    flight on each of 4 connections, __rand_int__ below r; its output
    (stdout then stderr)."""
    return redis_benchmark(port, ["-n", n, "-r", r, "-P", "16", "-c", "4",
                                  "-q"] + list(args), check=check, stderr=True)


def csv_rps(out, test):
    """Requests per second of the row of redis-benchmark --csv output out
    whose test name starts with test (case-insensitive); 0.0 if none."""
    rps = 0.0
    for line in out.splitlines():
        parts = [p.strip('"') for p in line.split(",")]
        if len(parts) > 1 and parts[0].upper().startswith(test.upper()):
            rps = float(parts[1])
    return rps


def rss_growth_kb(pid, run, settle_before=0.5, settle_after=2.0):
    """How much process pid's RSS (KiB) grows over run(), read after
    settle_before seconds (the server settles after its start) and again
    settle_after seconds after run() returns."""
    time.sleep(settle_before)
    before = rss_kb(pid)
    run()
    time.sleep(settle_after)
    return rss_kb(pid) - before


def type_args(cg, only="mem,cpu,instr"):
    """The command line of the per-type scripts (bench_geo, bench_zset,
    bench_stream): --dice PATH [--n 1000000] [--requests 200000] [--cg CG]
    [--only ONLY]; returns the parsed options and --only as a list."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--dice", required=True)
    ap.add_argument("--n", type=int, default=1000000)
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--cg", type=int, default=cg)
    ap.add_argument("--only", default=only)
    a = ap.parse_args()
    return a, a.only.split(",")


def cpu_us_per_request(pid, n, run):
    """Call run(); the CPU microseconds process pid used in it, per each of
    n requests, and run()'s result."""
    before = cpu_s(pid)
    res = run()
    return (cpu_s(pid) - before) * 1e6 / n, res


# Callgrind --------------------------------------------------------------

def callgrind_argv(out, extra=()):
    """The command to put before a server's argv to run it under callgrind,
    its dumps going to out (which may carry %p)."""
    return ["valgrind", "--tool=callgrind",
            "--callgrind-out-file=" + out] + list(extra)


def callgrind_pid(port):
    """The pid the callgrind tool runs under for the server on port (from
    vgdb -l; the valgrind launcher may be another process)."""
    out = subprocess.run(["vgdb", "-l"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("use --pid=") and \
                ("--port %d " % port) in line + " ":
            return int(line.split()[1].split("=")[1])
    raise RuntimeError("no valgrind process for port %d" % port)


def callgrind_control(pid, *flags, check=True):
    """callgrind_control flags... pid: -z zeroes the counters, -d dumps
    (and zeroes) them, -i on|off turns instrumentation on or off."""
    subprocess.run(["callgrind_control"] + list(flags) + [str(pid)],
                   capture_output=True, check=check)


def dump_ir(path):
    """Ir (instructions) a callgrind dump file reports (its summary: or
    totals: line); 0 if it has neither."""
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    return 0


def dumps(prefix):
    """The dump files whose names start with prefix (a path), oldest first:
    callgrind's numbered ones (PREFIX.N) by N, the final one last."""
    d = os.path.dirname(prefix) or "."
    base = os.path.basename(prefix)
    names = [f for f in os.listdir(d) if f.startswith(base)]

    def order(f):
        tail = f.rsplit(".", 1)[-1]
        return (0, int(tail)) if f != base and tail.isdigit() else (1, 0)
    return [os.path.join(d, f) for f in sorted(names, key=order)]


def remove_dumps(prefix):
    """Delete the dump files whose names start with prefix."""
    for f in dumps(prefix):
        os.unlink(f)


def newest_dump_ir(prefix):
    """Ir of the newest dump (by modification time) named prefix..."""
    return dump_ir(max(dumps(prefix), key=os.path.getmtime))


def ir_zeroed(pid, prefix, n, run):
    """Ir per request of run() (n requests) for a server under callgrind
    (pid, dumps named prefix...): run() to warm up, counters zeroed (-z),
    run() again and dumped (-d): the newest dump's Ir / n, the same figure
    as (Ir(2N) - Ir(N)) / N."""
    run()
    callgrind_control(pid, "-z")
    run()
    callgrind_control(pid, "-d")
    return newest_dump_ir(prefix) / n


def ir_per_request(pid, prefix, n, run):
    """(Ir(2N) - Ir(N)) / N for a server under callgrind (pid, dumps named
    prefix...): run(n) then run(2n), each closed by a dump (which zeroes
    the counters), so fixed costs cancel out."""
    irs = []
    for count in (n, 2 * n):
        run(count)
        callgrind_control(pid, "-d")
        irs.append(dump_ir(dumps(prefix)[-1]))
    return (irs[1] - irs[0]) / n
