#!/usr/bin/python3
"""cjson in Lua scripts (lib/scripting/luacjson.c), dice-server beside
redis-server in the same run: server CPU per EVALSHA (INFO cpu, user+sys,
best of 5 runs of R calls, pipelined 100 deep) of

  empty    return 1 (the cost of a script call, to subtract)
  decode   cjson.decode of a 450-byte document (strings with escapes and
           \\u escapes, a nested object, 60 floats)
  roundtrip cjson.encode(cjson.decode(...)) of the same document

  tests/bench/bench_cjson.py build/dev/examples/dice-server [R]
  (R 20000)"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import dicetest  # noqa: E402

DOC = ('{"id":12345,"name":"a \\"quoted\\" name/with slash","tags":["x","y",'
       '"z"],"nested":{"a":[1,2.5,-3e2,true,false,null],"b":{"c":'
       '"\\u00e9\\ud83d\\ude00"}},"list":[' +
       ",".join(str(i * 1.5) for i in range(60)) + ']}')
SCRIPTS = [("empty", "return 1"),
           ("decode", "local t = cjson.decode(ARGV[1]) return #t.list"),
           ("roundtrip", "return #cjson.encode(cjson.decode(ARGV[1]))")]


def cpu(c):
    info = c.cmd("INFO", "cpu").decode()
    f = dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)
    return float(f["used_cpu_user"]) + float(f["used_cpu_sys"])


def run(server, r):
    c = server.conn(timeout=60)
    out = {}
    for name, body in SCRIPTS:
        sha = c.cmd("SCRIPT", "LOAD", body).split(b"\r\n")[1].decode()
        batch = b"".join(dicetest.encode("EVALSHA", sha, "0", DOC)
                         for _ in range(100))
        best = None
        for _ in range(5):
            c0 = cpu(c)
            for _ in range(r // 100):
                c.send(batch)
                for _ in range(100):
                    c.read_reply()
            t = cpu(c) - c0
            best = t if best is None else min(best, t)
        out[name] = best / r * 1e6
    c.close()
    return out


def main():
    if len(sys.argv) > 1:
        os.environ["DICE_SERVER"] = sys.argv[1]
    r = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    res = {}
    for kind in ("dice", "redis"):
        s = dicetest.Server(kind)
        try:
            res[kind] = run(s, r)
        finally:
            s.stop()
    print("server CPU per EVALSHA, us (document %d bytes, R=%d)" %
          (len(DOC), r))
    print("%-10s %10s %10s" % ("", "dice", "redis"))
    for name, _ in SCRIPTS:
        print("%-10s %10.2f %10.2f" % (name, res["dice"][name],
                                       res["redis"][name]))


if __name__ == "__main__":
    main()
