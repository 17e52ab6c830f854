/* Geohash arithmetic for the geo commands (see geohash.h): encoding and
 * decoding of 52-bit scores, cells and their neighbours, the nine-cell
 * cover of a search shape and the haversine distance, computed in the
 * same order of floating-point operations as Redis 7.0 so that the same
 * inputs select the same members and print the same digits. */
#include "types/geohash.h"

#include <math.h>

#define DEG2RAD (M_PI / 180.0)

static double deg_rad(double d) {
    return d * DEG2RAD;
}

static double rad_deg(double r) {
    return r / DEG2RAD;
}

/* The 32 bits of v spread onto the even bits of a 64-bit word. */
static uint64_t spread(uint32_t v) {
    uint64_t x = v;
    x = (x | (x << 16)) & 0x0000FFFF0000FFFFULL;
    x = (x | (x << 8)) & 0x00FF00FF00FF00FFULL;
    x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0FULL;
    x = (x | (x << 2)) & 0x3333333333333333ULL;
    x = (x | (x << 1)) & 0x5555555555555555ULL;
    return x;
}

/* The even bits of x gathered into 32 bits (spread's inverse). */
static uint32_t gather(uint64_t x) {
    x &= 0x5555555555555555ULL;
    x = (x | (x >> 1)) & 0x3333333333333333ULL;
    x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0FULL;
    x = (x | (x >> 4)) & 0x00FF00FF00FF00FFULL;
    x = (x | (x >> 8)) & 0x0000FFFF0000FFFFULL;
    x = (x | (x >> 16)) & 0x00000000FFFFFFFFULL;
    return (uint32_t)x;
}

int dice__geohash_encode(double lon, double lat, double lat_min, double lat_max,
                         int step, dice__geohash *h) {
    h->bits = 0;
    h->step = step;
    if (lon > DICE__GEO_LON_MAX || lon < DICE__GEO_LON_MIN ||
        lat > DICE__GEO_LAT_MAX || lat < DICE__GEO_LAT_MIN)
        return -1;
    if (lat < lat_min || lat > lat_max)
        return -1;
    double cells = (double)(1ULL << step);
    double lat_off = (lat - lat_min) / (lat_max - lat_min);
    double lon_off =
        (lon - DICE__GEO_LON_MIN) / (DICE__GEO_LON_MAX - DICE__GEO_LON_MIN);
    lat_off *= cells;
    lon_off *= cells;
    h->bits = spread((uint32_t)lat_off) | (spread((uint32_t)lon_off) << 1);
    return 0;
}

void dice__geohash_area(const dice__geohash *h, double lat_min, double lat_max,
                        dice__geo_area *a) {
    uint32_t ilat = gather(h->bits), ilon = gather(h->bits >> 1);
    double cells = (double)(1ULL << h->step);
    double lat_scale = lat_max - lat_min;
    double lon_scale = DICE__GEO_LON_MAX - DICE__GEO_LON_MIN;
    a->lat_min = lat_min + (ilat * 1.0 / cells) * lat_scale;
    a->lat_max = lat_min + ((ilat + 1) * 1.0 / cells) * lat_scale;
    a->lon_min = DICE__GEO_LON_MIN + (ilon * 1.0 / cells) * lon_scale;
    a->lon_max = DICE__GEO_LON_MIN + ((ilon + 1) * 1.0 / cells) * lon_scale;
}

int dice__geo_score(double lon, double lat, uint64_t *score) {
    dice__geohash h;
    if (dice__geohash_encode(lon, lat, DICE__GEO_LAT_MIN, DICE__GEO_LAT_MAX,
                             DICE__GEO_STEP_MAX, &h) < 0)
        return -1;
    *score = h.bits;
    return 0;
}

void dice__geo_decode(uint64_t score, double xy[2]) {
    dice__geohash h = {score, DICE__GEO_STEP_MAX};
    dice__geo_area a;
    dice__geohash_area(&h, DICE__GEO_LAT_MIN, DICE__GEO_LAT_MAX, &a);
    double x = (a.lon_min + a.lon_max) / 2;
    double y = (a.lat_min + a.lat_max) / 2;
    if (x > DICE__GEO_LON_MAX)
        x = DICE__GEO_LON_MAX;
    if (x < DICE__GEO_LON_MIN)
        x = DICE__GEO_LON_MIN;
    if (y > DICE__GEO_LAT_MAX)
        y = DICE__GEO_LAT_MAX;
    if (y < DICE__GEO_LAT_MIN)
        y = DICE__GEO_LAT_MIN;
    xy[0] = x;
    xy[1] = y;
}

void dice__geo_hash_string(uint64_t score, char out[11]) {
    static const char alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
    double xy[2];
    dice__geo_decode(score, xy);
    /* The standard geohash: latitudes over the full [-90, 90]. */
    dice__geohash h;
    dice__geohash_encode(xy[0], xy[1], -90.0, 90.0, DICE__GEO_STEP_MAX, &h);
    for (int i = 0; i < 11; i++) {
        /* 52 bits fill ten characters and two bits of the eleventh,
         * which Redis writes as '0'. */
        unsigned idx =
            i == 10 ? 0 : (unsigned)(h.bits >> (52 - (i + 1) * 5)) & 0x1f;
        out[i] = alphabet[idx];
    }
}

/* The distance along a meridian: with equal longitudes haversine's
 * asin(sqrt(sin^2(d/2))) is |d|, which Redis 7.0 computes directly. */
static double lat_distance(double lat1, double lat2) {
    return DICE__GEO_EARTH_RADIUS * fabs(deg_rad(lat2) - deg_rad(lat1));
}

double dice__geo_distance(double lon1, double lat1, double lon2, double lat2) {
    double lon1r = deg_rad(lon1), lon2r = deg_rad(lon2);
    double v = sin((lon2r - lon1r) / 2);
    if (v == 0.0)
        return lat_distance(lat1, lat2);
    double lat1r = deg_rad(lat1), lat2r = deg_rad(lat2);
    double u = sin((lat2r - lat1r) / 2);
    double a = u * u + cos(lat1r) * cos(lat2r) * v * v;
    return 2.0 * DICE__GEO_EARTH_RADIUS * asin(sqrt(a));
}

int dice__geo_within(const dice__geo_shape *s, const double xy[2],
                     double *dist) {
    if (!s->box) {
        *dist = dice__geo_distance(s->lon, s->lat, xy[0], xy[1]);
        return *dist <= s->radius * s->conv;
    }
    /* The point's north-south distance from the centre's parallel, then
     * its east-west distance from the centre's meridian along its own
     * parallel. */
    if (lat_distance(xy[1], s->lat) > s->height * s->conv / 2)
        return 0;
    if (dice__geo_distance(xy[0], xy[1], s->lon, xy[1]) >
        s->width * s->conv / 2)
        return 0;
    *dist = dice__geo_distance(s->lon, s->lat, xy[0], xy[1]);
    return 1;
}

/* One cell east (d > 0) or west (d < 0), wrapping around at the
 * antimeridian: the longitude bits (odd) step as one counter. */
static void move_lon(dice__geohash *h, int d) {
    uint64_t lon = h->bits & 0xaaaaaaaaaaaaaaaaULL;
    uint64_t lat = h->bits & 0x5555555555555555ULL;
    uint64_t fill = 0x5555555555555555ULL >> (64 - h->step * 2);
    /* Filling the latitude holes with ones makes a carry run through
     * them. */
    if (d > 0)
        lon = lon + (fill + 1);
    else
        lon = (lon | fill) - (fill + 1);
    lon &= 0xaaaaaaaaaaaaaaaaULL >> (64 - h->step * 2);
    h->bits = lon | lat;
}

/* One cell north (d > 0) or south (d < 0), wrapping the same way. */
static void move_lat(dice__geohash *h, int d) {
    uint64_t lon = h->bits & 0xaaaaaaaaaaaaaaaaULL;
    uint64_t lat = h->bits & 0x5555555555555555ULL;
    uint64_t fill = 0xaaaaaaaaaaaaaaaaULL >> (64 - h->step * 2);
    if (d > 0)
        lat = lat + (fill + 1);
    else
        lat = (lat | fill) - (fill + 1);
    lat &= 0x5555555555555555ULL >> (64 - h->step * 2);
    h->bits = lon | lat;
}

static dice__geohash moved(dice__geohash h, int dlon, int dlat) {
    if (dlon)
        move_lon(&h, dlon);
    if (dlat)
        move_lat(&h, dlat);
    return h;
}

enum { C, N, S, E, W, NE, NW, SE, SW };

static void neighbours(const dice__geohash *h, dice__geohash cells[9]) {
    cells[C] = *h;
    cells[N] = moved(*h, 0, 1);
    cells[S] = moved(*h, 0, -1);
    cells[E] = moved(*h, 1, 0);
    cells[W] = moved(*h, -1, 0);
    cells[NE] = moved(*h, 1, 1);
    cells[NW] = moved(*h, -1, 1);
    cells[SE] = moved(*h, 1, -1);
    cells[SW] = moved(*h, -1, -1);
}

/* The cell size that should cover a search of range meters at lat. */
static int steps_for(double range, double lat) {
    if (range == 0)
        return DICE__GEO_STEP_MAX;
    int step = 1;
    while (range < DICE__GEO_MERCATOR_MAX) {
        range *= 2;
        step++;
    }
    step -= 2;
    /* Meridians converge towards the poles: wider cells there. */
    if (lat > 66 || lat < -66) {
        step--;
        if (lat > 80 || lat < -80)
            step--;
    }
    if (step < 1)
        step = 1;
    if (step > DICE__GEO_STEP_MAX)
        step = DICE__GEO_STEP_MAX;
    return step;
}

/* The shape's bounding box: b[0] min lon, b[1] min lat, b[2] max lon, b[3]
 * max lat; the longitude span is taken at the parallel nearer the pole. */
static void bounding_box(const dice__geo_shape *s, double b[4]) {
    double h = s->conv * (s->box ? s->height / 2 : s->radius);
    double w = s->conv * (s->box ? s->width / 2 : s->radius);
    double dlat = rad_deg(h / DICE__GEO_EARTH_RADIUS);
    double dlon_top =
        rad_deg(w / DICE__GEO_EARTH_RADIUS / cos(deg_rad(s->lat + dlat)));
    double dlon_bottom =
        rad_deg(w / DICE__GEO_EARTH_RADIUS / cos(deg_rad(s->lat - dlat)));
    int south = s->lat < 0;
    b[0] = south ? s->lon - dlon_bottom : s->lon - dlon_top;
    b[2] = south ? s->lon + dlon_bottom : s->lon + dlon_top;
    b[1] = s->lat - dlat;
    b[3] = s->lat + dlat;
}

static void area_of(const dice__geohash *h, dice__geo_area *a) {
    dice__geohash_area(h, DICE__GEO_LAT_MIN, DICE__GEO_LAT_MAX, a);
}

void dice__geo_cover(const dice__geo_shape *s, dice__geohash cells[9]) {
    double b[4];
    bounding_box(s, b);
    double range = s->box ? sqrt((s->width / 2) * (s->width / 2) +
                                 (s->height / 2) * (s->height / 2))
                          : s->radius;
    range *= s->conv;
    int steps = steps_for(range, s->lat);
    dice__geohash h;
    dice__geohash_encode(s->lon, s->lat, DICE__GEO_LAT_MIN, DICE__GEO_LAT_MAX,
                         steps, &h);
    neighbours(&h, cells);
    /* Near a cell's edge the estimate can be too fine for the four side
     * cells to reach the bounding box: one step coarser then. */
    dice__geo_area n, so, e, w;
    area_of(&cells[N], &n);
    area_of(&cells[S], &so);
    area_of(&cells[E], &e);
    area_of(&cells[W], &w);
    int coarser = n.lat_max < b[3] || so.lat_min > b[1] || e.lon_max < b[2] ||
                  w.lon_min > b[0];
    if (steps > 1 && coarser) {
        steps--;
        dice__geohash_encode(s->lon, s->lat, DICE__GEO_LAT_MIN,
                             DICE__GEO_LAT_MAX, steps, &h);
        neighbours(&h, cells);
    }
    dice__geo_area a;
    area_of(&h, &a);
    if (steps >= 2) {
        static const dice__geohash none = {0, 0};
        /* Side cells beyond the box's edges cannot hold a match. */
        if (a.lat_min < b[1])
            cells[S] = cells[SW] = cells[SE] = none;
        if (a.lat_max > b[3])
            cells[N] = cells[NE] = cells[NW] = none;
        if (a.lon_min < b[0])
            cells[W] = cells[SW] = cells[NW] = none;
        if (a.lon_max > b[2])
            cells[E] = cells[SE] = cells[NE] = none;
    }
}

void dice__geohash_range(const dice__geohash *h, uint64_t *min, uint64_t *max) {
    int shift = 52 - h->step * 2;
    *min = h->bits << shift;
    *max = (h->bits + 1) << shift;
}
