/*
 * cp_eap_cert.c: Configuration payload (RFC 7296 3.15, 3.15.1) and the EAP
 * payload framing (3.16, RFC 3748 4). CP attributes are listed as views,
 * at most IKE_MAX_CP_ATTRS; their meaning is the engine's business. EAP is
 * framing only: the EAP Length must equal the body, codes 1/2 carry a type
 * octet, codes 3/4 nothing else. (CERT/CERTREQ framing lives in
 * ke_id_auth.c beside the other "type octet + data" payloads.)
 */
#include "ike/err.h"
#include "ike/wire.h"
#include "body.h"

#define CP_ATTR_TYPE_MASK 0x7fff /* 3.15.1: the top bit is reserved */
#define EAP_REQUEST       1
#define EAP_RESPONSE      2
#define EAP_SUCCESS       3
#define EAP_FAILURE       4

int ike_cp_decode(struct ike_view body, struct ike_cp_payload *cp)
{
    struct ike_reader r;
    cp->n = 0;
    int rc = ike_body_open(body, 4, &r);
    if (rc != IKE_OK)
        return rc;
    (void)ike_read_u8(&r, &cp->cfg_type);
    (void)ike_read_skip(&r, 3);
    if (cp->cfg_type < CFG_REQUEST || cp->cfg_type > CFG_ACK)
        return IKE_ERR_INVALID_SYNTAX;
    while (ike_reader_left(&r) > 0) {
        uint16_t type, len;
        if (cp->n == IKE_MAX_CP_ATTRS)
            return IKE_ERR_TOO_MANY;
        if (ike_read_u16(&r, &type) != IKE_OK || ike_read_u16(&r, &len) != IKE_OK)
            return IKE_ERR_TRUNCATED;
        struct ike_cp_attr *a = &cp->attr[cp->n];
        a->type = type & CP_ATTR_TYPE_MASK;
        if (ike_read_view(&r, len, &a->value) != IKE_OK)
            return IKE_ERR_BAD_LENGTH;
        cp->n++;
    }
    return IKE_OK;
}

void ike_cp_encode(struct ike_msg_builder *mb, const struct ike_cp_payload *cp)
{
    uint8_t n = cp->n <= IKE_MAX_CP_ATTRS ? cp->n : IKE_MAX_CP_ATTRS;
    ike_mb_begin(mb, IKE_PL_CP, false);
    ike_write_u8(&mb->w, cp->cfg_type);
    ike_write_zeros(&mb->w, 3);
    for (uint8_t i = 0; i < n; i++) {
        const struct ike_cp_attr *a = &cp->attr[i];
        if (a->value.len > UINT16_MAX) {
            mb->w.err = IKE_ERR_BUF_TOO_SMALL;
            break;
        }
        ike_write_u16(&mb->w, a->type & CP_ATTR_TYPE_MASK);
        ike_write_u16(&mb->w, (uint16_t)a->value.len);
        ike_write_bytes(&mb->w, a->value.p, a->value.len);
    }
    ike_mb_end(mb);
}

int ike_eap_decode(struct ike_view body, struct ike_eap_payload *e)
{
    struct ike_reader r;
    int rc = ike_body_open(body, 4, &r);
    if (rc != IKE_OK)
        return rc;
    (void)ike_read_u8(&r, &e->code);
    (void)ike_read_u8(&r, &e->id);
    (void)ike_read_u16(&r, &e->length);
    e->type = 0;
    if (e->length != body.len)
        return IKE_ERR_BAD_LENGTH;
    switch (e->code) {
    case EAP_REQUEST:
    case EAP_RESPONSE:
        if (ike_read_u8(&r, &e->type) != IKE_OK)
            return IKE_ERR_TRUNCATED;
        break;
    case EAP_SUCCESS:
    case EAP_FAILURE:
        if (ike_reader_left(&r) != 0)
            return IKE_ERR_BAD_LENGTH;
        break;
    default:
        return IKE_ERR_INVALID_SYNTAX;
    }
    (void)ike_read_view(&r, ike_reader_left(&r), &e->data);
    return IKE_OK;
}
