"""The shape rules of lib/ (docs/architecture.md):
- the include rule: a file may include the internal headers of its own
  layer and of layers below it, and the public headers of its own layer and
  below, never anything above (read from the #include lines);
- the naming rule: every function the static library defines with external
  linkage is either public (declared in include/dice/) or carries the
  internal dice__ prefix (read with nm from the built libdice.a)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("DICE_SOURCE_DIR", os.path.join(HERE, "..", ".."))
LIB = os.path.join(ROOT, "lib")

# Bottom to top; folders on one line are peers (neither includes the other).
LAYERS = [
    ["core"],
    ["loop"],
    ["resp"],
    ["keyspace"],
    ["types"],
    ["command"],
    ["server"],
    ["persist", "pubsub"],
    ["scripting"],
    ["commands"],
]
RANK = {name: i for i, row in enumerate(LAYERS) for name in row}
# The public header each layer implements (dice/dice.h is the umbrella,
# for programs, not for the library).
PUBLIC = {"common.h": "core", "loop.h": "loop", "resp.h": "resp",
          "db.h": "keyspace", "command.h": "command", "server.h": "server",
          "session.h": "server"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def check(lib):
    problems = []
    for folder in sorted(os.listdir(lib)):
        path = os.path.join(lib, folder)
        if not os.path.isdir(path):
            problems.append("lib/%s: a file outside the layer folders" % folder)
            continue
        if folder not in RANK:
            problems.append("lib/%s/: a folder that is not a layer (add it "
                            "to LAYERS here and to docs/architecture.md)" % folder)
            continue
        for name in sorted(os.listdir(path)):
            if not name.endswith((".c", ".h")):
                continue
            rel = "lib/%s/%s" % (folder, name)
            text = open(os.path.join(path, name), encoding="utf-8").read()
            for inc in INCLUDE.findall(text):
                top, _, rest = inc.partition("/")
                if top == "dice":
                    target = PUBLIC.get(rest)
                    if target is None:
                        problems.append("%s includes %s, which is the umbrella "
                                        "header or one this rule does not "
                                        "know (see PUBLIC)" % (rel, inc))
                        continue
                elif top in RANK:
                    target = top
                else:
                    problems.append("%s includes \"%s\": internal headers are "
                                    "named by their layer folder" % (rel, inc))
                    continue
                if RANK[target] > RANK[folder] or (
                        RANK[target] == RANK[folder] and target != folder):
                    problems.append("%s (layer %s) includes %s (layer %s)"
                                    % (rel, folder, inc, target))
    return problems


def self_test():
    """The checker itself must catch an upward include, a peer include and
    an unqualified one, and accept a downward one."""
    with tempfile.TemporaryDirectory() as lib:
        files = {"core/a.c": '#include "server/server_internal.h"\n',
                 "persist/b.c": '#include "pubsub/pubsub_internal.h"\n',
                 "server/c.c": '#include "resp_internal.h"\n'
                               '#include "core/core_internal.h"\n'
                               '#include "dice/server.h"\n'}
        for rel, text in files.items():
            os.makedirs(os.path.join(lib, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(lib, rel), "w") as f:
                f.write(text)
        found = check(lib)
        assert len(found) == 3, found
        assert "lib/core/a.c" in found[0] and "layer server" in found[0], found
        assert "lib/persist/b.c" in found[1], found
        assert "lib/server/c.c" in found[2] and "resp_internal.h" in found[2], found


def symbol_problems():
    """Names libdice.a defines that are neither public nor dice__, or None
    when there is no built library or no nm to read it with."""
    build = os.environ.get("DICE_BUILD_DIR")
    lib = os.path.join(build, "libdice.a") if build else None
    if not lib or not os.path.exists(lib) or not shutil.which("nm"):
        return None
    public = set()
    inc = os.path.join(ROOT, "include", "dice")
    for name in os.listdir(inc):
        text = open(os.path.join(inc, name), encoding="utf-8").read()
        public.update(re.findall(r"\b(dice_[a-z0-9_]+)\s*\(", text))
    out = subprocess.run(["nm", "-g", "--defined-only", lib],
                         capture_output=True, text=True, check=True).stdout
    bad = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBR":
            sym = parts[2]
            # Names the toolchain makes (__odr_asan.x under ASan) are not
            # the library's.
            if sym.startswith("__") or "." in sym:
                continue
            if sym not in public and not sym.startswith("dice__"):
                bad.append(sym)
    return sorted(set(bad))


def main():
    self_test()
    problems = check(LIB)
    syms = symbol_problems()
    if syms is None:
        print("naming rule not checked: no built libdice.a (DICE_BUILD_DIR) "
              "or no nm")
    else:
        problems += ["%s: an internal function without the dice__ prefix"
                     % s for s in syms]
    for p in problems:
        print("layering:", p)
    if problems:
        print("0 passed, 1 failed")
        return 1
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
