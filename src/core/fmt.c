/*
 * fmt.c: addresses as text for logs and status ("10.0.0.1", "2001:db8::1",
 * "10.0.0.2[500]"), without <arpa/inet.h>, so the pure core can name peers.
 * IPv6 is printed with the longest run of zero groups compressed (RFC 5952).
 */
#include <stdio.h>
#include <string.h>

#include "ike/engine.h"

static void fmt_v6(const uint8_t *b, char *buf, size_t cap)
{
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && !b[2 * j] && !b[2 * j + 1])
            j++;
        if (j - i > best_len && j - i > 1) {
            best = i;
            best_len = j - i;
        }
        i = j > i ? j : i + 1;
    }
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < 8 && n < cap; i++) {
        if (i == best) {
            n += (size_t)snprintf(buf + n, cap - n, "::");
            i += best_len - 1;
            continue;
        }
        const char *sep = (i && i != best + best_len) ? ":" : "";
        n += (size_t)snprintf(buf + n, cap - n, "%s%x", sep, b[2 * i] << 8 | b[2 * i + 1]);
    }
}

const char *ike_addr_fmt(const struct ike_addr *a, char *buf, size_t cap)
{
    if (!cap)
        return buf;
    if (a->family == IKE_AF_INET)
        snprintf(buf, cap, "%u.%u.%u.%u", a->bytes[0], a->bytes[1], a->bytes[2], a->bytes[3]);
    else if (a->family == IKE_AF_INET6)
        fmt_v6(a->bytes, buf, cap);
    else
        snprintf(buf, cap, "%%any");
    return buf;
}

const char *ike_endpoint_fmt(const struct ike_endpoint *ep, char *buf, size_t cap)
{
    char a[48];
    ike_addr_fmt(&ep->addr, a, sizeof(a));
    snprintf(buf, cap, "%s[%u]", a, ep->port);
    return buf;
}
