#!/bin/sh
# Build the libFuzzer targets with clang into DIR and run each for SECONDS
# (default 30) on a copy of its seed corpus. Exits non-zero if a fuzzer
# finds a crash (the reproducer is left in DIR), 77 if clang or libFuzzer
# is missing.
# Usage: tests/fuzz/run.sh DIR [SECONDS]
set -u
dir=${1:?usage: run.sh DIR [SECONDS]}
secs=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
cc=${CC_FUZZ:-clang}
if ! command -v "$cc" >/dev/null 2>&1; then
    echo "skipped: $cc not found" >&2
    exit 77
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
probe="$dir/probe.c"
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$probe"
if ! "$cc" -fsanitize=fuzzer "$probe" -o "$dir/probe" >/dev/null 2>&1; then
    echo "skipped: $cc cannot link -fsanitize=fuzzer (libFuzzer missing)" >&2
    exit 77
fi
flags="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$src/include -I$src/lib"
libs="$src/lib/core/error.c $src/lib/core/number.c $src/lib/resp/request.c $src/lib/resp/writer.c $src/lib/resp/reader.c"
status=0
for t in request reader; do
    "$cc" $flags "$here/fuzz_$t.c" $libs -o "$dir/fuzz_$t" -lm || exit 1
    rm -rf "$dir/corpus_$t"
    cp -r "$here/corpus_$t" "$dir/corpus_$t"
    echo "== fuzz_$t for ${secs}s"
    if ! (cd "$dir" && "./fuzz_$t" -max_total_time="$secs" -max_len=4096 \
            -artifact_prefix="$dir/crash_${t}_" "corpus_$t" \
            >"fuzz_$t.log" 2>&1); then
        echo "fuzz_$t FAILED: see $dir/fuzz_$t.log and $dir/crash_${t}_*" >&2
        tail -30 "$dir/fuzz_$t.log" >&2
        status=1
    else
        tail -1 "$dir/fuzz_$t.log"
    fi
done
exit $status
