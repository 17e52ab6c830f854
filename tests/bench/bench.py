#!/usr/bin/python3
"""dice-server next to redis-server: the benchmark driver behind run.sh.

    bench.py --dice PATH --out DIR [--quick] [--rounds N] [--only CASES]

CASES is a comma list of: tput (cases 1-3: throughput, latency, value
sizes, MSET), conns (idle connections), mem (RSS per key), instr
(callgrind instructions per request). Default: all of them.

Every process it starts is kept in one list and ended by its pid on the
way out, whatever the way out is (normal end, error, SIGINT, SIGTERM).
Writes into DIR: results.md, summary.csv, raw.csv, cpu.csv, the gnuplot
data files and (if gnuplot is there) results.png; logs/ has the servers'
output. Standard library only. Not a test: it prints figures.
"""
import argparse
import csv
import datetime
import io
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

from benchlib import cpu_s, free_port, rss_kb as proc_rss_kb

HERE = os.path.dirname(os.path.abspath(__file__))

# Request counts chosen so that each test of a run lasts ~2-5 s on the
# 2-CPU machine of docs/benchmarks.md (both servers near 100k req/s at
# -P 1, 1.5-5M at -P 16/64); the whole suite stays well under 25 minutes.
FULL = dict(rounds=3, n_p1=400000, n_p16=5000000, n_p64=10000000,
            n_1k=3000000, n_100k=60000, n_mset=1500000,
            conns=19500, keys=1000000, cg_n=20000)
QUICK = dict(rounds=1, n_p1=20000, n_p16=200000, n_p64=200000,
             n_1k=50000, n_100k=2000, n_mset=20000,
             conns=2000, keys=100000, cg_n=2000)

MAXCLIENTS = 19600

# Every child we start, so the exit path can end each one by its pid.
CHILDREN = []


def log(msg):
    print(msg, flush=True)


class Interrupted(Exception):
    pass


_interrupted = []


def on_signal(signo, frame):
    # Only the first signal interrupts: a second one (Ctrl-C, then run.sh
    # passing on SIGTERM) must not cut the cleanup short.
    if not _interrupted:
        _interrupted.append(signo)
        raise Interrupted("signal %d" % signo)


def resp_command(port, *args, timeout=10.0):
    """Send one command, return the first reply line (enough for our
    checks: +PONG, +OK, $2 then the value...)."""
    req = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        req += b"$%d\r\n%s\r\n" % (len(a), a)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(req)
        buf = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return buf
            buf += chunk
            if buf.startswith(b"$") and not buf.startswith(b"$-1"):
                head, _, rest = buf.partition(b"\r\n")
                if len(rest) >= int(head[1:]) + 2:
                    return rest[: int(head[1:])]
            elif buf.endswith(b"\r\n"):
                return buf.rstrip(b"\r\n")


def proc_cpu_s(pid):
    """User + system CPU of the whole process (all threads), in seconds."""
    try:
        return cpu_s(pid)
    except OSError:
        return float("nan")


class Server:
    """One dice-server or redis-server on a free loopback port."""

    def __init__(self, kind, binary, logdir, tag, prefix=(), cpu=None):
        self.kind = kind
        self.port = free_port()
        self.logpath = os.path.join(logdir, "%s-%s.log" % (kind, tag))
        # A directory of its own, empty: nothing a server writes there (a
        # dump on shutdown) can be loaded by the next one.
        self.cwd = os.path.join(logdir, "%s-%s-%d.d" % (kind, tag, self.port))
        os.makedirs(self.cwd, exist_ok=True)
        argv = list(prefix)
        if cpu is not None and not prefix:
            argv += ["taskset", "-c", str(cpu)]
        argv += [binary, "--bind", "127.0.0.1", "--port", str(self.port),
                 "--maxclients", str(MAXCLIENTS), "--tcp-backlog", "511",
                 "--hz", "10", "--save", "", "--dir", self.cwd]
        if kind == "redis":
            argv += ["--appendonly", "no", "--daemonize", "no",
                     "--logfile", ""]
        self.argv = argv
        self.proc = None

    def start(self, ready_timeout=15.0):
        logf = open(self.logpath, "ab")
        # A session of its own: a Ctrl-C in the terminal reaches only us,
        # and we stop the servers the way each one shuts down cleanly.
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=logf, stderr=subprocess.STDOUT,
                                     start_new_session=True, cwd=self.cwd)
        logf.close()
        CHILDREN.append(self.proc)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited at start (see %s)"
                                   % (self.kind, self.logpath))
            try:
                if resp_command(self.port, "PING", timeout=2) == b"+PONG":
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("%s not answering PING on port %d"
                           % (self.kind, self.port))

    @property
    def pid(self):
        return self.proc.pid

    def stop(self, timeout=60.0):
        """Clean shutdown (callgrind writes its output then), then force."""
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            if self.kind == "redis":
                resp_command(self.port, "SHUTDOWN", "NOSAVE", timeout=timeout)
            else:
                self.proc.send_signal(signal.SIGTERM)
        except OSError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log("  %s pid %d did not exit; killing it" % (self.kind, self.pid))
            self.proc.kill()
            self.proc.wait()
        try:
            os.rmdir(self.cwd)  # only when the server left nothing there
        except OSError:
            pass


def kill_children():
    for p in CHILDREN:
        if p.poll() is None:
            try:
                p.terminate()
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            except OSError:
                pass


def run_child(argv, timeout, stdin=None):
    """Run a client to completion; return (rc, stdout, stderr, wall s,
    CPU s). The CPU is the child's own user+sys time from rusage."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=stdin or subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    CHILDREN.append(p)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        err += b"\n(timed out after %d s)" % timeout
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return p.returncode, out.decode(errors="replace"), \
        err.decode(errors="replace"), wall, cpu


def bench_once(srv, args, timeout, client_cpu):
    """One redis-benchmark run; returns (rows by test name, wall, client
    CPU s, server CPU s, problems)."""
    argv = []
    if client_cpu is not None:
        argv += ["taskset", "-c", str(client_cpu)]
    argv += ["redis-benchmark", "-h", "127.0.0.1", "-p", str(srv.port),
             "--csv"] + args
    s0 = proc_cpu_s(srv.pid)
    rc, out, err, wall, cpu = run_child(argv, timeout)
    s1 = proc_cpu_s(srv.pid)
    rows = {}
    for rec in csv.DictReader(io.StringIO(out)):
        try:
            rows[rec["test"]] = {k: float(v) for k, v in rec.items()
                                 if k != "test"}
        except (TypeError, ValueError):
            pass
    problems = []
    if rc != 0:
        problems.append("redis-benchmark exit %s" % rc)
    for line in (out + "\n" + err).splitlines():
        if re.search(r"error", line, re.I) and "CONFIG" not in line:
            problems.append(line.strip()[:160])
    return rows, wall, cpu, s1 - s0, problems[:3]


def median(xs):
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


# ---------------------------------------------------------------- cases 1-3

def tput_cases(cfg):
    return [
        ("P1", "-c 50 -P 1", ["-t", "ping,set,get", "-c", "50", "-P", "1",
                              "-r", "100000", "-n", str(cfg["n_p1"])]),
        ("P16", "-c 50 -P 16", ["-t", "ping,set,get", "-c", "50", "-P", "16",
                                "-r", "100000", "-n", str(cfg["n_p16"])]),
        ("P64", "-c 50 -P 64", ["-t", "ping,set,get", "-c", "50", "-P", "64",
                                "-r", "100000", "-n", str(cfg["n_p64"])]),
        ("1KB", "-d 1024 -c 50 -P 16",
         ["-t", "set,get", "-d", "1024", "-c", "50", "-P", "16",
          "-r", "100000", "-n", str(cfg["n_1k"])]),
        # 1,000 keys only: 100,000 keys of 100 KB would need 10 GB each.
        ("100KB", "-d 102400 -c 50 -P 16 -r 1000",
         ["-t", "set,get", "-d", "102400", "-c", "50", "-P", "16",
          "-r", "1000", "-n", str(cfg["n_100k"])]),
        ("MSET", "MSET (10 keys) -c 50 -P 16",
         ["-t", "mset", "-c", "50", "-P", "16", "-r", "100000",
          "-n", str(cfg["n_mset"])]),
    ]


def run_tput(ctx, cfg, results):
    pin = ctx["pin"]
    servers = [Server("dice", ctx["dice"], ctx["logdir"], "tput",
                      cpu=0 if pin else None).start(),
               Server("redis", "redis-server", ctx["logdir"], "tput",
                      cpu=0 if pin else None).start()]
    try:
        for case, label, args in tput_cases(cfg):
            for rnd in range(1, cfg["rounds"] + 1):
                for srv in servers:  # A B A B ...
                    rows, wall, ccpu, scpu, probs = bench_once(
                        srv, args, 600, 1 if pin else None)
                    for test, r in rows.items():
                        results["raw"].append(dict(
                            case=case, server=srv.kind, round=rnd, test=test,
                            rps=r.get("rps"), avg_ms=r.get("avg_latency_ms"),
                            min_ms=r.get("min_latency_ms"),
                            p50_ms=r.get("p50_latency_ms"),
                            p95_ms=r.get("p95_latency_ms"),
                            p99_ms=r.get("p99_latency_ms"),
                            max_ms=r.get("max_latency_ms")))
                    results["cpu"].append(dict(
                        case=case, server=srv.kind, round=rnd,
                        wall_s=round(wall, 3), bench_cpu_s=round(ccpu, 3),
                        server_cpu_s=round(scpu, 3)))
                    shown = "  ".join("%s %.0f" % (t, r.get("rps", 0))
                                      for t, r in rows.items())
                    log("  %-6s round %d %-5s %s  (%.1f s, client CPU %.1f s,"
                        " server CPU %.1f s)" % (case, rnd, srv.kind,
                                                 shown or "NO RESULT", wall,
                                                 ccpu, scpu))
                    for p in probs:
                        log("    ! %s" % p)
                        results["notes"].append("%s %s round %d: %s"
                                                % (case, srv.kind, rnd, p))
    finally:
        for srv in servers:
            srv.stop()


# ----------------------------------------------------------------- case 4

def run_conns(ctx, cfg, results):
    for kind, binary in (("dice", ctx["dice"]), ("redis", "redis-server")):
        srv = Server(kind, binary, ctx["logdir"], "conns",
                     cpu=0 if ctx["pin"] else None).start()
        try:
            argv = []
            if ctx["pin"]:
                argv += ["taskset", "-c", "1"]
            argv += [sys.executable, os.path.join(HERE, "idle_conns.py"),
                     "--port", str(srv.port), "--pid", str(srv.pid),
                     "--count", str(cfg["conns"])]
            rc, out, err, wall, cpu = run_child(argv, 300)
            try:
                r = json.loads(out.strip().splitlines()[-1])
            except (ValueError, IndexError):
                log("  conns %s failed: %s" % (kind, err.strip()[-400:]))
                results["notes"].append("conns %s: %s"
                                        % (kind, err.strip()[-200:]))
                continue
            r["client_cpu_s"] = round(cpu, 3)
            results["conns"][kind] = r
            log("  conns %-5s %d conns: %.0f B/idle conn, %.0f B/conn after"
                " PING, PING round %.3f s (%d PONG, %d other), connect %.2f s"
                % (kind, r["count"], r["idle_bytes_per_conn"],
                   r["used_bytes_per_conn"], r["ping_round_s"], r["pong"],
                   r["not_pong"], r["connect_s"]))
            if r["not_pong"]:
                results["notes"].append(
                    "conns %s: %d connections did not answer PONG"
                    % (kind, r["not_pong"]))
        finally:
            srv.stop()


# ----------------------------------------------------------------- case 5

def settled_rss_kb(pid, least=12.0, most=30.0):
    """VmRSS once it has stopped moving. RSS falls in steps for seconds
    after a load: a hash table that doubled near the end frees its old half
    when the background rehash is done (~4 s after the last insert here,
    for both servers), and jemalloc returns dirty pages to the kernel on a
    10 s decay. So: wait `least` seconds, then until three readings a
    second apart agree."""
    t0 = time.monotonic()
    time.sleep(least)
    seen = [proc_rss_kb(pid)]
    while time.monotonic() - t0 < most:
        time.sleep(1.0)
        seen.append(proc_rss_kb(pid))
        if max(seen[-3:]) - min(seen[-3:]) <= 64 and len(seen) >= 3:
            break
    return seen[-1]


def run_mem(ctx, cfg, results):
    n = cfg["keys"]
    proto = os.path.join(ctx["tmp"], "load-%d.resp" % n)
    if not os.path.exists(proto):
        subprocess.run([sys.executable, os.path.join(HERE, "gen_proto.py"),
                        str(n), proto], check=True)
    last_key, last_val = "key:%07d" % (n - 1), "v%d" % (n - 1)
    for kind, binary in (("dice", ctx["dice"]), ("redis", "redis-server")):
        srv = Server(kind, binary, ctx["logdir"], "mem",
                     cpu=0 if ctx["pin"] else None).start()
        try:
            time.sleep(1.0)
            before = proc_rss_kb(srv.pid)
            with open(proto, "rb") as f:
                rc, out, err, wall, cpu = run_child(
                    ["redis-cli", "-h", "127.0.0.1", "-p", str(srv.port),
                     "--pipe"], 300, stdin=f)
            m = re.search(r"errors:\s*(\d+),\s*replies:\s*(\d+)", out + err)
            errors, replies = (int(m.group(1)), int(m.group(2))) if m \
                else (-1, -1)
            time.sleep(1.0)
            early = proc_rss_kb(srv.pid)
            after = settled_rss_kb(srv.pid)
            check = resp_command(srv.port, "GET", last_key)
            ok = check == last_val.encode() and errors == 0 and replies == n
            r = dict(keys=n, rss_before_kb=before, rss_after_kb=after,
                     rss_1s_after_load_kb=early,
                     bytes_per_key=(after - before) * 1024.0 / n,
                     load_s=round(wall, 3), errors=errors, replies=replies,
                     check=ok)
            results["mem"][kind] = r
            log("  mem   %-5s %d keys: %.1f B/key (RSS %d -> %d kB), load "
                "%.2f s, errors %d, replies %d, GET %s -> %r"
                % (kind, n, r["bytes_per_key"], before, after, wall, errors,
                   replies, last_key, check))
            if not ok:
                results["notes"].append(
                    "mem %s: load not verified (errors %d, replies %d, "
                    "GET %s -> %r)" % (kind, errors, replies, last_key, check))
        finally:
            srv.stop()


# ----------------------------------------------------------------- case 6

def callgrind_total(path):
    total = None
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
                if line.startswith("summary:"):
                    break
    if total is None:
        raise RuntimeError("no summary/totals line in %s" % path)
    return total


def callgrind_run(ctx, kind, binary, test, n):
    out = os.path.join(ctx["logdir"], "callgrind.%s.%s.%d.out"
                       % (kind, test, n))
    prefix = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out]
    srv = Server(kind, binary, ctx["logdir"], "callgrind", prefix=prefix)
    srv.start(ready_timeout=120)
    try:
        # A single key (no -r), present before the timed part, so GET hits
        # and SET overwrites: the same work per request in both runs.
        resp_command(srv.port, "SET", "key:__rand_int__", "xxx", timeout=30)
        rc, o, e, wall, cpu = run_child(
            ["redis-benchmark", "-h", "127.0.0.1", "-p", str(srv.port),
             "-t", test, "-n", str(n), "-c", "4", "-P", "16", "-q"], 600)
    finally:
        srv.stop(timeout=180)
    return callgrind_total(out), wall


def run_instr(ctx, cfg, results):
    n = cfg["cg_n"]
    for test in ("get", "set"):
        for kind, binary in (("dice", ctx["dice"]),
                             ("redis", "redis-server")):
            try:
                ir1, w1 = callgrind_run(ctx, kind, binary, test, n)
                ir2, w2 = callgrind_run(ctx, kind, binary, test, 2 * n)
            except (RuntimeError, OSError) as exc:
                log("  instr %s %s failed: %s" % (kind, test, exc))
                results["notes"].append("instr %s %s: %s" % (kind, test, exc))
                continue
            per = (ir2 - ir1) / n
            results["instr"].setdefault(test.upper(), {})[kind] = dict(
                n=n, ir_n=ir1, ir_2n=ir2, per_request=per)
            log("  instr %-5s %s: Ir(%d) %d, Ir(%d) %d -> %.0f instructions"
                " per request (runs %.1f s, %.1f s)"
                % (kind, test.upper(), n, ir1, 2 * n, ir2, per, w1, w2))


# ----------------------------------------------------------------- report

def summarize(results, cfg):
    """The table rows: (case, unit, dice, redis, better, target)."""
    rows = []

    def med(case, server, test, field):
        return median([r[field] for r in results["raw"]
                       if r["case"] == case and r["server"] == server
                       and r["test"] == test and r[field] is not None])

    have = {(r["case"], r["test"]) for r in results["raw"]}
    for case, label, _ in tput_cases(cfg):
        for test in ("PING_INLINE", "PING_MBULK", "SET", "GET",
                     "MSET (10 keys)"):
            if (case, test) not in have:
                continue
            target = None
            if case == "P1":
                target = ("ratio>=", 1.0)
            elif case in ("P16", "P64") and test in ("SET", "GET"):
                target = ("ratio>=", 1.5)
            name = label if test.startswith("MSET") else \
                "%s %s" % (test, label)
            rows.append(dict(case=name, unit="req/s", group="tput",
                             dice=med(case, "dice", test, "rps"),
                             redis=med(case, "redis", test, "rps"),
                             better="higher", target=target))
    for test in ("SET", "GET"):
        if ("P1", test) not in have:
            continue
        for q, target in (("p50", None), ("p99", ("ratio<=", 1.0))):
            rows.append(dict(case="%s %s latency -c 50 -P 1" % (test, q),
                             unit="ms", group="lat",
                             dice=med("P1", "dice", test, q + "_ms"),
                             redis=med("P1", "redis", test, q + "_ms"),
                             better="lower", target=target))
    c = results["conns"]
    if c:
        g = lambda k, f: c[k][f] if k in c else float("nan")
        n = cfg["conns"]
        rows.append(dict(case="RSS per idle connection (%d conns)" % n,
                         unit="bytes", group="conn",
                         dice=g("dice", "idle_bytes_per_conn"),
                         redis=g("redis", "idle_bytes_per_conn"),
                         better="lower", target=("abs<=", 1024)))
        rows.append(dict(case="RSS per connection after PING rounds",
                         unit="bytes", group="conn",
                         dice=g("dice", "used_bytes_per_conn"),
                         redis=g("redis", "used_bytes_per_conn"),
                         better="lower", target=None))
        rows.append(dict(case="PING round over %d conns (median of 3)" % n,
                         unit="ms",
                         group="conn",
                         dice=1000 * g("dice", "ping_round_s"),
                         redis=1000 * g("redis", "ping_round_s"),
                         better="lower", target=None))
    m = results["mem"]
    if m:
        rows.append(dict(case="RSS per key (%d small strings)" % cfg["keys"],
                         unit="bytes", group="mem",
                         dice=m.get("dice", {}).get("bytes_per_key",
                                                    float("nan")),
                         redis=m.get("redis", {}).get("bytes_per_key",
                                                      float("nan")),
                         better="lower", target=("ratio<=", 0.5)))
    for test in ("GET", "SET"):
        i = results["instr"].get(test)
        if i:
            rows.append(dict(case="instructions per %s (-P 16 -c 4)" % test,
                             unit="Ir", group="instr",
                             dice=i.get("dice", {}).get("per_request",
                                                        float("nan")),
                             redis=i.get("redis", {}).get("per_request",
                                                          float("nan")),
                             better="lower", target=("ratio<=", 0.3)))
    for r in rows:
        d, x = r["dice"], r["redis"]
        r["ratio"] = d / x if x and x == x and d == d else float("nan")
        r["met"] = None
        t = r["target"]
        if t and r["ratio"] == r["ratio"]:
            if t[0] == "ratio>=":
                r["met"] = r["ratio"] >= t[1]
            elif t[0] == "ratio<=":
                r["met"] = r["ratio"] <= t[1]
            elif t[0] == "abs<=":
                r["met"] = d <= t[1]
    return rows


def fmt_num(v, unit):
    if v != v:
        return "n/a"
    if unit == "ms":
        return "%.3f" % v
    if unit == "bytes":
        return "%.0f" % v if abs(v) >= 100 else "%.1f" % v
    return "{:,.0f}".format(v)


def fmt_target(t, met):
    if not t:
        return ""
    text = {"ratio>=": "≥ %gx", "ratio<=": "≤ %gx",
            "abs<=": "dice ≤ %g B"}[t[0]] % t[1]
    if met is None:
        return text
    return text + (" ✓" if met else " ✗")


def machine_info(dice):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    def out(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "unknown"
    rev = out(["git", "-C", HERE, "rev-parse", "--short", "HEAD"])
    return dict(nproc=os.cpu_count(), cpu=cpu, kernel=platform.release(),
                redis=out(["redis-server", "--version"]),
                dice=out([dice, "--version"]), git=rev or "unknown",
                date=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))


def num(v):
    """A number for gnuplot, which reads NaN as missing."""
    return "NaN" if v != v else "%.4f" % v


def write_report(outdir, results, rows, cfg, ctx, quick, elapsed):
    mi = ctx["machine"]
    with open(os.path.join(outdir, "raw.csv"), "w", newline="") as f:
        fields = ["case", "server", "round", "test", "rps", "avg_ms",
                  "min_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms"]
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(results["raw"])
    with open(os.path.join(outdir, "cpu.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["case", "server", "round",
                                          "wall_s", "bench_cpu_s",
                                          "server_cpu_s"])
        w.writeheader()
        w.writerows(results["cpu"])
    with open(os.path.join(outdir, "summary.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case", "unit", "dice", "redis", "ratio", "target", "met"])
        for r in rows:
            w.writerow([r["case"], r["unit"], r["dice"], r["redis"],
                        r["ratio"], fmt_target(r["target"], None),
                        "" if r["met"] is None else int(r["met"])])
    with open(os.path.join(outdir, "details.json"), "w") as f:
        json.dump(dict(machine=mi, config=cfg, conns=results["conns"],
                       mem=results["mem"], instr=results["instr"],
                       notes=results["notes"]), f, indent=1)

    # Data for the plot: throughput bars, and every ratio.
    with open(os.path.join(outdir, "plot-tput.dat"), "w") as f:
        f.write("# label dice_kreq_s redis_kreq_s\n")
        for r in rows:
            if r["group"] == "tput":
                f.write('"%s" %s %s\n' % (
                    r["case"].replace(" -c 50", "").replace(" 10 keys", ""),
                    num(r["dice"] / 1000), num(r["redis"] / 1000)))
    with open(os.path.join(outdir, "plot-ratio.dat"), "w") as f:
        f.write("# label ratio target(or NaN) good(1: target met or, "
                "without one, better than redis)\n")
        for r in rows:
            if r["ratio"] != r["ratio"]:
                continue
            t = r["target"]
            tv = t[1] if t and t[0] != "abs<=" else float("nan")
            label = r["case"].replace(" -c 50", "").replace(" 10 keys", "")
            label = re.sub(r" \([^)]*\)$", "", label)
            label = re.sub(r" over \d+ conns", "", label)
            if r["met"] is not None:
                good = r["met"]
            elif r["better"] == "higher":
                good = r["ratio"] >= 1
            else:
                good = r["ratio"] <= 1
            f.write('"%s" %s %s %d\n' % (label, num(r["ratio"]), num(tv),
                                         good))

    lines = []
    lines.append("# dice-server vs redis-server%s" % (" (quick smoke run)"
                                                      if quick else ""))
    lines.append("")
    lines.append("%s, git %s. Machine: %s CPUs (`nproc`), %s, kernel %s; "
                 "%s; %s." % (mi["date"], mi["git"], mi["nproc"], mi["cpu"],
                              mi["kernel"], mi["redis"], mi["dice"]))
    lines.append("")
    lines.append("Median of %d round(s) per figure, servers run alternately;"
                 " ratio = dice / redis; ✓/✗ = target met or not. "
                 "Throughput in requests/s (higher is better), everything "
                 "else lower is better.%s Suite took %.0f s."
                 % (cfg["rounds"], " Server pinned to CPU 0, client to CPU 1."
                    if ctx["pin"] else "", elapsed))
    lines.append("")
    lines.append("Load average (1, 5, 15 min) at the start: %.2f %.2f %.2f, "
                 "at the end: %.2f %.2f %.2f. Anything well above 0 at the "
                 "start means other programs shared the CPUs, and the "
                 "figures are noisier than they should be."
                 % (ctx["load_start"] + ctx["load_end"]))
    lines.append("")
    lines.append("| case | dice-server | redis-server | ratio | target |")
    lines.append("|---|---:|---:|---:|---|")
    for r in rows:
        unit = "" if r["unit"] == "req/s" else " " + r["unit"]
        lines.append("| %s%s | %s | %s | %s | %s |" % (
            r["case"], (" (%s)" % r["unit"]) if unit else "",
            fmt_num(r["dice"], r["unit"]), fmt_num(r["redis"], r["unit"]),
            "n/a" if r["ratio"] != r["ratio"] else "%.2f" % r["ratio"],
            fmt_target(r["target"], r["met"])))
    if results["cpu"]:
        lines.append("")
        lines.append("CPU time per redis-benchmark run (median over rounds, "
                     "seconds). redis-benchmark is single-threaded: a client"
                     " CPU close to the wall time means the client, not the "
                     "server, was the limit.")
        lines.append("")
        lines.append("| run | server | wall | redis-benchmark CPU | "
                     "server CPU |")
        lines.append("|---|---|---:|---:|---:|")
        for case, label, _ in tput_cases(cfg):
            for kind in ("dice", "redis"):
                sel = [c for c in results["cpu"]
                       if c["case"] == case and c["server"] == kind]
                if not sel:
                    continue
                lines.append("| %s | %s | %.2f | %.2f | %.2f |" % (
                    label, kind, median([c["wall_s"] for c in sel]),
                    median([c["bench_cpu_s"] for c in sel]),
                    median([c["server_cpu_s"] for c in sel])))
    extra = []
    for kind, c in results["conns"].items():
        extra.append("- connections, %s: %d connected in %.2f s, RSS %d → "
                     "%d kB idle → %d kB after the PING rounds (%s s); %d "
                     "PONG, %d other; client CPU %.2f s." % (
                         kind, c["count"], c["connect_s"], c["rss_before_kb"],
                         c["rss_idle_kb"], c["rss_after_ping_kb"],
                         ", ".join("%.3f" % t for t in c["ping_rounds_s"]),
                         c["pong"], c["not_pong"], c["client_cpu_s"]))
    for kind, m in results["mem"].items():
        extra.append("- memory, %s: RSS %d → %d kB for %d keys (%d kB 1 s "
                     "after the load), loaded by "
                     "`redis-cli --pipe` in %.2f s (errors %d, replies %d, "
                     "last key read back: %s)." % (
                         kind, m["rss_before_kb"], m["rss_after_kb"],
                         m["keys"], m["rss_1s_after_load_kb"],
                         m["load_s"], m["errors"], m["replies"],
                         "yes" if m["check"] else "NO"))
    for test, d in results["instr"].items():
        for kind, i in d.items():
            extra.append("- instructions, %s %s: Ir %d for %d requests, %d "
                         "for %d (callgrind, whole process)." % (
                             kind, test, i["ir_n"], i["n"], i["ir_2n"],
                             2 * i["n"]))
    if extra:
        lines.append("")
        lines.append("Details:")
        lines.append("")
        lines += extra
    if results["notes"]:
        lines.append("")
        lines.append("Problems seen during the run:")
        lines.append("")
        lines += ["- " + n for n in results["notes"]]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write(text)
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dice", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--only", default="tput,conns,mem,instr")
    ap.add_argument("--pin", action="store_true",
                    help="server on CPU 0, clients on CPU 1")
    a = ap.parse_args()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    cfg = dict(QUICK if a.quick else FULL)
    if a.rounds:
        cfg["rounds"] = a.rounds
    os.makedirs(a.out, exist_ok=True)
    logdir = os.path.join(a.out, "logs")
    os.makedirs(logdir, exist_ok=True)
    pin = a.pin and (os.cpu_count() or 1) >= 2 and \
        shutil.which("taskset") is not None
    ctx = dict(dice=os.path.abspath(a.dice), logdir=os.path.abspath(logdir),
               tmp=os.path.abspath(logdir), pin=pin)
    ctx["machine"] = machine_info(ctx["dice"])
    results = dict(raw=[], cpu=[], conns={}, mem={}, instr={}, notes=[])
    ctx["load_start"] = os.getloadavg()
    only = set(a.only.split(","))
    t0 = time.monotonic()
    status = 0
    try:
        steps = [("tput", "cases 1-3: throughput, latency, value sizes, MSET",
                  run_tput),
                 ("conns", "case 4: %d idle connections" % cfg["conns"],
                  run_conns),
                 ("mem", "case 5: RSS per key, %d keys" % cfg["keys"],
                  run_mem),
                 ("instr", "case 6: instructions per request (callgrind)",
                  run_instr)]
        for name, title, fn in steps:
            if name not in only:
                continue
            if name == "instr" and not shutil.which("valgrind"):
                log("== %s: skipped, valgrind is not installed" % title)
                results["notes"].append("instructions: valgrind missing")
                continue
            log("== %s" % title)
            try:
                fn(ctx, cfg, results)
            except RuntimeError as exc:
                log("  failed: %s" % exc)
                results["notes"].append("%s: %s" % (name, exc))
                status = 1
    except Interrupted as exc:
        log("interrupted (%s): stopping what was started" % exc)
        status = 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        kill_children()
        proto = os.path.join(ctx["tmp"], "load-%d.resp" % cfg["keys"])
        if os.path.exists(proto):
            os.unlink(proto)
    if status == 130:
        return status
    ctx["load_end"] = os.getloadavg()
    rows = summarize(results, cfg)
    text = write_report(a.out, results, rows, cfg, ctx, a.quick,
                        time.monotonic() - t0)
    print()
    print(text)
    return status


if __name__ == "__main__":
    sys.exit(main())
