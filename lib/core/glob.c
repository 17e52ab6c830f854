/* Glob matching with the semantics of Redis's stringmatchlen(), shared by
 * KEYS and SCAN MATCH (keyspace), CONFIG GET (server) and COMMAND LIST
 * FILTERBY PATTERN (commands). */
#include "dice/common.h"

#include <ctype.h>
#include <stddef.h>

static int fold(int c, int nocase) {
    return nocase ? tolower(c) : c;
}

/* Does the single-character token at pat[*pi] match c? Advances *pi past
 * the token. Mirrors stringmatchlen's quirks: an unterminated [ class ends
 * at the pattern end, "x-]" inside a class is a range up to ']', a
 * trailing backslash is literal, ranges compare chars as signed. */
static int glob_one(const char *pat, size_t plen, size_t *pi, char c,
                    int nocase) {
    size_t i = *pi;
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
                    hit = 1;
            } else if (pat[i] == ']') {
                i++;
                break;
            } else if (plen - i >= 3 && pat[i + 1] == '-') {
                int lo = (signed char)pat[i], hi = (signed char)pat[i + 2];
                int x = (signed char)c;
                if (lo > hi) {
                    int t = lo;
                    lo = hi;
                    hi = t;
                }
                if (nocase) {
                    lo = tolower(lo & 0xff);
                    hi = tolower(hi & 0xff);
                    x = tolower(x & 0xff);
                    lo = (signed char)lo;
                    hi = (signed char)hi;
                    x = (signed char)x;
                }
                i += 2;
                if (x >= lo && x <= hi)
                    hit = 1;
            } else if (fold((unsigned char)pat[i], nocase) ==
                       fold((unsigned char)c, nocase)) {
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
    return fold((unsigned char)pat[i], nocase) ==
           fold((unsigned char)c, nocase);
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
    /* Backtracking only to the latest '*' is complete here (every other
     * token eats exactly one byte) and bounds the work to O(plen*slen). */
    while (si < slen) {
        if (pi < plen && pat[pi] == '*') {
            while (pi < plen && pat[pi] == '*')
                pi++;
            if (pi == plen)
                return 1;
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
