#!/usr/bin/python3
"""Generate docs/commands.md: every Redis 7.0 command and container
sub-command, and whether dice-server supports it.

Inputs:
  - the TSV that tests/tools/dump_commands.c prints (libdice's command
    table with DICE_BUILTIN_ALL), given as a file or '-' for stdin;
  - docs/redis-7.0-commands.txt (Redis 7.0's command list, committed);
  - docs/commands-notes.tsv (hand-kept: remarks that make a registered
    command "partial", and for each command libdice does not register yet
    who brings it: "@scale-out" (the replication and cluster commands) or
    "@issue N" (the open issue that adds it)). A Redis command that is
    neither registered nor planned there is an error, so the page lists
    every Redis 7.0 command with a status.

    cc -std=c11 -D_GNU_SOURCE -Iinclude -Ilib tests/tools/dump_commands.c \\
       build/libdice.a -lpthread -lm -o /tmp/dump_commands
    /tmp/dump_commands | /usr/bin/python3 tests/tools/gen_commands_md.py - \\
       > docs/commands.md

tests/integration/test_docs.py runs the same steps and fails when the
committed page differs from the output."""
import fnmatch
import os
import re
import sys

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

YES, PARTIAL, SCALE = "supported", "partial", "left for the scale-out work"
LATER = "not yet"  # stored as "not yet (issue N)"


def read_tsv(path, ncols):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) < ncols:
                raise SystemExit("%s: short line: %r" % (path, line))
            rows.append(cols)
    return rows


def read_dice(lines):
    dice = {}
    for line in lines:
        line = line.rstrip("\n")
        if not line:
            continue
        name, arity, flags, fk, lk, step, group, summary = line.split("\t")
        dice[name] = {"arity": arity, "flags": flags, "keys": (fk, lk, step),
                      "group": group, "summary": summary}
    return dice


def md_escape(s):
    return s.replace("|", "\\|")


def display(name):
    return name.replace("|", " ").upper()


def planned(name, plan):
    """The plan entry ("@scale-out", "@issue 15") for a command: its own,
    or its container's; names may be globs ("x*")."""
    for n in (name, name.split("|", 1)[0]):
        for pat, what in plan:
            if fnmatch.fnmatchcase(n, pat):
                return what
    return None


def unregistered_status(name, plan):
    what = planned(name, plan)
    if what == "@scale-out":
        return SCALE
    m = re.fullmatch(r"@issue (\d+)", what or "")
    if m:
        return "%s (issue %s)" % (LATER, m.group(1))
    return None


def is_missing(st):
    return st not in (YES, PARTIAL)


def generate(dice, redis_rows, notes, plan, redis_count):
    redis = {r[0]: {"arity": r[1], "flags": r[2], "group": r[3],
                    "since": r[4]} for r in redis_rows}
    status, remark = {}, {}
    unplanned = []
    for name in redis:
        if name not in dice:
            status[name] = unregistered_status(name, plan)
            if status[name] is None:
                unplanned.append(name)
        elif name in notes:
            status[name] = PARTIAL
            remark[name] = notes[name]
        else:
            status[name] = YES
        if name in dice and name in redis and dice[name]["arity"] != redis[name]["arity"]:
            status[name] = PARTIAL
            remark[name] = ("Arity %s (Redis: %s). " % (dice[name]["arity"],
                                                        redis[name]["arity"])
                            + remark.get(name, "")).strip()
    if unplanned:
        raise SystemExit("not registered and not planned in "
                         "docs/commands-notes.tsv: %s" % ", ".join(sorted(unplanned)))
    # A container is partial when some of its sub-commands are missing:
    # the note says which, and who brings them.
    for name in redis:
        if "|" in name or is_missing(status[name]):
            continue
        subs = [s for s in redis if s.startswith(name + "|")]
        by = {}
        for sname in subs:
            if is_missing(status[sname]):
                by.setdefault(status[sname], []).append(sname.split("|", 1)[1].upper())
        if by:
            status[name] = PARTIAL
            parts = ["%s (%s)" % (", ".join(v), k[len(LATER) + 2:-1]
                                   if k.startswith(LATER) else k)
                     for k, v in sorted(by.items())]
            note = "Sub-commands not yet served: %s." % "; ".join(parts)
            remark[name] = (remark.get(name, "") + " " + note).strip()

    top = [n for n in redis if "|" not in n]
    sub = [n for n in redis if "|" in n]

    kinds = [YES, PARTIAL, SCALE] + sorted(
        {st for st in status.values() if st.startswith(LATER)},
        key=lambda st: int(re.search(r"\d+", st).group()))

    def counts(names):
        return {k: sum(1 for n in names if status[n] == k) for k in kinds}

    if redis_count != len(top):
        raise SystemExit("docs/redis-7.0-commands.txt: COMMAND COUNT %d, but %d "
                         "top-level commands listed" % (redis_count, len(top)))
    dice_count = sum(1 for n in dice if "|" not in n)
    ct, cs = counts(top), counts(sub)
    out = []
    w = out.append
    w("# Command compatibility with Redis 7.0")
    w("")
    w("<!-- Generated by tests/tools/gen_commands_md.py: do not edit by hand."
      " -->")
    w("")
    w("`COMMAND COUNT`: dice-server %d, redis-server 7.0 %d (%d of Redis's "
      "are left for the scale-out work; %d more are not yet served)."
      % (dice_count, redis_count, ct[SCALE],
         sum(ct[k] for k in kinds if k.startswith(LATER))))
    w("")
    w("Which of Redis 7.0's commands dice-server (libdice with "
      "`DICE_BUILTIN_ALL`) serves. A supported command is meant to answer "
      "as redis-server 7.0 does, errors included (the integration tests "
      "compare the two servers' replies); "
      "*partial* says what is missing. A command dice-server does not "
      "serve gets Redis's `ERR unknown command` reply; it is either *left "
      "for the scale-out work* (replication and cluster) or *not yet*, "
      "with the open issue that brings it.")
    w("")
    w("| | commands | sub-commands |")
    w("|---|---:|---:|")
    w("| Redis 7.0 | %d | %d |" % (len(top), len(sub)))
    for k in kinds:
        w("| %s | %d | %d |" % (k, ct[k], cs[k]))
    w("")
    w("The list of Redis 7.0 commands is `docs/redis-7.0-commands.txt` "
      "(taken once from a real redis-server 7.0 with "
      "`tests/tools/dump_redis_commands.py`); remarks for partial commands, "
      "and who brings each command not yet served, are kept by hand in "
      "`docs/commands-notes.tsv`. To regenerate this "
      "page after changing the command table or the notes:")
    w("")
    w("```sh")
    w("cc -std=c11 -D_GNU_SOURCE -Iinclude -Ilib tests/tools/dump_commands.c "
      "build/libdice.a -lpthread -lm -o /tmp/dump_commands")
    w("/tmp/dump_commands | /usr/bin/python3 tests/tools/gen_commands_md.py - "
      "> docs/commands.md")
    w("```")
    w("")
    w("A host program adds its own commands with `dice_command_add()` "
      "(see [embedding.md](embedding.md)); they are not listed here.")
    w("")

    groups = {}
    for n in top:
        groups.setdefault(redis[n]["group"], []).append(n)
    for g in sorted(groups):
        w("## %s" % g)
        w("")
        w("| command | status | arity | flags | notes |")
        w("|---|---|---:|---|---|")
        for n in sorted(groups[g]):
            for m in [n] + sorted(s for s in sub if s.startswith(n + "|")):
                d = dice.get(m)
                st = status[m]
                mark = {YES: "yes", PARTIAL: "partial",
                        SCALE: "scale-out"}.get(st, st)
                desc = d["summary"] if d and d["summary"] != "-" else ""
                notes_txt = remark.get(m, "")
                text = desc if not is_missing(st) else ""
                if st == PARTIAL and notes_txt:
                    text = (desc + ". " if desc else "") + "**Partial:** " + notes_txt
                flags = (d or redis[m])["flags"]
                flags = "" if flags == "-" else flags.replace(",", ", ")
                label = "`%s`" % display(m)
                if "|" in m:
                    label = "&nbsp;&nbsp;" + label
                w("| %s | %s | %s | %s | %s |" % (
                    label, mark, redis[m]["arity"], md_escape(flags),
                    md_escape(text)))
        w("")

    extra = sorted(n for n in dice if n not in redis)
    if extra:
        w("## Not in Redis 7.0")
        w("")
        w("Served by dice-server although Redis 7.0 does not have them "
          "(later Redis versions do).")
        w("")
        w("| command | arity | flags | summary |")
        w("|---|---:|---|---|")
        for n in extra:
            d = dice[n]
            flags = "" if d["flags"] == "-" else d["flags"].replace(",", ", ")
            w("| `%s` | %s | %s | %s |" % (display(n), d["arity"],
                                           md_escape(flags),
                                           md_escape(d["summary"])))
        w("")
    unknown = sorted(n for n in notes if n not in redis)
    unknown += sorted(pat for pat, _ in plan
                      if not any(fnmatch.fnmatchcase(n, pat) for n in redis))
    if unknown:
        raise SystemExit("docs/commands-notes.tsv names unknown commands: %s"
                         % ", ".join(unknown))
    return "\n".join(out).rstrip("\n") + "\n"


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    src = sys.argv[1]
    lines = sys.stdin.readlines() if src == "-" else open(src).readlines()
    dice = read_dice(lines)
    listing = os.path.join(SRC, "docs", "redis-7.0-commands.txt")
    redis_rows = read_tsv(listing, 5)
    redis_count = None
    with open(listing) as f:
        for line in f:
            m = re.match(r"# COMMAND COUNT (\d+)$", line.strip())
            if m:
                redis_count = int(m.group(1))
    if redis_count is None:
        raise SystemExit("%s: no '# COMMAND COUNT' line" % listing)
    rows = read_tsv(os.path.join(SRC, "docs", "commands-notes.tsv"), 2)
    notes = {r[0]: r[1] for r in rows if not r[1].startswith("@")}
    plan = [(r[0], r[1]) for r in rows if r[1].startswith("@")]
    bad = [w for _, w in plan
           if w != "@scale-out" and not re.fullmatch(r"@issue \d+", w)]
    if bad:
        raise SystemExit("docs/commands-notes.tsv: unknown plan %s" % ", ".join(bad))
    sys.stdout.write(generate(dice, redis_rows, notes, plan, redis_count))


if __name__ == "__main__":
    main()
