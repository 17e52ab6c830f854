#!/usr/bin/env bash
# PING throughput, dice-server next to redis-server, in the same run:
# 50 clients at pipeline depth 1 and 16, alternating servers (A B A B A B)
# and printing each case's median requests/second and the ratio.
#   tests/bench/bench_ping.sh [path/to/dice-server] [requests]
# Not a test: it prints figures.
set -euo pipefail
dice=${1:-build/release/examples/dice-server}
n=${2:-1000000}
rounds=${ROUNDS:-3}
command -v redis-benchmark >/dev/null || { echo "needs redis-benchmark"; exit 1; }
tmp=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
dport=$(free_port); "$dice" --port "$dport" >"$tmp/dice.log" 2>&1 & dpid=$!
rport=
if command -v redis-server >/dev/null; then
    rport=$(free_port)
    redis-server --port "$rport" --save '' --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 & rpid=$!
fi
trap 'kill $dpid ${rpid:-} 2>/dev/null; rm -rf "$tmp"' EXIT
sleep 0.5
rps() { # port pipeline
    redis-benchmark -p "$1" -t ping_mbulk -c 50 -n "$n" -P "$2" -q 2>/dev/null |
        tr '\r' '\n' | awk '/requests per second/ {for(i=1;i<=NF;i++) if ($(i+1) ~ /requests/) print $i}' | tail -1
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-22s %14s %14s %7s\n' case dice-server redis-server ratio
for p in 1 16; do
    : >"$tmp/d"; : >"$tmp/r"
    for _ in $(seq "$rounds"); do
        rps "$dport" "$p" >>"$tmp/d"
        [ -n "$rport" ] && rps "$rport" "$p" >>"$tmp/r"
    done
    d=$(median <"$tmp/d")
    if [ -n "$rport" ]; then
        r=$(median <"$tmp/r")
        printf '%-22s %14s %14s %7.2f\n' "PING -c 50 -P $p" "$d" "$r" "$(awk -v a="$d" -v b="$r" 'BEGIN {print a / b}')"
    else
        printf '%-22s %14s %14s\n' "PING -c 50 -P $p" "$d" "(no redis-server)"
    fi
done
