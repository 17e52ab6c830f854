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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob_vs_redis),
        cmocka_unit_test(test_glob_misc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
