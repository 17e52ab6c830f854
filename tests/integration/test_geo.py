"""The geo commands of dice-server (lib/commands/geo.c, lib/types/geohash.c)
against redis-server 7.0: GEOADD GEODIST GEOHASH GEOPOS GEOSEARCH
GEOSEARCHSTORE GEORADIUS GEORADIUSBYMEMBER and the _RO forms, every option
and error, reply bytes compared in RESP2 and RESP3; GEOADD's propagated
ZADD form; and a randomized differential run (points worldwide, near the
poles and the antimeridian, random radii and boxes in every unit; fixed
seeds plus one random seed, printed)."""
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dicetest  # noqa: E402

CASES = """\
geoadd g 200 0 m
geoadd g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
geoadd g 0 85.05112878 north 0 -85.05112878 south 180 0 east -180 0 west
geodist g Palermo Catania KM
geodist g Palermo Catania
geodist g Palermo Catania mi
geodist g Palermo Catania ft
geodist g Palermo Catania x
geodist g Palermo Catania m x
geodist g Palermo nope
geodist nokey a b
geosearch g frommember nope byradius 1 km
geohash g Palermo Catania nope north south east west
geopos g Palermo nope north south east west
geopos nokey a b
geohash nokey a
geosearch g fromlonlat 15 37 byradius 200 km withdist withcoord withhash asc
geosearch g fromlonlat 15 37 byradius 200 km withdist desc
geosearch g fromlonlat 15 37 byradius 200 km count 1 any
geosearch g fromlonlat 15 37 byradius 200 km any count 1
geosearch g fromlonlat 15 37 byradius 200 km count 1
geosearch g fromlonlat 15 37 bybox 400 400 km withdist
geosearch g frommember Palermo bybox 400 400 km withdist withhash
geosearch g fromlonlat 15 37 byradius -1 km
geosearch g fromlonlat 15 37 byradius x km
geosearch g fromlonlat 15 37 byradius 1 parsec
geosearch g fromlonlat 15 37 bybox x 1 km
geosearch g fromlonlat 15 37 bybox 1 -1 km
geosearch g fromlonlat 15 37 bybox 1 x km
geosearch g fromlonlat 15 37 byradius 1 km any
geosearch g fromlonlat 15 37 byradius 1 km count 0
geosearch g fromlonlat 15 37 byradius 1 km count x
geosearch g fromlonlat 15 37 byradius 1 km count
geosearch g fromlonlat 15 37 byradius 1 km bybox 1 1 km
geosearch g frommember Palermo fromlonlat 1 1 byradius 1 km
geosearch g fromlonlat 15 37 frommember x byradius 1 km
geosearch g fromlonlat 200 37 byradius 1 km
geosearch g byradius 1 km withdist asc
geosearch g fromlonlat 15 37 withdist asc
geosearch g fromlonlat 15 37 byradius 1 km store x
geosearch g fromlonlat 15 37 byradius 1 km storedist
geosearch g fromlonlat 0 0 byradius 50000 km withdist
geosearch g fromlonlat 179.9 0 byradius 500 km withdist
geosearch g fromlonlat 0 85 bybox 1000 200 km withdist
geosearch nokey fromlonlat 15 37 byradius 200 km
geosearch nokey frommember x byradius 200 km
geosearchstore d g fromlonlat 15 37 byradius 1 km withdist
geosearchstore d g fromlonlat 15 37 byradius 200 km
zrange d 0 -1 withscores
geosearchstore d g fromlonlat 15 37 byradius 200 km storedist
zrange d 0 -1 withscores
geosearchstore d g fromlonlat 15 37 byradius 200 km storedist count 1 desc
zrange d 0 -1 withscores
geosearchstore d g fromlonlat 15 37 byradius 1 m
exists d
geosearchstore d g fromlonlat 15 37 byradius 200 km
geosearchstore d nokey fromlonlat 15 37 byradius 200 km
exists d
georadius g 15 37 200 km store x withdist
georadius g 15 37 200 km withdist withcoord withhash
georadius g 15 37 200 km store x
zrange x 0 -1 withscores
georadius g 15 37 200 km storedist x
zrange x 0 -1 withscores
georadius_ro g 15 37 200 km store x
georadius_ro g 15 37 200 km withdist count 1
georadius g 15 37 -1 km
georadius g 15 100 1 km
georadiusbymember g Palermo 200 km withdist
georadiusbymember_ro g Palermo 200 km withdist asc
georadiusbymember g nope 200 km withdist
georadiusbymember nokey nope x km withdist
georadiusbymember nokey nope x km store d2
georadius nokey 1 1 1 km
georadius nokey 1 100 1 km
georadius g 1 1 1 km count 1 any
geoadd g 1 2
geoadd g xx nx 1 2 m
geoadd g gt 1 2 m
geoadd g nx ch ch
geoadd g ch 13.361389 38.115556 Palermo 1 1 new
geoadd g xx ch 13.361389 38.115556 Palermo 1 1 new2
geoadd g xx ch 13.3 38.1 Palermo 1 1 new2
geoadd g nx 13.3 38.1 Palermo 1 1 new3
geoadd g 1 x a
geoadd g 1 86 a
geoadd g 1 1 ok 1 86 a
geoadd xxonly xx 1 1 a
exists xxonly
set str x
geoadd str 1 1 a
geoadd str 1 100 a
geosearch str fromlonlat 1 1 byradius 1 km
georadius str 1 1 1 km
geopos str a
geohash str a
geodist str a b x
geodist str a b
zadd z -5 neg 1e30 huge
geopos z neg huge
zrange g 0 -1 withscores
geoadd same 13.36 38.11 same0 13.36 38.11 same1 13.36 38.11 same2 13.36 38.11 same3 13.36 38.11 same4 13.36 38.11 same5 13.36 38.11 same6 13.36 38.11 same7 13.36 38.11 same8 13.36 38.11 same9 13.36 38.11 same10 13.36 38.11 same11 13.36 38.11 same12 13.36 38.11 same13 13.36 38.11 same14 13.36 38.11 same15 13.36 38.11 same16 13.36 38.11 same17 13.36 38.11 same18 13.36 38.11 same19 13.36 38.11 same20 13.36 38.11 same21 13.36 38.11 same22 13.36 38.11 same23 13.36 38.11 same24 13.36 38.11 same25 13.36 38.11 same26 13.36 38.11 same27 13.36 38.11 same28 13.36 38.11 same29 13.36 38.11 same30 13.36 38.11 same31 13.36 38.11 same32 13.36 38.11 same33 13.36 38.11 same34 13.36 38.11 same35 13.36 38.11 same36 13.36 38.11 same37 13.36 38.11 same38 13.36 38.11 same39 13.36 38.11 same40 13.36 38.11 same41 13.36 38.11 same42 13.36 38.11 same43 13.36 38.11 same44 13.37 38.12 near
geosearch same fromlonlat 13.36 38.11 byradius 100 km count 5 asc
geosearch same fromlonlat 13.36 38.11 byradius 100 km count 10 desc withdist
geosearch same fromlonlat 13.36 38.11 byradius 100 km count 44
geosearch same fromlonlat 13.36 38.11 byradius 100 km count 46 asc
geosearch same frommember same3 bybox 10 10 km count 3 asc
georadius same 13.36 38.11 100 km count 7
georadiusbymember same same0 100 km count 2 desc
geosearchstore dsame same fromlonlat 13.36 38.11 byradius 100 km count 6 storedist
zrange dsame 0 -1 withscores
command info geoadd geodist geohash geopos georadius georadius_ro georadiusbymember georadiusbymember_ro geosearch geosearchstore
command getkeys georadius g 1 1 1 km store a storedist b
command getkeys geosearchstore d s frommember m byradius 1 km"""


class GeoBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not dicetest.have_redis_server():
            raise unittest.SkipTest("redis-server not installed")
        cls.dice = dicetest.Server("dice", [])
        cls.red = dicetest.Server("redis", [])

    @classmethod
    def tearDownClass(cls):
        cls.dice.stop()
        cls.red.stop()

    def setUp(self):
        self.d = self.dice.conn()
        self.r = self.red.conn()
        for c in (self.d, self.r):
            c.cmd("FLUSHALL")

    def tearDown(self):
        self.d.close()
        self.r.close()

    def same(self, *args):
        a, b = self.d.cmd(*args), self.r.cmd(*args)
        self.assertEqual(a, b, "%r:\n dice  %r\n redis %r" %
                         (args, a[:400], b[:400]))
        return a

    def proto(self, n):
        for c in (self.d, self.r):
            c.cmd("HELLO", str(n))


class TestGeoCommands(GeoBase):
    def test_cases_resp2_resp3(self):
        for proto in (2, 3):
            self.proto(proto)
            for c in (self.d, self.r):
                c.cmd("FLUSHALL")
            for line in CASES.split("\n"):
                self.same(*line.split())

    def test_geoadd_is_zadd(self):
        # Same scores as ZADD would store, and the same ZSCORE text.
        self.same("GEOADD", "g", "-122.27652", "37.805186", "a")
        self.same("ZSCORE", "g", "a")
        self.same("OBJECT", "ENCODING", "g")
        self.same("TYPE", "g")

    def test_big_encoding(self):
        args = []
        for i in range(300):
            args += ["%.6f" % (i * 0.01), "%.6f" % (i * 0.005), "m%d" % i]
        self.same("GEOADD", "g", *args)
        self.same("OBJECT", "ENCODING", "g")
        self.same("GEOSEARCH", "g", "FROMLONLAT", "1", "0.5", "BYRADIUS",
                  "100", "km", "WITHDIST", "ASC")
        self.same("GEOSEARCHSTORE", "g", "g", "FROMLONLAT", "1", "0.5",
                  "BYRADIUS", "50", "km", "STOREDIST")
        self.same("ZRANGE", "g", "0", "-1", "WITHSCORES")


def rand_point(rnd):
    k = rnd.random()
    if k < 0.2:
        lat = rnd.uniform(80, 85.05112878) * rnd.choice([1, -1])
    else:
        lat = rnd.uniform(-85.05112878, 85.05112878)
    if k > 0.8:
        lon = rnd.uniform(175, 180) * rnd.choice([1, -1])
    else:
        lon = rnd.uniform(-180, 180)
    return "%.6f" % lon, "%.6f" % lat


class TestGeoDifferential(GeoBase):
    def run_seed(self, seed, rounds=400):
        rnd = random.Random(seed)
        for c in (self.d, self.r):
            c.cmd("FLUSHALL")
        for i in range(10):
            args = []
            for j in range(100):
                args += [*rand_point(rnd), "m%d" % (i * 100 + j)]
            self.same("GEOADD", "g", *args)
        args = []
        for j in range(200):
            args += ["%.6f" % rnd.uniform(179, 180),
                     "%.6f" % rnd.uniform(-1, 1), "c%d" % j]
        self.same("GEOADD", "g", *args)
        units = {"m": 1, "km": 1000, "ft": 0.3048, "mi": 1609.34}
        for _ in range(rounds):
            unit = rnd.choice(list(units))
            rad = "%.3f" % (rnd.choice([10, 1e3, 1e5, 1e6, 5e6, 2e7]) *
                            rnd.random() / units[unit])
            k = rnd.random()
            if k < 0.5:
                frm = ["FROMLONLAT", *rand_point(rnd)]
            elif k < 0.75:
                frm = ["FROMLONLAT", "%.6f" % rnd.uniform(179, 180),
                       "%.6f" % rnd.uniform(-1, 1)]
            else:
                frm = ["FROMMEMBER", "m%d" % rnd.randrange(1000)]
            if rnd.random() < 0.5:
                by = ["BYRADIUS", rad, unit]
            else:
                by = ["BYBOX", rad, "%.3f" % (float(rad) * rnd.uniform(0.1, 3)),
                      unit]
            opts = []
            if rnd.random() < 0.5:
                opts.append(rnd.choice(["ASC", "DESC"]))
            if rnd.random() < 0.3:
                opts += ["COUNT", str(rnd.randrange(1, 50))]
                if rnd.random() < 0.3:
                    opts.append("ANY")
            opts += [o for o in ("WITHDIST", "WITHCOORD", "WITHHASH")
                     if rnd.random() < 0.5]
            self.same("GEOSEARCH", "g", *frm, *by, *opts)
            if by[0] == "BYRADIUS" and frm[0] == "FROMLONLAT" and \
                    rnd.random() < 0.2:
                self.same("GEORADIUS_RO", "g", frm[1], frm[2], rad, unit,
                          *opts)
            if rnd.random() < 0.1:
                plain = [o for o in opts if not o.startswith("WITH")]
                extra = ["STOREDIST"] if rnd.random() < 0.5 else []
                self.same("GEOSEARCHSTORE", "dst", "g", *frm, *by, *plain,
                          *extra)
                self.same("ZRANGE", "dst", "0", "-1", "WITHSCORES")
            if rnd.random() < 0.1:
                self.same("GEODIST", "g", "m%d" % rnd.randrange(1000),
                          "c%d" % rnd.randrange(200), unit)
                self.same("GEOHASH", "g", "m%d" % rnd.randrange(1000),
                          "c%d" % rnd.randrange(200))
                self.same("GEOPOS", "g", "m%d" % rnd.randrange(1000),
                          "c%d" % rnd.randrange(200))

    def test_fixed_seeds(self):
        for proto, seed in ((2, 1), (3, 2), (2, 3)):
            self.proto(proto)
            self.run_seed(seed)

    def test_random_seed(self):
        seed = random.randrange(1 << 30)
        print("test_geo random seed", seed, file=sys.stderr)
        self.proto(random.choice((2, 3)))
        self.run_seed(seed)


if __name__ == "__main__":
    dicetest.main(globals())
