/* Glob matching with the semantics of Redis's stringmatchlen(), shared by
 * KEYS and SCAN MATCH (keyspace), CONFIG GET (server) and COMMAND LIST
 * FILTERBY PATTERN (commands).
 *
 * Redis matches recursively, one level per run of '*'; this matcher gets
 * the same answers in one pass (see dice_glob_match), including where Redis
 * gives up on deep patterns and how it folds case in ranges. */
#include "dice/common.h"

#include <stddef.h>

/* Redis 7.0 returns "no match" from any recursion deeper than this many
 * runs of '*' (the nesting counter of stringmatchlen_impl, added against
 * the exponential patterns of CVE-2022-36021). */
#define GLOB_MAX_NESTING 1000

/* A pattern or string byte as Redis compares it: a signed char, folded
 * with the C library's tolower() when nocase. In the "C" locale Redis runs
 * with, tolower() lowers A-Z and maps a negative char other than -1 (EOF)
 * to c + 256; spelled out so the answer does not depend on our locale. The
 * map is one-to-one apart from case, so it only shows in ranges: with
 * nocase, "[\xfe-z]" (254..'z') matches nothing. */
static int glob_byte(int c, int nocase) {
    if (!nocase)
        return c;
    if (c >= 'A' && c <= 'Z')
        return c + ('a' - 'A');
    return c < -1 ? c + 256 : c;
}

static int glob_char(char c, int nocase) {
    return glob_byte((signed char)c, nocase);
}

/* Does the single-character token at pat[*pi] match c? Advances *pi past
 * the token. Mirrors stringmatchlen's quirks: an unterminated [ class ends
 * at the pattern end, "x-]" inside a class is a range up to ']', a
 * trailing backslash is literal, a range's ends are swapped if reversed
 * (as signed chars) before they are folded. */
static int glob_one(const char *pat, size_t plen, size_t *pi, char c,
                    int nocase) {
    size_t i = *pi;
    int x = glob_char(c, nocase);
    if (pat[i] == '?') {
        *pi = i + 1;
        return 1;
    }
    if (pat[i] == '[') {
        i++;
        int neg = i < plen && pat[i] == '^';
        int hit = 0;
        if (neg)
            i++;
        for (;;) {
            if (i >= plen)
                break; /* unterminated: the class ends with the pattern */
            if (pat[i] == '\\' && plen - i >= 2) {
                i++;
                if (pat[i] == c)
                    hit = 1; /* an escaped byte compares exactly */
            } else if (pat[i] == ']') {
                i++;
                break;
            } else if (plen - i >= 3 && pat[i + 1] == '-') {
                int lo = (signed char)pat[i], hi = (signed char)pat[i + 2];
                if (lo > hi) {
                    int t = lo;
                    lo = hi;
                    hi = t;
                }
                lo = glob_byte(lo, nocase);
                hi = glob_byte(hi, nocase);
                i += 2;
                if (x >= lo && x <= hi)
                    hit = 1;
            } else if (glob_char(pat[i], nocase) == x) {
                hit = 1;
            }
            i++;
        }
        *pi = i;
        return neg ? !hit : hit;
    }
    if (pat[i] == '\\' && plen - i >= 2)
        i++;
    *pi = i + 1;
    return glob_char(pat[i], nocase) == x;
}

int dice_glob_match(const char *pat, size_t plen, const char *str, size_t slen,
                    int nocase) {
    /* Redis matches nothing against an empty string but the empty
     * pattern. */
    if (slen == 0)
        return plen == 0;
    size_t pi = 0, si = 0;
    size_t star_p = 0, star_s = 0;
    int have_star = 0;
    unsigned nesting = 0;
    /* Backtracking only to the latest '*' is complete here (every other
     * token eats exactly one byte) and bounds the work to O(plen*slen). */
    while (si < slen) {
        if (pi < plen && pat[pi] == '*') {
            while (pi < plen && pat[pi] == '*')
                pi++;
            if (pi == plen)
                return 1;
            /* Redis recurses here, one level deeper; a level past the
             * limit answers "no match" whatever follows, so no string can
             * get through this run and the whole match fails. A run that
             * ends the pattern matches without recursing (above), so
             * "a*" x 1001 still matches and "a*" x 1001 "b" does not.
             * Each run is reached once: backtracking never returns to a
             * run before the latest one. */
            if (++nesting > GLOB_MAX_NESTING)
                return 0;
            have_star = 1;
            star_p = pi;
            star_s = si;
            continue;
        }
        if (pi < plen) {
            size_t np = pi;
            if (glob_one(pat, plen, &np, str[si], nocase)) {
                pi = np;
                si++;
                continue;
            }
        }
        if (!have_star)
            return 0;
        pi = star_p;
        si = ++star_s;
    }
    while (pi < plen && pat[pi] == '*')
        pi++;
    return pi == plen;
}
