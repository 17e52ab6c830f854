"""The documentation stays true to the code:

- docs/commands.md is what tests/tools/gen_commands_md.py makes from the
  command table (tests/tools/dump_commands.c, compiled here with cc against
  the build's libdice.a) and the committed Redis 7.0 command list;
- docs/api.md is what tests/tools/gen_api_md.py makes from the headers, and
  lists every DICE_EXPORT function;
- docs/configuration.md and the dice-server(1) page name every setting a
  running dice-server reports with CONFIG GET *;
- relative links between the pages point at files that exist.

Run: DICE_SERVER=... DICE_BUILD_DIR=... DICE_SOURCE_DIR=... \
     /usr/bin/python3 tests/integration/test_docs.py"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.environ.get("DICE_SOURCE_DIR",
                                     os.path.join(HERE, "..", "..")))
BUILD = os.path.abspath(os.environ.get("DICE_BUILD_DIR",
                                       os.path.join(SRC, "build")))
DOCS = os.path.join(SRC, "docs")
PY = "/usr/bin/python3"


def read(path):
    with open(path) as f:
        return f.read()


def first_diff(a, b):
    al, bl = a.splitlines(), b.splitlines()
    for i, (x, y) in enumerate(zip(al, bl)):
        if x != y:
            return "line %d:\n  committed: %s\n  generated: %s" % (i + 1, x, y)
    return "length differs: committed %d lines, generated %d" % (len(al),
                                                                  len(bl))


def exported_functions():
    """{header: [names]} of the DICE_EXPORT functions, comments removed."""
    out = {}
    for h in sorted(glob.glob(os.path.join(SRC, "include", "dice", "*.h"))):
        text = re.sub(r"/\*.*?\*/", " ", read(h), flags=re.S)
        text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
        out[os.path.basename(h)] = re.findall(
            r"DICE_EXPORT\b[^;(]*?\b(dice_\w+)\s*\(", text)
    return out


class CommandsPage(unittest.TestCase):
    def test_commands_md_is_current(self):
        lib = os.path.join(BUILD, "libdice.a")
        self.assertTrue(os.path.exists(lib), "no static library at %s" % lib)
        cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
        self.assertIsNotNone(cc, "no C compiler")
        tmp = tempfile.mkdtemp(prefix="dicedocs-")
        try:
            exe = os.path.join(tmp, "dump_commands")
            cmd = [cc, "-std=c11", "-D_GNU_SOURCE",
                   "-I" + os.path.join(SRC, "include"),
                   "-I" + os.path.join(SRC, "lib"),
                   os.path.join(SRC, "tests", "tools", "dump_commands.c"),
                   lib, "-lpthread", "-lm", "-o", exe]
            # A build with scripting links Lua 5.1, one with TLS OpenSSL
            # (CMakeCache says).
            cache = os.path.join(BUILD, "CMakeCache.txt")
            text = read(cache) if os.path.exists(cache) else ""
            if "DICE_WITH_LUA:BOOL=ON" in text:
                cmd.insert(-2, "-llua5.1")
            if "DICE_WITH_TLS:BOOL=ON" in text:
                cmd[-3:-3] = ["-lssl", "-lcrypto"]
            # A sanitizer build's library needs the sanitizer runtimes.
            if os.environ.get("DICE_SANITIZE", "").upper() in ("ON", "1",
                                                               "TRUE", "YES"):
                cmd.insert(1, "-fsanitize=address,undefined")
            r = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=120)
            self.assertEqual(r.returncode, 0, "compiling dump_commands:\n" +
                             r.stderr)
            dump = subprocess.run([exe], capture_output=True, text=True,
                                  timeout=60, check=True).stdout
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        # Sanity: the dump is the real table, not an empty one.
        names = [line.split("\t")[0] for line in dump.splitlines()]
        for must in ("get", "set", "ping", "client|setname", "config|get"):
            self.assertIn(must, names)
        gen = subprocess.run([PY, os.path.join(SRC, "tests", "tools",
                                               "gen_commands_md.py"), "-"],
                             input=dump, capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(gen.returncode, 0, gen.stderr)
        committed = read(os.path.join(DOCS, "commands.md"))
        if committed != gen.stdout:
            self.fail("docs/commands.md is out of date (%s).\nRegenerate it "
                      "from the repository root with:\n"
                      "  cc -std=c11 -D_GNU_SOURCE -Iinclude -Ilib "
                      "tests/tools/dump_commands.c build/libdice.a -lpthread "
                      "-lm -lssl -lcrypto -o /tmp/dump_commands\n"
                      "  /tmp/dump_commands | /usr/bin/python3 "
                      "tests/tools/gen_commands_md.py - > docs/commands.md"
                      % first_diff(committed, gen.stdout))
        # Every built-in command is on the page.
        for n in names:
            label = "`%s`" % n.replace("|", " ").upper()
            self.assertIn(label, committed)

    def test_redis_list_is_complete(self):
        rows = [line.split("\t") for line in
                read(os.path.join(DOCS, "redis-7.0-commands.txt")).splitlines()
                if line and not line.startswith("#")]
        names = {r[0] for r in rows}
        self.assertEqual(len(names), len(rows))
        # Redis 7.0 has 240 commands (COMMAND COUNT); sample a few of each.
        self.assertEqual(sum(1 for n in names if "|" not in n), 240)
        for n in ("get", "xadd", "function|load", "client|tracking",
                  "config|set", "zrangestore"):
            self.assertIn(n, names)


class ApiIndex(unittest.TestCase):
    def test_api_md_is_current(self):
        gen = subprocess.run([PY, os.path.join(SRC, "tests", "tools",
                                               "gen_api_md.py")],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(gen.returncode, 0, gen.stderr)
        committed = read(os.path.join(DOCS, "api.md"))
        if committed != gen.stdout:
            self.fail("docs/api.md is out of date (%s).\nRegenerate it with:"
                      "\n  /usr/bin/python3 tests/tools/gen_api_md.py > "
                      "docs/api.md" % first_diff(committed, gen.stdout))

    def test_every_exported_function_is_documented(self):
        api = read(os.path.join(DOCS, "api.md"))
        guides = read(os.path.join(DOCS, "embedding.md")) + \
            read(os.path.join(DOCS, "ffi.md"))
        funcs = exported_functions()
        total = sum(len(v) for v in funcs.values())
        self.assertGreater(total, 100)  # the grep found the real API
        missing = [n for names in funcs.values() for n in names
                   if not re.search(r"\b%s\(" % n, api)]
        self.assertEqual(missing, [], "not in docs/api.md")
        # The guides cover every part of the server-side API.
        for h in ("loop.h", "server.h", "command.h"):
            absent = [n for n in funcs[h]
                      if not re.search(r"\b%s\b" % n, guides)]
            self.assertEqual(absent, [], "%s functions missing from "
                             "docs/embedding.md and docs/ffi.md" % h)
        # No stale name: every dice_* function the pages mention exists.
        known = {n for names in funcs.values() for n in names}
        for page in ("api.md", "embedding.md", "ffi.md", "getting-started.md"):
            text = read(os.path.join(DOCS, page))
            for n in set(re.findall(r"\b(dice_[a-z0-9_]+)\(", text)):
                self.assertIn(n, known, "%s mentions %s(), which is not a "
                              "public function" % (page, n))


class ConfigurationPage(unittest.TestCase):
    def test_every_setting_is_documented(self):
        srv = dicetest.Server("dice")
        try:
            c = srv.conn()
            raw = c.cmd("CONFIG", "GET", "*")
            c.close()
        finally:
            srv.stop()
        # A flat array of name, value bulk strings (RESP2).
        parts = raw.split(b"\r\n")
        self.assertTrue(parts[0].startswith(b"*"))
        items = [parts[i].decode() for i in range(2, len(parts) - 1, 2)]
        names = items[0::2]
        self.assertIn("port", names)
        self.assertIn("maxclients", names)
        conf = read(os.path.join(DOCS, "configuration.md"))
        man = read(os.path.join(DOCS, "dice-server.1"))
        for n in names:
            self.assertIn("`%s`" % n, conf,
                          "docs/configuration.md does not describe %s" % n)
            # roff escapes '-' as '\-' in option names.
            self.assertTrue(n in man or n.replace("-", "\\-") in man,
                            "docs/dice-server.1 does not mention %s" % n)


class Links(unittest.TestCase):
    def test_relative_links_resolve(self):
        pages = glob.glob(os.path.join(DOCS, "*.md")) + \
            [os.path.join(SRC, "README.md")]
        for page in pages:
            text = read(page)
            for target in re.findall(r"\]\(([^)\s]+)\)", text):
                if re.match(r"[a-z]+:", target) or target.startswith("#"):
                    continue
                path = target.split("#", 1)[0]
                full = os.path.normpath(os.path.join(os.path.dirname(page),
                                                     path))
                self.assertTrue(os.path.exists(full), "%s links to missing %s"
                                % (os.path.relpath(page, SRC), target))


if __name__ == "__main__":
    dicetest.main(globals())
