#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: install what the tests
# need (when missing), build, run every test with ctest, then build and run
# everything again under AddressSanitizer + UndefinedBehaviorSanitizer, then
# run the fuzzers for a short bounded time. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

pkgs=(build-essential cmake pkg-config libcmocka-dev libssl-dev openssl redis-server redis-tools
      python3 python3-redis libhiredis-dev valgrind clang libfuzzer-14-dev
      libclang-rt-14-dev abigail-tools g++ liblua5.1-0-dev)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing+=("$p")
done
if ((${#missing[@]})); then
    echo "== installing: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The package may have started a system redis-server; the tests start their
# own on free ports and do not need it.

jobs=$(nproc 2>/dev/null || echo 2)
fail=0

run_suite() { # name builddir cmake-args...
    local name=$1 dir=$2
    shift 2
    echo "== [$name] configure and build in $dir"
    cmake -S "$root" -B "$dir" "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
    echo "== [$name] ctest"
    if ! (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 900); then
        echo "== [$name] FAILED"
        fail=1
    fi
}

run_suite release build/test -DCMAKE_BUILD_TYPE=RelWithDebInfo
run_suite sanitize build/sanitize -DCMAKE_BUILD_TYPE=Debug -DDICE_SANITIZE=ON

if [ -x tests/fuzz/run.sh ] || [ -f tests/fuzz/run.sh ]; then
    echo "== [fuzz] libFuzzer, bounded"
    rc=0
    bash tests/fuzz/run.sh build/fuzz "${DICE_FUZZ_SECONDS:-30}" || rc=$?
    if [ "$rc" -eq 77 ]; then
        echo "== [fuzz] skipped (no clang/libFuzzer)"
    elif [ "$rc" -ne 0 ]; then
        echo "== [fuzz] FAILED"
        fail=1
    fi
fi

if [ "$fail" -ne 0 ]; then
    echo "== test suite FAILED"
    exit 1
fi
echo "== all test runs passed"
