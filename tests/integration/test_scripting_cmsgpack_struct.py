"""The cmsgpack and struct libraries of the Lua sandbox
(lib/scripting/luacmsgpack.c, luastruct.c), against a real redis-server,
byte for byte, in RESP2 and RESP3:

- cmsgpack.pack of every shape (each int, str, array and map form, float32
  and float64, nil, booleans, arrays versus maps, the 16-level nesting
  limit) returned as bytes; unpack, unpack_one and unpack_limit of valid,
  truncated and malformed input with every error text and the offsets
  they return; round trips; the stack limits (how many values at once,
  how deep) and their texts.
- struct.pack, struct.unpack and struct.size with every format letter,
  sizes, alignment, endianness, the out-of-range conversions, and every
  error text.
- The libraries are read-only, as Redis 7.0 makes them.
- Garbage input: a bounded, seeded corpus of random and mutated byte
  strings given to the decoders, compared with redis-server, then the
  server must still answer (no crash)."""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

if not os.environ.get("DICE_SERVER") and not os.path.exists(
        dicetest.server_path()):
    sys.exit(dicetest.SKIP)

# Each entry is a script run as EVAL <script> 0.
CMSGPACK = [
    # names and metadata
    "return {cmsgpack._NAME, cmsgpack._VERSION, cmsgpack._COPYRIGHT, "
    "cmsgpack._DESCRIPTION}",
    "return {type(cmsgpack.pack), type(cmsgpack.unpack), "
    "type(cmsgpack.unpack_one), type(cmsgpack.unpack_limit)}",
    "cmsgpack.pack = nil",
    "cmsgpack.x = 1",
    "cmsgpack = nil",
    # pack: scalars
    "return cmsgpack.pack()",
    "return cmsgpack.pack(nil)",
    "return cmsgpack.pack(nil, nil, 1)",
    "return cmsgpack.pack(true, false)",
    "return cmsgpack.pack(0, 1, 127, 128, 255, 256, 65535, 65536, "
    "4294967295, 4294967296, 2^53, 2^62, 2^63 - 1024)",
    "return cmsgpack.pack(-1, -31, -32, -33, -127, -128, -129, -32767, "
    "-32768, -32769, -2147483648, -2147483649, -2^53, -2^63)",
    "return cmsgpack.pack(2^63, 2^64, -2^64, 1e19, -1e19)",
    "return cmsgpack.pack(1.5, 0.1, -0.5, 1/3, 3.25, -1e-300, 1e300)",
    "return cmsgpack.pack(1/0, -1/0, 0/0, -0.0)",
    "return cmsgpack.pack(3.4028234663852886e38, 3.4028235677973366e38, "
    "-3.4028234663852886e38, 1.401298464324817e-45, 7e-46)",
    "return cmsgpack.pack('', 'a', string.rep('b', 31), string.rep('c', 32))",
    "return cmsgpack.pack(string.rep('x', 255), string.rep('y', 256))",
    "return cmsgpack.pack(string.rep('z', 65535)):sub(1, 4)",
    "return cmsgpack.pack(string.rep('z', 65536)):sub(1, 6)",
    "return #cmsgpack.pack(string.rep('z', 65536))",
    "return cmsgpack.pack('a\\0b\\r\\n\\255')",
    "return cmsgpack.pack(function() end, coroutine.create(function() end))",
    "return cmsgpack.pack(123, 'abc', {1, 2}, {k = 'v'}, true)",
    # pack: arrays and maps
    "return cmsgpack.pack({})",
    "return cmsgpack.pack({1, 2, 3})",
    "return cmsgpack.pack({1, 'two', {3}, {four = 4}, true, 1.5})",
    "return cmsgpack.pack({a = 1})",
    "return cmsgpack.pack({a = {b = {c = 'd'}}})",
    "return cmsgpack.pack({1, nil, 3})",
    "return cmsgpack.pack({nil, 2})",
    "return cmsgpack.pack({[1] = 1, [2] = 2, [4] = 4})",
    "return cmsgpack.pack({[0] = 'zero'})",
    "return cmsgpack.pack({[-1] = 'neg'})",
    "return cmsgpack.pack({[1.5] = 'half'})",
    "return cmsgpack.pack({[2^31] = 1})",
    "return cmsgpack.pack({[2^31 - 1] = 1})",
    "return cmsgpack.pack({[2] = 'b'})",
    "return cmsgpack.pack({1, 2, x = 3})",
    "return cmsgpack.pack({[true] = 1, [false] = 0})",
    "return cmsgpack.pack({[{}] = 1})",
    "return cmsgpack.pack({b = 2, a = 1, c = 3, d = 4})",
    "return cmsgpack.pack({[1] = 1, [3] = 3, x = 1, [-1] = 2})",
    "local t = {} for i = 1, 15 do t[i] = i end return cmsgpack.pack(t)",
    "local t = {} for i = 1, 16 do t[i] = i end return cmsgpack.pack(t)",
    "local t = {} for i = 1, 65535 do t[i] = 0 end "
    "return cmsgpack.pack(t):sub(1, 4)",
    "local t = {} for i = 1, 65536 do t[i] = 0 end "
    "return cmsgpack.pack(t):sub(1, 6)",
    "local t = {} for i = 1, 15 do t['k' .. i] = i end "
    "return cmsgpack.pack(t):byte(1)",
    "local t = {} for i = 1, 16 do t['k' .. i] = i end "
    "return cmsgpack.pack(t):sub(1, 3)",
    "local t = {} for i = 1, 65536 do t['k' .. i] = i end "
    "return cmsgpack.pack(t):sub(1, 5)",
    "local t = {} for i = 1, 40 do t[i * 2] = i end "
    "return cmsgpack.pack(t)",
    # nesting: 16 levels encode, deeper tables are nil
    "return cmsgpack.pack({{{{{{{{{{{{{{{1}}}}}}}}}}}}}}})",
    "return cmsgpack.pack({{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}})",
    "return cmsgpack.pack({{{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}}})",
    "local t = 1 for i = 1, 100 do t = {t} end return cmsgpack.pack(t)",
    "local t = 1 for i = 1, 100 do t = {k = t} end return cmsgpack.pack(t)",
    "local t = {} t[1] = t return cmsgpack.pack(t)",
    "local t = {} t.self = t return cmsgpack.pack(t)",
    "local t = {} t[t] = t return cmsgpack.pack(t)",
    # unpack
    "return cmsgpack.unpack('')",
    "return cmsgpack.unpack()",
    "return cmsgpack.unpack({})",
    "return cmsgpack.unpack(5)",
    "return {cmsgpack.unpack('\\1\\2\\3')}",
    "return {cmsgpack.unpack('\\192\\194\\195\\1')}",
    "return {cmsgpack.unpack('\\127\\128\\143\\144\\159\\160')}",
    "return {cmsgpack.unpack('\\224\\255\\208\\128\\209\\128\\0')}",
    "return {cmsgpack.unpack('\\204\\255\\205\\255\\255\\206\\255\\255\\255"
    "\\255')}",
    "return tostring(cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255"
    "\\255\\255'))",
    "return tostring(cmsgpack.unpack('\\207\\0\\32\\0\\0\\0\\0\\0\\1'))",
    "return tostring(cmsgpack.unpack('\\211\\128\\0\\0\\0\\0\\0\\0\\1'))",
    "return tostring(cmsgpack.unpack('\\211\\255\\255\\255\\255\\255\\255"
    "\\255\\254'))",
    "return {cmsgpack.unpack('\\210\\128\\0\\0\\0\\210\\255\\255\\255"
    "\\254')}",
    "return {cmsgpack.unpack('\\209\\255\\127\\209\\0\\128')}",
    "return tostring(cmsgpack.unpack('\\202\\63\\192\\0\\0'))",
    "return tostring(cmsgpack.unpack('\\202\\127\\128\\0\\0'))",
    "return tostring(cmsgpack.unpack('\\202\\127\\192\\0\\0'))",
    "return tostring(cmsgpack.unpack('\\203\\63\\185\\153\\153\\153\\153"
    "\\153\\154'))",
    "return {cmsgpack.unpack('\\217\\3abc\\218\\0\\2de\\219\\0\\0\\0\\1f')}",
    "return {cmsgpack.unpack('\\217\\0\\218\\0\\0\\219\\0\\0\\0\\0')}",
    "return {cmsgpack.unpack('\\147\\1\\2\\3')}",
    "return {cmsgpack.unpack('\\220\\0\\2\\1\\2\\3')}",
    "return {cmsgpack.unpack('\\221\\0\\0\\0\\1\\1')}",
    "return {cmsgpack.unpack('\\130\\1\\2\\1\\3')}",
    "return {cmsgpack.unpack('\\222\\0\\1\\161a\\1')}",
    "return {cmsgpack.unpack('\\223\\0\\0\\0\\1\\1\\2')}",
    "return {cmsgpack.unpack('\\145\\145\\145\\1')}",
    "return {cmsgpack.unpack('\\129\\161k\\145\\129\\1\\2')}",
    "return {cmsgpack.unpack('\\146\\192\\1')}",
    "local t = cmsgpack.unpack('\\146\\192\\1') return {t[1] == nil, t[2]}",
    "local t = cmsgpack.unpack('\\129\\1\\192') return {t[1] == nil}",
    # unpack: errors
    "return {cmsgpack.unpack('\\204')}",
    "return {cmsgpack.unpack('\\205\\1')}",
    "return {cmsgpack.unpack('\\206\\1\\2\\3')}",
    "return {cmsgpack.unpack('\\207\\1\\2\\3\\4\\5\\6\\7')}",
    "return {cmsgpack.unpack('\\203\\1\\2\\3\\4\\5\\6\\7')}",
    "return {cmsgpack.unpack('\\202\\1\\2\\3')}",
    "return {cmsgpack.unpack('\\163ab')}",
    "return {cmsgpack.unpack('\\217')}",
    "return {cmsgpack.unpack('\\217\\4abc')}",
    "return {cmsgpack.unpack('\\218\\0')}",
    "return {cmsgpack.unpack('\\219\\255\\255\\255\\255abc')}",
    "return {cmsgpack.unpack('\\220\\0')}",
    "return {cmsgpack.unpack('\\221\\255\\255\\255\\255\\1')}",
    "return {cmsgpack.unpack('\\222\\0\\1\\1')}",
    "return {cmsgpack.unpack('\\223\\255\\255\\255\\255')}",
    "return {cmsgpack.unpack('\\147\\1\\2')}",
    "return {cmsgpack.unpack('\\129\\1')}",
    "return {cmsgpack.unpack('\\1\\2\\193')}",
    "return {cmsgpack.unpack('\\193')}",
    "return {cmsgpack.unpack('\\196\\1a')}",
    "return {cmsgpack.unpack('\\197\\0\\1a')}",
    "return {cmsgpack.unpack('\\198\\0\\0\\0\\1a')}",
    "return {cmsgpack.unpack('\\199\\1\\1a')}",
    "return {cmsgpack.unpack('\\200\\0\\1\\1a')}",
    "return {cmsgpack.unpack('\\201\\0\\0\\0\\1\\1a')}",
    "return {cmsgpack.unpack('\\212\\1a')}",
    "return {cmsgpack.unpack('\\213\\1ab')}",
    "return {cmsgpack.unpack('\\214\\1abcd')}",
    "return {cmsgpack.unpack('\\215\\1abcdefgh')}",
    "return {cmsgpack.unpack('\\216\\1abcdefghabcdefgh')}",
    "return {cmsgpack.unpack('\\145\\145\\193')}",
    "return {cmsgpack.unpack('\\129\\192\\1')}",
    "return {cmsgpack.unpack('\\129\\203\\255\\248\\0\\0\\0\\0\\0\\0\\1')}",
    "return {pcall(cmsgpack.unpack, '\\204')}",
    "return {pcall(cmsgpack.unpack, '\\193')}",
    # unpack_one / unpack_limit: offsets and their errors
    "return {cmsgpack.unpack_one('\\1\\2\\3')}",
    "return {cmsgpack.unpack_one('\\1\\2\\3', 0)}",
    "return {cmsgpack.unpack_one('\\1\\2\\3', 1)}",
    "return {cmsgpack.unpack_one('\\1\\2\\3', 2)}",
    "return {cmsgpack.unpack_one('\\1\\2\\3', 3)}",
    "return {cmsgpack.unpack_one('\\1\\2\\3', 4)}",
    "return {cmsgpack.unpack_one('\\1\\2\\3', -1)}",
    "return {cmsgpack.unpack_one('\\1\\2\\3', 1.9)}",
    "return {cmsgpack.unpack_one('\\1\\2\\3', '1')}",
    "return {cmsgpack.unpack_one('\\1\\2\\3', 'x')}",
    "return {cmsgpack.unpack_one('\\1\\2\\3', 2^32 + 1)}",
    "return {cmsgpack.unpack_one('')}",
    "return {cmsgpack.unpack_one()}",
    "return {cmsgpack.unpack_one({})}",
    "return {cmsgpack.unpack_one('\\1\\2\\204', 2)}",
    "return {cmsgpack.unpack_one('\\1\\2\\193', 2)}",
    "return {cmsgpack.unpack_one('\\1\\2\\193', 1)}",
    "return {cmsgpack.unpack_one('\\147\\1\\2\\3\\4')}",
    "return {cmsgpack.unpack_limit('\\1\\2\\3', 2)}",
    "return {cmsgpack.unpack_limit('\\1\\2\\3', 0)}",
    "return {cmsgpack.unpack_limit('\\1\\2\\3', 0, 1)}",
    "return {cmsgpack.unpack_limit('\\1\\2\\3', 0, 3)}",
    "return {cmsgpack.unpack_limit('\\1\\2\\3', 5)}",
    "return {cmsgpack.unpack_limit('\\1\\2\\3', 2, 2)}",
    "return {cmsgpack.unpack_limit('\\1\\2\\3', 1, 3)}",
    "return {cmsgpack.unpack_limit('\\1\\2\\3', -1)}",
    "return {cmsgpack.unpack_limit('\\1\\2\\3', 1, -5)}",
    "return {cmsgpack.unpack_limit('\\1\\2\\3', 1, 9)}",
    "return {cmsgpack.unpack_limit('\\1\\2\\3')}",
    "return {cmsgpack.unpack_limit('\\1\\2\\3', 'x')}",
    "return {cmsgpack.unpack_limit('\\1\\2\\3', 1, 'x')}",
    "return {cmsgpack.unpack_limit('\\1\\2\\3', 1, 2^32 + 1)}",
    "return {cmsgpack.unpack_limit('\\1\\2\\3', 2^32 + 1)}",
    "return {cmsgpack.unpack_limit('\\1\\2\\3', 2^40)}",
    "return {cmsgpack.unpack_limit('\\1\\2\\204', 3)}",
    "return {cmsgpack.unpack_limit('', 1)}",
    "local s = cmsgpack.pack(1, 'a', {2}) local out, off = {}, 0 "
    "repeat local v off, v = cmsgpack.unpack_one(s, off) "
    "out[#out + 1] = off until off == -1 return out",
    # round trips
    "local v = {1, 'two', {3, {4, {5}}}, {k = {v = true}}, false, -7, 1.25} "
    "local s = cmsgpack.pack(v) return {s, cmsgpack.pack(cmsgpack.unpack(s))"
    " == s}",
    "local s = cmsgpack.pack(1, 2.5, 'x', true, false) "
    "return {cmsgpack.unpack(s)}",
    "local ok = true for _, n in ipairs({0, 1, -1, 127, 128, -32, -33, 255, "
    "256, -128, -129, 65535, 65536, -32768, -32769, 4294967295, 4294967296, "
    "-2147483648, -2147483649, 2^53, -2^53, 0.5, 1e300, -1e-300}) do "
    "if cmsgpack.unpack(cmsgpack.pack(n)) ~= n then ok = n end end "
    "return tostring(ok)",
    "local s = string.rep('q', 70000) "
    "return cmsgpack.unpack(cmsgpack.pack(s)) == s",
    "local t = {} for i = 1, 1000 do t[i] = {i, tostring(i)} end "
    "local u = cmsgpack.unpack(cmsgpack.pack(t)) return {#u, u[1000][2]}",
    # pairs() order of what unpack builds (arrays are created presized)
    "local out = {} for _, n in ipairs({1, 2, 3, 5, 9, 17, 100, 4097, 5000})"
    " do local t = {} for i = 1, n do t[i] = i end "
    "local u = cmsgpack.unpack(cmsgpack.pack(t)) local k = {} "
    "for key in pairs(u) do k[#k + 1] = key end "
    "out[#out + 1] = table.concat(k, ',', 1, math.min(#k, 40)) end "
    "return out",
    "local t = cmsgpack.unpack('\\220\\0\\5\\1\\192\\3\\192\\5') "
    "local k = {} for key in pairs(t) do k[#k + 1] = key end return k",
    "local t = cmsgpack.unpack(cmsgpack.pack({x = 1, y = 2, z = 3, w = {1}, "
    "[10] = 'ten', [1.5] = 'f'})) "
    "local k = {} for key in pairs(t) do k[#k + 1] = tostring(key) end "
    "return {k, cmsgpack.pack(t)}",
    "local t = {} for i = 1, 50 do t['key' .. i] = i end "
    "local u = cmsgpack.unpack(cmsgpack.pack(t)) "
    "return cmsgpack.pack(u) == cmsgpack.pack(t)",
    # the Lua stack limit: values at once, depth, arguments
    "return #{cmsgpack.unpack(string.rep('\\1', 7990))}",
    "return #{cmsgpack.unpack(string.rep('\\1', 9000))}",
    "return #{cmsgpack.unpack(string.rep('\\145', 9000))}",
    "return #{cmsgpack.unpack(string.rep('\\129', 9000))}",
    "return #{cmsgpack.unpack(string.rep('\\129\\1', 9000))}",
    "return #{cmsgpack.unpack(string.rep('\\145', 200000))}",
    "return #{cmsgpack.unpack(string.rep('\\129\\161a', 200000))}",
    "return #{cmsgpack.unpack_limit(string.rep('\\1', 9000), 100)}",
    "return #{cmsgpack.unpack(string.rep('\\145', 3998) .. '\\1')}",
    "return #{cmsgpack.unpack(string.rep('\\145', 3999) .. '\\1')}",
    "return #{cmsgpack.unpack(string.rep('\\129\\1', 3998) .. '\\1')}",
    "return #{cmsgpack.unpack(string.rep('\\129\\1', 3999) .. '\\1')}",
    "local t = {} for i = 1, 5000 do t[i] = {a = {1}} end "
    "return {pcall(function() return cmsgpack.pack(unpack(t, 1, 3998)) "
    "end)}",
    "local t = {} for i = 1, 5000 do t[i] = {a = {1}} end "
    "return {pcall(function() return cmsgpack.pack(unpack(t, 1, 3999)) "
    "end)}",
    "local t = {} for i = 1, 5000 do t[i] = 1 end "
    "return {pcall(function() return cmsgpack.pack(unpack(t, 1, 4000)) "
    "end)}",
    "local t = {} for i = 1, 5000 do t[i] = 1 end "
    "return {pcall(function() return cmsgpack.pack(unpack(t, 1, 4100)) "
    "end)}",
]

# The same thresholds, found by bisection inside one script.
THRESHOLDS = """
local function maxok(f)
  local lo, hi = 0, 20000
  while lo < hi do
    local mid = math.floor((lo + hi + 1) / 2)
    if pcall(f, mid) then lo = mid else hi = mid - 1 end
  end
  return lo
end
local r = {}
r[#r+1] = maxok(function(n) return struct.unpack(string.rep('b', n),
  string.rep('a', n)) end)
r[#r+1] = maxok(function(n) return struct.unpack(string.rep('b', n),
  string.rep('a', n), 1) end)
r[#r+1] = maxok(function(n) return struct.unpack(string.rep('b', n),
  string.rep('a', n), 1, 2, 3, 4) end)
r[#r+1] = maxok(function(n) return cmsgpack.unpack(string.rep('\\1', n)) end)
r[#r+1] = maxok(function(n) return cmsgpack.unpack(string.rep('\\1', n),
  1, 2, 3) end)
r[#r+1] = maxok(function(n) return cmsgpack.unpack_limit(
  string.rep('\\1', n), n, 0, 5, 6) end)
r[#r+1] = maxok(function(n) return cmsgpack.unpack(
  string.rep('\\145', n) .. '\\1') end)
r[#r+1] = maxok(function(n) return cmsgpack.unpack(
  string.rep('\\129\\1', n) .. '\\1') end)
r[#r+1] = maxok(function(n) return cmsgpack.unpack(
  string.rep('\\129\\161a', n) .. '\\1', 'x') end)
r[#r+1] = maxok(function(n) return cmsgpack.unpack(
  string.rep('\\145', n) .. '\\1', 1) end)
local t = {} for i = 1, 10000 do t[i] = {a = {1}} end
r[#r+1] = maxok(function(n) return cmsgpack.pack(unpack(t, 1, n)) end)
local u = {} for i = 1, 10000 do u[i] = {1, {2, 3}} end
r[#r+1] = maxok(function(n) return cmsgpack.pack(unpack(u, 1, n)) end)
return r
"""

STRUCT = [
    "return {type(struct.pack), type(struct.unpack), type(struct.size)}",
    "struct.pack = nil",
    "struct.x = 1",
    # size
    "return struct.size('')",
    "return struct.size('b')",
    "return struct.size('bBhHlLiIfdxTc5')",
    "return struct.size('i')",
    "return struct.size('i0')",
    "return struct.size('i3')",
    "return struct.size('i16')",
    "return struct.size('i32')",
    "return struct.size('I17')",
    "return struct.size('i33')",
    "return struct.size('I999')",
    "return struct.size('i99999999999')",
    "return struct.size('c')",
    "return struct.size('c0')",
    "return struct.size('c2147483647')",
    "return struct.size('c2147483648')",
    "return struct.size('c214748364')",
    "return struct.size('s')",
    "return struct.size('z')",
    "return struct.size('q')",
    "return struct.size('=')",
    "return struct.size('<>! ')",
    "return struct.size('!')",
    "return struct.size('!0')",
    "return struct.size('!3')",
    "return struct.size('!17')",
    "return struct.size('!4bi')",
    "return struct.size('!bi')",
    "return struct.size('!2hbh')",
    "return struct.size('!16bd')",
    "return struct.size('!8bi3')",
    "return struct.size('!8bi6b')",
    "return struct.size('!4bc3i')",
    "return struct.size('\\0b')",
    "return struct.size('\\200')",
    "return struct.size()",
    "return struct.size(5)",
    "return struct.size({})",
    # pack
    "return struct.pack('')",
    "return struct.pack('>i', 1)",
    "return struct.pack('<i', 1)",
    "return struct.pack('i', 1)",
    "return struct.pack('>lLhHbB', -1, 2, -3, 4, -5, 6)",
    "return struct.pack('<lLhHbB', -1, 2, -3, 4, -5, 6)",
    "return struct.pack('T', 5)",
    "return struct.pack('>T', 5)",
    "return struct.pack('x')",
    "return struct.pack('xbx', 7)",
    "return struct.pack('b', 300)",
    "return struct.pack('B', -1)",
    "return struct.pack('h', 70000)",
    "return struct.pack('>i4', 3.7)",
    "return struct.pack('>i4', -3.7)",
    "return struct.pack('>i3', 0x123456)",
    "return struct.pack('<i3', -2)",
    "return struct.pack('>I8', 2^64)",
    "return struct.pack('>i8', -2^64)",
    "return struct.pack('>i8', 0/0)",
    "return struct.pack('>i8', 1/0)",
    "return struct.pack('>i8', -1/0)",
    "return struct.pack('>i8', 2^63)",
    "return struct.pack('>I8', 2^63 + 4096)",
    "return struct.pack('>I8', 2^64 + 2^12 * 2^52)",
    "return struct.pack('>i8', -2^63)",
    "return struct.pack('>i8', 1e300)",
    "return struct.pack('>i4', 2^40 + 5)",
    "return struct.pack('>i16', -1)",
    "return struct.pack('<i16', -2)",
    "return struct.pack('<I32', 2^60)",
    "return struct.pack('>I0', 5)",
    "return struct.pack('>f', 1.5)",
    "return struct.pack('<f', 1.5)",
    "return struct.pack('f', 1e300)",
    "return struct.pack('f', -1e300)",
    "return struct.pack('f', 0/0)",
    "return struct.pack('f', 0.1)",
    "return struct.pack('<d', 1.5)",
    "return struct.pack('>d', -0.0)",
    "return struct.pack('>d', 1/0)",
    "return struct.pack('!>bd', 1, 2)",
    "return struct.pack('!4>bd', 1, 2)",
    "return struct.pack('!2>bib', 1, 2, 3)",
    "return struct.pack('!8bi3', 1, 2)",
    "return struct.pack('!8bi6b', 1, 2, 3)",
    "return struct.pack('!bc3i', 1, 'abc', 2)",
    "return struct.pack('s', 'ab')",
    "return struct.pack('>s', 'ab\\0c')",
    "return struct.pack('ss', '', 'x')",
    "return struct.pack('c2', 'abc')",
    "return struct.pack('c2', 'a')",
    "return struct.pack('c0', 'abc')",
    "return struct.pack('>c0s', 'ab', 'cd')",
    "return struct.pack('c3', 12345)",
    "return struct.pack('s', 5)",
    "return struct.pack('s', {})",
    "return struct.pack('i')",
    "return struct.pack('i', 'x')",
    "return struct.pack('i', '12')",
    "return struct.pack('i', ' 0x10 ')",
    "return struct.pack('<I', 5, 6)",
    "return struct.pack('bbb', 1, 2)",
    "return struct.pack('y')",
    "return struct.pack('z', 'a')",
    "return struct.pack('b5', 1)",
    "return struct.pack('b\\0b', 1, 2)",
    "return struct.pack('\\255')",
    "return struct.pack(5)",
    "return struct.pack()",
    "return struct.pack('i999')",
    "return struct.pack('c99999999999', 'a')",
    "return struct.pack('!3')",
    "return struct.pack('!0b', 1)",
    # unpack
    "return {struct.unpack('', '')}",
    "return {struct.unpack('', 'abc', 3)}",
    "return {struct.unpack('', 'abc', 100)}",
    "return {struct.unpack('', 'abc', -1)}",
    "return {struct.unpack('>i', 'abcd')}",
    "return {struct.unpack('<i', 'abcd')}",
    "return {struct.unpack('>I', '\\255\\255\\255\\255')}",
    "return {struct.unpack('>i', '\\255\\255\\255\\254')}",
    "return {struct.unpack('>lLhHbB', string.rep('\\255', 22))}",
    "return {struct.unpack('<T', 'abcdefgh')}",
    "return {struct.unpack('>i', 'abc')}",
    "return {struct.unpack('>i', 'abcdabcd', 5)}",
    "return {struct.unpack('>i', 'abcdabcd', 6)}",
    "return {struct.unpack('>i', 'abcdabcd', 0)}",
    "return {struct.unpack('>i', 'abcdabcd', -1)}",
    "return {struct.unpack('>i', 'abcdabcd', -2)}",
    "return {struct.unpack('c3', 'abc', -2)}",
    "return {struct.unpack('!4i', 'abcdabcd', -1)}",
    "return {struct.unpack('!4i', 'abcdabcd', -3)}",
    "return {struct.unpack('>i', 'abcdabcd', 100)}",
    "return {struct.unpack('<i', 'abcd', 1.5)}",
    "return {struct.unpack('<i', 'abcd', '1')}",
    "return {struct.unpack('<i', 'abcd', 'x')}",
    "return {struct.unpack('y', 'a', 0)}",
    "return {struct.unpack('b', 'abcdabcd', 8)}",
    "return {struct.unpack('b', 'abcdabcd', 9)}",
    "return {struct.unpack('b', 'abcdabcd', 10)}",
    "return {struct.unpack('xb', 'ab')}",
    "return {struct.unpack('x', '')}",
    "return {struct.unpack('s', 'abc')}",
    "return {struct.unpack('s', 'abc\\0de')}",
    "return {struct.unpack('ss', 'a\\0\\0')}",
    "return {struct.unpack('s', '')}",
    "return {struct.unpack('s', 'abc\\0', 5)}",
    "return {struct.unpack('c2c1', 'abc')}",
    "return {struct.unpack('c4', 'abc')}",
    "return {struct.unpack('bc0', '\\3abcdef')}",
    "return {struct.unpack('c0', '\\3abcdef')}",
    "return {struct.unpack('c0', '12345')}",
    "return {struct.unpack('c0', 'abc', 1)}",
    "return {struct.unpack('bc0', '\\9abcdef')}",
    "return {struct.unpack('bc0', '\\255abc')}",
    "return {struct.unpack('bc0', '\\0abc')}",
    "return {struct.unpack('dc0', struct.pack('d', 1e300) .. 'abc')}",
    "return {struct.unpack('dc0', struct.pack('d', 2.7) .. 'abc')}",
    "return {struct.unpack('dc0', struct.pack('d', 0/0) .. 'abc')}",
    "return {struct.unpack('c1c0', '2abc')}",
    "return {struct.unpack('c1c0', 'xabc')}",
    "return {struct.unpack('bxc0', '\\2zabc')}",
    "return {struct.unpack('sc0', '2\\0abc')}",
    "return {struct.unpack('>i9', '\\255\\255\\255\\255\\255\\255\\255\\255"
    "\\255')}",
    "return {struct.unpack('>i9', '\\128\\0\\0\\0\\0\\0\\0\\0\\1')}",
    "return {struct.unpack('<i9', '\\0\\0\\0\\0\\0\\0\\0\\128\\255')}",
    "return {struct.unpack('<i9', '\\0\\0\\0\\0\\0\\0\\0\\0\\1')}",
    "return {struct.unpack('>i16', string.rep('\\0', 8) .. "
    "'\\64\\0\\0\\0\\0\\0\\0\\0')}",
    "return {struct.unpack('>i16', string.rep('\\0', 8) .. "
    "'\\0\\0\\0\\0\\0\\0\\0\\128')}",
    "return {struct.unpack('>i12', string.rep('\\0', 4) .. "
    "'\\0\\0\\0\\0\\0\\0\\0\\128')}",
    "return {struct.unpack('<i0', 'a')}",
    "return {struct.unpack('<I3', 'abc')}",
    "return {struct.unpack('<i3', '\\255\\255\\255')}",
    "return {struct.unpack('<i3', '\\255\\255\\127')}",
    "return {struct.unpack('>I8', '\\255\\255\\255\\255\\255\\255\\255"
    "\\255')}",
    "return tostring(struct.unpack('>I8', '\\255\\255\\255\\255\\255\\255"
    "\\255\\255'))",
    "return tostring(struct.unpack('>i8', '\\128\\0\\0\\0\\0\\0\\0\\0'))",
    "return {struct.unpack('i32', string.rep('\\255', 32))}",
    "return {struct.unpack('I32', string.rep('\\255', 32))}",
    "return {struct.unpack('>I16', string.rep('\\1', 16))}",
    "return tostring(struct.unpack('>f', '\\63\\192\\0\\0'))",
    "return tostring(struct.unpack('<f', '\\0\\0\\192\\63'))",
    "return tostring(struct.unpack('>f', '\\127\\192\\0\\0'))",
    "return tostring(struct.unpack('>d', '\\63\\185\\153\\153\\153\\153\\153"
    "\\154'))",
    "return tostring(struct.unpack('<d', '\\154\\153\\153\\153\\153\\153\\185"
    "\\63'))",
    "return {struct.unpack('!4bi', 'abcdefgh')}",
    "return {struct.unpack('!4bi', 'abcdefg')}",
    "return {struct.unpack('!8bi3', 'abcdefgh')}",
    "return {struct.unpack(' < b', 'a')}",
    "return {struct.unpack('y', 'a')}",
    "return {struct.unpack('=', 'a')}",
    "return {struct.unpack('i')}",
    "return {struct.unpack('i', 5)}",
    "return {struct.unpack('i', {})}",
    "return {struct.unpack()}",
    "return {struct.unpack('i999', 'a')}",
    "return {struct.unpack('c99999999999', 'a')}",
    "return {struct.unpack('!3', 'a')}",
    "return #{struct.unpack(string.rep('b', 9000), string.rep('a', 9000))}",
    "return #{struct.unpack(string.rep('x', 9000), string.rep('a', 9000))}",
    # round trips
    "local s = struct.pack('>bBhHlLi3I5fdsc3', -1, 2, -3, 4, -5, 6, -7, 8, "
    "1.5, 0.1, 'str', 'abc') return {s, struct.unpack('>bBhHlLi3I5fdsc3', s)}",
    "local s = struct.pack('<!4bibh', 1, 2, 3, 4) "
    "return {s, struct.size('<!4bibh'), struct.unpack('<!4bibh', s)}",
    "local s = struct.pack('Bc0', 5, 'hello') "
    "return {s, struct.unpack('Bc0', s)}",
]


def garbage_corpus(seed=20240614, count=600):
    """Seeded random inputs: raw random bytes, and valid encodings with
    bytes flipped, cut short, or a header byte forced."""
    rnd = random.Random(seed)
    valid = [
        b"\x93\x01\xa1a\x81\xa1k\xc3", b"\xdc\x00\x03\x01\x02\x03",
        b"\xde\x00\x02\xa1a\x01\xa1b\x92\xcb" + b"\x3f\xf0" + b"\x00" * 6 +
        b"\xc0", b"\xd9\x05hello\xcf" + b"\x00" * 7 + b"\x05",
        b"\x91" * 20 + b"\x01", b"\x81\xa1x" * 10 + b"\xc2",
    ]
    heads = [0xc4, 0xc7, 0xd4, 0xc1, 0xdb, 0xdd, 0xdf, 0x9f, 0x8f, 0xbf]
    out = []
    for i in range(count):
        kind = i % 4
        if kind == 0:
            b = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 40)))
        else:
            b = bytearray(rnd.choice(valid))
            if kind == 1:
                for _ in range(rnd.randrange(1, 4)):
                    b[rnd.randrange(len(b))] = rnd.randrange(256)
            elif kind == 2:
                b = b[:rnd.randrange(len(b))] or bytearray(b"\xcc")
            else:
                b[rnd.randrange(len(b))] = rnd.choice(heads)
            b = bytes(b)
        out.append(b)
    return out


STRUCT_FORMATS = ["b", "B", "h", "H", "l", "L", "T", "i", "I3", "i9", "f",
                  "d", "s", "c2", "c0", "x", "<", ">", "!", "!4", "bc0",
                  "i32", "I17"]


def struct_garbage(seed=7, count=300):
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        fmt = "".join(rnd.choice(STRUCT_FORMATS)
                      for _ in range(rnd.randrange(1, 6)))
        data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 24)))
        out.append((fmt, data))
    return out


class Differential(dicetest.BothServers):
    def run_scripts(self, scripts, proto):
        d, r = self.dice.conn(timeout=60), self.redis.conn(timeout=60)
        if proto == 3:
            for c in (d, r):
                c.cmd("HELLO", "3")
        for script in scripts:
            with self.subTest(proto=proto, script=script):
                self.assertEqual(d.cmd("EVAL", script, "0"),
                                 r.cmd("EVAL", script, "0"))
        d.close()
        r.close()

    def test_cmsgpack(self):
        for proto in (2, 3):
            self.run_scripts(CMSGPACK, proto)

    def test_struct(self):
        for proto in (2, 3):
            self.run_scripts(STRUCT, proto)

    def test_functions(self):
        """The libraries in FUNCTION's engine: absent while the library
        loads (Redis 7.0's load environment), present when it runs."""
        d, r = self.dice.conn(), self.redis.conn()
        bad = ("#!lua name=mpload\nlocal x = cmsgpack.pack(1)\n"
               "redis.register_function('f', function() return 1 end)")
        good = ("#!lua name=mp\nredis.register_function('mpf', "
                "function(k, a) return {cmsgpack.pack(a[1], {a[1]}), "
                "struct.pack('>i', #a[1]), struct.size('i'), "
                "cmsgpack.unpack_one(cmsgpack.pack(7))} end)")
        for cmd in (["FUNCTION", "FLUSH"], ["FUNCTION", "LOAD", bad],
                    ["FUNCTION", "LOAD", good], ["FCALL", "mpf", "0", "hello"],
                    ["FUNCTION", "FLUSH"]):
            with self.subTest(cmd=cmd):
                self.assertEqual(d.cmd(*cmd), r.cmd(*cmd))
        d.close()
        r.close()

    def test_stack_thresholds(self):
        self.run_scripts([THRESHOLDS], 2)

    def test_garbage(self):
        """Bounded: 600 decoder inputs, 300 struct formats over random
        data; each compared with redis-server, then PING."""
        d, r = self.dice.conn(timeout=60), self.redis.conn(timeout=60)
        unpack = ("local ok, a, b, c = pcall(cmsgpack.unpack, ARGV[1]) "
                  "return {tostring(ok), a, b, c}")
        limit = ("return {pcall(cmsgpack.unpack_limit, ARGV[1], 2, "
                 "tonumber(ARGV[2]))}")
        for i, data in enumerate(garbage_corpus()):
            off = str(i % 3)
            for script, args in ((unpack, [data]), (limit, [data, off])):
                with self.subTest(data=data, script=script):
                    cmd = ["EVAL", script, "0"] + args
                    self.assertEqual(d.cmd(*cmd), r.cmd(*cmd))
        su = "return {pcall(struct.unpack, ARGV[1], ARGV[2])}"
        for fmt, data in struct_garbage():
            with self.subTest(fmt=fmt, data=data):
                cmd = ["EVAL", su, "0", fmt, data]
                self.assertEqual(d.cmd(*cmd), r.cmd(*cmd))
        # Deep and long hostile input, given as an argument.
        for data in (b"\x91" * 500000, b"\x81" * 500000,
                     b"\xdd\xff\xff\xff\xff" * 1000,
                     b"\xdf\xff\xff\xff\xff\xa1k" * 1000,
                     b"\xdb\xff\xff\xff\xff" + b"a" * 1000):
            with self.subTest(data=data[:8]):
                cmd = ["EVAL", "return {pcall(cmsgpack.unpack, ARGV[1])}",
                       "0", data]
                self.assertEqual(d.cmd(*cmd), r.cmd(*cmd))
        self.assertEqual(d.cmd("PING"), b"+PONG\r\n")
        d.close()
        r.close()


if __name__ == "__main__":
    dicetest.main(globals())
