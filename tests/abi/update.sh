#!/usr/bin/env bash
# Regenerate tests/abi/libdice.abi, the ABI baseline that
# tests/integration/test_abi.sh compares the built libdice.so against.
#
#   bash tests/abi/update.sh [BUILD_DIR] [--force]
#
# BUILD_DIR defaults to build/abi, which is configured (RelWithDebInfo) and
# built when it has no libdice.so yet. The library must carry DWARF debug
# info (RelWithDebInfo or Debug), since abidw reads the types from it.
#
# Before overwriting, the new library is compared with the old baseline. If
# something was removed or changed (not merely added) while the SONAME is
# unchanged, the update is refused: an intended break must also bump the
# SONAME major (see tests/abi/README.md). --force records it anyway (for a
# pre-release, or when fixing a baseline recorded by mistake).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build="" force=0
for a in "$@"; do
    case "$a" in
    --force) force=1 ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) build=$a ;;
    esac
done
build=${build:-$src/build/abi}
baseline=$here/libdice.abi

for t in abidw abidiff readelf; do
    command -v "$t" >/dev/null ||
        { echo "update.sh: $t not found (apt-get install abigail-tools binutils)"; exit 1; }
done

if [ ! -e "$build/libdice.so" ]; then
    echo "== configuring and building $build (RelWithDebInfo)"
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target dice
fi
lib=$(readlink -f "$build/libdice.so")
case "$(readelf -S "$lib")" in
*.debug_info*) ;;
*) echo "update.sh: $lib has no debug info; build it RelWithDebInfo or Debug"
   exit 1 ;;
esac
case "$(readelf --dyn-syms "$lib")" in
*__asan_init* | *__ubsan_*)
    echo "update.sh: $lib is a sanitizer build; use a plain RelWithDebInfo build"
    exit 1 ;;
esac

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# --headers-dir + --drop-private-types: only types that the public headers
# declare count. --drop-undefined-syms: the libc functions libdice calls are
# not its ABI. No locations, paths or DT_NEEDED, so the file changes only
# when the ABI does, whichever checkout or build directory recorded it.
abidw --headers-dir "$src/include/dice" --drop-private-types \
    --drop-undefined-syms --no-corpus-path --no-comp-dir-path \
    --no-show-locs --no-elf-needed --type-id-style hash "$lib" |
    sed -e "s|path='$src/|path='|g" >"$tmp"

if [ -f "$baseline" ]; then
    rc=0
    abidiff --no-show-locs --drop-private-types --no-added-syms \
        --hd2 "$src/include/dice" "$baseline" "$lib" || rc=$?
    if ((rc & 1)); then
        echo "update.sh: abidiff failed (exit $rc)"
        exit 1
    fi
    old_soname=$(sed -n "1s/.*soname='\([^']*\)'.*/\1/p" "$baseline")
    new_soname=$(readelf -d "$lib" | sed -n 's/.*SONAME.*\[\(.*\)\].*/\1/p')
    # Bits 4 and 8: something removed or changed (additions are filtered
    # out above, and abidiff flags some breaking type changes with 4 only).
    if ((rc & 12)) && [ "$old_soname" = "$new_soname" ] && ((!force)); then
        echo "update.sh: ABI removed or changed but the SONAME is still" \
            "$new_soname."
        echo "Bump the SONAME major in CMakeLists.txt (see tests/abi/README.md)" \
            "or rerun with --force."
        exit 1
    fi
    if cmp -s "$tmp" "$baseline"; then
        echo "== baseline unchanged: $baseline"
        exit 0
    fi
fi
cat "$tmp" >"$baseline" # (cp would keep mktemp's 0600 mode)
echo "== wrote $baseline ($(grep -c '<elf-symbol' "$baseline") symbols," \
    "soname $(sed -n "1s/.*soname='\([^']*\)'.*/\1/p" "$baseline"))"
