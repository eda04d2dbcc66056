/*
 * wire_harness.h: decode a whole datagram with every wire decoder, and
 * re-encode what decoded, for the unit tests, the fuzz targets and the
 * corpus generator. Test-only glue (static inline, header-only): it treats
 * the body of an SK payload as an already-decrypted inner chain, since the
 * codec has no crypto; real messages never get that shortcut.
 */
#ifndef WIRE_HARNESS_H
#define WIRE_HARNESS_H

#include <stdbool.h>
#include <string.h>

#include "ike/err.h"
#include "ike/wire.h"

union pl_decoded {
    struct ike_sa_payload sa;
    struct ike_ke_payload ke;
    struct ike_id_payload id;
    struct ike_cert_payload cert;
    struct ike_auth_payload auth;
    struct ike_view raw; /* Nonce, Vendor ID, SK */
    struct ike_notify_payload notify;
    struct ike_delete_payload del;
    struct ike_ts_payload ts;
    struct ike_cp_payload cp;
    struct ike_eap_payload eap;
    struct ike_skf_payload skf;
};

struct harness_msg {
    struct ike_hdr hdr;
    struct ike_payload_list outer;
    struct ike_payload_list inner;
    bool has_inner; /* SK body decoded as a plaintext chain */
    int inner_rc;   /* result of that inner decode (IKE_OK when has_inner) */
    uint8_t bad_type;
};

/* Run the decoder a payload type has; IKE_OK for types without one. */
static inline int harness_decode_payload(uint8_t type, struct ike_view body, union pl_decoded *d)
{
    memset(d, 0, sizeof(*d));
    switch (type) {
    case IKE_PL_SA:
        return ike_sa_decode(body, &d->sa);
    case IKE_PL_KE:
        return ike_ke_decode(body, &d->ke);
    case IKE_PL_IDI:
    case IKE_PL_IDR:
        return ike_id_decode(body, &d->id);
    case IKE_PL_CERT:
    case IKE_PL_CERTREQ:
        return ike_cert_decode(body, &d->cert);
    case IKE_PL_AUTH:
        return ike_auth_decode(body, &d->auth);
    case IKE_PL_NONCE:
        return ike_nonce_decode(body, &d->raw);
    case IKE_PL_NOTIFY:
        return ike_notify_decode(body, &d->notify);
    case IKE_PL_DELETE:
        return ike_delete_decode(body, &d->del);
    case IKE_PL_TSI:
    case IKE_PL_TSR:
        return ike_ts_decode(body, &d->ts);
    case IKE_PL_CP:
        return ike_cp_decode(body, &d->cp);
    case IKE_PL_EAP:
        return ike_eap_decode(body, &d->eap);
    case IKE_PL_SKF:
        return ike_skf_decode(body, &d->skf);
    case IKE_PL_SK: /* 3.14: IV and ICV at least, never empty */
        d->raw = body;
        return body.len ? IKE_OK : IKE_ERR_EMPTY_PAYLOAD;
    default:
        d->raw = body;
        return IKE_OK;
    }
}

/* EAP and SKF have no encoder in wire.h: write their framing by hand. */
static inline void harness_encode_framing(struct ike_msg_builder *mb, uint8_t type,
                                          const union pl_decoded *d)
{
    ike_mb_begin(mb, type, false);
    if (type == IKE_PL_EAP) {
        ike_write_u8(&mb->w, d->eap.code);
        ike_write_u8(&mb->w, d->eap.id);
        ike_write_u16(&mb->w, d->eap.length);
        if (d->eap.code == 1 || d->eap.code == 2)
            ike_write_u8(&mb->w, d->eap.type);
        ike_write_bytes(&mb->w, d->eap.data.p, d->eap.data.len);
    } else {
        ike_write_u16(&mb->w, d->skf.frag_num);
        ike_write_u16(&mb->w, d->skf.total_frags);
        ike_write_bytes(&mb->w, d->skf.data.p, d->skf.data.len);
    }
    ike_mb_end(mb);
}

/* Encode a decoded payload again through the public encoders. */
static inline void harness_encode_payload(struct ike_msg_builder *mb, uint8_t type,
                                          const union pl_decoded *d)
{
    switch (type) {
    case IKE_PL_SA:
        ike_sa_encode(mb, &d->sa);
        break;
    case IKE_PL_KE:
        ike_ke_encode(mb, d->ke.group, d->ke.data.p, d->ke.data.len);
        break;
    case IKE_PL_IDI:
    case IKE_PL_IDR:
        ike_id_encode(mb, type, d->id.type, d->id.data.p, d->id.data.len);
        break;
    case IKE_PL_CERT:
    case IKE_PL_CERTREQ:
        ike_cert_encode(mb, type, d->cert.encoding, d->cert.data.p, d->cert.data.len);
        break;
    case IKE_PL_AUTH:
        ike_auth_encode(mb, d->auth.method, d->auth.data.p, d->auth.data.len);
        break;
    case IKE_PL_NONCE:
        ike_nonce_encode(mb, d->raw.p, d->raw.len);
        break;
    case IKE_PL_NOTIFY:
        ike_notify_encode(mb, d->notify.proto, d->notify.spi.p, d->notify.spi.len, d->notify.type,
                          d->notify.data.p, d->notify.data.len);
        break;
    case IKE_PL_DELETE:
        ike_delete_encode(mb, d->del.proto, d->del.spi_size, d->del.spis.p, d->del.n_spi);
        break;
    case IKE_PL_VENDOR:
        ike_vendor_encode(mb, d->raw.p, d->raw.len);
        break;
    case IKE_PL_TSI:
    case IKE_PL_TSR:
        ike_ts_encode(mb, type, &d->ts);
        break;
    case IKE_PL_CP:
        ike_cp_encode(mb, &d->cp);
        break;
    case IKE_PL_EAP:
    case IKE_PL_SKF:
        harness_encode_framing(mb, type, d);
        break;
    default:
        ike_mb_begin(mb, type, false);
        ike_write_bytes(&mb->w, d->raw.p, d->raw.len);
        ike_mb_end(mb);
        break;
    }
}

static inline bool harness_view_eq(struct ike_view a, struct ike_view b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline bool harness_sa_eq(const struct ike_sa_payload *a, const struct ike_sa_payload *b)
{
    if (a->n_proposals != b->n_proposals)
        return false;
    for (size_t i = 0; i < a->n_proposals; i++) {
        const struct ike_proposal *p = &a->p[i], *q = &b->p[i];
        if (p->num != q->num || p->proto != q->proto || p->spi_size != q->spi_size ||
            p->n_transforms != q->n_transforms || memcmp(p->spi, q->spi, p->spi_size) != 0)
            return false;
        for (size_t j = 0; j < p->n_transforms; j++)
            if (p->t[j].type != q->t[j].type || p->t[j].id != q->t[j].id ||
                p->t[j].keylen != q->t[j].keylen)
                return false;
    }
    return true;
}

static inline bool harness_ts_eq(const struct ike_ts_payload *a, const struct ike_ts_payload *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const struct ike_ts *s = &a->ts[i], *t = &b->ts[i];
        if (s->type != t->type || s->ip_proto != t->ip_proto || s->start_port != t->start_port ||
            s->end_port != t->end_port || memcmp(s->start_addr, t->start_addr, 16) != 0 ||
            memcmp(s->end_addr, t->end_addr, 16) != 0)
            return false;
    }
    return true;
}

static inline bool harness_cp_eq(const struct ike_cp_payload *a, const struct ike_cp_payload *b)
{
    if (a->cfg_type != b->cfg_type || a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->attr[i].type != b->attr[i].type ||
            !harness_view_eq(a->attr[i].value, b->attr[i].value))
            return false;
    return true;
}

/* Field-by-field equality of two decodings of the same payload type. */
static inline bool harness_decoded_eq(uint8_t type, const union pl_decoded *a,
                                      const union pl_decoded *b)
{
    switch (type) {
    case IKE_PL_SA:
        return harness_sa_eq(&a->sa, &b->sa);
    case IKE_PL_KE:
        return a->ke.group == b->ke.group && harness_view_eq(a->ke.data, b->ke.data);
    case IKE_PL_IDI:
    case IKE_PL_IDR:
        return a->id.type == b->id.type && harness_view_eq(a->id.data, b->id.data);
    case IKE_PL_CERT:
    case IKE_PL_CERTREQ:
        return a->cert.encoding == b->cert.encoding && harness_view_eq(a->cert.data, b->cert.data);
    case IKE_PL_AUTH:
        return a->auth.method == b->auth.method && harness_view_eq(a->auth.data, b->auth.data);
    case IKE_PL_NOTIFY:
        return a->notify.proto == b->notify.proto && a->notify.spi_size == b->notify.spi_size &&
               a->notify.type == b->notify.type && harness_view_eq(a->notify.spi, b->notify.spi) &&
               harness_view_eq(a->notify.data, b->notify.data);
    case IKE_PL_DELETE:
        return a->del.proto == b->del.proto && a->del.spi_size == b->del.spi_size &&
               a->del.n_spi == b->del.n_spi && harness_view_eq(a->del.spis, b->del.spis);
    case IKE_PL_TSI:
    case IKE_PL_TSR:
        return harness_ts_eq(&a->ts, &b->ts);
    case IKE_PL_CP:
        return harness_cp_eq(&a->cp, &b->cp);
    case IKE_PL_EAP:
        return a->eap.code == b->eap.code && a->eap.id == b->eap.id &&
               a->eap.length == b->eap.length && a->eap.type == b->eap.type &&
               harness_view_eq(a->eap.data, b->eap.data);
    case IKE_PL_SKF:
        return a->skf.frag_num == b->skf.frag_num && a->skf.total_frags == b->skf.total_frags &&
               harness_view_eq(a->skf.data, b->skf.data);
    default:
        return harness_view_eq(a->raw, b->raw);
    }
}

/* Decode every payload of a list; the first error, or IKE_OK. */
static inline int harness_decode_list(const struct ike_payload_list *l)
{
    union pl_decoded d;
    for (size_t i = 0; i < l->n; i++) {
        int rc = harness_decode_payload(l->pl[i].type, l->pl[i].body, &d);
        if (rc != IKE_OK)
            return rc;
    }
    return IKE_OK;
}

/* Header, outer chain, every outer payload; then the SK body as an inner
 * chain (its errors go to m->inner_rc, not the result). */
static inline int harness_decode_msg(const uint8_t *msg, size_t len, struct harness_msg *m)
{
    memset(m, 0, sizeof(*m));
    int rc = ike_hdr_decode(msg, len, &m->hdr);
    if (rc != IKE_OK)
        return rc;
    rc = ike_payloads_decode(m->hdr.next_payload, msg + IKE_HDR_LEN, len - IKE_HDR_LEN, &m->outer,
                             &m->bad_type);
    if (rc != IKE_OK)
        return rc;
    rc = harness_decode_list(&m->outer);
    if (rc != IKE_OK)
        return rc;
    const struct ike_payload *sk = ike_payload_find(&m->outer, IKE_PL_SK, 0);
    m->inner_rc = IKE_ERR_NOT_FOUND;
    if (sk) {
        m->inner_rc = ike_payloads_decode(m->outer.sk_inner_first, sk->body.p, sk->body.len,
                                          &m->inner, &m->bad_type);
        if (m->inner_rc == IKE_OK)
            m->inner_rc = harness_decode_list(&m->inner);
        m->has_inner = m->inner_rc == IKE_OK;
    }
    return IKE_OK;
}

/* Payload types fuzz_body.c picks from with its first input byte. */
__attribute__((unused)) static const uint8_t harness_body_types[] = {
    IKE_PL_SA,   IKE_PL_KE,    IKE_PL_IDI,    IKE_PL_IDR,    IKE_PL_CERT,   IKE_PL_CERTREQ,
    IKE_PL_AUTH, IKE_PL_NONCE, IKE_PL_NOTIFY, IKE_PL_DELETE, IKE_PL_VENDOR, IKE_PL_TSI,
    IKE_PL_TSR,  IKE_PL_SK,    IKE_PL_CP,     IKE_PL_EAP,    IKE_PL_SKF,
};
#define HARNESS_BODY_TYPES_N sizeof(harness_body_types)

static inline enum ike_msg_kind harness_kind(const struct ike_hdr *h)
{
    return (h->flags & IKE_FLAG_RESPONSE) ? IKE_MSG_RESPONSE : IKE_MSG_REQUEST;
}

#endif /* WIRE_HARNESS_H */
