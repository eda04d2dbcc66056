/*
 * writer.c: appends network-order fields into a caller's buffer
 * (include/ike/wire.h). On overflow the writer records IKE_ERR_BUF_TOO_SMALL
 * once and ignores every later write, so builders check w->err once at the
 * end instead of after every field. Must not allocate and must never write
 * past w->cap, not even partially.
 */
#include <string.h>

#include "ike/err.h"
#include "ike/wire.h"

void ike_writer_init(struct ike_writer *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = buf ? cap : 0;
    w->len = 0;
    w->err = IKE_OK;
}

/* Reserve n bytes at the end; NULL (and the sticky error) if they do not fit. */
static uint8_t *room(struct ike_writer *w, size_t n)
{
    if (w->err)
        return NULL;
    if (n > w->cap - w->len) {
        w->err = IKE_ERR_BUF_TOO_SMALL;
        return NULL;
    }
    uint8_t *q = w->buf + w->len;
    w->len += n;
    return q;
}

static void put_be(uint8_t *q, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        q[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

void ike_write_u8(struct ike_writer *w, uint8_t v)
{
    uint8_t *q = room(w, 1);
    if (q)
        q[0] = v;
}

void ike_write_u16(struct ike_writer *w, uint16_t v)
{
    uint8_t *q = room(w, 2);
    if (q)
        put_be(q, v, 2);
}

void ike_write_u32(struct ike_writer *w, uint32_t v)
{
    uint8_t *q = room(w, 4);
    if (q)
        put_be(q, v, 4);
}

void ike_write_u64(struct ike_writer *w, uint64_t v)
{
    uint8_t *q = room(w, 8);
    if (q)
        put_be(q, v, 8);
}

void ike_write_bytes(struct ike_writer *w, const void *p, size_t n)
{
    uint8_t *q = room(w, n);
    if (q && n)
        memcpy(q, p, n);
}

void ike_write_zeros(struct ike_writer *w, size_t n)
{
    uint8_t *q = room(w, n);
    if (q && n)
        memset(q, 0, n);
}

/* Patching only touches bytes already written; anything else is a caller
 * bug, recorded as the sticky error so the message is never sent. */
void ike_write_patch_u16(struct ike_writer *w, size_t off, uint16_t v)
{
    if (w->err)
        return;
    if (off > w->len || w->len - off < 2) {
        w->err = IKE_ERR_BUF_TOO_SMALL;
        return;
    }
    put_be(w->buf + off, v, 2);
}

void ike_write_patch_u32(struct ike_writer *w, size_t off, uint32_t v)
{
    if (w->err)
        return;
    if (off > w->len || w->len - off < 4) {
        w->err = IKE_ERR_BUF_TOO_SMALL;
        return;
    }
    put_be(w->buf + off, v, 4);
}
