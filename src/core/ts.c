/*
 * ts.c: traffic selectors (RFC 7296 2.9, 3.13): from config subnets to TS
 * payloads, narrowing a peer's proposal to what our config allows, and from
 * an address range back to the prefix XFRM wants.
 *
 * Narrowing intersects each proposed selector with each of ours and keeps
 * the non-empty results; if nothing is left the answer is TS_UNACCEPTABLE.
 */
#include <string.h>

#include "core.h"
#include "ike/err.h"

static size_t alen(uint8_t ts_type)
{
    return ts_type == TS_IPV4_ADDR_RANGE ? 4 : 16;
}

void ike_ts_from_subnet(const struct ike_subnet *s, const struct ike_addr *host,
                        struct ike_ts_payload *out)
{
    memset(out, 0, sizeof(*out));
    const struct ike_addr *a = s->addr.family ? &s->addr : host;
    uint8_t prefix = s->addr.family ? s->prefix : (host->family == IKE_AF_INET ? 32 : 128);
    struct ike_ts *t = &out->ts[0];
    out->n = 1;
    t->type = a->family == IKE_AF_INET ? TS_IPV4_ADDR_RANGE : TS_IPV6_ADDR_RANGE;
    t->ip_proto = s->ip_proto;
    t->start_port = s->port;
    t->end_port = s->port ? s->port : 0xffff;
    size_t n = alen(t->type);
    for (size_t i = 0; i < n; i++) {
        int bits = (int)prefix - (int)(i * 8);
        uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
        t->start_addr[i] = a->bytes[i] & mask;
        t->end_addr[i] = a->bytes[i] | (uint8_t)~mask;
    }
}

static const uint8_t *max_of(const uint8_t *a, const uint8_t *b, size_t n)
{
    return memcmp(a, b, n) >= 0 ? a : b;
}

static const uint8_t *min_of(const uint8_t *a, const uint8_t *b, size_t n)
{
    return memcmp(a, b, n) <= 0 ? a : b;
}

/* Intersection of two selectors; false when empty. */
static bool intersect(const struct ike_ts *a, const struct ike_ts *b, struct ike_ts *out)
{
    if (a->type != b->type)
        return false;
    if (a->ip_proto && b->ip_proto && a->ip_proto != b->ip_proto)
        return false;
    size_t n = alen(a->type);
    memset(out, 0, sizeof(*out));
    out->type = a->type;
    out->ip_proto = a->ip_proto ? a->ip_proto : b->ip_proto;
    out->start_port = a->start_port > b->start_port ? a->start_port : b->start_port;
    out->end_port = a->end_port < b->end_port ? a->end_port : b->end_port;
    if (out->start_port > out->end_port)
        return false;
    memcpy(out->start_addr, max_of(a->start_addr, b->start_addr, n), n);
    memcpy(out->end_addr, min_of(a->end_addr, b->end_addr, n), n);
    return memcmp(out->start_addr, out->end_addr, n) <= 0;
}

int ike_ts_narrow(const struct ike_ts_payload *proposed, const struct ike_ts_payload *ours,
                  struct ike_ts_payload *out)
{
    memset(out, 0, sizeof(*out));
    for (uint8_t i = 0; i < proposed->n; i++) {
        for (uint8_t j = 0; j < ours->n && out->n < IKE_MAX_TS; j++) {
            struct ike_ts t;
            if (!intersect(&proposed->ts[i], &ours->ts[j], &t))
                continue;
            bool dup = false;
            for (uint8_t k = 0; k < out->n; k++)
                dup |= !memcmp(&out->ts[k], &t, sizeof(t));
            if (!dup)
                out->ts[out->n++] = t;
        }
    }
    return out->n ? 0 : IKE_ERR_TS_UNACCEPTABLE;
}

/* A range that is exactly one prefix (start aligned, end = start | ~mask)
 * becomes that prefix; other ranges are refused (XFRM selectors are
 * prefixes; splitting ranges into many policies is not needed by any peer
 * we meet, which all send subnets). */
int ike_ts_to_selector(const struct ike_ts *ts, struct ike_addr *addr, uint8_t *prefix)
{
    size_t n = alen(ts->type);
    memset(addr, 0, sizeof(*addr));
    addr->family = ts->type == TS_IPV4_ADDR_RANGE ? IKE_AF_INET : IKE_AF_INET6;
    memcpy(addr->bytes, ts->start_addr, n);
    uint8_t p = 0;
    size_t i = 0;
    /* Count the leading bits where start and end agree. */
    while (i < n && ts->start_addr[i] == ts->end_addr[i]) {
        p += 8;
        i++;
    }
    if (i < n) {
        uint8_t diff = ts->start_addr[i] ^ ts->end_addr[i];
        while (!(diff & 0x80)) {
            diff <<= 1;
            p++;
        }
    }
    /* Every bit after the prefix: start 0, end 1. */
    for (size_t b = p; b < n * 8; b++) {
        uint8_t m = (uint8_t)(0x80 >> (b % 8));
        if ((ts->start_addr[b / 8] & m) || !(ts->end_addr[b / 8] & m))
            return IKE_ERR_TS_UNACCEPTABLE;
    }
    *prefix = p;
    return 0;
}

bool ike_ts_set_from(struct ike_ts_set *d, const struct ike_ts_payload *s)
{
    uint8_t n = s->n < IKE_CHILD_TS_MAX ? s->n : IKE_CHILD_TS_MAX;
    memset(d, 0, sizeof(*d));
    d->n = n;
    memcpy(d->ts, s->ts, n * sizeof(d->ts[0]));
    return n == s->n;
}

void ike_ts_set_encode(struct ike_msg_builder *mb, uint8_t pl_type, const struct ike_ts_set *s)
{
    struct ike_ts_payload p;
    memset(&p, 0, sizeof(p));
    p.n = s->n;
    memcpy(p.ts, s->ts, s->n * sizeof(p.ts[0]));
    ike_ts_encode(mb, pl_type, &p);
}

int ike_ts_narrow_set(const struct ike_ts_payload *proposed, const struct ike_ts_payload *ours,
                      struct ike_ts_set *out)
{
    struct ike_ts_payload n;
    int rc = ike_ts_narrow(proposed, ours, &n);
    if (rc == 0)
        ike_ts_set_from(out, &n); /* beyond four, the first four */
    return rc;
}
