/* The ACL rule parser against hostile input (issue 12): random bytes,
 * huge patterns, deep and many selectors, every prefix of every rule kind
 * and every one-byte change of it, random user names. Whatever comes in,
 * ACL SETUSER's work (dice__acl_setuser) either fails with an error text
 * or leaves a valid user: one whose description (ACL LIST's words) parses
 * again into the same description, and that permission checks can run
 * on. Meant for the sanitizer build, which turns a stray read or write
 * into a failure. */
#include <dice/dice.h>

#include "server/acl.h"
#include "server/server_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

typedef struct {
    dice_loop_t *loop;
    dice_server_t *srv;
} fixture_t;

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(dice_loop_new(&f->loop), 0);
    assert_int_equal(dice_server_new(&f->srv, f->loop), 0);
    assert_int_equal(dice_server_config_set(f->srv, "loglevel", "warning"), 0);
    assert_int_equal(dice_command_add_builtins(f->srv, DICE_BUILTIN_ALL), 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    dice_server_free(f->srv);
    dice_loop_free(f->loop);
    free(f);
    return 0;
}

/* The command (or "parent|sub") a call runs. */
static dice_command_t *find_cmd(dice_server_t *srv, int argc,
                                const char *const *argv) {
    char full[64];
    dice_command_t *cmd =
        dice__cmdtable_lookup_full(&srv->commands, argv[0], strlen(argv[0]));
    if (cmd && cmd->nsubs > 0 && argc > 1) {
        snprintf(full, sizeof(full), "%s|%s", argv[0], argv[1]);
        cmd = dice__cmdtable_lookup_full(&srv->commands, full, strlen(full));
    }
    return cmd;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Split a description into rules as an ACL file line is read (Redis's
 * ACLMergeSelectorArguments): words at spaces, and a word that opens with
 * '(' runs to the word that ends with ')'. Returns the count; the words
 * point into buf, which is modified. */
static int split_rules(char *buf, const char **argv, size_t *argvlen, int max) {
    int n = 0;
    char *p = buf;
    while (*p && n < max) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        char *start = p;
        while (*p && *p != ' ')
            p++;
        if (*start == '(')
            while (*p && p[-1] != ')') {
                p++;
                while (*p && *p != ' ')
                    p++;
            }
        argv[n] = start;
        argvlen[n] = (size_t)(p - start);
        n++;
        if (*p)
            *p++ = '\0';
    }
    return n;
}

/* The user must exist, describe itself, and its description must parse
 * back (into a scratch user) to the same description. Permission checks
 * must run on it. */
static void check_valid(dice_server_t *srv, const char *name, size_t nlen,
                        bool odd) {
    dice__acl_user *u = dice__acl_find(srv, name, nlen);
    assert_non_null(u);
    char *desc = dice__acl_describe_user(srv, u);
    assert_non_null(desc);
    size_t dl = strlen(desc);
    char *copy = malloc(dl + 1);
    assert_non_null(copy);
    memcpy(copy, desc, dl + 1);
    enum { MAXR = 4096 };
    static const char *argv[MAXR];
    static size_t argvlen[MAXR];
    dice__acl_deluser(srv, "scratch", 7);
    int n = split_rules(copy, argv, argvlen, MAXR);
    char err[512];
    int rc = dice__acl_setuser(srv, "scratch", 7, n, argv, argvlen, err,
                               sizeof(err));
    if (rc != 0 && !odd)
        fail_msg("description of a valid user refused: %s: %s", desc, err);
    if (rc == 0) {
        dice__acl_user *s = dice__acl_find(srv, "scratch", 7);
        assert_non_null(s);
        char *again = dice__acl_describe_user(srv, s);
        assert_non_null(again);
        if (!odd)
            assert_string_equal(desc, again);
        free(again);
    }
    free(copy);
    free(desc);
    /* Checks run, whatever they decide. */
    static const char *const calls[][4] = {{"get", "k", NULL, NULL},
                                           {"set", "k", "v", NULL},
                                           {"publish", "ch", "m", NULL},
                                           {"config", "get", "x", NULL},
                                           {"lmove", "a", "b", "left"}};
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        const char *av[5];
        size_t al[5];
        int ac = 0;
        while (ac < 4 && calls[i][ac]) {
            av[ac] = calls[i][ac];
            al[ac] = strlen(av[ac]);
            ac++;
        }
        if (i == 4) {
            av[ac] = "right";
            al[ac] = 5;
            ac++;
        }
        dice_command_t *cmd = find_cmd(srv, ac, av);
        assert_non_null(cmd);
        int idx = 0;
        int r = dice__acl_check(srv, u, cmd, ac, av, al, &idx);
        assert_true(r >= DICE__ACL_OK && r <= DICE__ACL_DENIED_CHANNEL);
    }
}

/* Whether a rule is one Redis takes as it is although ACL LIST then
 * shows words that do not read back as the same rule: a first argument
 * with white space or NUL in it ("+select|a b"), or a selector with a
 * ')' inside. The round trip is not asked of those. */
static bool odd_rule(const char *r, size_t n) {
    /* A selector with a ')' before its end: "(~) +get)" is shown as
     * words of which "(~)" reads back as a whole selector (so in Redis). */
    if (n > 1 && r[0] == '(' && memchr(r, ')', n - 1))
        return true;
    const char *bar = memchr(r, '|', n);
    if (!bar || !n || (r[0] != '+' && r[0] != '('))
        return false;
    for (const char *p = bar; p < r + n; p++)
        if (*p == ' ' || *p == '\0' || (*p >= '\t' && *p <= '\r'))
            return true;
    return false;
}

/* Apply rules to a new user `name`: an error with a text, or a valid
 * user. */
static void try_rules(dice_server_t *srv, const char *name, size_t nlen,
                      int argc, const char *const *argv,
                      const size_t *argvlen) {
    bool odd = false;
    for (int i = 0; i < argc; i++)
        odd |= odd_rule(argv[i], argvlen[i]);
    if (!(nlen == 7 && memcmp(name, "default", 7) == 0))
        dice__acl_deluser(srv, name, nlen);
    char err[512];
    err[0] = '\0';
    int rc = dice__acl_setuser(srv, name, nlen, argc, argv, argvlen, err,
                               sizeof(err));
    if (rc != 0) {
        assert_int_equal(rc, -1);
        assert_true(strlen(err) > 4);
        assert_memory_equal(err, "ERR ", 4);
        return;
    }
    check_valid(srv, name, nlen, odd);
}

static void try_one(dice_server_t *srv, const char *rule, size_t len) {
    const char *argv[1] = {rule};
    size_t argvlen[1] = {len};
    try_rules(srv, "u", 1, 1, argv, argvlen);
}

static void test_random_bytes(void **state) {
    fixture_t *f = *state;
    static const char alphabet[] = "~%&()+-@|#<>!*?[]^\\ RWrwalonpsx0123";
    char buf[4][64];
    for (int iter = 0; iter < 20000; iter++) {
        const char *argv[4];
        size_t argvlen[4];
        int argc = 1 + (int)(rnd() % 4);
        for (int i = 0; i < argc; i++) {
            size_t len = rnd() % sizeof(buf[i]);
            bool ascii = rnd() & 1; /* rule-ish bytes or any byte */
            for (size_t j = 0; j < len; j++)
                buf[i][j] = ascii ? alphabet[rnd() % (sizeof(alphabet) - 1)]
                                  : (char)(rnd() & 0xff);
            argv[i] = buf[i];
            argvlen[i] = len;
        }
        try_rules(f->srv, "u", 1, argc, argv, argvlen);
        if (iter % 1000 == 0)
            try_one(f->srv, "reset", 5);
    }
}

static void test_every_prefix_and_byte_change(void **state) {
    fixture_t *f = *state;
    static const char *const rules[] = {
        "on",
        "off",
        "nopass",
        ">secret",
        "<secret",
        "#5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
        "!5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
        "~a*",
        "%R~r*",
        "%W~w*",
        "%RW~b?",
        "allkeys",
        "resetkeys",
        "&ch*",
        "allchannels",
        "resetchannels",
        "+@all",
        "-@string",
        "+@read",
        "+get",
        "-get",
        "+config|get",
        "-config|set",
        "+select|0",
        "allcommands",
        "nocommands",
        "reset",
        "resetpass",
        "(~a +get)",
        "(%R~x &c +@read)",
        "clearselectors",
        "skip-sanitize-payload",
        "sanitize-payload"};
    char buf[128];
    for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
        size_t len = strlen(rules[r]);
        for (size_t cut = 0; cut <= len; cut++)
            try_one(f->srv, rules[r], cut);
        for (size_t i = 0; i < len; i++) {
            static const char subs[] = {'\0', ' ', '(', ')',    '|', '~',
                                        '%',  '@', '*', '\xff', 'R', 'W'};
            for (size_t k = 0; k < sizeof(subs); k++) {
                memcpy(buf, rules[r], len);
                buf[i] = subs[k];
                try_one(f->srv, buf, len);
            }
        }
        try_one(f->srv, "reset", 5);
    }
}

static void test_huge_patterns(void **state) {
    fixture_t *f = *state;
    size_t big = 1 << 20;
    char *p = malloc(big + 8);
    assert_non_null(p);
    static const char *const heads[] = {"~", "%R~", "%W~", "%RW~", "&"};
    for (size_t h = 0; h < sizeof(heads) / sizeof(heads[0]); h++) {
        size_t hl = strlen(heads[h]);
        memcpy(p, heads[h], hl);
        for (size_t i = hl; i < big; i++)
            p[i] = "*a?[b]\\"[i % 7];
        try_one(f->srv, p, big);
        try_one(f->srv, "reset", 5);
    }
    /* A pattern that a naive matcher takes exponential time on, against a
     * key that does not match: it must still answer promptly. */
    char pat[128], key[128];
    size_t pl = 0;
    pat[pl++] = '~';
    for (int i = 0; i < 30; i++) {
        pat[pl++] = '*';
        pat[pl++] = 'a';
    }
    pat[pl++] = 'b';
    try_one(f->srv, "reset", 5);
    const char *argv[3] = {"on", "+@all", pat};
    size_t argvlen[3] = {2, 5, pl};
    try_rules(f->srv, "u", 1, 3, argv, argvlen);
    memset(key, 'a', 100);
    const char *av[2] = {"get", key};
    size_t al[2] = {3, 100};
    dice_command_t *cmd = find_cmd(f->srv, 2, av);
    assert_non_null(cmd);
    clock_t t0 = clock();
    int idx = 0;
    assert_int_equal(dice__acl_check(f->srv, dice__acl_find(f->srv, "u", 1),
                                     cmd, 2, av, al, &idx),
                     DICE__ACL_DENIED_KEY);
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 2.0);
    /* A huge password and a huge user name. */
    p[0] = '>';
    memset(p + 1, 'x', big - 1);
    try_one(f->srv, p, big);
    memset(p, 'n', big);
    const char *on[1] = {"on"};
    size_t onl[1] = {2};
    try_rules(f->srv, p, big, 1, on, onl);
    free(p);
}

static void test_deep_and_many_selectors(void **state) {
    fixture_t *f = *state;
    size_t n = 100000;
    char *p = malloc(2 * n + 16);
    assert_non_null(p);
    /* Only opening parentheses; nested ones; nested with rules inside. */
    memset(p, '(', n);
    try_one(f->srv, p, n);
    memset(p + n, ')', n);
    try_one(f->srv, p, 2 * n);
    size_t l = 0;
    for (int i = 0; i < 2000; i++)
        l += (size_t)sprintf(p + l, "(+get ");
    for (int i = 0; i < 2000; i++)
        p[l++] = ')';
    try_one(f->srv, p, l);
    /* A closing parenthesis alone, an empty selector, a space inside. */
    try_one(f->srv, ")", 1);
    try_one(f->srv, "()", 2);
    try_one(f->srv, "( )", 3);
    try_one(f->srv, "(~a", 3);
    try_one(f->srv, "(reset)", 7);
    /* Many valid selectors in one call, then in many calls. */
    enum { MANY = 1000 };
    const char **argv = malloc(MANY * sizeof(*argv));
    size_t *argvlen = malloc(MANY * sizeof(*argvlen));
    char(*sel)[32] = malloc(MANY * sizeof(*sel));
    assert_true(argv && argvlen && sel);
    for (int i = 0; i < MANY; i++) {
        argvlen[i] =
            (size_t)snprintf(sel[i], sizeof(sel[i]), "(~k%d +get &c%d)", i, i);
        argv[i] = sel[i];
    }
    try_rules(f->srv, "u", 1, MANY, argv, argvlen);
    for (int i = 0; i < 200; i++)
        try_rules(f->srv, "v", 1, 1, argv + i, argvlen + i);
    try_one(f->srv, "clearselectors", 14);
    free(sel);
    free(argvlen);
    free(argv);
    free(p);
}

static void test_random_names(void **state) {
    fixture_t *f = *state;
    char name[16];
    const char *argv[2] = {"on", "+@all"};
    size_t argvlen[2] = {2, 5};
    for (int iter = 0; iter < 2000; iter++) {
        size_t len = rnd() % sizeof(name);
        for (size_t j = 0; j < len; j++)
            name[j] = (char)(rnd() & 0xff);
        try_rules(f->srv, name, len, 2, argv, argvlen);
        if (dice__acl_find(f->srv, name, len) &&
            !(len == 7 && memcmp(name, "default", 7) == 0))
            assert_true(dice__acl_deluser(f->srv, name, len));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_random_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_prefix_and_byte_change,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_patterns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deep_and_many_selectors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_random_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
