"""hiredis, the reference C client, against dice-server: compile
hiredis_smoke.c with the system's libhiredis-dev (pkg-config hiredis) and
run it against a started server. Skipped (exit 77) when a C compiler,
pkg-config or hiredis is missing."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def hiredis_flags():
    if not shutil.which("pkg-config"):
        return None
    p = subprocess.run(["pkg-config", "--cflags", "--libs", "hiredis"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return None
    return p.stdout.split()


class Hiredis(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
        flags = hiredis_flags()
        if not cc or flags is None:
            raise unittest.SkipTest("no C compiler or no hiredis (pkg-config "
                                    "hiredis failed)")
        cls.tmp = tempfile.mkdtemp(prefix="dice-hiredis-")
        cls.exe = os.path.join(cls.tmp, "hiredis_smoke")
        cls.pubsub_exe = os.path.join(cls.tmp, "hiredis_pubsub")
        for exe, name in ((cls.exe, "hiredis_smoke.c"),
                          (cls.pubsub_exe, "hiredis_pubsub.c")):
            src = os.path.join(HERE, name)
            p = subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-Wall",
                                "-Wextra", "-Werror", "-O1", "-o", exe, src] +
                               flags, capture_output=True, text=True,
                               timeout=120)
            if p.returncode != 0:
                shutil.rmtree(cls.tmp, ignore_errors=True)
                raise AssertionError("compiling %s failed:\n" % name +
                                     p.stdout + p.stderr)
        cls.srv = dicetest.Server("dice")

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert rc == 0, "dice-server exit code %r" % rc

    def test_smoke(self):
        p = subprocess.run([self.exe, "127.0.0.1", str(self.srv.port)],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("all replies as expected", p.stdout)

    def test_pubsub(self):
        p = subprocess.run([self.pubsub_exe, "127.0.0.1", str(self.srv.port)],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("pub/sub as expected", p.stdout)


if __name__ == "__main__":
    dicetest.main(globals())
