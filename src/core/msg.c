/*
 * msg.c: framing shared by every encrypted exchange: the IKE header of a
 * message we send, sealing an inner payload chain into an SK payload, and
 * opening a received SK payload (RFC 7296 3.14; AEAD per RFC 5282/7634).
 * The original initiator of the IKE SA sends with SK_ei/SK_ai, the original
 * responder with SK_er/SK_ar, whoever started the exchange (2.14).
 */
#include <string.h>

#include "core.h"
#include "ike/err.h"

#define SK_AAD_LEN (IKE_HDR_LEN + IKE_GENERIC_HDR_LEN)

void ike_msg_hdr(const struct ike_sa *sa, uint8_t exchange, bool response, uint32_t msg_id,
                 struct ike_hdr *h)
{
    memset(h, 0, sizeof(*h));
    h->spi_i = sa->spi_i;
    h->spi_r = sa->spi_r;
    h->version = IKE_VERSION_2;
    h->exchange = exchange;
    h->flags = (sa->initiator ? IKE_FLAG_INITIATOR : 0) | (response ? IKE_FLAG_RESPONSE : 0);
    h->msg_id = msg_id;
}

static void sk_params(const struct ike_sa *sa, bool sending, struct ike_sk_params *sp)
{
    bool use_i = sending == sa->initiator;
    sp->encr = sa->encr;
    sp->integ = sa->integ;
    sp->key_e = use_i ? &sa->keys.sk_ei : &sa->keys.sk_er;
    sp->key_a = use_i ? &sa->keys.sk_ai : &sa->keys.sk_ar;
}

int ike_msg_seal(struct ike_engine *e, struct ike_sa *sa, const struct ike_hdr *h,
                 uint8_t first_type, const uint8_t *plain, size_t plain_len)
{
    struct ike_writer w;
    struct ike_hdr hh = *h;
    hh.next_payload = IKE_PL_SK;
    ike_writer_init(&w, e->msg, sizeof(e->msg));
    ike_hdr_encode(&w, &hh);
    ike_write_u8(&w, first_type); /* SK generic header: next = first inner */
    ike_write_u8(&w, 0);
    ike_write_u16(&w, 0); /* length: set by sk_seal */
    if (w.err)
        return w.err;
    struct ike_sk_params sp;
    sk_params(sa, true, &sp);
    uint8_t iv[16];
    ike_random(e, iv, sp.encr.iv_len);
    size_t out_len = 0;
    int rc = e->c->sk_seal(&sp, e->msg, sizeof(e->msg), SK_AAD_LEN, IKE_HDR_LEN, plain, plain_len,
                           iv, &out_len);
    return rc < 0 ? rc : (int)out_len;
}

int ike_msg_open(struct ike_engine *e, struct ike_sa *sa, const uint8_t *msg, size_t len,
                 const struct ike_payload_list *outer, struct ike_payload_list *inner)
{
    if (!outer->n || outer->pl[outer->n - 1].type != IKE_PL_SK)
        return IKE_ERR_NOT_ENCRYPTED;
    const struct ike_payload *sk = &outer->pl[outer->n - 1];
    size_t aad_len = (size_t)(sk->body.p - msg);
    if (aad_len > len)
        return IKE_ERR_INVALID_ARG;
    struct ike_sk_params sp;
    sk_params(sa, false, &sp);
    size_t plain_len = 0;
    int rc = e->c->sk_open(&sp, msg, len, aad_len, e->plain, sizeof(e->plain), &plain_len);
    if (rc < 0)
        return rc;
    uint8_t bad = 0;
    rc = ike_payloads_decode(outer->sk_inner_first, e->plain, plain_len, inner, &bad);
    if (rc == IKE_ERR_UNSUPPORTED_CRITICAL)
        ike_log(e, IKE_LOG_WARN, "peer sent unsupported critical payload %u", bad);
    return rc;
}

/* Seal the payload chain built in mb (whose buffer holds the plaintext)
 * as our next request or as the response to msg_id; e->msg holds the
 * result. Returns its length or an error. */
static int seal_chain(struct ike_engine *e, struct ike_sa *sa, uint8_t exchange, bool response,
                      uint32_t msg_id, struct ike_msg_builder *mb)
{
    struct ike_hdr h;
    int n = ike_mb_finish(mb);
    if (n < 0)
        return n;
    ike_msg_hdr(sa, exchange, response, msg_id, &h);
    return ike_msg_seal(e, sa, &h, ike_mb_first_type(mb), mb->w.buf, (size_t)n);
}

int ike_msg_send_request(struct ike_engine *e, struct ike_sa *sa, uint8_t exchange,
                         struct ike_msg_builder *mb, uint64_t now_ms)
{
    int len = seal_chain(e, sa, exchange, false, sa->msg_id_out, mb);
    return len < 0 ? len : ike_send_request(e, sa, e->msg, (size_t)len, now_ms);
}

int ike_msg_send_response(struct ike_engine *e, struct ike_sa *sa, uint8_t exchange,
                          uint32_t msg_id, struct ike_msg_builder *mb)
{
    int len = seal_chain(e, sa, exchange, true, msg_id, mb);
    return len < 0 ? len : ike_send_response(e, sa, e->msg, (size_t)len);
}

int ike_msg_notify_response(struct ike_engine *e, struct ike_sa *sa, uint8_t exchange,
                            uint32_t msg_id, uint16_t type, const uint8_t *data, size_t data_len)
{
    struct ike_msg_builder mb;
    uint8_t inner[512];
    ike_mb_init_chain(&mb, inner, sizeof(inner));
    ike_notify_encode(&mb, 0, NULL, 0, type, data, data_len);
    ike_log(e, IKE_LOG_INFO, "answering %s #%u with %s", ike_exchange_name(exchange), msg_id,
            ike_notify_name(type));
    return ike_msg_send_response(e, sa, exchange, msg_id, &mb);
}

const struct ike_payload *ike_msg_find_notify(const struct ike_payload_list *l, uint16_t type,
                                              struct ike_notify_payload *n)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->pl[i].type != IKE_PL_NOTIFY)
            continue;
        struct ike_notify_payload tmp;
        if (ike_notify_decode(l->pl[i].body, &tmp) == 0 && tmp.type == type) {
            if (n)
                *n = tmp;
            return &l->pl[i];
        }
    }
    return NULL;
}

uint16_t ike_msg_error_notify(const struct ike_payload_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        struct ike_notify_payload n;
        if (l->pl[i].type == IKE_PL_NOTIFY && ike_notify_decode(l->pl[i].body, &n) == 0 &&
            n.type <= IKE_N_ERROR_MAX)
            return n.type;
    }
    return 0;
}

/* SA, KE and Nonce: IKE_SA_INIT, and CREATE_CHILD_SA rekeying an IKE SA. */
int ike_msg_decode_sa_ke_nonce(const struct ike_payload_list *l, struct ike_sa_payload *sap,
                               struct ike_ke_payload *ke, struct ike_view *nonce)
{
    const struct ike_payload *p_sa = ike_payload_find(l, IKE_PL_SA, 0);
    const struct ike_payload *p_ke = ike_payload_find(l, IKE_PL_KE, 0);
    const struct ike_payload *p_n = ike_payload_find(l, IKE_PL_NONCE, 0);
    if (!p_sa || !p_ke || !p_n)
        return IKE_ERR_MISSING_PAYLOAD;
    int rc = ike_sa_decode(p_sa->body, sap);
    if (rc == 0)
        rc = ike_ke_decode(p_ke->body, ke);
    if (rc == 0)
        rc = ike_nonce_decode(p_n->body, nonce);
    return rc;
}
