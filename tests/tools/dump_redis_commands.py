#!/usr/bin/python3
"""Write the command list of a running redis-server as TSV, to produce
docs/redis-7.0-commands.txt once (it is committed; the docs test reads it,
it does not need a redis-server):

    redis-server --port 16399 --save '' --daemonize yes
    /usr/bin/python3 tests/tools/dump_redis_commands.py 16399 \
        > docs/redis-7.0-commands.txt
    redis-cli -p 16399 shutdown nosave

Every command of COMMAND LIST, and every container sub-command
("config|get"), one per line, sorted:
    name  arity  flags  group  since
with flags comma-separated as COMMAND INFO gives them ("-" for none).
Only these facts are kept, not Redis's summaries: docs/commands.md shows
libdice's own summaries.
Lines starting with '#' are comments: the server version and its COMMAND
COUNT ("# COMMAND COUNT 240"), which tests/tools/gen_commands_md.py checks
against the list and prints beside dice-server's."""
import socket
import sys


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            d = self.sock.recv(1 << 16)
            if not d:
                raise EOFError
            self.buf += d
        i = self.buf.index(b"\r\n")
        line, self.buf = self.buf[:i], self.buf[i + 2:]
        return line

    def _take(self, n):
        while len(self.buf) < n + 2:
            d = self.sock.recv(1 << 16)
            if not d:
                raise EOFError
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n + 2:]
        return out

    def read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._take(n).decode()
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise ValueError("unexpected reply %r" % line)

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a.encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self.read()


def pairs(flat):
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 6379
    c = Conn(port)
    version = ""
    for line in c.cmd("INFO", "server").splitlines():
        if line.startswith("redis_version:"):
            version = line.split(":", 1)[1]
    rows = {}

    def add_info(entry):
        name, arity, flags = entry[0], entry[1], entry[2]
        rows.setdefault(name, {})
        rows[name].update(arity=arity, flags=",".join(flags) or "-")
        for sub in entry[9] if len(entry) > 9 and entry[9] else []:
            add_info(sub)

    for entry in c.cmd("COMMAND", "INFO"):
        add_info(entry)

    def add_docs(name, doc):
        d = pairs(doc)
        rows.setdefault(name, {})
        rows[name].update(group=d.get("group", "-"), since=d.get("since", "-"))
        subs = d.get("subcommands")
        if subs:
            for sname, sdoc in pairs(subs).items():
                add_docs(sname, sdoc)

    for name, doc in pairs(c.cmd("COMMAND", "DOCS")).items():
        add_docs(name, doc)

    listed = set(c.cmd("COMMAND", "LIST"))
    missing = listed - set(rows)
    if missing:
        sys.exit("not described: %s" % ", ".join(sorted(missing)))
    count = c.cmd("COMMAND", "COUNT")
    top = sum(1 for n in rows if "|" not in n)
    if count != top:
        sys.exit("COMMAND COUNT %d, but %d top-level commands listed" % (count, top))
    print("# redis-server %s: COMMAND LIST with container sub-commands" % version)
    print("# COMMAND COUNT %d" % count)
    print("# name\tarity\tflags\tgroup\tsince")
    for name in sorted(rows):
        r = rows[name]
        print("%s\t%s\t%s\t%s\t%s" % (name, r["arity"], r["flags"],
                                      r["group"], r["since"]))


if __name__ == "__main__":
    main()
