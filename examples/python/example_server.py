"""A Redis-compatible server in a few lines of Python, on libdice.

    DICE_BUILD_DIR=build python3 examples/python/example_server.py --port 7390
    redis-cli -p 7390 SET greeting hi
    redis-cli -p 7390 SHOUT greeting      -> "HI!"
    redis-cli -p 7390 STATS               -> a map (RESP3) / flat array (RESP2)

All built-in commands (GET, SET, INCR, EXPIRE, PING, ...) come from the
library; SHOUT and STATS are Python functions. With --asyncio the libdice
loop is driven by an asyncio event loop, next to an asyncio task of the
program's own. Prints "ready <port>" once listening; SIGINT/SIGTERM stop it.
"""
import argparse
import asyncio
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dice  # noqa: E402


def build(port):
    loop = dice.Loop()
    srv = dice.Server(loop)
    srv.config_set("loglevel", "warning")
    srv.add_builtins()
    calls = {"shout": 0}

    @srv.command("shout", arity=2, flags=dice.CMD_READONLY, first_key=1,
                 last_key=1, key_step=1, summary="The string at key, loudly")
    def shout(args):
        calls["shout"] += 1
        value = srv.get(args[1])  # the keyspace the built-ins use
        if value is None:
            return None
        return value.upper() + b"!"

    @srv.command("stats", arity=1)
    def stats(args):
        return {"shout_calls": calls["shout"], "keys": srv.dbsize(),
                "python": sys.version.split()[0]}

    port = srv.start(port=port)
    return loop, srv, port


async def main_asyncio(loop, srv):
    aloop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for s in (signal.SIGINT, signal.SIGTERM):
        aloop.add_signal_handler(s, stop.set)
    srv.on_shutdown(lambda s: stop.set())  # SHUTDOWN stops asyncio too
    loop.attach_asyncio(aloop)
    try:
        await stop.wait()
    finally:
        loop.detach_asyncio()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=7390)
    ap.add_argument("--asyncio", action="store_true")
    opts = ap.parse_args()
    loop, srv, port = build(opts.port)
    print("ready %d" % port, flush=True)
    if opts.asyncio:
        asyncio.run(main_asyncio(loop, srv))
    else:
        loop.run()  # returns on SIGINT/SIGTERM or SHUTDOWN
    srv.close()
    loop.close()


if __name__ == "__main__":
    main()
