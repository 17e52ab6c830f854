"""The cjson library of Lua scripts (lib/scripting/luacjson.c), against a
real redis-server 7.0, byte for byte.

- A corpus of scripts: encode of many shapes (arrays, objects, sparse
  arrays, nesting, every byte of a string, numbers at each precision,
  NaN and infinities in each mode), decode of valid and invalid JSON with
  every error text and position, unicode escapes and surrogate pairs,
  cjson.null, the depth limits (the settings' and the Lua stack's), every
  setter with its argument errors, cjson.new, the read-only table. The
  settings persist across scripts as in Redis, so the corpus runs in
  order on both servers from a fresh state (SCRIPT FLUSH).
- Fuzz, bounded: random and mutated JSON text through a pcall'd decode
  (then encode), and random Lua values through encode, the same inputs to
  both servers; every reply must match and dice-server must stay up."""
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

if not os.environ.get("DICE_SERVER") and not os.path.exists(
        dicetest.server_path()):
    sys.exit(dicetest.SKIP)


def nest(open_, close, n):
    return "string.rep('%s', %d) .. string.rep('%s', %d)" % (
        open_, n, close, n)


def deep(n, step):
    """A script building a table n deep through field step, encoding it."""
    return ("local t = {} local c = t for i = 1, %d do c%s = {} c = c%s end "
            "return cjson.encode(t)" % (n, step, step))


# Each entry is one Lua script run with EVAL ... 0.
CORPUS = [
    # the library
    "return {cjson._NAME, cjson._VERSION, type(cjson.null), "
    "tostring(cjson.null), type(cjson.new)}",
    "local t = {} for k, v in pairs(cjson.new()) do t[#t + 1] = k .. '=' .. "
    "type(v) end return t",
    "local t = {} for k in pairs(cjson.new()) do t[#t + 1] = k end "
    "table.sort(t) return t",
    "local t = {} for k, v in pairs(cjson) do t[#t + 1] = k .. '=' .. "
    "type(v) end return t",
    "return {#cjson, next(cjson) ~= nil}",
    "cjson.encode = 1",
    "cjson.foo = 1",
    "cjson.null = 1",
    "return cjson.null == nil",
    "return cjson.decode('null') == cjson.null",
    "return type(cjson.decode('null'))",
    "local c = cjson.new(); c.foo = 1; return {c.foo, c.encode_max_depth()}",
    "local c = cjson.new(); c.encode_number_precision(3); "
    "return {c.encode(math.pi), cjson.encode(math.pi)}",
    # encode: shapes
    "return cjson.encode({})",
    "return cjson.encode({1, 2, 3})",
    "return cjson.encode({a = 1})",
    "return cjson.encode({1, 2, x = 3})",
    "return cjson.encode({{}, {{}}, {a = {}}})",
    "return cjson.encode({a = {b = {c = {1, 'two', false}}}})",
    "return cjson.encode({cjson.null, false, true})",
    "return cjson.encode(nil)",
    "return cjson.encode(cjson.null)",
    "return cjson.encode(true)",
    "return cjson.encode(false)",
    "return cjson.encode('')",
    "return cjson.encode({[1.5] = 1})",
    "return cjson.encode({[0] = 1})",
    "return cjson.encode({[-1] = 1})",
    "return cjson.encode({[1e300] = 1})",
    "return cjson.encode({[2^53] = 1})",
    "return cjson.encode({[2^31] = 1})",
    "return cjson.encode({[2^31 - 1] = 1})",
    "return cjson.encode({[1] = 1, [2] = 2, [1000] = 3})",
    "return cjson.encode({[11] = 1})",
    "return cjson.encode({[10] = 1})",
    "return cjson.encode({[1] = 1, [3] = 3})",
    "return cjson.encode({[20] = 1, [19] = 2, [18] = 3, [17] = 4, [16] = 5, "
    "[15] = 6, [14] = 7, [13] = 8, [12] = 9, [11] = 10})",
    "return cjson.encode({[1/0] = 1})",
    "return cjson.encode({['k'] = 'v', [5] = 1})",
    "return cjson.encode({[true] = 1})",
    "return cjson.encode({[{}] = 1})",
    "return cjson.encode(function() end)",
    "return cjson.encode({f = function() end})",
    "return cjson.encode({1, 2, coroutine.create(function() end)})",
    "return cjson.encode()",
    "return cjson.encode(1, 2)",
    "return cjson.encode(string.rep('[', 3))",
    # encode: strings, every byte
    "local t = {} for i = 0, 255 do t[#t + 1] = string.char(i) end "
    "return cjson.encode(table.concat(t))",
    "return cjson.encode({'a\\r\\n', '\\195\\169', '\\0x', 'a/b'})",
    "return cjson.encode({['a\\0b'] = '\\1'})",
    "return #cjson.encode(string.rep('\\1', 100000))",
    # encode: numbers
    "return {cjson.encode(0.1), cjson.encode(1/3), cjson.encode(-0), "
    "cjson.encode(1e15), cjson.encode(123456789012345), cjson.encode(2^53), "
    "cjson.encode(-2^63), cjson.encode(1e-300), cjson.encode(5e-324), "
    "cjson.encode(1.7976931348623157e308), cjson.encode(100), "
    "cjson.encode(-7.25)}",
    "local z = 0 z = -z return {cjson.encode(z), cjson.encode({[1] = z}), "
    "cjson.encode(0), cjson.encode(-1 * 0)}",
    "local t = {} for _, v in ipairs({0, 1, -1, 9, 10, 99999999999999, "
    "100000000000000, -99999999999999, -100000000000000, 123456, 2^53, "
    "2^63, -2^63, 1e13, 4294967296, -2147483648}) do "
    "t[#t + 1] = cjson.encode(v) end return table.concat(t, ' ')",
    "cjson.encode_number_precision(3) local t = {} for _, v in ipairs({999, "
    "1000, -999, -1000, 12, 0, 5, 12.5}) do t[#t + 1] = cjson.encode(v) end "
    "cjson.encode_number_precision(14) return table.concat(t, ' ')",
    "return cjson.encode(1/0)",
    "return cjson.encode(-1/0)",
    "return cjson.encode(0/0)",
    "return cjson.encode({1, {x = 0/0}})",
    "return {cjson.encode_number_precision(3), cjson.encode(math.pi), "
    "cjson.encode(12345), cjson.encode(0.000012345), cjson.encode({[1.23456] "
    "= 1})}",
    "return {cjson.encode_number_precision(1), cjson.encode(math.pi), "
    "cjson.encode(15)}",
    "return {cjson.encode_number_precision(14), cjson.encode(math.pi)}",
    "return {cjson.encode_invalid_numbers(true), "
    "cjson.encode({1/0, -1/0, 0/0, -(0/0)}), cjson.encode({[1/0] = 1})}",
    "return {cjson.encode_invalid_numbers('null'), "
    "cjson.encode({1/0, -1/0, 0/0}), cjson.encode({[-1/0] = 2})}",
    "return {cjson.encode_invalid_numbers('on'), cjson.encode(-1/0)}",
    "return {cjson.encode_invalid_numbers('off'), "
    "cjson.encode_invalid_numbers(false)}",
    "return cjson.encode_invalid_numbers('bogus')",
    "return cjson.encode_invalid_numbers(1)",
    "return cjson.encode_invalid_numbers({})",
    "return cjson.encode_invalid_numbers(1, 2)",
    # encode: nesting
    deep(999, "[1]"),
    deep(1000, "[1]"),
    deep(1001, "[1]"),
    deep(999, ".a"),
    deep(1000, ".a"),
    "local t = {} t[1] = t return cjson.encode(t)",
    "local t = {} t.a = t return cjson.encode(t)",
    "return {cjson.encode_max_depth(2), cjson.encode({{1}}), "
    "pcall(cjson.encode, {{{1}}})}",
    "return {cjson.encode_max_depth(100000), #cjson.encode({{{{}}}})}",
    deep(10000, "[1]"),
    deep(10000, ".a"),
    deep(7997, "[1]"),
    "return cjson.encode_max_depth(1000)",
    # encode: sparse arrays
    "return {cjson.encode_sparse_array()}",
    "return {cjson.encode_sparse_array(true)}",
    "return {cjson.encode({[1] = 1, [2] = 2, [1000] = 3})}",
    "return {cjson.encode_sparse_array('on', 3, 5)}",
    "return {cjson.encode({[1] = 1, [6] = 6}), cjson.encode({[1] = 1, "
    "[5] = 5})}",
    "return {cjson.encode_sparse_array(false, 0, 10), "
    "cjson.encode({[1] = 1, [20] = 3})}",
    "return {cjson.encode_sparse_array(false, 1, 0), "
    "pcall(cjson.encode, {[1] = 1, [3] = 3}), cjson.encode({1, 2})}",
    "return {cjson.encode_sparse_array(false, 2147483647, 0), "
    "cjson.encode({[1] = 1, [2] = 2, [1000] = 3})}",
    "return {cjson.encode_sparse_array(false, 2, 10), "
    "cjson.encode({[1] = 1, [3] = 3})}",
    "return {cjson.encode_sparse_array('off')}",
    "return {cjson.encode_sparse_array('x')}",
    "return {cjson.encode_sparse_array(1)}",
    "return {cjson.encode_sparse_array(nil, -1)}",
    "return {cjson.encode_sparse_array(nil, 'a')}",
    "return {cjson.encode_sparse_array(nil, nil, 2^31)}",
    "return {cjson.encode_sparse_array(nil, nil, '12')}",
    "return {cjson.encode_sparse_array()}",
    "return {cjson.encode_sparse_array(nil, nil, 10)}",
    "return {cjson.encode_sparse_array(1, 2, 3, 4)}",
    # the other setters
    "return {cjson.encode_max_depth()}",
    "return {cjson.encode_max_depth(0)}",
    "return {cjson.encode_max_depth(-5)}",
    "return {cjson.encode_max_depth(2^32 + 5)}",
    "return {cjson.encode_max_depth(5.7)}",
    "return {cjson.encode_max_depth('7')}",
    "return {cjson.encode_max_depth('x')}",
    "return {cjson.encode_max_depth(true)}",
    "return {cjson.encode_max_depth(1, 2)}",
    "return {cjson.encode_max_depth(1000)}",
    "return {cjson.decode_max_depth()}",
    "return {cjson.decode_max_depth(0)}",
    "return {cjson.decode_max_depth(2, 3)}",
    "return {cjson.encode_number_precision()}",
    "return {cjson.encode_number_precision(0)}",
    "return {cjson.encode_number_precision(15)}",
    "return {cjson.encode_number_precision(14)}",
    "return {cjson.encode_keep_buffer()}",
    "return {cjson.encode_keep_buffer(false), cjson.encode({1, 'x'}), "
    "cjson.encode_keep_buffer(true), cjson.encode({2})}",
    "return {cjson.encode_keep_buffer('off'), pcall(cjson.encode, 1/0), "
    "cjson.encode('after')}",
    "return {cjson.encode_keep_buffer('on')}",
    "return {cjson.encode_keep_buffer('yes')}",
    "return {cjson.encode_keep_buffer(1, 2)}",
    "return {cjson.decode_invalid_numbers()}",
    "return {cjson.decode_invalid_numbers('x')}",
    # decode: valid
    "return cjson.decode('[1,2,3]')",
    "return cjson.decode('\"x\"')",
    "return cjson.decode('true')",
    "return cjson.decode('false')",
    "return cjson.decode('[true,false,null]')",
    "return cjson.decode('{\"a\":1,\"a\":2}').a",
    "return cjson.decode(' \\t\\r\\n[ 1 , 2 ] \\n')[2]",
    "return cjson.decode(12.5)",
    "return cjson.decode('12\\0x')",
    "return cjson.encode(cjson.decode('[1,2.5,-3e2,\"x\",true,false,null,"
    "{},[]]'))",
    "return cjson.encode(cjson.decode('{\"a\":{\"b\":[1,{\"c\":null}]}}'))",
    "return cjson.encode(cjson.decode('{\"k\":[{\"x\":1},[[[\"deep\"]]]]}'))",
    "return cjson.decode('\"\\\\\"\\\\\\\\\\\\/\\\\b\\\\f\\\\n\\\\r\\\\t\"')",
    "return cjson.decode('\"\\\\ud83d\\\\ude00\"')",
    "return cjson.decode('\"\\\\uDBFF\\\\uDFFF\"')",
    "return cjson.decode('\"\\\\u00e9\\\\u20ac\\\\u0041\\\\u0000z\"')",
    "return cjson.decode('\"\\\\u07FF\\\\u0800\\\\uFFFF\\\\u007f\\\\u0080\"')",
    "return cjson.decode('\"\\1\\31\\127\\255\"')",
    "return {cjson.decode('0'), cjson.decode('-0'), cjson.decode('1e5'), "
    "cjson.decode('1.'), cjson.decode('123456789')}",
    "return cjson.encode(cjson.decode('[0.5, -0.25, 1E+2, 1.e2, 0x1p3, "
    "0x10, +1, 01, -.5, 1e-400]'))",
    "return cjson.encode(cjson.decode('-inf'))",
    "return cjson.encode(cjson.decode('nan'))",
    "return cjson.encode(cjson.decode('Infinity'))",
    "return cjson.encode(cjson.decode('1e999'))",
    "return cjson.encode(cjson.decode('[nan(123)]'))",
    "return {cjson.encode_invalid_numbers(true), cjson.encode(cjson.decode("
    "'[inf, -Infinity, NaN, INF, iNfInItY, nan(0x1), -nan]'))}",
    "return cjson.encode_invalid_numbers(false)",
    "return cjson.decode('nanx')",
    "return cjson.decode('info')",
    "return #cjson.decode(string.rep(' ', 1000) .. '\"' .. "
    "string.rep('\\\\u00e9', 10000) .. '\"')",
    # decode: errors
    "return cjson.decode()",
    "return cjson.decode('1', 2)",
    "return cjson.decode({})",
    "return cjson.decode(nil)",
    "return cjson.decode('')",
    "return cjson.decode('   ')",
    "return cjson.decode('x')",
    "return cjson.decode('.5')",
    "return cjson.decode('i')",
    "return cjson.decode('tru')",
    "return cjson.decode('nul')",
    "return cjson.decode('fals')",
    "return cjson.decode('trueX')",
    "return cjson.decode('-')",
    "return cjson.decode('[-]')",
    "return cjson.decode('- 1')",
    "return cjson.decode('\\f1')",
    "return cjson.decode('{1:2}')",
    "return cjson.decode('{\"a\" 1}')",
    "return cjson.decode('{\"a\":1 \"b\"}')",
    "return cjson.decode('{\"a\":1,}')",
    "return cjson.decode('{')",
    "return cjson.decode('{\"a\"')",
    "return cjson.decode('{\"a\":')",
    "return cjson.decode('{\"a\":}')",
    "return cjson.decode('[')",
    "return cjson.decode('[1 2]')",
    "return cjson.decode('[1,]')",
    "return cjson.decode('[\"a\",')",
    "return cjson.decode('[1]x')",
    "return cjson.decode('[1]]')",
    "return cjson.decode('1 2')",
    "return cjson.decode('}')",
    "return cjson.decode(':')",
    "return cjson.decode(',')",
    "return cjson.decode(']')",
    "return cjson.decode('\"abc')",
    "return cjson.decode('\"a\\0b\"')",
    "return cjson.decode('\"\\\\x\"')",
    "return cjson.decode('\"\\\\')",
    "return cjson.decode('\"\\\\u12\"')",
    "return cjson.decode('\"\\\\u00\"')",
    "return cjson.decode('\"\\\\uzzzz\"')",
    "return cjson.decode('\"\\\\u\"')",
    "return cjson.decode('\"\\\\ud800\"')",
    "return cjson.decode('\"\\\\udc00\\\\ud800\"')",
    "return cjson.decode('\"\\\\ud800\\\\u0041\"')",
    "return cjson.decode('\"\\\\ud800x\"')",
    "return cjson.decode('\"\\\\ud800\\\\\"')",
    "return cjson.decode('\"\\\\ud800\\\\ud800\"')",
    "return cjson.decode('\"\\\\ud800\\\\udc0')",
    "return cjson.decode('[\"ok\", \"\\\\q\"]')",
    "return cjson.decode('\\0\\0')",
    "return cjson.decode('a\\0')",
    "return cjson.decode('1\\0garbage')",
    "return cjson.decode('\\0')",
    "return {pcall(cjson.decode, '[1,')}",
    # decode: nesting
    "return #cjson.decode(" + nest("[", "]", 1000) + ")",
    "return cjson.decode(" + nest("[", "]", 1001) + ")",
    "return cjson.decode(" + nest('{"a":', "}", 1001) + ")",
    "return cjson.decode('  ' .. " + nest('{"a":', "}", 1001) + ")",
    "return cjson.decode(string.rep('[', 100000))",
    "return {cjson.decode_max_depth(3), #cjson.decode('[[[1]]]'), "
    "pcall(cjson.decode, '[[[[1]]]]')}",
    "return {cjson.decode_max_depth(100000)}",
    "return #cjson.decode(string.rep('[', 100000))",
    "return #cjson.decode(string.rep('{\"a\":', 100000))",
    "return #cjson.decode(string.rep('[{\"a\":', 100000))",
    "return #cjson.decode(" + nest("[", "]", 7000) + ")",
    "return {cjson.decode_max_depth(1000)}",
    # decode_invalid_numbers off
    "return {cjson.decode_invalid_numbers(false)}",
    "return cjson.decode('0x10')",
    "return cjson.decode('+1')",
    "return cjson.decode('-inf')",
    "return cjson.decode('nan')",
    "return cjson.decode('Infinity')",
    "return cjson.decode('01')",
    "return cjson.decode('-01')",
    "return cjson.decode('[0X1]')",
    "return cjson.decode('[00]')",
    "return {cjson.decode('0'), cjson.decode('-0.5e1'), cjson.decode('0.0')}",
    "return cjson.decode('- 1')",
    "return {cjson.decode_invalid_numbers('on')}",
    # round trips
    "local t = cjson.decode(cjson.encode({1, 'a', {b = cjson.null}})) "
    "return {t[1], t[2], t[3].b == cjson.null}",
    "return cjson.encode(cjson.decode(cjson.encode('\\0\\1\\127/\"\\\\')))",
    "return cjson.encode(cjson.decode('[\"\\\\u0000\"]'))",
]

# Decoded and encoded back, or the error text, from a pcall.
FUZZ_DECODE = ("local ok, v = pcall(cjson.decode, ARGV[1]) "
               "if not ok then return 'E:' .. tostring(v) end "
               "local ok2, s = pcall(cjson.encode, v) "
               "return {type(v), tostring(ok2), s}")

# A random Lua value from math.random (the same on both servers, seeded by
# ARGV[1]), encoded.
FUZZ_ENCODE = """
math.randomseed(tonumber(ARGV[1]))
local pieces = {'a', '', '/', '"', '\\\\', '\\0', '\\127', '\\255', 'k1'}
local function gen(d)
  local r = math.random(12)
  if d > 6 then r = math.random(5) end
  if r == 1 then return math.random(-1000, 1000) end
  if r == 2 then return math.random() * 10 ^ math.random(-20, 20) end
  if r == 3 then return pieces[math.random(#pieces)] end
  if r == 4 then return math.random(2) == 1 end
  if r == 5 then return cjson.null end
  local t = {}
  local n = math.random(0, 5)
  if r <= 8 then
    for i = 1, n do t[i] = gen(d + 1) end
    if math.random(4) == 1 then t[math.random(1, 30)] = gen(d + 1) end
  else
    for i = 1, n do t[pieces[math.random(#pieces)] .. i] = gen(d + 1) end
    if math.random(5) == 1 then t[math.random(-3, 3)] = 1 end
    if math.random(9) == 1 then t[true] = 1 end
  end
  return t
end
local v = gen(0)
local ok, s = pcall(cjson.encode, v)
if not ok then return 'E:' .. s end
local ok2, back = pcall(cjson.decode, s)
return {s, tostring(ok2), type(back)}
"""

ALPHABET = (b'{}[],:"\\ \t\n\r0123456789-+.eEtrufalsnINxu/abcdfbDC\x00\x01'
            b'\x7f\xc3\xa9\xff')
SEEDS = [b'{"a":[1,2,{"b":null}],"c":"\\u00e9\\ud83d\\ude00"}',
         b'[true,false,null,1e5,-0.5,"x\\n"]', b'"\\ud800\\udc00"',
         b'{"k":{"k":{"k":[[[]]]}}}', b'[0x10, inf, nan, +1, 01]']


def fuzz_inputs(rnd, n):
    out = []
    for i in range(n):
        if i % 3 == 0:
            s = bytes(rnd.choice(ALPHABET)
                      for _ in range(rnd.randint(0, 40)))
        else:
            s = bytearray(rnd.choice(SEEDS))
            for _ in range(rnd.randint(1, 4)):
                op = rnd.randint(0, 2)
                pos = rnd.randint(0, len(s))
                if op == 0:
                    s[pos:pos] = bytes([rnd.choice(ALPHABET)])
                elif op == 1 and s:
                    del s[min(pos, len(s) - 1)]
                elif s:
                    s[min(pos, len(s) - 1)] = rnd.choice(ALPHABET)
            s = bytes(s)
        out.append(s)
    # Deep and long hostile inputs.
    out += [b"[" * 5000, b'{"a":' * 3000, b"[" * 999 + b"1" + b"]" * 999,
            b'"' + b"\\u" * 4000, b'"' + b"x" * 200000,
            b'"' + b"\\ud800" * 1000 + b'"', b"[" + b"1," * 50000 + b"1]"]
    return out


class Differential(dicetest.BothServers):
    def conns(self):
        d, r = self.dice.conn(timeout=60), self.redis.conn(timeout=60)
        for c in (d, r):
            c.cmd("SCRIPT", "FLUSH")  # a fresh Lua state: default settings
        self.addCleanup(d.close)
        self.addCleanup(r.close)
        return d, r

    def test_corpus(self):
        d, r = self.conns()
        for script in CORPUS:
            with self.subTest(script=script):
                self.assertEqual(d.cmd("EVAL", script, "0"),
                                 r.cmd("EVAL", script, "0"))

    def test_fuzz_decode(self):
        d, r = self.conns()
        rnd = random.Random(1414)
        for s in fuzz_inputs(rnd, 1500):
            with self.subTest(input=s[:80]):
                self.assertEqual(d.cmd("EVAL", FUZZ_DECODE, "0", s),
                                 r.cmd("EVAL", FUZZ_DECODE, "0", s))
        self.assertEqual(d.cmd("PING"), b"+PONG\r\n")

    def test_fuzz_encode(self):
        d, r = self.conns()
        for seed in range(400):
            with self.subTest(seed=seed):
                self.assertEqual(d.cmd("EVAL", FUZZ_ENCODE, "0", seed),
                                 r.cmd("EVAL", FUZZ_ENCODE, "0", seed))
        self.assertEqual(d.cmd("PING"), b"+PONG\r\n")


class Functions(unittest.TestCase):
    """cjson in the functions' engine too (FUNCTION LOAD / FCALL)."""

    @classmethod
    def setUpClass(cls):
        if not dicetest.have_redis_server():
            raise unittest.SkipTest("no redis-server")
        cls.dice = dicetest.Server("dice")
        cls.redis = dicetest.Server("redis")

    @classmethod
    def tearDownClass(cls):
        cls.dice.stop()
        cls.redis.stop()

    def test_fcall(self):
        lib = ("#!lua name=cj\n"
               "redis.register_function('enc', function(keys, args) "
               "return cjson.encode(cjson.decode(args[1])) end)")
        for args in (["FUNCTION", "LOAD", "REPLACE", lib],
                     ["FCALL", "enc", "0", '{"a":[1,2,{"b":"\\u00e9"}]}'],
                     ["FCALL", "enc", "0", "[1,"]):
            with self.subTest(args=args):
                d, r = self.dice.conn(), self.redis.conn()
                self.assertEqual(d.cmd(*args), r.cmd(*args))
                d.close()
                r.close()


if __name__ == "__main__":
    dicetest.main(globals())
