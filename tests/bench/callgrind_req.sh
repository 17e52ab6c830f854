#!/bin/sh
# Instructions per pipelined request of a dice-server binary, user space:
# (Ir(2N) - Ir(N)) / N under valgrind --tool=callgrind, driven by
#   redis-benchmark -t get|set -n N -r 100000 -P 16 -c 4
# Usage: tests/bench/callgrind_req.sh path/to/dice-server [N]   (N: 50000)
# RANDOM_KEYS=0 drops -r (one key, as tests/bench/bench.py's case 6 does:
# every SET then overwrites instead of inserting into a growing keyspace).
# Prints one line per test. Not a test: it prints figures.
set -eu
BIN=$1
N=${2:-50000}
R=${RANDOM_KEYS:-100000}
RFLAG="-r $R"
[ "$R" != 0 ] || RFLAG=
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# run TEST COUNT -> prints the total Ir of one server run
run() {
    port=$(free_port)
    out="$TMP/cg.$1.$2"
    valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$BIN" --bind 127.0.0.1 --port "$port" --save "" --dir "$TMP" >"$TMP/log" 2>&1 &
    pid=$!
    i=0
    until redis-cli -p "$port" PING >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt 600 ] || { echo "server did not start" >&2; kill "$pid"; exit 1; }
        sleep 0.1
    done
    redis-cli -p "$port" SET key:__rand_int__ xxx >/dev/null
    redis-benchmark -h 127.0.0.1 -p "$port" -t "$1" -n "$2" $RFLAG \
        -P 16 -c 4 -q >/dev/null
    kill -TERM "$pid"
    wait "$pid" || true
    sed -n 's/^summary: //p' "$out"
}

for t in get set; do
    a=$(run $t "$N")
    b=$(run $t $((2 * N)))
    echo "$t: Ir($N)=$a Ir($((2 * N)))=$b per request: $(( (b - a) / N ))"
done
