/* dump_commands: print the command table dice-server serves, as TSV, for
 * tests/tools/gen_commands_md.py (which turns it into docs/commands.md).
 *
 * It builds a server the way dice-server does (DICE_BUILTIN_ALL), then
 * walks the table through the library's internal view of it: that is why
 * it includes lib/server/server_internal.h and links the static library.
 * Nothing is started, so no socket is opened.
 *
 *   cc -std=c11 -D_GNU_SOURCE -I$SRC/include -I$SRC/lib \
 *      tests/tools/dump_commands.c $BUILD/libdice.a -lpthread -lm
 *
 * One line per command, then one per sub-command, sorted by name:
 *   name  arity  flags  first_key  last_key  key_step  group  summary
 * where name is "get" or "client|setname", flags is a comma-separated list
 * as COMMAND INFO spells them ("-" for none), and group/summary are "-"
 * when unknown. Tabs and newlines in a summary become spaces. */
#include <dice/dice.h>

#include "server/server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The flags in the order COMMAND INFO prints them, from the one list. */
static const struct {
    unsigned bit;
    const char *name;
} flags[] = {
#define FLAG(name, bit, text) {bit, text},
    DICE_CMD_FLAG_MAP(FLAG)
#undef FLAG
};

static void print_field(const char *s) {
    if (!s || !*s) {
        fputs("-", stdout);
        return;
    }
    for (; *s; s++)
        putchar(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

static void print_command(const dice_command_t *cmd) {
    fputs(cmd->fullname, stdout);
    printf("\t%d\t", cmd->arity);
    int any = 0;
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        if (cmd->flags & (1u << flags[i].bit)) {
            printf("%s%s", any ? "," : "", flags[i].name);
            any = 1;
        }
    }
    if (!any)
        putchar('-');
    printf("\t%d\t%d\t%d\t", cmd->first_key, cmd->last_key, cmd->key_step);
    print_field(cmd->group);
    putchar('\t');
    print_field(cmd->summary);
    putchar('\n');
}

static int by_fullname(const void *a, const void *b) {
    const dice_command_t *x = *(const dice_command_t *const *)a;
    const dice_command_t *y = *(const dice_command_t *const *)b;
    return strcmp(x->fullname, y->fullname);
}

int main(void) {
    dice_loop_t *loop = NULL;
    dice_server_t *srv = NULL;
    int rc = dice_loop_new(&loop);
    if (rc == 0)
        rc = dice_server_new(&srv, loop);
    if (rc == 0)
        rc = dice_command_add_builtins(srv, DICE_BUILTIN_ALL);
    if (rc < 0) {
        fprintf(stderr, "dump_commands: %s\n", dice_strerror(rc));
        return 1;
    }

    /* Top-level commands and their sub-commands, flattened and sorted so
     * the output does not depend on the hash table's layout. */
    size_t n = 0, cap = 64;
    const dice_command_t **all = malloc(cap * sizeof(*all));
    const dice_cmdtable_t *t = &srv->commands;
    for (size_t i = 0; all && i < t->cap; i++) {
        const dice_command_t *cmd = t->slots[i];
        if (!cmd)
            continue;
        for (size_t j = 0; j <= cmd->nsubs && all; j++) {
            if (n == cap) {
                cap *= 2;
                const dice_command_t **na = realloc(all, cap * sizeof(*na));
                if (!na) {
                    free(all);
                    all = NULL;
                    break;
                }
                all = na;
            }
            all[n++] = j == 0 ? cmd : cmd->subs[j - 1];
        }
    }
    if (!all) {
        fprintf(stderr, "dump_commands: out of memory\n");
        return 1;
    }
    qsort(all, n, sizeof(*all), by_fullname);
    for (size_t i = 0; i < n; i++)
        print_command(all[i]);
    free(all);

    dice_server_free(srv);
    dice_loop_free(loop);
    return fflush(stdout) == 0 ? 0 : 1;
}
