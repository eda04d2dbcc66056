/*
 * reader.c: the bounds-checked reader every untrusted byte goes through
 * (include/ike/wire.h). Each read checks the remaining length first and
 * fails with IKE_ERR_TRUNCATED without moving the cursor, so a failed read
 * never leaves a half-consumed field behind. Views borrow from the buffer.
 * Must not allocate, must not read past r->len, must not trust any length
 * that did not pass through ike_reader_left().
 */
#include <string.h>

#include "ike/err.h"
#include "ike/wire.h"

void ike_reader_init(struct ike_reader *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = p ? len : 0;
    r->off = 0;
}

size_t ike_reader_left(const struct ike_reader *r)
{
    return r->len - r->off;
}

/* The only place that checks bounds; every reader below goes through it. */
static const uint8_t *take(struct ike_reader *r, size_t n)
{
    if (n > ike_reader_left(r))
        return NULL;
    const uint8_t *q = r->p + r->off;
    r->off += n;
    return q;
}

int ike_read_u8(struct ike_reader *r, uint8_t *v)
{
    const uint8_t *q = take(r, 1);
    if (!q)
        return IKE_ERR_TRUNCATED;
    *v = q[0];
    return IKE_OK;
}

int ike_read_u16(struct ike_reader *r, uint16_t *v)
{
    const uint8_t *q = take(r, 2);
    if (!q)
        return IKE_ERR_TRUNCATED;
    *v = (uint16_t)((unsigned)q[0] << 8 | q[1]);
    return IKE_OK;
}

int ike_read_u32(struct ike_reader *r, uint32_t *v)
{
    const uint8_t *q = take(r, 4);
    if (!q)
        return IKE_ERR_TRUNCATED;
    *v = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
    return IKE_OK;
}

int ike_read_u64(struct ike_reader *r, uint64_t *v)
{
    const uint8_t *q = take(r, 8);
    if (!q)
        return IKE_ERR_TRUNCATED;
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = x << 8 | q[i];
    *v = x;
    return IKE_OK;
}

int ike_read_view(struct ike_reader *r, size_t n, struct ike_view *v)
{
    const uint8_t *q = take(r, n);
    if (!q)
        return IKE_ERR_TRUNCATED;
    v->p = q;
    v->len = n;
    return IKE_OK;
}

int ike_read_copy(struct ike_reader *r, void *dst, size_t n)
{
    const uint8_t *q = take(r, n);
    if (!q)
        return IKE_ERR_TRUNCATED;
    if (n)
        memcpy(dst, q, n);
    return IKE_OK;
}

int ike_read_skip(struct ike_reader *r, size_t n)
{
    return take(r, n) ? IKE_OK : IKE_ERR_TRUNCATED;
}
