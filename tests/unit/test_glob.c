/* Unit tests for the glob matcher (lib/core/glob.c), whose answers must be
 * those of Redis 7.0's stringmatchlen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dice/common.h"

#define S(x) x, (sizeof(x) - 1)

/* Keys and KEYS results captured from redis-server 7.0. */
static const char *glob_keys[] = {"-",       "ABC",   "]",
                                  "^",       "a",     "a-b",
                                  "a]b",     "a^b",   "aaaaaaaaaaaaaaaaaaaaaab",
                                  "abc",     "b",     "c",
                                  "foo.bar", "h*llo", "h[llo",
                                  "h\\llo",  "hallo", "heeeello",
                                  "hello",   "hllo",  "hxllo",
                                  "x",       "xy",    "z",
                                  NULL};
static const struct glob_case {
    const char *pat;
    const char *expect;
} glob_cases[] = {
    {"h?llo", "h*llo|h[llo|h\\llo|hallo|hello|hxllo"},
    {"h*llo", "h*llo|h[llo|h\\llo|hallo|heeeello|hello|hllo|hxllo"},
    {"h[ae]llo", "hallo|hello"},
    {"h[^e]llo", "h*llo|h[llo|h\\llo|hallo|hxllo"},
    {"h[a-b]llo", "hallo"},
    {"h[b-a]llo", "hallo"},
    {"h\\[llo", "h[llo"},
    {"h\\*llo", "h*llo"},
    {"h\\\\llo", "h\\llo"},
    {"[a-]b", "]|^|a|b"},
    {"a[a-]b", ""},
    {"a[]]b", ""},
    {"a[\\]]b", "a]b"},
    {"[abc", "a|b|c"},
    {"[^abc]", "-|]|^|x|z"},
    {"a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaab"},
    {"*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaab"},
    {"[x", "x"},
    {"x[", ""},
    {"h[", ""},
    {"a\\", ""},
    {"[]", ""},
    {"[^]", "-|]|^|a|b|c|x|z"},
    {"[-]", "-"},
    {"[\\^]", "^"},
    {"?", "-|]|^|a|b|c|x|z"},
    {"??", "xy"},
    {"*[c-b]", "a-b|a]b|a^b|aaaaaaaaaaaaaaaaaaaaaab|abc|b|c"},
    {"a[-b", ""},
    {"h[a-", ""},
    {"[a-c]", "a|b|c"},
    {"a?*", "a-b|a]b|a^b|aaaaaaaaaaaaaaaaaaaaaab|abc"},
    {"**x", "x"},
    {"\\x", "x"},
    {"[[]*", ""},
    {"h\\", ""},
    {"*a*a*a*a*a*a*a*a*a*a*a*a*c", ""},
    {"*o*", "foo.bar|h*llo|h[llo|h\\llo|hallo|heeeello|hello|hllo|hxllo"},
    {"h*l*o", "h*llo|h[llo|h\\llo|hallo|heeeello|hello|hllo|hxllo"},
    {"[^a-z]*", "-|ABC|]|^"},
    {"*.*", "foo.bar"},
    {"*\\**", "h*llo"},
};

static void test_glob_vs_redis(void **state) {
    (void)state;
    for (size_t c = 0; c < sizeof(glob_cases) / sizeof(glob_cases[0]); c++) {
        char got[512] = "";
        for (int i = 0; glob_keys[i]; i++) {
            const char *k = glob_keys[i];
            if (dice_glob_match(glob_cases[c].pat, strlen(glob_cases[c].pat), k,
                                strlen(k), 0)) {
                if (got[0])
                    strcat(got, "|");
                strcat(got, k);
            }
        }
        if (strcmp(got, glob_cases[c].expect) != 0)
            fail_msg("pattern '%s': got '%s' want '%s'", glob_cases[c].pat, got,
                     glob_cases[c].expect);
    }
}

static void test_glob_misc(void **state) {
    (void)state;
    assert_true(dice_glob_match(S("HeLLo"), S("hello"), 1));
    assert_false(dice_glob_match(S("HeLLo"), S("hello"), 0));
    assert_true(dice_glob_match(S("[A-C]x"), S("bx"), 1));
    assert_true(dice_glob_match(S("a?c"), S("a\0c"), 0));
    assert_false(dice_glob_match(S("*"), S(""), 0));
    assert_true(dice_glob_match(S(""), S(""), 0));
    /* Pathological pattern stays fast (would be exponential naively). */
    char s[4000], p[200];
    memset(s, 'a', sizeof(s));
    for (int i = 0; i < 100; i++) {
        p[2 * i] = '*';
        p[2 * i + 1] = 'a';
    }
    p[199] = 'b';
    assert_false(dice_glob_match(p, sizeof(p), s, sizeof(s), 0));
}

/* Edges of the pattern syntax, each answer observed with KEYS (nocase 0)
 * or CONFIG GET (nocase 1) on redis-server 7.0.15. Patterns and strings
 * are binary: lengths come from sizeof, so a NUL counts as a byte. */
static const struct glob_edge {
    const char *pat;
    size_t plen;
    const char *str;
    size_t slen;
    int nocase, want;
} glob_edges[] = {
#define E(p, s, nc, w)                                                         \
    { p, sizeof(p) - 1, s, sizeof(s) - 1, nc, w }
    /* An unterminated class ends with the pattern; "[" alone and "x["
     * need a byte they can never match; "[^" (empty, negated) takes any. */
    E("[", "[", 0, 0),
    E("x[", "x[", 0, 0),
    E("x[^", "xy", 0, 1),
    E("x[^", "x", 0, 0),
    E("[^", "\0", 0, 1),
    E("[^]", "\xff", 0, 1),
    E("[]", "]", 0, 0),
    E("x[y-", "xy", 0, 1), /* too short for a range: 'y' and '-' */
    E("x[y-", "x-", 0, 1),
    E("x[y-]", "x^", 0, 1), /* a range up to ']', then unterminated */
    E("x[y-]", "x]", 0, 1),
    /* A backslash at the end is a literal backslash, in or out of a
     * class. */
    E("x\\", "x\\", 0, 1),
    E("x\\", "x", 0, 0),
    E("x[\\", "x\\", 0, 1),
    E("x[^\\", "x\\", 0, 0),
    E("x[^\\", "x]", 0, 1),
    /* Reversed ranges are swapped; ends compare as signed chars. */
    E("[z-a]", "m", 0, 1),
    E("[^z-a]", "Z", 0, 1),
    E("[^z-a]", "z", 0, 0),
    E("[\xff-\x00]", "\xff", 0, 1),
    E("[\xff-\x00]", "\x01", 0, 0),
    E("[\xc8-z]", "\xff", 0, 1),
    E("[z-\xc8]", "-", 0, 1),
    /* NUL bytes are ordinary bytes for '*', '?' and classes. */
    E("a*\0b", "a\0b", 0, 1),
    E("a\0*", "a\0", 0, 1),
    E("*\0*", "\0", 0, 1),
    E("*\0", "a\0", 0, 1),
    E("*\0", "a", 0, 0),
    E("a?b", "a\0b", 0, 1),
    E("[\0]*", "\0", 0, 1),
    /* nocase folds a range's ends after the swap, with tolower(): a
     * negative char c other than -1 becomes c + 256. */
    E("[\xc8-z]ort", "port", 0, 1),
    E("[\xc8-z]ort", "port", 1, 0),
    E("[z-\xc8]ort", "port", 1, 0),
    E("[^\xc8-z]ort", "port", 1, 1),
    E("[\xfe-z]ort", "port", 1, 0),
    E("[\xff-z]ort", "port", 1, 1),
    E("[\xff-P]ort", "port", 1, 1),
    E("[O-Q]ORT", "port", 1, 1),
    E("[\\P]ort", "port", 1, 0), /* an escaped byte compares exactly */
    E("P*RT", "port", 1, 1),
#undef E
};

static void test_glob_edges(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof(glob_edges) / sizeof(glob_edges[0]); i++) {
        const struct glob_edge *e = &glob_edges[i];
        int got = dice_glob_match(e->pat, e->plen, e->str, e->slen, e->nocase);
        if (got != e->want)
            fail_msg("edge %zu (pattern '%s', nocase %d): got %d want %d", i,
                     e->pat, e->nocase, got, e->want);
    }
}

/* n copies of unit, then tail, into buf (NUL-terminated); returns length. */
static size_t repeat(char *buf, const char *unit, int n, const char *tail) {
    size_t len = 0, ul = strlen(unit);
    for (int i = 0; i < n; i++, len += ul)
        memcpy(buf + len, unit, ul);
    strcpy(buf + len, tail);
    return len + strlen(tail);
}

/* Redis 7.0 gives up past 1000 nested runs of '*': "a*" x 1000 "b" matches
 * "a" x 1000 "b", "a*" x 1001 "b" matches nothing. A run that ends the
 * pattern does not recurse, so "a*" x 1001 still matches; "a*" x 1002 does
 * not. Consecutive stars are one run; escaped or bracketed ones none. */
static void test_glob_nesting(void **state) {
    (void)state;
    static char pat[8192], str[4096];
    size_t sl = repeat(str, "a", 1001, "b"), pl;

    pl = repeat(pat, "a*", 999, "b");
    assert_true(dice_glob_match(pat, pl, str, sl, 0));
    pl = repeat(pat, "a*", 1000, "b");
    assert_true(dice_glob_match(pat, pl, str, sl, 0));
    pl = repeat(pat, "a*", 1001, "b");
    assert_false(dice_glob_match(pat, pl, str, sl, 0));
    pl = repeat(pat, "a*", 1001, "");
    assert_true(dice_glob_match(pat, pl, str, sl, 0));
    pl = repeat(pat, "a*", 1002, "");
    assert_false(dice_glob_match(pat, pl, str, sl, 0));
    /* The limit is a property of the pattern: any string fails. */
    pl = repeat(pat, "*", 1, "");
    pl += repeat(pat + pl, "?*", 999, "b");
    assert_true(dice_glob_match(pat, pl, str, sl, 0));
    pl = repeat(pat, "*", 1, "");
    pl += repeat(pat + pl, "?*", 1000, "b");
    assert_false(dice_glob_match(pat, pl, str, sl, 0));
    assert_false(dice_glob_match(pat, pl, str, sl, 1));

    pl = repeat(pat, "a***", 1000, "b");
    assert_true(dice_glob_match(pat, pl, str, sl, 0));
    pl = repeat(pat, "a***", 1001, "b");
    assert_false(dice_glob_match(pat, pl, str, sl, 0));

    size_t tl = repeat(str, "a*", 1500, "b");
    pl = repeat(pat, "a\\*", 1500, "b");
    assert_true(dice_glob_match(pat, pl, str, tl, 0));
    pl = repeat(pat, "a[*]", 1500, "b");
    assert_true(dice_glob_match(pat, pl, str, tl, 0));
    /* A star inside a class that ends the pattern is no run either. */
    pl = repeat(pat, "a[*", 1, "");
    assert_true(dice_glob_match(pat, pl, "a*", 2, 0));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob_vs_redis),
        cmocka_unit_test(test_glob_misc),
        cmocka_unit_test(test_glob_edges),
        cmocka_unit_test(test_glob_nesting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
