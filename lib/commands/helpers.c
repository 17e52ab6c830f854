/* Small helpers shared by the command families: case-insensitive and
 * option compares, integer parsing, error and help replies, formatted
 * appends. */
#include "server/server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool dice__eqci(const char *a, size_t alen, const char *lit) {
    size_t i = 0;
    for (; i < alen; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)lit[i];
        if (!y)
            return false;
        if (x >= 'A' && x <= 'Z')
            x |= 0x20;
        if (y >= 'A' && y <= 'Z')
            y |= 0x20;
        if (x != y)
            return false;
    }
    return lit[i] == '\0';
}

/* Redis's strict integer syntax (string2ll): the codec's parser, with the
 * 0 / -1 convention the command families use. */
int dice_parse_ll(const char *s, size_t len, long long *out) {
    return dice_resp_str2ll(s, len, out) ? 0 : -1;
}

/* An option as Redis's strcasecmp sees it: the argument up to its first
 * NUL byte, compared case-insensitively with lit ("nx\0junk" is NX). The
 * quirk is kept so the same bytes get the same reply as from Redis. */
bool dice__opt_is(const char *arg, size_t len, const char *lit) {
    return dice__eqci(arg, strnlen(arg, len), lit);
}

int dice__reply_errstr(dice_client_t *c, const char *msg) {
    return dice_reply_error(c, msg, strlen(msg));
}

void dice__reply_help(dice_client_t *c, const char *const *lines, size_t n) {
    dice_reply_array(c, n);
    for (size_t i = 0; i < n; i++)
        dice_reply_simple(c, lines[i], strlen(lines[i]));
}

int dice__buf_printf(dice_buf_t *b, const char *fmt, ...) {
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return DICE_EINVAL;
    if ((size_t)n < sizeof(tmp))
        return dice_buf_append(b, tmp, (size_t)n);
    /* Longer than the stack buffer: format again into the heap. */
    char *big = malloc((size_t)n + 1);
    if (!big)
        return DICE_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = dice_buf_append(b, big, (size_t)n);
    free(big);
    return rc;
}
