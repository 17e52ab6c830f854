#!/usr/bin/env bash
# dice-server next to redis-server: the whole benchmark suite, one command.
#
#   tests/bench/run.sh [--quick] [--publish] [results-dir]
#
# Builds a Release dice-server in build/release, then runs every case of
# docs/benchmarks.md against it and Debian's redis-server, each on a free
# 127.0.0.1 port, alternately, and writes results.md (the table), CSV files
# and results.png into results-dir (default: results/<timestamp>/).
#   --quick    one round, small request counts: a smoke run of a few minutes
#   --publish  copy the table and plot to docs/bench/latest.{md,png} and
#              refresh the table in docs/benchmarks.md
#   DICE_SERVER=path  use that binary instead of building one
#   BENCH_ONLY=tput,conns,mem,instr  run only these parts
#   BENCH_ROUNDS=N    rounds per case (default 3, 1 with --quick)
#   BENCH_PIN=1       server on CPU 0, redis-benchmark on CPU 1
# Not a test: it prints figures. Every process it starts is stopped on the
# way out, Ctrl-C included.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
quick=
publish=
out=
for arg in "$@"; do
    case $arg in
    --quick) quick=--quick ;;
    --publish) publish=1 ;;
    -h | --help)
        sed -n '2,19s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    -*)
        echo "run.sh: unknown option $arg" >&2
        exit 2
        ;;
    *) out=$arg ;;
    esac
done
out=${out:-$root/results/$(date +%Y%m%d-%H%M%S)}

missing=
for tool in redis-server redis-benchmark redis-cli taskset; do
    command -v "$tool" >/dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
    echo "run.sh: missing:$missing (apt-get install redis-server redis-tools util-linux)" >&2
    exit 1
fi
command -v valgrind >/dev/null ||
    echo "run.sh: valgrind is missing (apt-get install valgrind): the instructions case is skipped" >&2
[ -x /usr/bin/python3 ] || { echo "run.sh: needs /usr/bin/python3" >&2; exit 1; }

dice=${DICE_SERVER:-}
if [ -z "$dice" ]; then
    echo "== building a Release dice-server in build/release"
    cmake -S "$root" -B "$root/build/release" -DCMAKE_BUILD_TYPE=Release \
        -DDICE_BUILD_TESTS=OFF >/dev/null
    cmake --build "$root/build/release" -j"$(nproc)" --target dice-server >/dev/null
    dice=$root/build/release/examples/dice-server
fi
[ -x "$dice" ] || { echo "run.sh: no dice-server at $dice" >&2; exit 1; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
echo "== results in $out"

# bench.py stops every process it started (by pid) on any exit; this trap
# only makes sure a Ctrl-C while it runs ends the script too.
pypid=
cleanup() {
    if [ -n "$pypid" ] && kill -0 "$pypid" 2>/dev/null; then
        kill -TERM "$pypid" 2>/dev/null || true
        wait "$pypid" 2>/dev/null || true
    fi
}
trap 'cleanup; exit 130' INT TERM HUP
trap cleanup EXIT

status=0
/usr/bin/python3 "$here/bench.py" --dice "$dice" --out "$out" $quick \
    ${BENCH_ONLY:+--only "$BENCH_ONLY"} ${BENCH_ROUNDS:+--rounds "$BENCH_ROUNDS"} \
    ${BENCH_PIN:+--pin} &
pypid=$!
wait "$pypid" || status=$?
pypid=

if [ "$status" -ge 128 ]; then
    exit "$status"
fi

if command -v gnuplot >/dev/null; then
    gnuplot -e "dir='$out'" "$here/plot.gp" && echo "== plot: $out/results.png"
else
    echo "run.sh: gnuplot is missing (apt-get install gnuplot-nox): no plot" >&2
fi

if [ -n "$publish" ]; then
    mkdir -p "$root/docs/bench"
    cp "$out/results.md" "$root/docs/bench/latest.md"
    [ -f "$out/results.png" ] && cp "$out/results.png" "$root/docs/bench/latest.png"
    /usr/bin/python3 "$here/publish.py" "$out/results.md" "$root/docs/benchmarks.md"
    echo "== published to docs/bench/latest.md, docs/bench/latest.png, docs/benchmarks.md"
fi
exit "$status"
