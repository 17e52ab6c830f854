"""dice: use libdice from Python through ctypes (standard library only).

A Python program can host a Redis-protocol server whose commands are Python
functions, run it blocking or inside asyncio, and parse RESP bytes into
Python objects with the library's value reader:

    import dice
    loop = dice.Loop()
    srv = dice.Server(loop)
    srv.add_builtins()                       # PING, GET, SET, ... (all)

    @srv.command("greet", arity=2)
    def greet(args):                         # args: list of bytes
        return b"hello " + args[1]

    srv.start(port=7390)
    loop.run()                               # until SIGINT/SIGTERM/SHUTDOWN

Replies are made from the handler's return value:
    None -> null, bytes/str -> bulk string, int -> integer (a big number
    beyond 64 bits), float -> double, bool -> boolean, list/tuple -> array,
    dict -> map, set/frozenset -> set, SimpleString -> simple string,
    ReplyError (or any exception returned or raised) -> error reply.
RESP3 types reach RESP2 clients in Redis's RESP2 forms (the library does
that: a map becomes a flat array, a double a bulk string, ...).

The library is found through $DICE_LIB (a path to libdice.so), else
$DICE_BUILD_DIR/libdice.so, else the repository's build/libdice.so, else the
system's (ctypes.util.find_library("dice")).

Threading: like libdice itself, a Loop and its Server belong to the thread
that runs the loop. Loop.post() is the only method callable from other
threads. Python callbacks run with the GIL held, on the loop's thread.
"""
import ctypes
import ctypes.util
import errno
import os
import signal
import socket
import threading

__all__ = [
    "DiceError", "ReplyError", "ProtocolError", "SimpleString", "Verbatim",
    "Push", "Attributed", "Loop", "Server", "Client", "Reader", "parse",
    "INCOMPLETE", "load_library", "Session", "Embedded",
    "READABLE", "WRITABLE", "BUILTIN_CONNECTION", "BUILTIN_SERVER",
    "BUILTIN_KEYSPACE", "BUILTIN_ALL",
]

# ---- constants mirrored from the headers (values are part of the ABI) ----

READABLE, WRITABLE, ERROR = 1, 2, 4
BUILTIN_CONNECTION, BUILTIN_SERVER, BUILTIN_KEYSPACE = 1, 2, 4
BUILTIN_ALL = 0x7FFFFFFF
CMD_WRITE, CMD_READONLY, CMD_DENYOOM, CMD_ADMIN = 1, 2, 4, 8
CMD_FAST = 1 << 11

E_NOMEM, E_INVAL, E_NOENT, E_EXIST, E_AGAIN, E_PROTO = -1, -2, -3, -4, -5, -6
E_LIMIT, E_SYS, E_CLOSED, E_RANGE, E_WRONGTYPE, E_STATE = -7, -8, -9, -10, -11, -12

(T_STRING, T_ERROR, T_INTEGER, T_BULK, T_NIL, T_ARRAY, T_NULL, T_DOUBLE,
 T_BOOL, T_BLOB_ERROR, T_VERBATIM, T_BIGNUM, T_MAP, T_SET, T_ATTRIBUTE,
 T_PUSH) = range(1, 17)
_AGGREGATES = (T_ARRAY, T_MAP, T_SET, T_ATTRIBUTE, T_PUSH)

_vp = ctypes.c_void_p
_sz = ctypes.c_size_t
_u64 = ctypes.c_uint64
_ll = ctypes.c_longlong

IO_CB = ctypes.CFUNCTYPE(None, _vp, ctypes.c_int, ctypes.c_int, _vp)
TIMER_CB = ctypes.CFUNCTYPE(None, _vp, _u64, _vp)
LOOP_CB = ctypes.CFUNCTYPE(None, _vp, _vp)
SERVER_CB = ctypes.CFUNCTYPE(None, _vp, _vp)
COMMAND_FN = ctypes.CFUNCTYPE(None, _vp, ctypes.c_int, ctypes.POINTER(_vp),
                              ctypes.POINTER(_sz), _vp)
READER_CREATE = ctypes.CFUNCTYPE(_vp, _vp, _vp, _sz, ctypes.c_int, _vp, _sz,
                                 _ll, ctypes.c_double)
READER_FREE = ctypes.CFUNCTYPE(None, _vp, _vp)
LOG_FN = ctypes.CFUNCTYPE(None, _vp, ctypes.c_int, ctypes.c_char_p)

# name: (restype, argtypes). Every function used is declared, so pointers
# are never truncated to int and wrong calls fail loudly.
_PROTOS = {
    "dice_strerror": (ctypes.c_char_p, [ctypes.c_int]),
    "dice_version": (ctypes.c_uint, []),
    "dice_version_string": (ctypes.c_char_p, []),
    # loop.h
    "dice_loop_new": (ctypes.c_int, [ctypes.POINTER(_vp)]),
    "dice_loop_free": (None, [_vp]),
    "dice_loop_watch": (ctypes.c_int, [_vp, ctypes.c_int, ctypes.c_int, IO_CB, _vp]),
    "dice_loop_unwatch": (ctypes.c_int, [_vp, ctypes.c_int]),
    "dice_loop_timer_add": (ctypes.c_int, [_vp, _u64, _u64, TIMER_CB, _vp,
                                           ctypes.POINTER(_u64)]),
    "dice_loop_timer_cancel": (ctypes.c_int, [_vp, _u64]),
    "dice_loop_run": (ctypes.c_int, [_vp]),
    "dice_loop_run_once": (ctypes.c_int, [_vp, ctypes.c_int]),
    "dice_loop_stop": (None, [_vp]),
    "dice_loop_now_ms": (_u64, [_vp]),
    "dice_loop_unix_ms": (ctypes.c_int64, [_vp]),
    "dice_loop_backend_fd": (ctypes.c_int, [_vp]),
    "dice_loop_backend_timeout": (ctypes.c_int, [_vp]),
    "dice_loop_post": (ctypes.c_int, [_vp, LOOP_CB, _vp]),
    # server.h
    "dice_server_new": (ctypes.c_int, [ctypes.POINTER(_vp), _vp]),
    "dice_server_free": (None, [_vp]),
    "dice_server_config_set": (ctypes.c_int, [_vp, ctypes.c_char_p, ctypes.c_char_p]),
    "dice_server_config_get": (ctypes.c_int, [_vp, ctypes.c_char_p,
                                              ctypes.c_char_p, _sz]),
    "dice_server_config_load": (ctypes.c_int, [_vp, ctypes.c_char_p]),
    "dice_server_config_error": (ctypes.c_char_p, [_vp]),
    "dice_server_start": (ctypes.c_int, [_vp]),
    "dice_server_port": (ctypes.c_int, [_vp]),
    "dice_server_shutdown": (None, [_vp]),
    "dice_server_on_shutdown": (None, [_vp, SERVER_CB, _vp]),
    "dice_server_set_logger": (None, [_vp, LOG_FN, _vp]),
    "dice_server_log": (None, [_vp, ctypes.c_int, ctypes.c_char_p]),
    "dice_server_keyspace": (_vp, [_vp]),
    "dice_client_id": (_u64, [_vp]),
    "dice_client_server": (_vp, [_vp]),
    "dice_client_proto": (ctypes.c_int, [_vp]),
    "dice_client_db": (ctypes.c_int, [_vp]),
    "dice_client_close_after_reply": (None, [_vp]),
    "dice_client_is_closed": (ctypes.c_int, [_vp]),
    "dice_client_hold": (None, [_vp]),
    "dice_client_release": (None, [_vp]),
    "dice_reply_simple": (ctypes.c_int, [_vp, ctypes.c_char_p, _sz]),
    "dice_reply_error": (ctypes.c_int, [_vp, ctypes.c_char_p, _sz]),
    "dice_reply_int": (ctypes.c_int, [_vp, _ll]),
    "dice_reply_bulk": (ctypes.c_int, [_vp, ctypes.c_char_p, _sz]),
    "dice_reply_null": (ctypes.c_int, [_vp]),
    "dice_reply_array": (ctypes.c_int, [_vp, _sz]),
    "dice_reply_map": (ctypes.c_int, [_vp, _sz]),
    "dice_reply_set": (ctypes.c_int, [_vp, _sz]),
    "dice_reply_push": (ctypes.c_int, [_vp, _sz]),
    "dice_reply_double": (ctypes.c_int, [_vp, ctypes.c_double]),
    "dice_reply_bool": (ctypes.c_int, [_vp, ctypes.c_int]),
    "dice_reply_verbatim": (ctypes.c_int, [_vp, ctypes.c_char_p,
                                           ctypes.c_char_p, _sz]),
    "dice_reply_bignum": (ctypes.c_int, [_vp, ctypes.c_char_p, _sz]),
    # command.h
    "dice_command_add": (ctypes.c_int, [_vp, ctypes.c_char_p, ctypes.c_int,
                                        ctypes.c_uint, ctypes.c_int, ctypes.c_int,
                                        ctypes.c_int, COMMAND_FN, _vp,
                                        ctypes.c_char_p]),
    "dice_command_remove": (ctypes.c_int, [_vp, ctypes.c_char_p]),
    "dice_command_add_builtins": (ctypes.c_int, [_vp, ctypes.c_uint]),
    # db.h (the part a Python host needs for plain strings)
    "dice_keyspace_db": (_vp, [_vp, ctypes.c_int]),
    "dice_keyspace_set_now": (None, [_vp, ctypes.c_int64]),
    "dice_db_get": (ctypes.c_int, [_vp, ctypes.c_char_p, _sz, ctypes.c_char_p,
                                   ctypes.POINTER(_vp), ctypes.POINTER(_sz)]),
    "dice_db_set": (ctypes.c_int, [_vp, ctypes.c_char_p, _sz, ctypes.c_char_p,
                                   _sz, ctypes.c_uint, ctypes.c_int64]),
    "dice_db_delete": (ctypes.c_int, [_vp, ctypes.c_char_p, _sz]),
    "dice_db_size": (_sz, [_vp]),
    # resp.h, value reader
    "dice_reader_new": (ctypes.c_int, [ctypes.POINTER(_vp), READER_CREATE,
                                       READER_FREE, _vp]),
    "dice_reader_free": (None, [_vp]),
    "dice_reader_feed": (ctypes.c_int, [_vp, ctypes.c_char_p, _sz]),
    "dice_reader_get": (ctypes.c_int, [_vp, ctypes.POINTER(_vp)]),
    "dice_reader_error": (ctypes.c_char_p, [_vp]),
    "dice_reader_set_limit": (ctypes.c_int, [_vp, ctypes.c_int, _ll]),
    # session.h
    "dice_session_new": (ctypes.c_int, [_vp, ctypes.c_int, ctypes.POINTER(_vp)]),
    "dice_session_free": (None, [_vp]),
    "dice_session_client": (_vp, [_vp]),
    "dice_session_call": (ctypes.c_int, [_vp, ctypes.c_int,
                                         ctypes.POINTER(ctypes.c_char_p),
                                         ctypes.POINTER(_sz),
                                         ctypes.POINTER(_vp),
                                         ctypes.POINTER(_sz)]),
    "dice_session_reply": (ctypes.c_int, [_vp, ctypes.POINTER(_vp),
                                          ctypes.POINTER(_sz)]),
    "dice_session_value": (ctypes.c_int, [_vp, READER_CREATE, READER_FREE,
                                          _vp, ctypes.POINTER(_vp)]),
    "dice_session_call_value": (ctypes.c_int, [_vp, ctypes.c_int,
                                               ctypes.POINTER(ctypes.c_char_p),
                                               ctypes.POINTER(_sz),
                                               READER_CREATE, READER_FREE,
                                               _vp, ctypes.POINTER(_vp)]),
}

_lib = None


def _candidates():
    env = os.environ.get("DICE_LIB")
    if env:
        yield env
    build = os.environ.get("DICE_BUILD_DIR")
    if build:
        yield os.path.join(build, "libdice.so")
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, "..", "..", "build", "libdice.so")
    found = ctypes.util.find_library("dice")
    if found:
        yield found


def load_library(path=None):
    """Load libdice (once) and declare the functions this module calls.
    Returns the ctypes library object."""
    global _lib
    if _lib is not None and path is None:
        return _lib
    paths = [path] if path else list(_candidates())
    last = None
    for p in paths:
        if not p or (os.sep in p and not os.path.exists(p)):
            continue
        try:
            lib = ctypes.CDLL(p, use_errno=True)
            break
        except OSError as e:
            last = e
    else:
        raise OSError("libdice not found (tried %s): set DICE_LIB%s"
                      % (", ".join(p for p in paths if p),
                         "; %s" % last if last else ""))
    for name, (res, args) in _PROTOS.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    _lib = lib
    return lib


def _L():
    return _lib if _lib is not None else load_library()


def _b(s):
    if isinstance(s, bytes):
        return s
    if isinstance(s, (bytearray, memoryview)):
        return bytes(s)
    return str(s).encode("utf-8", "surrogateescape")


# ---- value types -----------------------------------------------------------


class DiceError(Exception):
    """A libdice call failed: .code is the negative DICE_E* value."""

    def __init__(self, code, message=None):
        self.code = code
        text = _L().dice_strerror(code).decode()
        if code == E_SYS:
            text += ": " + os.strerror(ctypes.get_errno() or errno.EIO)
        super().__init__(message or text)


class ProtocolError(Exception):
    """The reader met malformed RESP input (it stays failed afterwards)."""


class ReplyError(Exception):
    """An error reply. As a handler result (returned or raised) its text is
    sent as is, so start it with a code: ReplyError("ERR no such thing").
    The reader returns error replies it parses as ReplyError objects (not
    raised)."""

    def __init__(self, message):
        if isinstance(message, (bytes, bytearray)):
            message = bytes(message).decode("utf-8", "surrogateescape")
        super().__init__(message)
        self.message = message

    def __eq__(self, other):
        return type(other) is type(self) and other.message == self.message

    def __hash__(self):
        return hash(self.message)

    def __repr__(self):
        return "ReplyError(%r)" % self.message


class SimpleString(str):
    """A str sent as a RESP simple string ("+OK") rather than a bulk
    string; the reader returns '+' replies as SimpleString."""


class Verbatim(str):
    """A RESP3 verbatim string: the text, with its 3-letter .format."""

    def __new__(cls, text, format="txt"):
        obj = super().__new__(cls, text)
        obj.format = format
        return obj


class Push(list):
    """A RESP3 push message (out-of-band data such as pub/sub messages)."""


class Attributed:
    """A value with the RESP3 attribute that preceded it (only produced by
    Reader(attributes=True))."""

    def __init__(self, value, attributes):
        self.value = value
        self.attributes = attributes

    def __eq__(self, other):
        return (isinstance(other, Attributed) and other.value == self.value
                and other.attributes == self.attributes)

    def __repr__(self):
        return "Attributed(%r, %r)" % (self.value, self.attributes)


# ---- loop --------------------------------------------------------------


class Loop:
    """A dice_loop_t: fds, timers, and a thread-safe hand-off (post)."""

    def __init__(self):
        lib = _L()
        p = _vp()
        rc = lib.dice_loop_new(ctypes.byref(p))
        if rc < 0:
            raise DiceError(rc)
        self._p = p.value
        self._timers = {}
        self._io = {}
        self._posts = []  # (ctypes callback) queue, appended under _post_mu
        self._post_mu = threading.Lock()
        self._post_cb = LOOP_CB(self._on_post)
        self._io_cb = IO_CB(self._on_io)
        self._timer_cb = TIMER_CB(self._on_timer)
        self._errors = []
        self._aio = None
        # Servers on this loop: C calls their handlers for as long as the
        # loop runs, so the loop keeps them (and their ctypes callbacks)
        # alive until they are closed.
        self._servers = set()

    @property
    def ptr(self):
        return self._p

    def close(self):
        """Free the loop (the servers on it must be closed first)."""
        if self._p:
            self.detach_asyncio()
            _L().dice_loop_free(self._p)
            self._p = None

    # Callbacks from C. An exception cannot cross into C: remember it and
    # re-raise it from run()/run_once() once control is back in Python.
    def _guard(self, fn, *args):
        try:
            fn(*args)
        except BaseException as e:  # noqa: B902
            self._errors.append(e)
            _L().dice_loop_stop(self._p)

    def _raise_pending(self):
        if self._errors:
            e = self._errors.pop(0)
            self._errors.clear()
            raise e

    def _on_io(self, loop, fd, events, arg):
        fn = self._io.get(fd)
        if fn:
            self._guard(fn, fd, events)

    def _on_timer(self, loop, tid, arg):
        entry = self._timers.get(tid)
        if entry is None:
            return
        fn, repeat = entry
        if not repeat:
            del self._timers[tid]
        self._guard(fn)

    def _on_post(self, loop, arg):
        with self._post_mu:
            entry = self._posts.pop(0) if self._posts else None
        if entry:
            self._guard(entry[0])

    def watch(self, fd, events, fn):
        """Call fn(fd, events) when fd is ready (READABLE|WRITABLE)."""
        rc = _L().dice_loop_watch(self._p, fd, events, self._io_cb, None)
        if rc < 0:
            raise DiceError(rc)
        self._io[fd] = fn

    def unwatch(self, fd):
        self._io.pop(fd, None)
        _L().dice_loop_unwatch(self._p, fd)

    def call_later(self, ms, fn, repeat_ms=0):
        """Run fn() after ms milliseconds (then every repeat_ms if > 0).
        Returns a timer id for cancel()."""
        tid = _u64()
        rc = _L().dice_loop_timer_add(self._p, int(ms), int(repeat_ms),
                                      self._timer_cb, None, ctypes.byref(tid))
        if rc < 0:
            raise DiceError(rc)
        self._timers[tid.value] = (fn, repeat_ms > 0)
        self.reschedule()
        return tid.value

    def cancel(self, timer_id):
        if self._timers.pop(timer_id, None) is not None:
            _L().dice_loop_timer_cancel(self._p, timer_id)

    def post(self, fn):
        """Thread-safe: run fn() on the loop's thread soon."""
        # One shared C callback; the Python queue keeps the order, which is
        # also the order dice_loop_post runs them in. Each entry is a new
        # list, so a failed post removes exactly its own entry.
        entry = [fn]
        with self._post_mu:
            self._posts.append(entry)
        rc = _L().dice_loop_post(self._p, self._post_cb, None)
        if rc < 0:
            with self._post_mu:
                for i, e in enumerate(self._posts):
                    if e is entry:
                        del self._posts[i]
                        break
            raise DiceError(rc)

    def stop(self):
        _L().dice_loop_stop(self._p)

    def now_ms(self):
        return _L().dice_loop_now_ms(self._p)

    @property
    def backend_fd(self):
        return _L().dice_loop_backend_fd(self._p)

    @property
    def backend_timeout(self):
        """ms a host may sleep before calling run_once(0); -1: no timer."""
        return _L().dice_loop_backend_timeout(self._p)

    def run_once(self, timeout_ms=0):
        """One iteration; returns how many callbacks were made."""
        rc = _L().dice_loop_run_once(self._p, int(timeout_ms))
        self._raise_pending()
        if rc < 0:
            raise DiceError(rc)
        return rc

    def run(self, stop_signals=(signal.SIGINT, signal.SIGTERM)):
        """Run until stop() (or a server's SHUTDOWN). Called from the main
        thread, it also stops on stop_signals and returns the signal number
        (else None). The GIL is released while the loop waits."""
        handled = []
        saved = {}
        wake_r = wake_w = None
        old_wakeup = None
        if stop_signals and threading.current_thread() is threading.main_thread():
            # Python runs signal handlers between bytecodes of the main
            # thread, which sits in epoll_wait here. The wakeup fd makes the
            # loop run a Python callback, so the handler runs at once.
            wake_r, wake_w = socket.socketpair()
            wake_r.setblocking(False)
            wake_w.setblocking(False)
            old_wakeup = signal.set_wakeup_fd(wake_w.fileno(),
                                              warn_on_full_buffer=False)

            def on_signal(signum, frame):
                handled.append(signum)
                _L().dice_loop_stop(self._p)

            for s in stop_signals:
                saved[s] = signal.signal(s, on_signal)

            def drain(fd, events):
                try:
                    while wake_r.recv(512):
                        pass
                except OSError:
                    pass

            self.watch(wake_r.fileno(), READABLE, drain)
        try:
            rc = _L().dice_loop_run(self._p)
        finally:
            if wake_r is not None:
                self.unwatch(wake_r.fileno())
                signal.set_wakeup_fd(old_wakeup)
                for s, h in saved.items():
                    signal.signal(s, h)
                wake_r.close()
                wake_w.close()
        self._raise_pending()
        if rc < 0:
            raise DiceError(rc)
        return handled[0] if handled else None

    # ---- asyncio ----

    def attach_asyncio(self, aloop=None):
        """Drive this loop from an asyncio event loop instead of run(): the
        backend fd is watched with add_reader, and a call_later follows the
        next libdice timer (a due timer does not make the fd readable);
        either calls run_once(0). Returns the asyncio loop."""
        import asyncio
        if self._aio is not None:
            raise RuntimeError("already attached")
        aloop = aloop or asyncio.get_event_loop()
        self._aio = {"aloop": aloop, "timer": None, "fd": self.backend_fd}
        aloop.add_reader(self._aio["fd"], self._aio_drive)
        self.reschedule()
        return aloop

    def detach_asyncio(self):
        st, self._aio = self._aio, None
        if st:
            st["aloop"].remove_reader(st["fd"])
            if st["timer"] is not None:
                st["timer"].cancel()

    def _aio_drive(self):
        if self._p is None or self._aio is None:
            return
        try:
            self.run_once(0)
        finally:
            self.reschedule()

    def reschedule(self):
        """Re-arm the asyncio timer from dice_loop_backend_timeout(). Done
        after every run_once and by call_later(); call it after anything
        else that adds libdice timers outside a libdice callback."""
        st = self._aio
        if st is None or self._p is None:
            return
        if st["timer"] is not None:
            st["timer"].cancel()
            st["timer"] = None
        t = self.backend_timeout
        if t >= 0:
            st["timer"] = st["aloop"].call_later(t / 1000.0, self._aio_drive)


# ---- server ------------------------------------------------------------


class _ReplyPlan:
    """A Python value turned into reply calls before any is made, so that
    an unsupported value inside an aggregate yields one clean error reply
    instead of a broken aggregate."""

    __slots__ = ("ops",)

    def __init__(self, value):
        self.ops = []
        self._add(value, 0)

    def _add(self, v, depth):
        if depth > 64:
            raise TypeError("reply nested too deeply")
        ops = self.ops
        if v is None:
            ops.append(("null",))
        elif isinstance(v, bool):
            ops.append(("bool", 1 if v else 0))
        elif isinstance(v, int):
            if -(1 << 63) <= v < (1 << 63):
                ops.append(("int", v))
            else:
                ops.append(("bignum", str(v).encode()))
        elif isinstance(v, float):
            ops.append(("double", v))
        elif isinstance(v, SimpleString):
            ops.append(("simple", _b(v)))
        elif isinstance(v, Verbatim):
            ops.append(("verbatim", _b(v.format), _b(v)))
        elif isinstance(v, (bytes, bytearray, memoryview, str)):
            ops.append(("bulk", _b(v)))
        elif isinstance(v, ReplyError):
            ops.append(("error", _b(v.message)))
        elif isinstance(v, BaseException):
            ops.append(("error", _b(_error_text(v))))
        elif isinstance(v, Push):
            ops.append(("push", len(v)))
            for x in v:
                self._add(x, depth + 1)
        elif isinstance(v, (list, tuple)):
            ops.append(("array", len(v)))
            for x in v:
                self._add(x, depth + 1)
        elif isinstance(v, dict):
            ops.append(("map", len(v)))
            for k, x in v.items():
                self._add(k, depth + 1)
                self._add(x, depth + 1)
        elif isinstance(v, (set, frozenset)):
            ops.append(("set", len(v)))
            for x in v:
                self._add(x, depth + 1)
        else:
            raise TypeError("cannot reply with a %s" % type(v).__name__)

    def send(self, c):
        lib = _L()
        for op in self.ops:
            k = op[0]
            if k == "null":
                lib.dice_reply_null(c)
            elif k == "bool":
                lib.dice_reply_bool(c, op[1])
            elif k == "int":
                lib.dice_reply_int(c, op[1])
            elif k == "bignum":
                lib.dice_reply_bignum(c, op[1], len(op[1]))
            elif k == "double":
                lib.dice_reply_double(c, op[1])
            elif k == "simple":
                lib.dice_reply_simple(c, op[1], len(op[1]))
            elif k == "verbatim":
                lib.dice_reply_verbatim(c, op[1], op[2], len(op[2]))
            elif k == "bulk":
                lib.dice_reply_bulk(c, op[1], len(op[1]))
            elif k == "error":
                lib.dice_reply_error(c, op[1], len(op[1]))
            elif k == "array":
                lib.dice_reply_array(c, op[1])
            elif k == "map":
                lib.dice_reply_map(c, op[1])
            elif k == "set":
                lib.dice_reply_set(c, op[1])
            elif k == "push":
                lib.dice_reply_push(c, op[1])


def _error_text(e):
    """Error reply text for an exception: Redis errors start with a code
    word in capitals; add "ERR" when the message has none."""
    msg = str(e) or type(e).__name__
    msg = " ".join(msg.splitlines())
    first = msg.split(" ", 1)[0]
    if not (first.isupper() and first.isalpha()):
        msg = "ERR " + msg
    return msg


def _send_reply(c, value):
    try:
        plan = _ReplyPlan(value)
    except Exception as e:  # unsupported value: one error reply instead
        plan = _ReplyPlan(ReplyError(_error_text(e)))
    plan.send(c)


class Client:
    """The client a command came from, for handlers registered with
    with_client=True. Valid during the handler call, and after hold()
    until the reply callable is called."""

    __slots__ = ("_c", "_held")

    def __init__(self, ptr):
        self._c = ptr
        self._held = False

    @property
    def id(self):
        return _L().dice_client_id(self._c)

    @property
    def proto(self):
        return _L().dice_client_proto(self._c)

    @property
    def db(self):
        return _L().dice_client_db(self._c)

    @property
    def closed(self):
        return bool(_L().dice_client_is_closed(self._c))

    def close_after_reply(self):
        _L().dice_client_close_after_reply(self._c)

    def hold(self):
        """Answer later: the handler returns (its result is ignored) and the
        client waits, its next pipelined commands queued. Returns reply(v),
        to be called exactly once on the loop's thread (from a timer, or a
        function passed to Loop.post by another thread); it sends v and
        resumes the client. Once hold() was called, the handler must not
        raise: answer errors through reply(ReplyError(...))."""
        c = self._c
        if self._held:
            raise RuntimeError("already held")
        self._held = True
        _L().dice_client_hold(c)
        done = []

        def reply(value):
            if done:
                raise RuntimeError("reply already sent")
            done.append(1)
            _send_reply(c, value)
            _L().dice_client_release(c)

        return reply


class Server:
    """A dice_server_t on a Loop."""

    def __init__(self, loop):
        lib = _L()
        self.loop = loop
        p = _vp()
        rc = lib.dice_server_new(ctypes.byref(p), loop.ptr)
        if rc < 0:
            raise DiceError(rc)
        self._p = p.value
        self._commands = {}  # name -> COMMAND_FN object (kept alive)
        self._shutdown_cb = None
        self._log_cb = None
        self._sessions = set()  # Session objects, closed before the server
        loop._servers.add(self)

    @property
    def ptr(self):
        return self._p

    def close(self):
        for sess in list(self._sessions):
            sess.close()
        if self._p:
            _L().dice_server_free(self._p)
            self._p = None
        self.loop._servers.discard(self)

    def config_set(self, name, value):
        """Set a redis.conf setting by name (values as text or int)."""
        lib = _L()
        rc = lib.dice_server_config_set(self._p, _b(name), _b(value))
        if rc < 0:
            msg = lib.dice_server_config_error(self._p)
            raise DiceError(rc, "%s: %s" % (name, msg.decode() if msg
                                            else lib.dice_strerror(rc).decode()))

    def config_get(self, name):
        lib = _L()
        size = 256
        while True:
            buf = ctypes.create_string_buffer(size)
            n = lib.dice_server_config_get(self._p, _b(name), buf, size)
            if n < 0:
                raise DiceError(n)
            if n < size:
                return buf.value.decode("utf-8", "surrogateescape")
            size = n + 1

    def config_load(self, path):
        lib = _L()
        rc = lib.dice_server_config_load(self._p, _b(path))
        if rc < 0:
            raise DiceError(rc, lib.dice_server_config_error(self._p).decode())

    def add_builtins(self, mask=BUILTIN_ALL):
        rc = _L().dice_command_add_builtins(self._p, mask)
        if rc < 0:
            raise DiceError(rc)

    def command(self, name, fn=None, arity=-1, flags=0, first_key=0,
                last_key=0, key_step=0, summary=None, with_client=False):
        """Register fn(args) (or fn(client, args) with with_client=True) as
        command `name`; args is a list of bytes, args[0] the name as sent.
        The return value becomes the reply (see the module docstring).
        Usable as a decorator: @server.command("name", arity=2)."""
        if fn is None:
            return lambda f: self.command(name, f, arity, flags, first_key,
                                          last_key, key_step, summary,
                                          with_client) or f

        def trampoline(c, argc, argv, argvlen, arg):
            # argv slices point into the connection's buffer and are valid
            # only now: string_at copies them.
            client = None
            try:
                args = [ctypes.string_at(argv[i], argvlen[i])
                        for i in range(argc)]
                if with_client:
                    client = Client(c)
                    value = fn(client, args)
                    if client._held:
                        return  # the reply callable answers later
                else:
                    value = fn(args)
            except ReplyError as e:
                value = e
            except Exception as e:
                value = ReplyError(_error_text(e))
            except BaseException as e:  # KeyboardInterrupt, SystemExit
                self.loop._errors.append(e)
                _L().dice_loop_stop(self.loop.ptr)
                value = ReplyError("ERR interrupted")
            if client is not None and client._held:
                # It raised after hold(): its reply callable still owes the
                # one reply, so answering here would shift every later one.
                # The error goes to run()/run_once() instead.
                if isinstance(value, ReplyError):
                    self.loop._errors.append(value)
                    _L().dice_loop_stop(self.loop.ptr)
                return
            _send_reply(c, value)

        cfn = COMMAND_FN(trampoline)
        rc = _L().dice_command_add(self._p, _b(name), arity, flags, first_key,
                                   last_key, key_step, cfn, None,
                                   _b(summary) if summary else None)
        if rc < 0:
            raise DiceError(rc)
        self._commands[_b(name).lower()] = cfn
        return None

    def remove_command(self, name):
        rc = _L().dice_command_remove(self._p, _b(name))
        if rc < 0:
            raise DiceError(rc)
        self._commands.pop(_b(name).lower(), None)

    def start(self, port=None, bind=None):
        """Listen (optionally setting port/bind first); returns the port
        actually bound (useful with port 0)."""
        if port is not None:
            self.config_set("port", str(port))
        if bind is not None:
            self.config_set("bind", bind)
        rc = _L().dice_server_start(self._p)
        if rc < 0:
            raise DiceError(rc)
        return self.port

    @property
    def port(self):
        rc = _L().dice_server_port(self._p)
        if rc < 0:
            raise DiceError(rc)
        return rc

    def shutdown(self):
        _L().dice_server_shutdown(self._p)

    def on_shutdown(self, fn):
        """fn(server) replaces the default (which stops the loop)."""
        def cb(srv, arg):
            self.loop._guard(fn, self)
        self._shutdown_cb = SERVER_CB(cb)
        _L().dice_server_on_shutdown(self._p, self._shutdown_cb, None)

    def set_logger(self, fn):
        """fn(level, message: str) receives the server's log lines."""
        def cb(arg, level, msg):
            try:
                fn(level, msg.decode("utf-8", "replace"))
            except Exception:
                pass
        self._log_cb = LOG_FN(cb)
        _L().dice_server_set_logger(self._p, self._log_cb, None)

    # The keyspace (after add_builtins with BUILTIN_KEYSPACE), for strings.
    def _db(self, db):
        lib = _L()
        ks = lib.dice_server_keyspace(self._p)
        if not ks:
            raise DiceError(E_STATE, "no keyspace: add BUILTIN_KEYSPACE first")
        # Expiry is decided by the time the keyspace was last given.
        lib.dice_keyspace_set_now(ks, lib.dice_loop_unix_ms(self.loop.ptr))
        d = lib.dice_keyspace_db(ks, db)
        if not d:
            raise DiceError(E_INVAL, "no database %d" % db)
        return d

    def get(self, key, db=0):
        """The string at key (bytes), or None if missing."""
        key = _b(key)
        num = ctypes.create_string_buffer(24)  # DICE_DB_NUMBUF
        val, vlen = _vp(), _sz()
        rc = _L().dice_db_get(self._db(db), key, len(key), num,
                              ctypes.byref(val), ctypes.byref(vlen))
        if rc == E_NOENT:
            return None
        if rc < 0:
            raise DiceError(rc)
        return ctypes.string_at(val.value, vlen.value) if vlen.value else b""

    def set(self, key, value, db=0):
        key, value = _b(key), _b(value)
        rc = _L().dice_db_set(self._db(db), key, len(key), value, len(value),
                              0, 0)
        if rc < 0:
            raise DiceError(rc)

    def delete(self, key, db=0):
        key = _b(key)
        return bool(_L().dice_db_delete(self._db(db), key, len(key)))

    def dbsize(self, db=0):
        return _L().dice_db_size(self._db(db))


# ---- value reader ------------------------------------------------------


class _Agg:
    """An aggregate while the reader fills it."""

    __slots__ = ("type", "items", "handle")

    def __init__(self, type_, handle):
        self.type = type_
        self.items = []
        self.handle = handle


class _Annot:
    """A value with its attribute while the reader builds them."""

    __slots__ = ("value", "attr")

    def __init__(self, value, attr):
        self.value = value
        self.attr = attr


class _Incomplete:
    def __repr__(self):
        return "INCOMPLETE"

    def __bool__(self):
        return False


INCOMPLETE = _Incomplete()


def _hashable(v):
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return tuple((_hashable(k), _hashable(x)) for k, x in v.items())
    if isinstance(v, set):
        return frozenset(v)
    if isinstance(v, Attributed):
        return _hashable(v.value)
    return v


class Reader:
    """RESP2/RESP3 reader: feed(bytes), then get() values. The C reader
    parses; it calls back into Python once per value to build it, so the
    objects come out as Python objects directly:
        '+' SimpleString, '-' and '!' ReplyError (returned, not raised),
        ':' int, '$' bytes, '$-1' '*-1' '_' None, '*' list, ',' float,
        '#' bool, '=' Verbatim, '(' int, '%' dict, '~' set, '>' Push.
    Unhashable map keys and set members (arrays...) become tuples. A RESP3
    attribute is dropped, or with attributes=True the value it annotates
    comes wrapped in Attributed(value, attribute_dict)."""

    def __init__(self, attributes=False):
        lib = _L()
        self._attributes = attributes
        self._objs = {}  # handle -> _Agg, or a top-level value
        self._attr_at = {}  # (parent handle, index) -> pending attribute
        self._top_annot = {}  # handle -> _Annot, for annotated top values
        self._next = 1
        self._exc = None
        # Keep the ctypes callback objects alive as long as the reader.
        self._create_cb = READER_CREATE(self._create)
        self._free_cb = READER_FREE(self._free)
        p = _vp()
        rc = lib.dice_reader_new(ctypes.byref(p), self._create_cb,
                                 self._free_cb, None)
        if rc < 0:
            raise DiceError(rc)
        self._p = p.value

    def close(self):
        if self._p:
            _L().dice_reader_free(self._p)
            self._p = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _create(self, ctx, parent, index, type_, s, slen, integer, dbl):
        try:
            h = self._next
            self._next += 1
            if type_ in _AGGREGATES:
                obj = _Agg(type_, h)
            else:
                obj = self._scalar(type_, s, slen, integer, dbl)
            key = (parent or 0, index)
            if type_ == T_ATTRIBUTE:
                self._attr_at[key] = obj
                self._objs[h] = obj
                return h
            # The value an attribute annotates is created right after it,
            # at the same (parent, index).
            node = obj
            attr = self._attr_at.pop(key, None)
            if attr is not None:
                self._objs.pop(attr.handle, None)
                if self._attributes:
                    node = _Annot(obj, attr)
            if parent:
                self._objs[parent].items.append(node)
                if isinstance(obj, _Agg):  # it will be a parent itself
                    self._objs[h] = obj
            else:
                self._objs[h] = obj
                if node is not obj:
                    self._top_annot[h] = node
            return h
        except BaseException as e:  # noqa: B902 (no exception may reach C)
            self._exc = e
            return None

    @staticmethod
    def _scalar(t, s, slen, integer, dbl):
        if t == T_BULK:
            return ctypes.string_at(s, slen) if slen else b""
        if t == T_INTEGER:
            return integer
        if t == T_STRING:
            return SimpleString(ctypes.string_at(s, slen).decode(
                "utf-8", "surrogateescape") if slen else "")
        if t in (T_ERROR, T_BLOB_ERROR):
            return ReplyError(ctypes.string_at(s, slen) if slen else b"")
        if t in (T_NIL, T_NULL):
            return None
        if t == T_DOUBLE:
            return dbl
        if t == T_BOOL:
            return bool(integer)
        if t == T_BIGNUM:
            return int(ctypes.string_at(s, slen))
        if t == T_VERBATIM:
            raw = ctypes.string_at(s, slen).decode("utf-8", "surrogateescape")
            return Verbatim(raw[4:], raw[:3])
        raise ValueError("unknown RESP type %d" % t)

    def _free(self, ctx, h):
        # A partial tree or a pending attribute the reader gives up on.
        obj = self._objs.pop(h, None)
        self._top_annot.pop(h, None)
        if obj is not None:
            self._forget(obj)
        for k in [k for k, a in self._attr_at.items() if a is obj]:
            del self._attr_at[k]

    def _forget(self, obj):
        if isinstance(obj, _Annot):
            self._forget(obj.value)
            self._forget(obj.attr)
        elif isinstance(obj, _Agg):
            self._objs.pop(obj.handle, None)
            for x in obj.items:
                self._forget(x)

    def _finish(self, obj):
        """Turn a built tree into plain Python values."""
        if isinstance(obj, _Annot):
            return Attributed(self._finish(obj.value), self._finish(obj.attr))
        if isinstance(obj, _Agg):
            self._objs.pop(obj.handle, None)
            items = [self._finish(x) for x in obj.items]
            t = obj.type
            if t in (T_MAP, T_ATTRIBUTE):
                obj = {_hashable(items[i]): items[i + 1]
                       for i in range(0, len(items), 2)}
            elif t == T_SET:
                obj = set(_hashable(x) for x in items)
            elif t == T_PUSH:
                obj = Push(items)
            else:
                obj = items
        return obj

    def feed(self, data):
        data = _b(data)
        rc = _L().dice_reader_feed(self._p, data, len(data))
        if rc == E_PROTO:
            raise ProtocolError(_L().dice_reader_error(self._p).decode())
        if rc < 0:
            raise DiceError(rc)

    def get(self):
        """The next complete value, or INCOMPLETE (falsy) if more bytes are
        needed. Raises ProtocolError on malformed input."""
        out = _vp()
        rc = _L().dice_reader_get(self._p, ctypes.byref(out))
        if self._exc is not None:
            e, self._exc = self._exc, None
            raise e
        if rc == 0:
            return INCOMPLETE
        if rc < 0:
            if rc == E_PROTO:
                raise ProtocolError(_L().dice_reader_error(self._p).decode())
            raise DiceError(rc)
        return self._take(out.value)

    def _take(self, handle):
        """The finished top-level value whose handle the C side returned."""
        obj = self._objs.pop(handle)
        return self._finish(self._top_annot.pop(handle, obj))

    def __iter__(self):
        while True:
            v = self.get()
            if v is INCOMPLETE:
                return
            yield v


def parse(data, attributes=False):
    """All complete values in data, as a list (trailing partial input is
    ignored)."""
    r = Reader(attributes=attributes)
    try:
        r.feed(data)
        return list(r)
    finally:
        r.close()


# ---- in-process sessions -------------------------------------------------


class Session:
    """A dice_session_t: commands run in this process through the server's
    dispatch, with no socket; replies come back as Python objects (built by
    the C reader's constructor callback, as Reader builds them) or as RESP
    bytes. A session has its own state: SELECT, HELLO, CLIENT SETNAME act
    on it alone; after QUIT it is closed (DiceError E_CLOSED)."""

    def __init__(self, server, proto=3):
        lib = _L()
        p = _vp()
        rc = lib.dice_session_new(server.ptr, int(proto), ctypes.byref(p))
        if rc < 0:
            raise DiceError(rc)
        self._p = p.value
        self.server = server
        # The constructor callbacks and their bookkeeping, kept alive with
        # the session (the C reader a Reader also makes is not used).
        self._builder = Reader()
        server._sessions.add(self)

    @property
    def ptr(self):
        return self._p

    def close(self):
        if self._p:
            _L().dice_session_free(self._p)
            self._p = None
            self._builder.close()
        self.server._sessions.discard(self)

    @staticmethod
    def _argv(args):
        if not args:
            raise ValueError("a command needs at least its name")
        bs = [_b(a) for a in args]
        n = len(bs)
        return (n, (ctypes.c_char_p * n)(*bs),
                (_sz * n)(*[len(x) for x in bs]))

    def _check(self, rc):
        self.server.loop._raise_pending()
        if rc == E_AGAIN:
            raise DiceError(rc, "the reply is deferred and the loop cannot "
                            "run here (inside a loop callback): collect it "
                            "later with result()")
        if rc < 0:
            raise DiceError(rc)

    def _value(self, handle):
        b = self._builder
        if b._exc is not None:
            e, b._exc = b._exc, None
            raise e
        v = b._take(handle)
        if isinstance(v, ReplyError):
            raise v
        return v

    def execute(self, *args):
        """Run one command (arguments as bytes, str or int) and return its
        reply: bytes, int, None, list, float, bool, dict, set... An error
        reply is raised as ReplyError. A deferred reply (a handler that
        holds the client) is waited for by running the loop."""
        if not self._p:
            raise DiceError(E_CLOSED, "session closed")
        n, argv, lens = self._argv(args)
        out = _vp()
        b = self._builder
        rc = _L().dice_session_call_value(self._p, n, argv, lens,
                                          b._create_cb, b._free_cb, None,
                                          ctypes.byref(out))
        if rc < 0 and b._exc is not None:
            e, b._exc = b._exc, None
            raise e
        self._check(rc)
        return self._value(out.value)

    def execute_raw(self, *args):
        """Run one command and return its reply as RESP bytes."""
        if not self._p:
            raise DiceError(E_CLOSED, "session closed")
        n, argv, lens = self._argv(args)
        reply, length = _vp(), _sz()
        rc = _L().dice_session_call(self._p, n, argv, lens,
                                    ctypes.byref(reply), ctypes.byref(length))
        self._check(rc)
        return ctypes.string_at(reply.value, length.value)

    def result(self):
        """The reply of the last execute() that raised E_AGAIN, once its
        holder has answered; raises DiceError(E_AGAIN) while pending."""
        out = _vp()
        b = self._builder
        rc = _L().dice_session_value(self._p, b._create_cb, b._free_cb, None,
                                     ctypes.byref(out))
        self._check(rc)
        return self._value(out.value)

    @property
    def client(self):
        """The session's Client (id, proto, db)."""
        return Client(_L().dice_session_client(self._p))


class Embedded:
    """libdice as an embedded store: a loop, a server with the built-in
    commands and one Session, with no listener, no port, no thread:

        db = dice.Embedded()
        db.execute("SET", "k", "v")     # SimpleString("OK")
        db.execute("GET", "k")          # b"v"

    config: redis.conf settings to apply first (e.g. {"databases": 4}).
    proto: 3 (default) gives dicts, sets, floats and bools natively; 2 gives
    RESP2 shapes (flat lists, bytes for doubles). server and loop are the
    underlying objects: server.command() adds Python commands, server.start()
    also serves the same keyspace over the network, and session() opens more
    sessions (each with its own SELECT, HELLO...)."""

    def __init__(self, proto=3, config=None, builtins=BUILTIN_ALL):
        self.loop = Loop()
        try:
            self.server = Server(self.loop)
            for name, value in (config or {}).items():
                self.server.config_set(name, value)
            if builtins:
                self.server.add_builtins(builtins)
            self._session = Session(self.server, proto)
        except BaseException:
            self.close()
            raise

    def execute(self, *args):
        return self._session.execute(*args)

    def execute_raw(self, *args):
        return self._session.execute_raw(*args)

    def session(self, proto=3):
        return Session(self.server, proto)

    def close(self):
        server = getattr(self, "server", None)
        if server is not None:
            server.close()  # closes its sessions first
        self.loop.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
