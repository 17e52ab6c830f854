/* Request parser throughput: N pipelined 3-argument SET commands in one
 * buffer, parsed back to back. Prints ns per command and commands per
 * second. Usage: bench_parse [N] (default 1000000). bench_parse.sh runs it
 * under callgrind with N and 2N to get instructions per command. */
#include "dice/resp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    if (n <= 0) {
        fprintf(stderr, "usage: %s [count]\n", argv[0]);
        return 2;
    }
    static const char tmpl[] = "*3\r\n$3\r\nSET\r\n$10\r\nkey:000000\r\n"
                               "$5\r\nvalue\r\n";
    size_t cmdlen = sizeof(tmpl) - 1;
    char *buf = malloc(cmdlen * (size_t)n);
    if (!buf)
        return 1;
    for (long i = 0; i < n; i++) {
        char *c = buf + cmdlen * (size_t)i;
        memcpy(c, tmpl, cmdlen);
        /* key:NNNNNN starts at offset 22 */
        char digits[7];
        snprintf(digits, sizeof(digits), "%06ld", i % 1000000);
        memcpy(c + 22, digits, 6);
    }
    size_t len = cmdlen * (size_t)n;

    dice_req_parser_t *p;
    if (dice_req_parser_new(&p))
        return 1;
    size_t pos = 0;
    long cmds = 0;
    size_t check = 0;
    double t0 = now_ns();
    while (pos < len) {
        long r = dice_req_parse(p, buf + pos, len - pos);
        if (r <= 0) {
            fprintf(stderr, "parse failed at %zu: %ld %s\n", pos, r,
                    dice_req_parser_error(p));
            return 1;
        }
        pos += (size_t)r;
        check += dice_req_argvlen(p)[1];
        cmds++;
    }
    double t1 = now_ns();
    if (cmds != n || check != (size_t)n * 10) {
        fprintf(stderr, "wrong result: %ld commands\n", cmds);
        return 1;
    }
    double ns = (t1 - t0) / (double)n;
    printf("commands: %ld\nns/command: %.2f\ncommands/s: %.0f\n", n, ns,
           1e9 / ns);
    dice_req_parser_free(p);
    free(buf);
    return 0;
}
