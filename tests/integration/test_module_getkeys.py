"""MODULE and COMMAND GETKEYSANDFLAGS of dice-server against redis-server
7.0, reply bytes compared:
- MODULE HELP / LIST / LOAD / LOADEX / UNLOAD, arity errors, with
  enable-module-command at its default (no: the protected sub-commands are
  refused) and at yes (LOAD fails as for a library that cannot be loaded);
- COMMAND GETKEYSANDFLAGS (and GETKEYS) on a corpus of command lines with
  their options (SET GET, SORT STORE, GEORADIUS STORE, ZUNIONSTORE, LMPOP,
  ...), and on every command both servers have, with 0 to 8 arguments."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

MODULE_CASES = """\
module help
module list
module load /nonexistent.so
module load /nonexistent.so a b
module loadex /nonexistent.so config a b args x
module loadex /x.so config a
module unload foo
module
module foo
module list x
module load
module unload
module unload a b
module help x
command info module|list module|load module|loadex module|unload module|help"""

GETKEYS_CASES = """\
set a b
set a b get
set a b ex 10 get
set a b nx
get a
mset a 1 b 2 c 3
msetnx a 1 b 2
del a b c
lmove a b left right
blmove a b left right 0
rpoplpush a b
smove a b m
rename a b
copy a b replace
sort a
sort a store b
sort a by w_* get # store b limit 0 1
sort_ro a by w_*
georadius g 1 1 1 km store a storedist b
georadius g 1 1 1 km
georadiusbymember g m 1 km storedist d
geosearchstore d s frommember m byradius 1 km
zunionstore d 2 a b weights 1 2
zinterstore d 3 a b c
zdiffstore d 2 a b
zunion 2 a b
zinter 2 a b withscores
zdiff 1 a
zintercard 2 a b limit 1
sintercard 2 a b
lmpop 2 a b left count 1
blmpop 0 2 a b right
zmpop 1 a min
bzmpop 0 2 a b max count 2
zrangestore d s 0 -1
object encoding x
memory usage x
exists a b c
touch a b
watch a b
publish ch m
config get x
ping
nosuch a
zunionstore d x a
lmpop x a left
sort
command getkeys
set a"""


def enc(line):
    return dicetest.encode(*line.split(" "))


class Base(unittest.TestCase):
    ARGS = []

    @classmethod
    def setUpClass(cls):
        if not dicetest.have_redis_server():
            raise unittest.SkipTest("redis-server not installed")
        cls.dice = dicetest.Server("dice", cls.ARGS)
        cls.red = dicetest.Server("redis", cls.ARGS)

    @classmethod
    def tearDownClass(cls):
        cls.dice.stop()
        cls.red.stop()

    def same(self, lines, prefix=()):
        cd, cr = self.dice.conn(), self.red.conn()
        for line in lines:
            args = list(prefix) + line.split(" ")
            cd.send(dicetest.encode(*args))
            cr.send(dicetest.encode(*args))
            self.assertEqual(cd.read_reply(), cr.read_reply(), " ".join(args))


class ModuleDefault(Base):
    def test_cases(self):
        self.same(MODULE_CASES.split("\n"))


class ModuleAllowed(Base):
    ARGS = ["--enable-module-command", "yes"]

    def test_cases(self):
        self.same(MODULE_CASES.split("\n"))

    def test_config(self):
        self.same(["config get enable-module-command",
                   "config set enable-module-command no"])


class GetKeysAndFlags(Base):
    def test_corpus(self):
        lines = GETKEYS_CASES.split("\n")
        self.same(lines, ["command", "getkeysandflags"])
        self.same(lines, ["command", "getkeys"])

    def test_many_keys(self):
        keys = " ".join("k%d" % i for i in range(100))
        self.same(["del " + keys, "mset " + " ".join(
            "k%d v" % i for i in range(100))], ["command", "getkeysandflags"])

    def test_every_command(self):
        listed = self.red.conn().cmd("COMMAND", "LIST")
        redis_names = set(re.findall(rb"\$\d+\r\n([^\r]*)\r\n", listed))
        raw = self.dice.conn().cmd("COMMAND", "LIST")
        names = sorted(n.decode() for n in re.findall(rb"\$\d+\r\n([^\r]*)\r\n", raw)
                       if n in redis_names)
        self.assertGreater(len(names), 150)
        lines = []
        for name in names:
            for extra in (0, 1, 2, 3, 5, 8):
                lines.append(" ".join([name.replace("|", " ")] +
                                      ["k%d" % i for i in range(extra)]))
        self.same(lines, ["command", "getkeysandflags"])
        self.same(lines, ["command", "getkeys"])


if __name__ == "__main__":
    dicetest.main(globals())
