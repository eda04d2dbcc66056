/*
 * hdr.c: the fixed 28-octet IKE header (RFC 7296 3.1).
 * Decoding checks, in this order: enough bytes (IKE_ERR_TRUNCATED), major
 * version 2 (IKE_ERR_BAD_VERSION, so the caller can answer
 * INVALID_MAJOR_VERSION), and that the Length field equals the datagram
 * length (IKE_ERR_BAD_LENGTH). It does not look at SPIs, flags or the
 * exchange type: those are decisions for the engine, not the codec.
 */
#include "ike/err.h"
#include "ike/wire.h"

int ike_hdr_decode(const uint8_t *msg, size_t len, struct ike_hdr *h)
{
    struct ike_reader r;
    ike_reader_init(&r, msg, len);
    if (len < IKE_HDR_LEN)
        return IKE_ERR_TRUNCATED;
    /* The reads cannot fail after the length check above. */
    (void)ike_read_u64(&r, &h->spi_i);
    (void)ike_read_u64(&r, &h->spi_r);
    (void)ike_read_u8(&r, &h->next_payload);
    (void)ike_read_u8(&r, &h->version);
    (void)ike_read_u8(&r, &h->exchange);
    (void)ike_read_u8(&r, &h->flags);
    (void)ike_read_u32(&r, &h->msg_id);
    (void)ike_read_u32(&r, &h->length);
    /* 3.1: only the major version matters; the minor one is ignored. */
    if ((h->version >> 4) != (IKE_VERSION_2 >> 4))
        return IKE_ERR_BAD_VERSION;
    if (h->length < IKE_HDR_LEN || h->length != len)
        return IKE_ERR_BAD_LENGTH;
    return IKE_OK;
}

void ike_hdr_encode(struct ike_writer *w, const struct ike_hdr *h)
{
    ike_write_u64(w, h->spi_i);
    ike_write_u64(w, h->spi_r);
    ike_write_u8(w, h->next_payload);
    ike_write_u8(w, h->version);
    ike_write_u8(w, h->exchange);
    ike_write_u8(w, h->flags);
    ike_write_u32(w, h->msg_id);
    ike_write_u32(w, h->length);
}
