#!/usr/bin/python3
"""Put a results.md into docs/benchmarks.md, between its markers:

    publish.py RESULTS_MD BENCHMARKS_MD

Everything between the lines <!-- latest:begin --> and <!-- latest:end -->
is replaced by the table (its own title dropped) and a link to the plot,
docs/bench/latest.png. Standard library only.
"""
import sys

BEGIN, END = "<!-- latest:begin -->", "<!-- latest:end -->"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: publish.py RESULTS_MD BENCHMARKS_MD")
    with open(sys.argv[1]) as f:
        table = f.read().splitlines()
    if table and table[0].startswith("# "):
        table = table[1:]
    with open(sys.argv[2]) as f:
        doc = f.read()
    if BEGIN not in doc or END not in doc:
        sys.exit("publish.py: no %s ... %s in %s" % (BEGIN, END, sys.argv[2]))
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    body = "\n".join(table).strip()
    body += "\n\n![dice-server vs redis-server](bench/latest.png)\n"
    with open(sys.argv[2], "w") as f:
        f.write(head + BEGIN + "\n\n" + body + "\n" + END + tail)


if __name__ == "__main__":
    main()
