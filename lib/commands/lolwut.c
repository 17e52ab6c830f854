/* LOLWUT's computer art: the drawings Redis 7.0 shows for VERSION 5 and 6.
 *
 * VERSION 5 is Georg Nees's "Schotter" (1968): a grid of squares that
 * rotate and drift more and more towards the bottom, drawn with lines on
 * a canvas of pixels and printed with Braille characters (each character
 * is a 2x4 block of pixels). VERSION 6 is a city skyline in the manner of
 * 8 bit games' parallax backgrounds: two rows of plain buildings in two
 * grays behind a row of black ones with lit windows, one terminal cell per
 * pixel, colored with ANSI escapes.
 *
 * Both follow Redis's geometry, so what does not depend on chance is the
 * same as Redis's to the byte: the canvas sizes, the first two rows of
 * Schotter squares (Redis draws them unrotated), the Braille encoding, the
 * escapes and the captions. Redis takes its chance from the C library's
 * rand(), which nothing here can replay; the drifts and the buildings come
 * from a small generator seeded by the caller (a different picture each
 * call, as Redis's). */
#include "commands/commands_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- canvas ------------------------------------------------------------ */

typedef struct canvas {
    int w, h;
    unsigned char *px; /* w*h colors */
} canvas;

static int canvas_init(canvas *cv, int w, int h, int bg) {
    cv->w = w;
    cv->h = h;
    cv->px = malloc((size_t)w * (size_t)h);
    if (!cv->px)
        return -1;
    memset(cv->px, bg, (size_t)w * (size_t)h);
    return 0;
}

/* Pixels off the canvas are dropped when drawn and read as color 0. */
static void put(canvas *cv, int x, int y, int color) {
    if (x >= 0 && y >= 0 && x < cv->w && y < cv->h)
        cv->px[(size_t)y * (size_t)cv->w + (size_t)x] = (unsigned char)color;
}

static int get(const canvas *cv, int x, int y) {
    if (x < 0 || y < 0 || x >= cv->w || y >= cv->h)
        return 0;
    return cv->px[(size_t)y * (size_t)cv->w + (size_t)x];
}

/* Bresenham's line, both ends included. */
static void line(canvas *cv, int x0, int y0, int x1, int y1, int color) {
    int dx = abs(x1 - x0), dy = abs(y1 - y0);
    int stepx = x0 < x1 ? 1 : -1, stepy = y0 < y1 ? 1 : -1;
    int err = dx - dy;
    for (;;) {
        put(cv, x0, y0, color);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * err;
        if (e2 > -dy) {
            err -= dy;
            x0 += stepx;
        }
        if (e2 < dx) {
            err += dx;
            y0 += stepy;
        }
    }
}

/* A square of the given side centred on (x, y), turned by angle radians:
 * its corners lie on the circle through them, a quarter turn apart from
 * the first at 45 degrees (float arithmetic as Redis's, so the corners
 * round to the same pixels). */
static void square(canvas *cv, int x, int y, float side, float angle) {
    float r = (float)round((float)(side / 1.4142135623));
    float k = (float)(M_PI / 4 + angle);
    int cx[4], cy[4];
    for (int j = 0; j < 4; j++) {
        cx[j] = (int)round(sin(k) * r + x);
        cy[j] = (int)round(cos(k) * r + y);
        k = (float)(k + M_PI / 2);
    }
    for (int j = 0; j < 4; j++)
        line(cv, cx[j], cy[j], cx[(j + 1) % 4], cy[(j + 1) % 4], 1);
}

/* ---- output buffer ------------------------------------------------------ */

typedef struct obuf {
    char *p;
    size_t n, cap;
    int oom;
} obuf;

static void put_bytes(obuf *b, const char *s, size_t n) {
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void put_str(obuf *b, const char *s) {
    put_bytes(b, s, strlen(s));
}

/* ---- chance -------------------------------------------------------------- */

/* xorshift64*, state on the caller's stack. rnd() is in [0, 2^31). */
static int rnd(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (int)((*s * 0x2545F4914F6CDD1DULL) >> 33);
}

#define RND_MAX 2147483647

/* ---- VERSION 5: Schotter ---------------------------------------------------
 */

/* Braille: the dots of a 2x4 cell, column by column for the top three
 * rows, then the bottom row's two (U+2800 plus this byte, in UTF-8). */
static void render_braille(const canvas *cv, obuf *b) {
    static const int dot[4][2] = {{0, 3}, {1, 4}, {2, 5}, {6, 7}};
    for (int y = 0; y < cv->h; y += 4) {
        for (int x = 0; x < cv->w; x += 2) {
            int bits = 0;
            for (int dy = 0; dy < 4; dy++)
                for (int dx = 0; dx < 2; dx++)
                    if (get(cv, x + dx, y + dy))
                        bits |= 1 << dot[dy][dx];
            char u[3] = {(char)0xe2, (char)(0xa0 | (bits >> 6)),
                         (char)(0x80 | (bits & 0x3f))};
            put_bytes(b, u, 3);
        }
        /* Redis ends every row but one whose top is the canvas's last
         * pixel row (a height of 4k+1). */
        if (y != cv->h - 1)
            put_bytes(b, "\n", 1);
    }
}

static void schotter(obuf *b, long cols, long per_row, long per_col,
                     uint64_t *seed) {
    int w = (int)cols * 2;
    int pad = w > 4 ? 2 : 0;
    float side = (float)(w - pad * 2) / (float)per_row;
    int h = (int)(side * (float)per_col + (float)(pad * 2));
    canvas cv;
    if (canvas_init(&cv, w, h, 0) < 0) {
        b->oom = 1;
        return;
    }
    for (int y = 0; y < per_col; y++) {
        for (int x = 0; x < per_row; x++) {
            int sx = (int)((float)x * side + side / 2 + (float)pad);
            int sy = (int)((float)y * side + side / 2 + (float)pad);
            float angle = 0;
            /* The first two rows stand straight; below them each square
             * turns and drifts by up to row/per_col (of a third of a side
             * for the drift), either way. */
            if (y > 1) {
                float d[3];
                for (int i = 0; i < 3; i++)
                    d[i] = (float)rnd(seed) / (float)RND_MAX / (float)per_col *
                           (float)y;
                for (int i = 0; i < 3; i++)
                    if (rnd(seed) % 2)
                        d[i] = -d[i];
                angle = d[0];
                sx = (int)((float)sx + d[1] * side / 3);
                sy = (int)((float)sy + d[2] * side / 3);
            }
            square(&cv, sx, sy, side, angle);
        }
    }
    render_braille(&cv, b);
    free(cv.px);
    put_str(b, "\nGeorg Nees - schotter, plotter on paper, 1968. ");
}

/* ---- VERSION 6: skyline ------------------------------------------------ */

typedef struct building {
    int x, w, h, windows, color;
} building;

/* A building standing on the canvas's bottom row; its roof is two pixels
 * narrower on each side. With windows, the inner part (two pixels from the
 * walls, one from the roof and the ground) has windows two pixels wide and
 * one tall on every other column pair and row, lit in one of the grays. */
static void draw_building(canvas *cv, const building *bd, uint64_t *seed) {
    int bottom = cv->h - 1, top = bottom - bd->h + 1;
    for (int y = bottom; y >= top; y--) {
        for (int x = bd->x; x < bd->x + bd->w; x++) {
            if (y == top && (x <= bd->x + 1 || x >= bd->x + bd->w - 2))
                continue;
            int color = bd->color;
            if (bd->windows && x > bd->x + 1 && x < bd->x + bd->w - 2 &&
                y > top + 1 && y < bottom - 1) {
                int rx = x - (bd->x + 1), ry = y - (top + 1);
                if ((rx / 2) % 2 && ry % 2) {
                    do {
                        color = 1 + rnd(seed) % 2;
                    } while (color == bd->color);
                    if (rx % 2) /* a window's second pixel: its first's */
                        color = get(cv, x - 1, y);
                }
            }
            put(cv, x, y, color);
        }
    }
}

static void skyline(canvas *cv, uint64_t *seed) {
    building bd;
    /* Far buildings first, the lighter gray behind the darker. */
    for (int color = 2; color >= 1; color--) {
        bd.color = color;
        bd.windows = 0;
        for (int x = -10; x < cv->w;) {
            x += rnd(seed) % 8;
            bd.x = x;
            bd.w = 10 + rnd(seed) % 9;
            bd.h = cv->h / 2 + (rnd(seed) % cv->h) / (color == 2 ? 2 : 3);
            draw_building(cv, &bd, seed);
            x += color == 2 ? bd.w / 2 : bd.w + 1;
        }
    }
    /* Then the near ones, black with windows. */
    bd.color = 0;
    bd.windows = 1;
    for (int x = -10; x < cv->w;) {
        x += rnd(seed) % 8;
        bd.x = x;
        bd.w = 5 + rnd(seed) % 14;
        if (bd.w % 4)
            bd.w += bd.w % 3;
        bd.h = cv->h / 3 + (rnd(seed) % cv->h) / 2;
        draw_building(cv, &bd, seed);
        x += bd.w + 5;
    }
}

static void city(obuf *b, long cols, long rows, uint64_t *seed) {
    canvas cv;
    if (canvas_init(&cv, (int)cols, (int)rows, 3) < 0) {
        b->oom = 1;
        return;
    }
    skyline(&cv, seed);
    /* Foreground and background both set: terminals agree better. */
    static const char *const esc[4] = {
        "\033[0;30;40m \033[0m", "\033[0;90;100m \033[0m",
        "\033[0;37;47m \033[0m", "\033[0;97;107m \033[0m"};
    for (int y = 0; y < cv.h; y++) {
        for (int x = 0; x < cv.w; x++)
            put_str(b, esc[get(&cv, x, y) & 3]);
        if (y != cv.h - 1)
            put_bytes(b, "\n", 1);
    }
    free(cv.px);
    put_str(b, "\nDedicated to the 8 bit game developers of past and present."
               "\nOriginal 8 bit image from Plaguemon by hikikomori. ");
}

/* ---- entry -----------------------------------------------------------------
 */

static long clamp(long long v, long lo, long hi) {
    return v < lo ? lo : v > hi ? hi : (long)v;
}

int dice__lolwut_art(int version, const long long *arg, int nargs,
                     uint64_t seed, char **out, size_t *outlen) {
    obuf b = {0};
    seed |= 1; /* xorshift needs a nonzero state */
    if (version == 5) {
        long cols = nargs > 0 ? clamp(arg[0], 1, 1000) : 66;
        long per_row = nargs > 1 ? clamp(arg[1], 1, 200) : 8;
        long per_col = nargs > 2 ? clamp(arg[2], 1, 200) : 12;
        schotter(&b, cols, per_row, per_col, &seed);
    } else if (version == 6) {
        long cols = nargs > 0 ? clamp(arg[0], 1, 1000) : 80;
        long rows = nargs > 1 ? clamp(arg[1], 1, 1000) : 20;
        city(&b, cols, rows, &seed);
    }
    if (b.oom) {
        free(b.p);
        return DICE_ENOMEM;
    }
    *out = b.p;
    *outlen = b.n;
    return 0;
}
