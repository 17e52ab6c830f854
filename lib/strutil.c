/* Small string helpers shared by the command families. */
#include "server_internal.h"

#include <limits.h>

bool dice_eqci(const char *a, size_t alen, const char *lit) {
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

/* Redis's strict integer syntax: optional '-', no '+', no leading zeros
 * (except "0" itself), no spaces, within long long. Returns 0 or -1. */
int dice_parse_ll(const char *s, size_t len, long long *out) {
    if (len == 0 || len > 20)
        return -1;
    size_t i = 0;
    bool neg = false;
    if (s[0] == '-') {
        neg = true;
        if (++i == len)
            return -1;
    }
    if (s[i] == '0') {
        if (len == 1) {
            *out = 0;
            return 0;
        }
        return -1; /* "-0", "01" */
    }
    unsigned long long v = 0;
    for (; i < len; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9)
            return -1;
        if (v > (ULLONG_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1)
            return -1;
        *out = (long long)(0 - v);
    } else {
        if (v > (unsigned long long)LLONG_MAX)
            return -1;
        *out = (long long)v;
    }
    return 0;
}
