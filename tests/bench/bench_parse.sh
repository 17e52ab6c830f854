#!/bin/sh
# Instructions per parsed 3-argument command, measured with callgrind as
# (Ir(2N) - Ir(N)) / N so that setup and process start cancel out (buffer
# building is per command too, but is outside the parse loop: only the
# parse loop's function, dice_req_parse and what it calls, is counted via
# --toggle-collect).
# Usage: bench_parse.sh path/to/bench_parse [N]   (default N = 100000)
# Target: under 100 instructions per command.
set -eu
bin=${1:?usage: bench_parse.sh path/to/bench_parse [N]}
n=${2:-100000}
command -v valgrind >/dev/null 2>&1 || { echo "valgrind not found: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ir() {
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1" \
        --toggle-collect=dice_req_parse "$bin" "$1" >/dev/null 2>"$tmp/log.$1"
    # "summary: <Ir>" / "totals: <Ir>" line of the callgrind output
    v=$(awk '/^(summary|totals):/ {print $2; exit}' "$tmp/cg.$1")
    if [ -z "$v" ]; then
        # e.g. valgrind 3.19 cannot read clang 14's default DWARF 5:
        # build with -gdwarf-4.
        echo "callgrind failed:" >&2
        tail -5 "$tmp/log.$1" >&2
        exit 1
    fi
    echo "$v"
}
a=$(ir "$n")
b=$(ir $((2 * n)))
awk -v a="$a" -v b="$b" -v n="$n" 'BEGIN {
    printf "Ir(N=%d) = %d, Ir(2N) = %d\ninstructions per command (dice_req_parse) = %.1f\n", n, a, b, (b - a) / n }'
"$bin" "$n"
