#!/usr/bin/env bash
# ABI check: compare the built libdice.so with the recorded baseline
# tests/abi/libdice.abi using abidiff (Debian's abigail-tools).
#
#  - removed or changed functions/variables (abidiff exit bits 4 and 8
#    with added symbols filtered out), or a changed SONAME: fail, print the
#    report and how to update the baseline on purpose;
#  - added functions only: pass (additions are backward compatible), but
#    list them and ask for the baseline to be refreshed so that later
#    removals of them are caught.
#
# Only types declared in include/dice count (--drop-private-types with the
# public headers directory), so internal structs may change freely.
#
# Sanitizer builds are checked too: -fsanitize adds no exported symbol and
# no type to libdice.so (the sanitizer runtime is an undefined import,
# which the baseline leaves out), and the Debug build's DWARF describes the
# same public types, so the same baseline applies.
set -euo pipefail
src=${DICE_SOURCE_DIR:?}
build=${DICE_BUILD_DIR:?}
baseline=$src/tests/abi/libdice.abi

for t in abidw abidiff readelf; do
    if ! command -v "$t" >/dev/null; then
        echo "skipped: $t not found (apt-get install abigail-tools binutils)"
        exit 77
    fi
done
[ -f "$baseline" ] || { echo "missing baseline $baseline: run tests/abi/update.sh"; exit 1; }
lib=$(readlink -f "$build/libdice.so")
[ -f "$lib" ] || { echo "no libdice.so in $build"; exit 1; }

# Types come from DWARF: without it only symbol names could be compared.
case "$(readelf -S "$lib")" in
*.debug_info*) ;;
*) echo "skipped: $lib has no debug info (build with CMAKE_BUILD_TYPE" \
        "RelWithDebInfo or Debug to check the ABI)"
   exit 77 ;;
esac
# The baseline describes one architecture (x86_64, LP64); another one has
# other sizes and needs a baseline of its own.
want_arch=$(sed -n "1s/.*architecture='\([^']*\)'.*/\1/p" "$baseline")
have_arch=$(abidw --drop-undefined-syms --no-corpus-path "$lib" 2>/dev/null |
    sed -n "1s/.*architecture='\([^']*\)'.*/\1/p")
if [ -n "$want_arch" ] && [ "$have_arch" != "$want_arch" ]; then
    echo "skipped: baseline is for $want_arch, this library is $have_arch"
    exit 77
fi

how_to_update() {
    cat <<MSG
If this change is intended:
  - a compatible addition: refresh the baseline with
        bash tests/abi/update.sh [BUILD_DIR]
  - an incompatible change (removed/changed function, changed type):
    bump the SONAME major in CMakeLists.txt (project VERSION major) and
    refresh the baseline in the same commit; see tests/abi/README.md.
MSG
}

args=(--no-show-locs --drop-private-types --hd2 "$src/include/dice")
rc=0
report=$(abidiff "${args[@]}" --no-added-syms "$baseline" "$lib" 2>&1) || rc=$?
if ((rc & 1)); then
    echo "$report"
    echo "abidiff failed (exit $rc)"
    exit 1
fi
if ((rc & 12)); then
    echo "$report"
    echo
    if ((rc & 8)); then
        echo "FAIL: incompatible ABI change against tests/abi/libdice.abi"
    else
        echo "FAIL: ABI change against tests/abi/libdice.abi"
    fi
    how_to_update
    exit 1
fi

# Nothing removed or changed; list what was added, if anything.
rc=0
report=$(abidiff "${args[@]}" "$baseline" "$lib" 2>&1) || rc=$?
if ((rc & 1)); then
    echo "$report"
    echo "abidiff failed (exit $rc)"
    exit 1
fi
nsyms=$(grep -c '<elf-symbol' "$baseline")
if ((rc & 12)); then
    echo "$report"
    echo
    echo "WARNING: the library adds to the baseline's ABI (compatible)."
    echo "Run 'bash tests/abi/update.sh' so the baseline includes the" \
        "additions before committing."
    echo "ABI check passed: nothing removed or changed ($nsyms baseline symbols)"
    exit 0
fi
echo "ABI check passed: identical to the baseline ($nsyms symbols)"
