/*
 * notify_delete.c: Notify (RFC 7296 3.10) and Delete (3.11) payloads.
 * Notify: SPI size must be 0, 4 or 8 and fit in the body (IKE_ERR_BAD_SPI /
 * IKE_ERR_BAD_LENGTH); the notify type is returned as is, unknown types
 * included (3.10.1: unknown status types are ignored by the engine, not
 * rejected here). Delete: IKE takes SPI size 0 and no SPIs, ESP/AH size 4;
 * the SPI count must match the bytes and stay under IKE_MAX_DELETE_SPIS.
 */
#include "ike/err.h"
#include "ike/wire.h"
#include "body.h"

int ike_notify_decode(struct ike_view body, struct ike_notify_payload *n)
{
    struct ike_reader r;
    int rc = ike_body_open(body, 4, &r);
    if (rc != IKE_OK)
        return rc;
    (void)ike_read_u8(&r, &n->proto);
    (void)ike_read_u8(&r, &n->spi_size);
    (void)ike_read_u16(&r, &n->type);
    if (n->spi_size != 0 && n->spi_size != IKE_CHILD_SPI_LEN && n->spi_size != IKE_SPI_LEN)
        return IKE_ERR_BAD_SPI;
    if (ike_read_view(&r, n->spi_size, &n->spi) != IKE_OK)
        return IKE_ERR_BAD_LENGTH; /* SPI larger than the payload */
    (void)ike_read_view(&r, ike_reader_left(&r), &n->data);
    return IKE_OK;
}

void ike_notify_encode(struct ike_msg_builder *mb, uint8_t proto, const uint8_t *spi,
                       size_t spi_size, uint16_t type, const uint8_t *data, size_t len)
{
    ike_mb_begin(mb, IKE_PL_NOTIFY, false);
    ike_write_u8(&mb->w, proto);
    ike_write_u8(&mb->w, (uint8_t)spi_size);
    ike_write_u16(&mb->w, type);
    ike_write_bytes(&mb->w, spi, spi_size);
    ike_write_bytes(&mb->w, data, len);
    ike_mb_end(mb);
}

int ike_delete_decode(struct ike_view body, struct ike_delete_payload *d)
{
    struct ike_reader r;
    int rc = ike_body_open(body, 4, &r);
    if (rc != IKE_OK)
        return rc;
    (void)ike_read_u8(&r, &d->proto);
    (void)ike_read_u8(&r, &d->spi_size);
    (void)ike_read_u16(&r, &d->n_spi);
    switch (d->proto) {
    case IKE_PROTO_IKE: /* 3.11: the SPIs are the header's; none listed */
        if (d->spi_size != 0 || d->n_spi != 0)
            return IKE_ERR_BAD_SPI;
        break;
    case IKE_PROTO_AH:
    case IKE_PROTO_ESP:
        if (d->spi_size != IKE_CHILD_SPI_LEN)
            return IKE_ERR_BAD_SPI;
        break;
    default:
        return IKE_ERR_INVALID_SYNTAX;
    }
    if (d->n_spi > IKE_MAX_DELETE_SPIS)
        return IKE_ERR_TOO_MANY;
    size_t need = (size_t)d->n_spi * d->spi_size;
    if (ike_read_view(&r, need, &d->spis) != IKE_OK)
        return IKE_ERR_TRUNCATED;
    if (ike_reader_left(&r) != 0)
        return IKE_ERR_BAD_LENGTH;
    return IKE_OK;
}

uint32_t ike_delete_spi32(const struct ike_delete_payload *d, size_t i)
{
    struct ike_reader r;
    uint32_t v = 0;
    if (d->spi_size != IKE_CHILD_SPI_LEN || i >= d->n_spi)
        return 0;
    ike_reader_init(&r, d->spis.p, d->spis.len);
    if (ike_read_skip(&r, i * IKE_CHILD_SPI_LEN) != IKE_OK || ike_read_u32(&r, &v) != IKE_OK)
        return 0;
    return v;
}

void ike_delete_encode(struct ike_msg_builder *mb, uint8_t proto, uint8_t spi_size,
                       const uint8_t *spis, uint16_t n_spi)
{
    ike_mb_begin(mb, IKE_PL_DELETE, false);
    ike_write_u8(&mb->w, proto);
    ike_write_u8(&mb->w, spi_size);
    ike_write_u16(&mb->w, n_spi);
    ike_write_bytes(&mb->w, spis, (size_t)n_spi * spi_size);
    ike_mb_end(mb);
}
