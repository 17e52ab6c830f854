/* Redis's geo encoding (lib/types/geohash.c): a point's longitude and
 * latitude as a 52-bit interleaved geohash, which GEOADD stores as the
 * member's score in a sorted set, and the arithmetic the geo commands
 * search with: cells, their neighbours, the cells that cover a circle or
 * a box, and haversine distances on Redis's sphere.
 *
 * A hash of step s has 2*s bits: bit 2i holds latitude bit i and bit 2i+1
 * longitude bit i, counting from the least significant; the 52-bit score
 * is a step-26 hash. Latitude spans Redis's Web Mercator limits
 * (+-85.05112878) for scores and the full +-90 for GEOHASH's strings.
 * Pure functions, no allocation. */
#ifndef DICE_TYPES_GEOHASH_H
#define DICE_TYPES_GEOHASH_H

#include <stdint.h>

#define DICE__GEO_STEP_MAX 26
#define DICE__GEO_LAT_MIN -85.05112878
#define DICE__GEO_LAT_MAX 85.05112878
#define DICE__GEO_LON_MIN -180.0
#define DICE__GEO_LON_MAX 180.0
/* Redis's earth radius and the Mercator half-circumference it sizes
 * search cells with. */
#define DICE__GEO_EARTH_RADIUS 6372797.560856
#define DICE__GEO_MERCATOR_MAX 20037726.37

typedef struct dice__geohash {
    uint64_t bits;
    int step; /* 0 with bits 0: no cell */
} dice__geohash;

/* A cell's bounds in degrees. */
typedef struct dice__geo_area {
    double lon_min, lon_max, lat_min, lat_max;
} dice__geo_area;

/* The hash of (lon, lat) at step with latitude in [lat_min, lat_max]:
 * 0, or -1 when the point is out of range. */
int dice__geohash_encode(double lon, double lat, double lat_min, double lat_max,
                         int step, dice__geohash *h);
/* The cell of h. */
void dice__geohash_area(const dice__geohash *h, double lat_min, double lat_max,
                        dice__geo_area *a);
/* The 52-bit score of a point (step 26, Mercator latitudes): 0, or -1
 * when out of range. */
int dice__geo_score(double lon, double lat, uint64_t *score);
/* The point a score stands for (its cell's centre, clamped to the
 * limits): xy[0] longitude, xy[1] latitude. */
void dice__geo_decode(uint64_t score, double xy[2]);
/* GEOHASH's 11-character base-32 string of a score (no NUL written). */
void dice__geo_hash_string(uint64_t score, char out[11]);
/* Great-circle distance in meters between two points (degrees). */
double dice__geo_distance(double lon1, double lat1, double lon2, double lat2);
/* The search shape: a circle of radius or a box of width x height around
 * (lon, lat), in a unit of conv meters (the commands' m km ft mi); the
 * arithmetic multiplies by conv where Redis's does, so bounds and
 * distances round alike. */
typedef struct dice__geo_shape {
    double lon, lat;
    int box;
    double radius;        /* circle */
    double width, height; /* box */
    double conv;          /* meters per unit */
} dice__geo_shape;
/* Whether the point at xy is inside s, with its distance from the
 * centre in meters. */
int dice__geo_within(const dice__geo_shape *s, const double xy[2],
                     double *dist);
/* The nine cells to scan for s, in Redis's order (centre, N, S, E, W, NE,
 * NW, SE, SW); a cell with step 0 and bits 0 is to be skipped. */
void dice__geo_cover(const dice__geo_shape *s, dice__geohash cells[9]);
/* The score range [min, max) of a cell. */
void dice__geohash_range(const dice__geohash *h, uint64_t *min, uint64_t *max);

#endif
