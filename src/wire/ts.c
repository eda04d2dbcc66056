/*
 * ts.c: Traffic Selector payloads TSi/TSr (RFC 7296 3.13, 3.13.1), IPv4
 * and IPv6 address ranges. Checked: at least one and at most IKE_MAX_TS
 * selectors, the announced count matching the bytes, each selector's
 * length matching its type (16 or 40), start address <= end address and
 * start port <= end port, except the OPAQUE form 65535..0 that 3.13.1
 * allows. Unknown selector types are INVALID_SYNTAX: rekeyd cannot narrow
 * them. Narrowing and matching belong to the engine, not to this file.
 */
#include <string.h>

#include "ike/err.h"
#include "ike/wire.h"
#include "body.h"

#define TS_HDR_LEN 8 /* type, IP protocol, length, start port, end port */

static size_t addr_len(uint8_t type)
{
    return type == TS_IPV4_ADDR_RANGE ? 4 : type == TS_IPV6_ADDR_RANGE ? 16 : 0;
}

static int decode_one(struct ike_reader *r, struct ike_ts *t)
{
    uint16_t slen;
    if (ike_reader_left(r) < TS_HDR_LEN)
        return IKE_ERR_TRUNCATED;
    (void)ike_read_u8(r, &t->type);
    (void)ike_read_u8(r, &t->ip_proto);
    (void)ike_read_u16(r, &slen);
    (void)ike_read_u16(r, &t->start_port);
    (void)ike_read_u16(r, &t->end_port);
    size_t alen = addr_len(t->type);
    if (alen == 0)
        return IKE_ERR_INVALID_SYNTAX;
    if (slen != TS_HDR_LEN + 2 * alen)
        return IKE_ERR_BAD_LENGTH;
    memset(t->start_addr, 0, sizeof(t->start_addr));
    memset(t->end_addr, 0, sizeof(t->end_addr));
    if (ike_read_copy(r, t->start_addr, alen) != IKE_OK ||
        ike_read_copy(r, t->end_addr, alen) != IKE_OK)
        return IKE_ERR_TRUNCATED;
    /* Addresses are big-endian, so memcmp orders them numerically. */
    if (memcmp(t->start_addr, t->end_addr, alen) > 0)
        return IKE_ERR_INVALID_SYNTAX;
    bool opaque = t->start_port == 0xffff && t->end_port == 0;
    if (t->start_port > t->end_port && !opaque)
        return IKE_ERR_INVALID_SYNTAX;
    return IKE_OK;
}

int ike_ts_decode(struct ike_view body, struct ike_ts_payload *ts)
{
    struct ike_reader r;
    uint8_t n;
    ts->n = 0;
    int rc = ike_body_open(body, 4, &r);
    if (rc != IKE_OK)
        return rc;
    (void)ike_read_u8(&r, &n);
    (void)ike_read_skip(&r, 3);
    if (n == 0)
        return IKE_ERR_INVALID_SYNTAX;
    if (n > IKE_MAX_TS)
        return IKE_ERR_TOO_MANY;
    for (uint8_t i = 0; i < n; i++) {
        rc = decode_one(&r, &ts->ts[i]);
        if (rc != IKE_OK)
            return rc;
    }
    if (ike_reader_left(&r) != 0)
        return IKE_ERR_BAD_LENGTH; /* more bytes than the selectors announced */
    ts->n = n;
    return IKE_OK;
}

void ike_ts_encode(struct ike_msg_builder *mb, uint8_t pl_type, const struct ike_ts_payload *ts)
{
    uint8_t n = ts->n <= IKE_MAX_TS ? ts->n : IKE_MAX_TS;
    ike_mb_begin(mb, pl_type, false);
    ike_write_u8(&mb->w, n);
    ike_write_zeros(&mb->w, 3);
    for (uint8_t i = 0; i < n; i++) {
        const struct ike_ts *t = &ts->ts[i];
        size_t alen = addr_len(t->type);
        if (alen == 0) { /* caller bug: refuse to build the message */
            mb->w.err = IKE_ERR_BUF_TOO_SMALL;
            break;
        }
        ike_write_u8(&mb->w, t->type);
        ike_write_u8(&mb->w, t->ip_proto);
        ike_write_u16(&mb->w, (uint16_t)(TS_HDR_LEN + 2 * alen));
        ike_write_u16(&mb->w, t->start_port);
        ike_write_u16(&mb->w, t->end_port);
        ike_write_bytes(&mb->w, t->start_addr, alen);
        ike_write_bytes(&mb->w, t->end_addr, alen);
    }
    ike_mb_end(mb);
}
