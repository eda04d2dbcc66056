/*
 * sample_msgs.h: well-formed IKEv2 messages built with the ike_mb_*
 * builder and the payload encoders, one per message shape of RFC 7296
 * 1.2-1.5 (and RFC 7383 fragments). Used by the unit tests (round trips,
 * rules) and by the corpus generator. The SK payload carries the inner
 * chain in clear (no crypto here), which wire_harness.h decodes as such.
 */
#ifndef SAMPLE_MSGS_H
#define SAMPLE_MSGS_H

#include <string.h>

#include "ike/wire.h"

static inline struct ike_hdr sample_hdr(uint8_t exchange, bool response, uint32_t msg_id)
{
    struct ike_hdr h = {
        .spi_i = 0x1122334455667788ULL,
        .spi_r = exchange == IKE_SA_INIT && !response ? 0 : 0x99aabbccddeeff00ULL,
        .version = IKE_VERSION_2,
        .exchange = exchange,
        .flags = (uint8_t)(response ? IKE_FLAG_RESPONSE : IKE_FLAG_INITIATOR),
        .msg_id = msg_id,
    };
    return h;
}

static inline void sample_fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + 7 * i);
}

static inline void sample_xf(struct ike_proposal *p, uint8_t type, uint16_t id, uint16_t keylen)
{
    p->t[p->n_transforms].type = type;
    p->t[p->n_transforms].id = id;
    p->t[p->n_transforms].keylen = keylen;
    p->n_transforms++;
}

/* Two IKE proposals: AES-CBC-256/SHA256/MODP2048+X25519, AES-GCM-16/ECP256. */
static inline void sample_ike_sa(struct ike_sa_payload *sa, uint8_t first_num, bool single)
{
    memset(sa, 0, sizeof(*sa));
    struct ike_proposal *p = &sa->p[0];
    p->num = first_num;
    p->proto = IKE_PROTO_IKE;
    sample_xf(p, IKE_TRANSFORM_ENCR, ENCR_AES_CBC, 256);
    sample_xf(p, IKE_TRANSFORM_PRF, PRF_HMAC_SHA2_256, 0);
    sample_xf(p, IKE_TRANSFORM_INTEG, AUTH_HMAC_SHA2_256_128, 0);
    sample_xf(p, IKE_TRANSFORM_DH, MODP_2048, 0);
    sample_xf(p, IKE_TRANSFORM_DH, CURVE25519, 0);
    sa->n_proposals = 1;
    if (single)
        return;
    p = &sa->p[1];
    p->num = (uint8_t)(first_num + 1);
    p->proto = IKE_PROTO_IKE;
    sample_xf(p, IKE_TRANSFORM_ENCR, ENCR_AES_GCM_16, 128);
    sample_xf(p, IKE_TRANSFORM_PRF, PRF_HMAC_SHA2_384, 0);
    sample_xf(p, IKE_TRANSFORM_DH, ECP_256, 0);
    sa->n_proposals = 2;
}

/* One ESP proposal with a 4-octet SPI (or an IKE one with 8 for rekeys). */
static inline void sample_child_sa(struct ike_sa_payload *sa, uint8_t proto)
{
    memset(sa, 0, sizeof(*sa));
    struct ike_proposal *p = &sa->p[0];
    p->num = 1;
    p->proto = proto;
    p->spi_size = proto == IKE_PROTO_IKE ? IKE_SPI_LEN : IKE_CHILD_SPI_LEN;
    sample_fill(p->spi, p->spi_size, 0xc0);
    if (proto == IKE_PROTO_IKE) {
        sample_xf(p, IKE_TRANSFORM_ENCR, ENCR_CHACHA20_POLY1305, 0);
        sample_xf(p, IKE_TRANSFORM_PRF, PRF_HMAC_SHA2_512, 0);
        sample_xf(p, IKE_TRANSFORM_DH, CURVE448, 0);
    } else {
        sample_xf(p, IKE_TRANSFORM_ENCR, ENCR_AES_GCM_16, 256);
        sample_xf(p, IKE_TRANSFORM_DH, CURVE25519, 0);
        sample_xf(p, IKE_TRANSFORM_ESN, ESN_NO, 0);
        sample_xf(p, IKE_TRANSFORM_ESN, ESN_YES, 0);
    }
    sa->n_proposals = 1;
}

static inline void sample_ts(struct ike_ts_payload *ts, bool v6)
{
    memset(ts, 0, sizeof(*ts));
    ts->n = 2;
    ts->ts[0].type = TS_IPV4_ADDR_RANGE;
    ts->ts[0].end_port = 0xffff;
    memcpy(ts->ts[0].start_addr, "\x0a\x01\x00\x00", 4);
    memcpy(ts->ts[0].end_addr, "\x0a\x01\xff\xff", 4);
    ts->ts[1].type = v6 ? TS_IPV6_ADDR_RANGE : TS_IPV4_ADDR_RANGE;
    ts->ts[1].ip_proto = 17;
    ts->ts[1].start_port = 500;
    ts->ts[1].end_port = 4500;
    if (v6) {
        memcpy(ts->ts[1].start_addr, "\x20\x01\x0d\xb8", 4);
        memcpy(ts->ts[1].end_addr,
               "\x20\x01\x0d\xb8\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 16);
    } else {
        memcpy(ts->ts[1].start_addr, "\xc0\xa8\x00\x01", 4);
        memcpy(ts->ts[1].end_addr, "\xc0\xa8\x00\x01", 4);
    }
}

static inline void sample_notify(struct ike_msg_builder *mb, uint16_t type, size_t data_len)
{
    uint8_t data[64];
    sample_fill(data, sizeof(data), (uint8_t)type);
    ike_notify_encode(mb, 0, NULL, 0, type, data, data_len);
}

/* HDR, SAi1, KEi, Ni, N(NAT_D_S), N(NAT_D_D), N(FRAG_SUPPORTED), V (1.2) */
static inline int sample_sa_init_req(uint8_t *buf, size_t cap)
{
    struct ike_msg_builder mb;
    struct ike_hdr h = sample_hdr(IKE_SA_INIT, false, 0);
    struct ike_sa_payload sa;
    uint8_t ke[256], nonce[32];
    sample_fill(ke, sizeof(ke), 1);
    sample_fill(nonce, sizeof(nonce), 2);
    sample_ike_sa(&sa, 1, false);
    ike_mb_init(&mb, buf, cap, &h);
    ike_sa_encode(&mb, &sa);
    ike_ke_encode(&mb, MODP_2048, ke, sizeof(ke));
    ike_nonce_encode(&mb, nonce, sizeof(nonce));
    sample_notify(&mb, IKE_N_NAT_DETECTION_SOURCE_IP, 20);
    sample_notify(&mb, IKE_N_NAT_DETECTION_DESTINATION_IP, 20);
    sample_notify(&mb, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, 0);
    ike_vendor_encode(&mb, (const uint8_t *)"rekeyd-test-vendor", 18);
    return ike_mb_finish(&mb);
}

/* HDR, SAr1, KEr, Nr, [CERTREQ], N (1.2); accepts proposal 2. */
static inline int sample_sa_init_resp(uint8_t *buf, size_t cap)
{
    struct ike_msg_builder mb;
    struct ike_hdr h = sample_hdr(IKE_SA_INIT, true, 0);
    struct ike_sa_payload sa;
    uint8_t ke[32], nonce[16], ca[20];
    sample_fill(ke, sizeof(ke), 3);
    sample_fill(nonce, sizeof(nonce), 4);
    sample_fill(ca, sizeof(ca), 5);
    sample_ike_sa(&sa, 2, true);
    ike_mb_init(&mb, buf, cap, &h);
    ike_sa_encode(&mb, &sa);
    ike_ke_encode(&mb, CURVE25519, ke, sizeof(ke));
    ike_nonce_encode(&mb, nonce, sizeof(nonce));
    ike_cert_encode(&mb, IKE_PL_CERTREQ, CERT_X509_SIGNATURE, ca, sizeof(ca));
    sample_notify(&mb, IKE_N_CHILDLESS_IKEV2_SUPPORTED, 0);
    return ike_mb_finish(&mb);
}

/* HDR, N(COOKIE) (2.6) */
static inline int sample_cookie_resp(uint8_t *buf, size_t cap)
{
    struct ike_msg_builder mb;
    struct ike_hdr h = sample_hdr(IKE_SA_INIT, true, 0);
    h.spi_r = 0;
    ike_mb_init(&mb, buf, cap, &h);
    sample_notify(&mb, IKE_N_COOKIE, 32);
    return ike_mb_finish(&mb);
}

/* Wrap an inner chain built by fill() into HDR, SK{...}. */
static inline int sample_sk_msg(uint8_t *buf, size_t cap, struct ike_hdr h,
                                void (*fill)(struct ike_msg_builder *))
{
    struct ike_msg_builder mb, in;
    uint8_t inner[2048];
    ike_mb_init_chain(&in, inner, sizeof(inner));
    fill(&in);
    int n = ike_mb_finish(&in);
    if (n < 0)
        return n;
    ike_mb_init(&mb, buf, cap, &h);
    ike_mb_begin(&mb, IKE_PL_SK, false);
    size_t sk_at = mb.pl_start;
    ike_write_bytes(&mb.w, inner, (size_t)n);
    ike_mb_end(&mb);
    int len = ike_mb_finish(&mb);
    if (len > 0) /* 3.14: SK's next payload names the first inner one */
        buf[sk_at] = ike_mb_first_type(&in);
    return len;
}

static inline void fill_auth_req(struct ike_msg_builder *in)
{
    struct ike_sa_payload sa;
    struct ike_ts_payload ts;
    struct ike_cp_payload cp = {.cfg_type = CFG_REQUEST, .n = 2};
    uint8_t auth[32];
    sample_fill(auth, sizeof(auth), 9);
    cp.attr[0].type = 1; /* INTERNAL_IP4_ADDRESS, empty in a request */
    cp.attr[1].type = 3; /* INTERNAL_IP4_DNS */
    ike_id_encode(in, IKE_PL_IDI, ID_FQDN, (const uint8_t *)"left.example", 12);
    ike_cert_encode(in, IKE_PL_CERT, CERT_X509_SIGNATURE, auth, 24);
    ike_id_encode(in, IKE_PL_IDR, ID_IPV4_ADDR, (const uint8_t *)"\xc0\xa8\x00\x02", 4);
    ike_auth_encode(in, IKE_AUTH_SHARED_KEY_MIC, auth, sizeof(auth));
    ike_cp_encode(in, &cp);
    sample_notify(in, IKE_N_INITIAL_CONTACT, 0);
    sample_child_sa(&sa, IKE_PROTO_ESP);
    ike_sa_encode(in, &sa);
    sample_ts(&ts, false);
    ike_ts_encode(in, IKE_PL_TSI, &ts);
    sample_ts(&ts, true);
    ike_ts_encode(in, IKE_PL_TSR, &ts);
}

static inline void fill_auth_resp(struct ike_msg_builder *in)
{
    struct ike_sa_payload sa;
    struct ike_ts_payload ts;
    uint8_t auth[48], eap[] = {3, 7, 0, 4}; /* EAP-Success, framing only */
    sample_fill(auth, sizeof(auth), 11);
    ike_id_encode(in, IKE_PL_IDR, ID_IPV6_ADDR, auth, 16);
    ike_auth_encode(in, IKE_AUTH_DIGITAL_SIGNATURE, auth, sizeof(auth));
    ike_mb_begin(in, IKE_PL_EAP, false);
    ike_write_bytes(&in->w, eap, sizeof(eap));
    ike_mb_end(in);
    sample_child_sa(&sa, IKE_PROTO_ESP);
    ike_sa_encode(in, &sa);
    sample_ts(&ts, true);
    ike_ts_encode(in, IKE_PL_TSI, &ts);
    ike_ts_encode(in, IKE_PL_TSR, &ts);
}

/* CREATE_CHILD_SA rekeying a Child SA with PFS (1.3.3). */
static inline void fill_child_rekey(struct ike_msg_builder *in)
{
    struct ike_sa_payload sa;
    struct ike_ts_payload ts;
    uint8_t nonce[64], ke[32], spi[4] = {0xde, 0xad, 0xbe, 0xef};
    sample_fill(nonce, sizeof(nonce), 13);
    sample_fill(ke, sizeof(ke), 14);
    ike_notify_encode(in, IKE_PROTO_ESP, spi, sizeof(spi), IKE_N_REKEY_SA, NULL, 0);
    sample_child_sa(&sa, IKE_PROTO_ESP);
    ike_sa_encode(in, &sa);
    ike_nonce_encode(in, nonce, sizeof(nonce));
    ike_ke_encode(in, CURVE25519, ke, sizeof(ke));
    sample_ts(&ts, false);
    ike_ts_encode(in, IKE_PL_TSI, &ts);
    ike_ts_encode(in, IKE_PL_TSR, &ts);
}

/* CREATE_CHILD_SA rekeying the IKE SA (1.3.2). */
static inline void fill_ike_rekey(struct ike_msg_builder *in)
{
    struct ike_sa_payload sa;
    uint8_t nonce[256], ke[56];
    sample_fill(nonce, sizeof(nonce), 15);
    sample_fill(ke, sizeof(ke), 16);
    sample_child_sa(&sa, IKE_PROTO_IKE);
    ike_sa_encode(in, &sa);
    ike_nonce_encode(in, nonce, sizeof(nonce));
    ike_ke_encode(in, CURVE448, ke, sizeof(ke));
}

/* INFORMATIONAL with two Deletes (1.4.1). */
static inline void fill_info_delete(struct ike_msg_builder *in)
{
    const uint8_t spis[] = {1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xfe, 0xfd, 0xfc};
    ike_delete_encode(in, IKE_PROTO_ESP, 4, spis, 3);
    ike_delete_encode(in, IKE_PROTO_AH, 4, spis, 1);
}

static inline void fill_info_delete_ike(struct ike_msg_builder *in)
{
    ike_delete_encode(in, IKE_PROTO_IKE, 0, NULL, 0);
}

/* A response carrying only a CP reply (1.4; an empty SK{} liveness
 * answer cannot be shown here: with no crypto its SK body would be empty). */
static inline void fill_cp_reply(struct ike_msg_builder *in)
{
    struct ike_cp_payload cp = {.cfg_type = CFG_REPLY, .n = 1};
    cp.attr[0].type = 1; /* INTERNAL_IP4_ADDRESS */
    cp.attr[0].value = (struct ike_view){(const uint8_t *)"\x0a\x00\x00\x02", 4};
    ike_cp_encode(in, &cp);
}

static inline void fill_info_error(struct ike_msg_builder *in)
{
    uint8_t spi[4] = {9, 8, 7, 6};
    ike_notify_encode(in, IKE_PROTO_ESP, spi, sizeof(spi), IKE_N_CHILD_SA_NOT_FOUND, NULL, 0);
    sample_notify(in, IKE_N_UPDATE_SA_ADDRESSES, 0);
}

static inline int sample_auth_req(uint8_t *b, size_t c)
{
    return sample_sk_msg(b, c, sample_hdr(IKE_AUTH, false, 1), fill_auth_req);
}
static inline int sample_auth_resp(uint8_t *b, size_t c)
{
    return sample_sk_msg(b, c, sample_hdr(IKE_AUTH, true, 1), fill_auth_resp);
}
static inline int sample_child_req(uint8_t *b, size_t c)
{
    return sample_sk_msg(b, c, sample_hdr(CREATE_CHILD_SA, false, 2), fill_child_rekey);
}
static inline int sample_ike_rekey_resp(uint8_t *b, size_t c)
{
    return sample_sk_msg(b, c, sample_hdr(CREATE_CHILD_SA, true, 3), fill_ike_rekey);
}
static inline int sample_info_delete(uint8_t *b, size_t c)
{
    return sample_sk_msg(b, c, sample_hdr(INFORMATIONAL, false, 4), fill_info_delete);
}
static inline int sample_info_delete_ike(uint8_t *b, size_t c)
{
    return sample_sk_msg(b, c, sample_hdr(INFORMATIONAL, false, 5), fill_info_delete_ike);
}
static inline int sample_info_cp_resp(uint8_t *b, size_t c)
{
    return sample_sk_msg(b, c, sample_hdr(INFORMATIONAL, true, 6), fill_cp_reply);
}
static inline int sample_info_error(uint8_t *b, size_t c)
{
    return sample_sk_msg(b, c, sample_hdr(INFORMATIONAL, false, 7), fill_info_error);
}

/* HDR, SKF{frag 2 of 3} (RFC 7383 2.5): only the first names the inner type. */
static inline int sample_skf(uint8_t *buf, size_t cap)
{
    struct ike_msg_builder mb;
    struct ike_hdr h = sample_hdr(IKE_AUTH, false, 1);
    uint8_t data[40];
    sample_fill(data, sizeof(data), 17);
    ike_mb_init(&mb, buf, cap, &h);
    ike_mb_begin(&mb, IKE_PL_SKF, false);
    ike_write_u16(&mb.w, 2);
    ike_write_u16(&mb.w, 3);
    ike_write_bytes(&mb.w, data, sizeof(data));
    ike_mb_end(&mb);
    return ike_mb_finish(&mb);
}

struct sample_msg {
    const char *name;
    int (*build)(uint8_t *buf, size_t cap);
};

__attribute__((unused)) static const struct sample_msg sample_msgs[] = {
    {"sa_init_req", sample_sa_init_req},
    {"sa_init_resp", sample_sa_init_resp},
    {"cookie_resp", sample_cookie_resp},
    {"auth_req", sample_auth_req},
    {"auth_resp", sample_auth_resp},
    {"child_rekey_req", sample_child_req},
    {"ike_rekey_resp", sample_ike_rekey_resp},
    {"info_delete", sample_info_delete},
    {"info_delete_ike", sample_info_delete_ike},
    {"info_cp_resp", sample_info_cp_resp},
    {"info_error", sample_info_error},
    {"skf", sample_skf},
};
#define SAMPLE_MSGS_N (sizeof(sample_msgs) / sizeof(sample_msgs[0]))

#endif /* SAMPLE_MSGS_H */
