#!/usr/bin/env bash
# Install libdice into a temporary prefix with cmake --install, then build a
# tiny out-of-tree program against the installed copy twice, once through
# pkg-config and once through find_package(dice CONFIG), and run both.
set -euo pipefail
src=${DICE_SOURCE_DIR:?}
build=${DICE_BUILD_DIR:?}
if [ "${DICE_SANITIZE:-OFF}" = "ON" ]; then
    echo "skipped: a sanitizer build of libdice cannot link into a plain program"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null

for f in include/dice/dice.h include/dice/loop.h lib/pkgconfig/dice.pc \
         lib/cmake/dice/diceConfig.cmake bin/dice-server \
         share/man/man1/dice-server.1; do
    [ -e "$prefix/$f" ] || { echo "missing after install: $f"; exit 1; }
done
ls "$prefix"/lib/libdice.so.* >/dev/null
[ -e "$prefix/lib/libdice.a" ] || { echo "missing libdice.a"; exit 1; }

mkdir -p "$tmp/app"
cat > "$tmp/app/app.c" <<'C'
#include <dice/dice.h>
#include <stdio.h>
#include <string.h>
static void tick(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)id;
    ++*(int *)arg;
    dice_loop_stop(loop);
}
int main(void) {
    dice_loop_t *loop;
    if (dice_loop_new(&loop) != 0) return 1;
    int fired = 0;
    dice_loop_timer_add(loop, 1, 0, tick, &fired, NULL);
    dice_loop_run(loop);
    dice_loop_free(loop);
    if (dice_version() != DICE_VERSION_HEX) return 2;
    printf("ok %s %d %s\n", dice_version_string(), fired, dice_strerror(DICE_ENOMEM));
    return fired == 1 ? 0 : 3;
}
C
cd "$tmp/app"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cc -Wall -Werror app.c $(pkg-config --cflags --libs dice) -o app-pc
out=$(LD_LIBRARY_PATH=$prefix/lib ./app-pc)
echo "pkg-config build: $out"
[ "$out" = "ok $(pkg-config --modversion dice) 1 out of memory" ]

cat > CMakeLists.txt <<'CM'
cmake_minimum_required(VERSION 3.16)
project(app C)
find_package(dice CONFIG REQUIRED)
add_executable(app-cmake app.c)
target_link_libraries(app-cmake PRIVATE dice::dice)
CM
cmake -S . -B b -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build b >/dev/null
out=$(LD_LIBRARY_PATH=$prefix/lib ./b/app-cmake)
echo "find_package build: $out"
case "$out" in "ok "*" 1 out of memory") ;; *) exit 1 ;; esac

# The installed library exports only the public API.
if nm -D --defined-only "$prefix"/lib/libdice.so | awk '{print $3}' |
        grep -v '^dice_' | grep -v '^_' | grep .; then
    echo "symbols outside the dice_ namespace are exported"; exit 1
fi
echo "install test passed"
