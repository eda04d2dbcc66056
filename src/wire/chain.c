/*
 * chain.c: splits a generic payload chain (RFC 7296 3.2) into a list of
 * typed views, and finds payloads in it. Only the generic header is read
 * here; bodies are checked by each payload's own decoder.
 * Rules: an unknown type is skipped unless its critical bit is set (then
 * IKE_ERR_UNSUPPORTED_CRITICAL with its type); SK/SKF must be the last
 * payload (3.14, RFC 7383 2.5); a length under 4 is IKE_ERR_BAD_LENGTH; a
 * chain running past the bytes or leaving bytes over is
 * IKE_ERR_BAD_PAYLOAD_CHAIN; more than IKE_MAX_PAYLOADS is IKE_ERR_TOO_MANY.
 * Offsets only grow (length >= 4), so a chain cannot loop.
 */
#include "ike/err.h"
#include "ike/wire.h"

#define CRITICAL_BIT 0x80

/* Payload types this codec understands (3.2 table, RFC 7383). */
static bool known_type(uint8_t t)
{
    return (t >= IKE_PL_SA && t <= IKE_PL_EAP) || t == IKE_PL_SKF;
}

/* Read one generic header; body and next type out. */
static int read_generic(struct ike_reader *r, uint8_t *next, bool *critical, struct ike_view *body)
{
    uint8_t flags;
    uint16_t plen;
    /* A payload announced by the previous next-payload field but missing
     * from the bytes is an overrunning chain, not a short header. */
    if (ike_reader_left(r) < IKE_GENERIC_HDR_LEN)
        return IKE_ERR_BAD_PAYLOAD_CHAIN;
    (void)ike_read_u8(r, next);
    (void)ike_read_u8(r, &flags);
    (void)ike_read_u16(r, &plen);
    *critical = (flags & CRITICAL_BIT) != 0; /* other bits: ignore (3.2) */
    if (plen < IKE_GENERIC_HDR_LEN)
        return IKE_ERR_BAD_LENGTH;
    if (ike_read_view(r, plen - IKE_GENERIC_HDR_LEN, body) != IKE_OK)
        return IKE_ERR_BAD_PAYLOAD_CHAIN;
    return IKE_OK;
}

int ike_payloads_decode(uint8_t first, const uint8_t *p, size_t len, struct ike_payload_list *out,
                        uint8_t *bad_type)
{
    struct ike_reader r;
    uint8_t type = first;
    size_t seen = 0;

    ike_reader_init(&r, p, len);
    out->n = 0;
    out->sk_inner_first = IKE_PL_NONE;
    while (type != IKE_PL_NONE) {
        uint8_t next;
        bool critical;
        struct ike_view body;
        /* Skipped payloads count too: the cap bounds the work per chain. */
        if (++seen > IKE_MAX_PAYLOADS)
            return IKE_ERR_TOO_MANY;
        int rc = read_generic(&r, &next, &critical, &body);
        if (rc != IKE_OK)
            return rc;
        if (!known_type(type)) {
            if (critical) {
                if (bad_type)
                    *bad_type = type;
                return IKE_ERR_UNSUPPORTED_CRITICAL;
            }
            type = next;
            continue;
        }
        struct ike_payload *pl = &out->pl[out->n++];
        pl->type = type;
        pl->critical = critical;
        pl->body = body;
        if (type == IKE_PL_SK || type == IKE_PL_SKF) {
            /* 3.14: SK's next-payload names the first inner payload, and
             * nothing may follow it. */
            out->sk_inner_first = next;
            break;
        }
        type = next;
    }
    if (ike_reader_left(&r) != 0)
        return IKE_ERR_BAD_PAYLOAD_CHAIN;
    return IKE_OK;
}

const struct ike_payload *ike_payload_find(const struct ike_payload_list *l, uint8_t type,
                                           size_t nth)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->pl[i].type != type)
            continue;
        if (nth == 0)
            return &l->pl[i];
        nth--;
    }
    return NULL;
}
