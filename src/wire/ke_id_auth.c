/*
 * ke_id_auth.c: the small fixed-header payloads: KE (RFC 7296 3.4), IDi/IDr
 * (3.5), CERT/CERTREQ (3.6, 3.7, framing only), AUTH (3.8), Nonce (3.9) and
 * Vendor ID (3.12). Each decoder checks the fixed part, that the data the
 * RFC requires is there (IKE_ERR_EMPTY_PAYLOAD when a body or its data is
 * empty), and field sizes the RFC fixes. Views borrow from the body; no
 * decoder judges whether a group, ID or method is acceptable.
 */
#include "ike/err.h"
#include "ike/wire.h"
#include "body.h"

/* Split "fixed header of hdr_len bytes | data"; an empty body is EMPTY,
 * a body shorter than the header TRUNCATED. */
int ike_body_open(struct ike_view body, size_t hdr_len, struct ike_reader *r)
{
    if (body.len == 0)
        return IKE_ERR_EMPTY_PAYLOAD;
    if (body.len < hdr_len)
        return IKE_ERR_TRUNCATED;
    ike_reader_init(r, body.p, body.len);
    return IKE_OK;
}

static void rest(struct ike_reader *r, struct ike_view *v)
{
    (void)ike_read_view(r, ike_reader_left(r), v);
}

int ike_ke_decode(struct ike_view body, struct ike_ke_payload *ke)
{
    struct ike_reader r;
    int rc = ike_body_open(body, 4, &r);
    if (rc != IKE_OK)
        return rc;
    (void)ike_read_u16(&r, &ke->group);
    (void)ike_read_skip(&r, 2); /* reserved */
    rest(&r, &ke->data);
    /* 3.4: the public value is never empty for any group. */
    return ke->data.len ? IKE_OK : IKE_ERR_EMPTY_PAYLOAD;
}

void ike_ke_encode(struct ike_msg_builder *mb, uint16_t group, const uint8_t *data, size_t len)
{
    ike_mb_begin(mb, IKE_PL_KE, false);
    ike_write_u16(&mb->w, group);
    ike_write_u16(&mb->w, 0);
    ike_write_bytes(&mb->w, data, len);
    ike_mb_end(mb);
}

int ike_id_decode(struct ike_view body, struct ike_id_payload *id)
{
    struct ike_reader r;
    int rc = ike_body_open(body, 4, &r);
    if (rc != IKE_OK)
        return rc;
    id->body = body;
    (void)ike_read_u8(&r, &id->type);
    (void)ike_read_skip(&r, 3);
    rest(&r, &id->data);
    switch (id->type) {
    case ID_NULL: /* RFC 7619 3: the data is empty and ignored */
        return IKE_OK;
    case ID_IPV4_ADDR:
        return id->data.len == 4 ? IKE_OK : IKE_ERR_INVALID_SYNTAX;
    case ID_IPV6_ADDR:
        return id->data.len == 16 ? IKE_OK : IKE_ERR_INVALID_SYNTAX;
    }
    return id->data.len ? IKE_OK : IKE_ERR_EMPTY_PAYLOAD;
}

void ike_id_encode(struct ike_msg_builder *mb, uint8_t pl_type, uint8_t id_type,
                   const uint8_t *data, size_t len)
{
    ike_mb_begin(mb, pl_type, false);
    ike_write_u8(&mb->w, id_type);
    ike_write_zeros(&mb->w, 3);
    ike_write_bytes(&mb->w, data, len);
    ike_mb_end(mb);
}

/* CERT needs data, CERTREQ may carry an empty CA list (3.7: senders use it
 * to ask for any certificate), so only the encoding octet is required. */
int ike_cert_decode(struct ike_view body, struct ike_cert_payload *c)
{
    struct ike_reader r;
    int rc = ike_body_open(body, 1, &r);
    if (rc != IKE_OK)
        return rc;
    (void)ike_read_u8(&r, &c->encoding);
    rest(&r, &c->data);
    return IKE_OK;
}

void ike_cert_encode(struct ike_msg_builder *mb, uint8_t pl_type, uint8_t encoding,
                     const uint8_t *data, size_t len)
{
    ike_mb_begin(mb, pl_type, false);
    ike_write_u8(&mb->w, encoding);
    ike_write_bytes(&mb->w, data, len);
    ike_mb_end(mb);
}

int ike_auth_decode(struct ike_view body, struct ike_auth_payload *a)
{
    struct ike_reader r;
    int rc = ike_body_open(body, 4, &r);
    if (rc != IKE_OK)
        return rc;
    (void)ike_read_u8(&r, &a->method);
    (void)ike_read_skip(&r, 3);
    rest(&r, &a->data);
    return a->data.len ? IKE_OK : IKE_ERR_EMPTY_PAYLOAD;
}

void ike_auth_encode(struct ike_msg_builder *mb, uint8_t method, const uint8_t *data, size_t len)
{
    ike_mb_begin(mb, IKE_PL_AUTH, false);
    ike_write_u8(&mb->w, method);
    ike_write_zeros(&mb->w, 3);
    ike_write_bytes(&mb->w, data, len);
    ike_mb_end(mb);
}

/* 3.9: "between 16 and 256 octets, inclusive". */
int ike_nonce_decode(struct ike_view body, struct ike_view *nonce)
{
    if (body.len == 0)
        return IKE_ERR_EMPTY_PAYLOAD;
    if (body.len < IKE_NONCE_MIN || body.len > IKE_NONCE_MAX)
        return IKE_ERR_INVALID_SYNTAX;
    *nonce = body;
    return IKE_OK;
}

void ike_nonce_encode(struct ike_msg_builder *mb, const uint8_t *data, size_t len)
{
    ike_mb_begin(mb, IKE_PL_NONCE, false);
    ike_write_bytes(&mb->w, data, len);
    ike_mb_end(mb);
}

void ike_vendor_encode(struct ike_msg_builder *mb, const uint8_t *data, size_t len)
{
    ike_mb_begin(mb, IKE_PL_VENDOR, false);
    ike_write_bytes(&mb->w, data, len);
    ike_mb_end(mb);
}
