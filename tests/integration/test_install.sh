#!/usr/bin/env bash
# Install libdice into a temporary prefix with cmake --install, then build a
# tiny out-of-tree program against the installed copy twice, once through
# pkg-config and once through find_package(dice CONFIG), and run both; run
# the installed dice-server without LD_LIBRARY_PATH, in place and moved.
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

# The installed dice-server runs from a prefix outside the default library
# path without LD_LIBRARY_PATH: its RUNPATH is $ORIGIN/<bindir to libdir>.
# Checked where it was installed and again after moving the whole tree, so
# the path cannot be an absolute one that happens to point at $prefix.
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$build/CMakeCache.txt")
bindir=$(sed -n 's/^CMAKE_INSTALL_BINDIR:[A-Z]*=//p' "$build/CMakeCache.txt")
want_runpath="\$ORIGIN/$(realpath -m --relative-to="/${bindir:-bin}" "/${libdir:-lib}")"
free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
ping_server() { # ping_server PORT: prints the reply to PING
    if command -v redis-cli >/dev/null; then
        redis-cli -h 127.0.0.1 -p "$1" ping
    else
        exec 3<>"/dev/tcp/127.0.0.1/$1"
        printf 'PING\r\n' >&3
        IFS= read -r -t 5 line <&3
        exec 3>&-
        printf '%s\n' "${line%$'\r'}" | sed 's/^+//'
    fi
}
check_server() { # check_server BINARY LABEL
    local bin=$1 label=$2
    local rp
    rp=$(readelf -d "$bin" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
    [ "$rp" = "$want_runpath" ] ||
        { echo "$label: RUNPATH is '$rp', want '$want_runpath'"; exit 1; }
    if readelf -d "$bin" | grep -q '(RPATH)'; then
        echo "$label: has an old-style RPATH"; exit 1
    fi
    local lib
    lib=$(env -u LD_LIBRARY_PATH ldd "$bin" | awk '$1 == "libdice.so.0" {print $3}')
    case "$lib" in
    "$(dirname "$(dirname "$bin")")"/*) ;;
    *) echo "$label: libdice.so.0 resolves to '$lib', not inside the prefix"
       exit 1 ;;
    esac
    local port pid reply=""
    port=$(free_port)
    env -u LD_LIBRARY_PATH "$bin" --port "$port" --bind 127.0.0.1 \
        >"$tmp/server-$label.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        reply=$(ping_server "$port" 2>/dev/null) && [ "$reply" = PONG ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if [ "$reply" != PONG ]; then
        echo "$label: no PONG from the installed dice-server; its output:"
        cat "$tmp/server-$label.log"
        exit 1
    fi
    echo "$label: RUNPATH $rp, libdice from $lib, PING -> $reply"
}
check_server "$prefix/bin/dice-server" installed
mv "$prefix" "$tmp/moved"
check_server "$tmp/moved/bin/dice-server" moved
mv "$tmp/moved" "$prefix"
# The build-tree binary still finds the build tree's library.
out=$(env -u LD_LIBRARY_PATH "${DICE_SERVER:-$build/examples/dice-server}" --version)
case "$out" in "dice-server v="*) echo "build tree: $out" ;; *) exit 1 ;; esac

# The installed library exports only the public API.
if nm -D --defined-only "$prefix"/lib/libdice.so | awk '{print $3}' |
        grep -v '^dice_' | grep -v '^_' | grep .; then
    echo "symbols outside the dice_ namespace are exported"; exit 1
fi
echo "install test passed"
