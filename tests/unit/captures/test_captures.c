/*
 * test_captures.c: rekeyd's codec, key schedule and SK payload code against
 * real IKEv2 messages two strongSwan 5.9.8 charons exchanged
 * (tests/data/strongswan, made by interop/capture/strongswan-pair.sh).
 *
 * Every expectation comes from outside our code: charon's logged keys
 * (keys.txt), charon's own summary of each message (charon-initiator.txt),
 * and the configuration the captures were made with (CASES below). Nothing
 * here computes an expected value with the function it tests.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture_data.h"
#include "ck_main.h"
#include "ike/crypto.h"
#include "ike/err.h"
#include "ike/keys.h"
#include "ike/wire.h"

/* What each case was configured with (see the README of the data). */
struct cap_case {
    const char *name;
    size_t n_msgs;
    uint16_t encr, encr_bits, integ, prf, dh; /* the IKE SA */
    uint16_t dh_first;                        /* group of the first KE sent */
    uint16_t esp_encr, esp_bits, esp_integ;   /* the Child SAs */
    uint16_t pfs_dh;                          /* KE group of the Child rekey, 0 = none */
    bool child_rekey, ike_rekey;
};

static const struct cap_case CASES[] = {
    {"a", 14, ENCR_AES_GCM_16, 256, AUTH_NONE, PRF_HMAC_SHA2_256, CURVE25519, CURVE25519,
     ENCR_AES_GCM_16, 256, AUTH_NONE, CURVE25519, true, true},
    {"b", 10, ENCR_AES_CBC, 256, AUTH_HMAC_SHA2_256_128, PRF_HMAC_SHA2_256, MODP_2048, MODP_2048,
     ENCR_AES_CBC, 256, AUTH_HMAC_SHA2_256_128, 0, true, false},
    {"c", 12, ENCR_AES_CBC, 128, AUTH_HMAC_SHA2_256_128, PRF_HMAC_SHA2_256, ECP_256, MODP_2048,
     ENCR_AES_CBC, 128, AUTH_HMAC_SHA2_256_128, 0, false, true},
};
#define N_CASES ((int)(sizeof CASES / sizeof CASES[0]))

#define TS_I_NET 0x0a630100u /* 10.99.1.0/24: initiator's protected subnet */
#define TS_R_NET 0x0a630200u /* 10.99.2.0/24 */

struct cap_msg {
    char file[64];
    uint8_t buf[CAP_MAX_MSG_LEN];
    size_t len;
    struct ike_hdr h;
    struct ike_payload_list outer;
    bool opened;
    uint8_t plain[CAP_MAX_MSG_LEN];
    size_t plain_len;
    struct ike_payload_list inner;
};

/* One case, loaded. Key set 0 is the initial IKE SA, 1 the rekeyed one. */
struct cap {
    const struct cap_case *cc;
    const struct ike_crypto_ops *ops;
    struct cap_keys keys;
    struct cap_summary sum[CAP_MAX_MSGS];
    size_t n;
    struct cap_msg m[CAP_MAX_MSGS];
    uint8_t spi_i[2][IKE_SPI_LEN], spi_r[2][IKE_SPI_LEN];
    struct ike_sa_keys sa[2];
    bool have_rekey;
};

static struct cap *C;

static void teardown(void)
{
    if (C != NULL) {
        ike_sa_keys_clear(&C->sa[0]);
        ike_sa_keys_clear(&C->sa[1]);
        free(C);
        C = NULL;
    }
}

static void load_msg(struct cap_msg *m, size_t i)
{
    cap_msg_file(m->file, sizeof m->file, i, &C->sum[i]);
    m->len = cap_load_hex(C->cc->name, m->file, m->buf, sizeof m->buf);
    int rc = ike_hdr_decode(m->buf, m->len, &m->h);
    ck_assert_msg(rc == IKE_OK, "%s: header: %s", m->file, ike_err_str(rc));
    uint8_t bad = 0;
    rc = ike_payloads_decode(m->h.next_payload, m->buf + IKE_HDR_LEN, m->len - IKE_HDR_LEN,
                             &m->outer, &bad);
    ck_assert_msg(rc == IKE_OK, "%s: payload chain: %s", m->file, ike_err_str(rc));
}

/* Load a case: summaries, messages (header + outer chain), keys. */
static void load(int idx)
{
    teardown();
    C = calloc(1, sizeof *C);
    ck_assert(C != NULL);
    C->cc = &CASES[idx];
    C->ops = ike_crypto_openssl();
    C->n = cap_summary_load(C->cc->name, C->sum, CAP_MAX_MSGS);
    ck_assert_uint_eq(C->n, C->cc->n_msgs);
    for (size_t i = 0; i < C->n; i++)
        load_msg(&C->m[i], i);
    cap_keys_load(C->cc->name, &C->keys);
    const struct cap_kv *si = cap_key(&C->keys, "spi_i"), *sr = cap_key(&C->keys, "spi_r");
    ck_assert(si->len == IKE_SPI_LEN && sr->len == IKE_SPI_LEN);
    memcpy(C->spi_i[0], si->v, IKE_SPI_LEN);
    memcpy(C->spi_r[0], sr->v, IKE_SPI_LEN);
}

static void be64(uint64_t v, uint8_t out[8])
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)v;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void assert_bytes(const uint8_t *got, size_t got_len, const struct cap_kv *want,
                         const char *what)
{
    ck_assert_msg(got_len == want->len && memcmp(got, want->v, got_len) == 0,
                  "case %s: %s differs from charon's %s (%zu vs %zu bytes)", C->cc->name, what,
                  want->name, got_len, want->len);
}

static void assert_key(const struct ike_key *k, const char *name)
{
    const struct cap_kv *want = cap_key_opt(&C->keys, name);
    if (want == NULL) { /* charon logs no SK_a* for AEAD */
        ck_assert_msg(k->len == 0, "case %s: %s should be empty", C->cc->name, name);
        return;
    }
    assert_bytes(k->b, k->len, want, name);
}

static struct ike_sa_key_lens key_lens(void)
{
    struct ike_sa_key_lens l = {.prf_id = C->cc->prf};
    struct ike_encr_info e;
    ck_assert_int_eq(ike_alg_encr(C->cc->encr, C->cc->encr_bits, &e), IKE_OK);
    l.encr_len = e.key_len;
    if (!e.aead) {
        struct ike_integ_info in;
        ck_assert_int_eq(ike_alg_integ(C->cc->integ, &in), IKE_OK);
        l.integ_len = in.key_len;
    }
    int pl = ike_alg_prf_len(C->cc->prf);
    ck_assert_int_gt(pl, 0);
    l.prf_len = (size_t)pl;
    return l;
}

/* The initial IKE SA's keys, from charon's g^ir, nonces and SPIs. */
static void derive_ike_sa(void)
{
    struct ike_sa_key_lens l = key_lens();
    const struct cap_kv *g = cap_key(&C->keys, "g_ir"), *ni = cap_key(&C->keys, "ni"),
                        *nr = cap_key(&C->keys, "nr");
    int rc = ike_keys_ike_sa(C->ops, &l, g->v, g->len, ni->v, ni->len, nr->v, nr->len, C->spi_i[0],
                             C->spi_r[0], &C->sa[0]);
    ck_assert_msg(rc == IKE_OK, "ike_keys_ike_sa: %s", ike_err_str(rc));
}

/* Which key set protects a message: by the SPIs in its header. */
static int key_set(const struct cap_msg *m)
{
    uint8_t si[8], sr[8];
    be64(m->h.spi_i, si);
    be64(m->h.spi_r, sr);
    for (int s = 0; s < 2; s++)
        if (memcmp(si, C->spi_i[s], 8) == 0 && memcmp(sr, C->spi_r[s], 8) == 0)
            return s;
    return -1;
}

static struct ike_sk_params sk_params(int set, bool from_initiator)
{
    struct ike_sk_params sp;
    memset(&sp, 0, sizeof sp);
    ck_assert_int_eq(ike_alg_encr(C->cc->encr, C->cc->encr_bits, &sp.encr), IKE_OK);
    if (!sp.encr.aead)
        ck_assert_int_eq(ike_alg_integ(C->cc->integ, &sp.integ), IKE_OK);
    else
        sp.integ.id = AUTH_NONE;
    sp.key_e = from_initiator ? &C->sa[set].sk_ei : &C->sa[set].sk_er;
    sp.key_a = from_initiator ? &C->sa[set].sk_ai : &C->sa[set].sk_ar;
    return sp;
}

/* Offset of the SK payload's IV: the end of the AAD (RFC 5282 5.1). */
static size_t sk_aad_len(const struct cap_msg *m)
{
    ck_assert_msg(m->outer.n >= 1 && m->outer.pl[m->outer.n - 1].type == IKE_PL_SK,
                  "%s: no SK payload", m->file);
    return (size_t)(m->outer.pl[m->outer.n - 1].body.p - m->buf);
}

static void open_msg(struct cap_msg *m, int set)
{
    struct ike_sk_params sp = sk_params(set, (m->h.flags & IKE_FLAG_INITIATOR) != 0);
    int rc = C->ops->sk_open(&sp, m->buf, m->len, sk_aad_len(m), m->plain, sizeof m->plain,
                             &m->plain_len);
    ck_assert_msg(rc == IKE_OK, "case %s: %s: sk_open: %s", C->cc->name, m->file, ike_err_str(rc));
    uint8_t bad = 0;
    rc = ike_payloads_decode(m->outer.sk_inner_first, m->plain, m->plain_len, &m->inner, &bad);
    ck_assert_msg(rc == IKE_OK, "%s: inner chain: %s", m->file, ike_err_str(rc));
    m->opened = true;
}

static const struct ike_payload *need(const struct ike_payload_list *l, uint8_t type,
                                      const char *file)
{
    const struct ike_payload *p = ike_payload_find(l, type, 0);
    ck_assert_msg(p != NULL, "%s: no %s payload", file, ike_payload_name(type));
    return p;
}

static void decode_sa(const struct cap_msg *m, const struct ike_payload_list *l,
                      struct ike_sa_payload *sa)
{
    int rc = ike_sa_decode(need(l, IKE_PL_SA, m->file)->body, sa);
    ck_assert_msg(rc == IKE_OK, "%s: SA: %s", m->file, ike_err_str(rc));
}

static struct ike_view nonce(const struct cap_msg *m, const struct ike_payload_list *l)
{
    struct ike_view v;
    int rc = ike_nonce_decode(need(l, IKE_PL_NONCE, m->file)->body, &v);
    ck_assert_msg(rc == IKE_OK, "%s: Nonce: %s", m->file, ike_err_str(rc));
    return v;
}

/* The IKE rekey: new SPIs from the SA payloads, nonces, then the keys
 * (2.18) from the OLD SA's SK_d and charon's new g^ir. */
static void derive_rekey(const struct cap_msg *req, const struct cap_msg *resp)
{
    struct ike_sa_payload sa_i, sa_r;
    decode_sa(req, &req->inner, &sa_i);
    decode_sa(resp, &resp->inner, &sa_r);
    ck_assert(sa_i.p[0].proto == IKE_PROTO_IKE && sa_i.p[0].spi_size == IKE_SPI_LEN);
    ck_assert(sa_r.n_proposals == 1 && sa_r.p[0].spi_size == IKE_SPI_LEN);
    memcpy(C->spi_i[1], sa_i.p[0].spi, IKE_SPI_LEN);
    memcpy(C->spi_r[1], sa_r.p[0].spi, IKE_SPI_LEN);
    struct ike_view ni = nonce(req, &req->inner), nr = nonce(resp, &resp->inner);
    struct ike_sa_key_lens l = key_lens();
    const struct cap_kv *g = cap_key(&C->keys, "rekey.g_ir");
    int rc = ike_keys_ike_rekey(C->ops, C->cc->prf, &C->sa[0].sk_d, &l, g->v, g->len, ni.p, ni.len,
                                nr.p, nr.len, C->spi_i[1], C->spi_r[1], &C->sa[1]);
    ck_assert_msg(rc == IKE_OK, "ike_keys_ike_rekey: %s", ike_err_str(rc));
    C->have_rekey = true;
}

static bool is_ike_rekey(const struct cap_msg *m)
{
    if (m->h.exchange != CREATE_CHILD_SA || !m->opened)
        return false;
    const struct ike_payload *p = ike_payload_find(&m->inner, IKE_PL_SA, 0);
    struct ike_sa_payload sa;
    return p != NULL && ike_sa_decode(p->body, &sa) == IKE_OK && sa.n_proposals > 0 &&
           sa.p[0].proto == IKE_PROTO_IKE;
}

/* Load, derive, and open every encrypted message in capture order,
 * switching to the rekeyed SA's keys when its SPIs appear. */
static void load_open(int idx)
{
    load(idx);
    derive_ike_sa();
    for (size_t i = 0; i < C->n; i++) {
        struct cap_msg *m = &C->m[i];
        if (m->h.exchange == IKE_SA_INIT)
            continue;
        int set = key_set(m);
        ck_assert_msg(set >= 0, "case %s: %s: SPIs of no known IKE SA", C->cc->name, m->file);
        open_msg(m, set);
        if (i > 0 && (m->h.flags & IKE_FLAG_RESPONSE) && is_ike_rekey(m))
            derive_rekey(&C->m[i - 1], m);
    }
    ck_assert(C->have_rekey == C->cc->ike_rekey);
}

static const struct cap_msg *find_msg(uint8_t exchange, bool response, size_t nth)
{
    for (size_t i = 0; i < C->n; i++)
        if (C->m[i].h.exchange == exchange &&
            ((C->m[i].h.flags & IKE_FLAG_RESPONSE) != 0) == response && nth-- == 0)
            return &C->m[i];
    ck_abort_msg("case %s: no %s %s #%zu", C->cc->name, ike_exchange_name(exchange),
                 response ? "response" : "request", nth);
    return NULL;
}

/* A chain must hold exactly the payloads (and Notify types) charon says. */
static void assert_chain(const struct cap_msg *m, const struct ike_payload_list *l,
                         const struct cap_summary *s)
{
    ck_assert_msg(l->n == s->n, "case %s: %s: %zu payloads, charon says %zu", C->cc->name, m->file,
                  l->n, s->n);
    for (size_t i = 0; i < l->n; i++) {
        ck_assert_msg(l->pl[i].type == s->types[i], "%s: payload %zu is %s, charon says %s",
                      m->file, i, ike_payload_name(l->pl[i].type), ike_payload_name(s->types[i]));
        if (s->types[i] != IKE_PL_NOTIFY)
            continue;
        struct ike_notify_payload n;
        ck_assert_int_eq(ike_notify_decode(l->pl[i].body, &n), IKE_OK);
        ck_assert_msg(n.type == s->notify[i], "%s: notify %zu is %u, charon says %u", m->file, i,
                      n.type, s->notify[i]);
    }
}

/* ---- (1) headers and outer chains ---- */

START_TEST(headers_and_outer_chains)
{
    load(_i);
    for (size_t i = 0; i < C->n; i++) {
        const struct cap_msg *m = &C->m[i];
        const struct cap_summary *s = &C->sum[i];
        bool resp = (m->h.flags & IKE_FLAG_RESPONSE) != 0;
        ck_assert_uint_eq(m->h.version, IKE_VERSION_2);
        ck_assert_uint_eq(m->h.length, m->len);
        ck_assert_msg(m->h.exchange == s->exchange && resp == s->response &&
                          m->h.msg_id == s->msg_id,
                      "%s: header disagrees with charon's summary", m->file);
        /* Every request here comes from the original initiator. */
        ck_assert_msg(((m->h.flags & IKE_FLAG_INITIATOR) != 0) == !resp, "%s: I flag", m->file);
        if (m->h.exchange == IKE_SA_INIT) {
            assert_chain(m, &m->outer, s);
        } else {
            ck_assert_msg(m->outer.n == 1 && m->outer.pl[0].type == IKE_PL_SK,
                          "%s: outer chain is not just SK", m->file);
            ck_assert_uint_eq(m->outer.sk_inner_first, s->n ? s->types[0] : IKE_PL_NONE);
        }
        int rc = ike_payload_rules_check(m->h.exchange, resp ? IKE_MSG_RESPONSE : IKE_MSG_REQUEST,
                                         &m->outer, NULL);
        ck_assert_msg(rc == IKE_OK, "case %s: %s: rules (outer): %s", C->cc->name, m->file,
                      ike_err_str(rc));
    }
}
END_TEST

static void check_init_sa(const struct cap_msg *m, bool resp, uint16_t dh_extra)
{
    struct ike_sa_payload sa;
    decode_sa(m, &m->outer, &sa);
    ck_assert_uint_eq(sa.n_proposals, 1);
    const struct ike_proposal *p = &sa.p[0];
    ck_assert(p->num == 1 && p->proto == IKE_PROTO_IKE && p->spi_size == 0);
    const struct cap_case *cc = C->cc;
    struct ike_transform want[6] = {
        {IKE_TRANSFORM_ENCR, cc->encr, cc->encr_bits},
        {IKE_TRANSFORM_PRF, cc->prf, 0},
        {IKE_TRANSFORM_DH, resp || !dh_extra ? cc->dh : dh_extra, 0},
    };
    size_t nw = 3;
    if (cc->integ != AUTH_NONE)
        want[nw++] = (struct ike_transform){IKE_TRANSFORM_INTEG, cc->integ, 0};
    if (!resp && dh_extra)
        want[nw++] = (struct ike_transform){IKE_TRANSFORM_DH, cc->dh, 0};
    ck_assert_msg(p->n_transforms == nw, "%s: %u transforms, want %zu", m->file, p->n_transforms,
                  nw);
    for (size_t w = 0; w < nw; w++) {
        bool found = false;
        for (size_t t = 0; t < p->n_transforms; t++)
            found |= p->t[t].type == want[w].type && p->t[t].id == want[w].id &&
                     p->t[t].keylen == want[w].keylen;
        ck_assert_msg(found, "%s: no transform %s", m->file,
                      ike_transform_name(want[w].type, want[w].id));
    }
}

static void check_ke(const struct cap_msg *m, uint16_t group)
{
    struct ike_ke_payload ke;
    ck_assert_int_eq(ike_ke_decode(need(&m->outer, IKE_PL_KE, m->file)->body, &ke), IKE_OK);
    ck_assert_uint_eq(ke.group, group);
    ck_assert_int_eq((int)ke.data.len, ike_alg_dh_len(group));
}

/* In case c the first request's KE is for MODP-2048; the responder wants
 * ECP-256 and says so (1.2, 3.10.1: data = the accepted group). */
static void check_invalid_ke_round(void)
{
    const struct cap_msg *req = find_msg(IKE_SA_INIT, false, 0);
    const struct cap_msg *resp = find_msg(IKE_SA_INIT, true, 0);
    check_init_sa(req, false, C->cc->dh_first);
    check_ke(req, C->cc->dh_first);
    ck_assert_uint_eq(resp->h.spi_r, 0);
    ck_assert_uint_eq(resp->outer.n, 1);
    struct ike_notify_payload n;
    ck_assert_int_eq(ike_notify_decode(resp->outer.pl[0].body, &n), IKE_OK);
    ck_assert_uint_eq(n.type, IKE_N_INVALID_KE_PAYLOAD);
    ck_assert_uint_eq(n.data.len, 2);
    ck_assert_uint_eq(((unsigned)n.data.p[0] << 8) | n.data.p[1], C->cc->dh);
    const struct cap_msg *retry = find_msg(IKE_SA_INIT, false, 1);
    ck_assert_uint_eq(retry->h.spi_i, req->h.spi_i);
}

START_TEST(ike_sa_init_values)
{
    load(_i);
    size_t last = C->cc->dh_first != C->cc->dh ? 1 : 0;
    if (last)
        check_invalid_ke_round();
    const struct cap_msg *req = find_msg(IKE_SA_INIT, false, last);
    const struct cap_msg *resp = find_msg(IKE_SA_INIT, true, last);
    check_init_sa(req, false, C->cc->dh_first != C->cc->dh ? C->cc->dh_first : 0);
    check_init_sa(resp, true, 0);
    check_ke(req, C->cc->dh);
    check_ke(resp, C->cc->dh);
    struct ike_view ni = nonce(req, &req->outer), nr = nonce(resp, &resp->outer);
    assert_bytes(ni.p, ni.len, cap_key(&C->keys, "ni"), "Ni");
    assert_bytes(nr.p, nr.len, cap_key(&C->keys, "nr"), "Nr");
    uint8_t si[8], sr[8];
    be64(resp->h.spi_i, si);
    be64(resp->h.spi_r, sr);
    assert_bytes(si, 8, cap_key(&C->keys, "spi_i"), "SPIi");
    assert_bytes(sr, 8, cap_key(&C->keys, "spi_r"), "SPIr");
    ck_assert_uint_eq(req->h.spi_r, 0);
    ck_assert_uint_eq(req->h.msg_id, 0);
}
END_TEST

/* ---- (2) the key schedule against charon's keys ---- */

static void assert_sa_keys(const struct ike_sa_keys *k, const char *prefix)
{
    static const char *const names[] = {"sk_d",  "sk_ai", "sk_ar", "sk_ei",
                                        "sk_er", "sk_pi", "sk_pr"};
    const struct ike_key *keys[] = {&k->sk_d,  &k->sk_ai, &k->sk_ar, &k->sk_ei,
                                    &k->sk_er, &k->sk_pi, &k->sk_pr};
    for (size_t i = 0; i < 7; i++) {
        char name[48];
        snprintf(name, sizeof name, "%s%s", prefix, names[i]);
        assert_key(keys[i], name);
    }
}

START_TEST(ike_sa_keys_match_charon)
{
    load(_i);
    /* SKEYSEED = prf(Ni | Nr, g^ir) (2.14), through the ops table. */
    const struct cap_kv *g = cap_key(&C->keys, "g_ir"), *ni = cap_key(&C->keys, "ni"),
                        *nr = cap_key(&C->keys, "nr");
    uint8_t key[2 * IKE_NONCE_MAX], seed[64];
    memcpy(key, ni->v, ni->len);
    memcpy(key + ni->len, nr->v, nr->len);
    struct ike_iov data = {g->v, g->len};
    ck_assert_int_eq(C->ops->prf(C->cc->prf, key, ni->len + nr->len, &data, 1, seed), IKE_OK);
    assert_bytes(seed, (size_t)ike_alg_prf_len(C->cc->prf), cap_key(&C->keys, "skeyseed"),
                 "SKEYSEED");
    derive_ike_sa();
    assert_sa_keys(&C->sa[0], "");
}
END_TEST

/* ---- (3) decryption and the inner chains ---- */

START_TEST(open_all_and_inner_chains)
{
    load_open(_i);
    size_t opened = 0;
    for (size_t i = 0; i < C->n; i++) {
        const struct cap_msg *m = &C->m[i];
        if (!m->opened)
            continue;
        opened++;
        assert_chain(m, &m->inner, &C->sum[i]);
        bool resp = (m->h.flags & IKE_FLAG_RESPONSE) != 0;
        int rc = ike_payload_rules_check(m->h.exchange, resp ? IKE_MSG_RESPONSE : IKE_MSG_REQUEST,
                                         &m->outer, &m->inner);
        ck_assert_msg(rc == IKE_OK, "case %s: %s: rules (inner): %s", C->cc->name, m->file,
                      ike_err_str(rc));
    }
    size_t init = C->cc->dh_first != C->cc->dh ? 4 : 2;
    ck_assert_uint_eq(opened, C->n - init);
}
END_TEST

START_TEST(ike_rekey_keys_match_charon)
{
    load_open(_i);
    assert_sa_keys(&C->sa[1], "rekey.");
    /* SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) (2.18). */
    const struct cap_msg *req = NULL, *resp = NULL;
    for (size_t i = 1; i < C->n; i++)
        if (is_ike_rekey(&C->m[i]) && (C->m[i].h.flags & IKE_FLAG_RESPONSE))
            req = &C->m[i - 1], resp = &C->m[i];
    ck_assert(req != NULL);
    struct ike_view ni = nonce(req, &req->inner), nr = nonce(resp, &resp->inner);
    const struct cap_kv *g = cap_key(&C->keys, "rekey.g_ir");
    struct ike_iov data[3] = {{g->v, g->len}, {ni.p, ni.len}, {nr.p, nr.len}};
    uint8_t seed[64];
    ck_assert_int_eq(C->ops->prf(C->cc->prf, C->sa[0].sk_d.b, C->sa[0].sk_d.len, data, 3, seed),
                     IKE_OK);
    assert_bytes(seed, (size_t)ike_alg_prf_len(C->cc->prf), cap_key(&C->keys, "rekey.skeyseed"),
                 "rekey SKEYSEED");
    /* The Delete of the old IKE SA: protocol IKE, no SPIs (3.11). */
    const struct cap_msg *del = resp + 1;
    ck_assert_int_eq(key_set(del), 0);
    struct ike_delete_payload d;
    ck_assert_int_eq(ike_delete_decode(need(&del->inner, IKE_PL_DELETE, del->file)->body, &d),
                     IKE_OK);
    ck_assert(d.proto == IKE_PROTO_IKE && d.spi_size == 0 && d.n_spi == 0);
    /* The last exchange runs on the new SA with message IDs from 0. */
    ck_assert_int_eq(key_set(&C->m[C->n - 1]), 1);
    ck_assert_uint_eq(C->m[C->n - 1].h.msg_id, 0);
}
END_TEST

static void check_id(const struct cap_msg *m, uint8_t type, const char *key)
{
    struct ike_id_payload id;
    ck_assert_int_eq(ike_id_decode(need(&m->inner, type, m->file)->body, &id), IKE_OK);
    ck_assert_uint_eq(id.type, ID_FQDN);
    assert_bytes(id.data.p, id.data.len, cap_key(&C->keys, key), key);
}

static void check_ts(const struct cap_msg *m, uint8_t type, uint32_t net)
{
    struct ike_ts_payload ts;
    ck_assert_int_eq(ike_ts_decode(need(&m->inner, type, m->file)->body, &ts), IKE_OK);
    ck_assert_uint_eq(ts.n, 1);
    ck_assert_uint_eq(ts.ts[0].type, TS_IPV4_ADDR_RANGE);
    ck_assert(ts.ts[0].ip_proto == 0 && ts.ts[0].start_port == 0 && ts.ts[0].end_port == 65535);
    ck_assert_uint_eq(be32(ts.ts[0].start_addr), net);
    ck_assert_uint_eq(be32(ts.ts[0].end_addr), net | 0xff);
}

/* The ESP proposal a Child SA exchange carries; returns the sender's SPI. */
static uint32_t check_esp_sa(const struct cap_msg *m, bool with_ke)
{
    struct ike_sa_payload sa;
    decode_sa(m, &m->inner, &sa);
    ck_assert_uint_ge(sa.n_proposals, 1);
    const struct ike_proposal *p = &sa.p[0];
    ck_assert(p->proto == IKE_PROTO_ESP && p->spi_size == IKE_CHILD_SPI_LEN);
    size_t want = 2 + (C->cc->esp_integ != AUTH_NONE) + (with_ke ? 1 : 0);
    ck_assert_uint_eq(p->n_transforms, want);
    for (size_t t = 0; t < p->n_transforms; t++) {
        const struct ike_transform *x = &p->t[t];
        if (x->type == IKE_TRANSFORM_ENCR)
            ck_assert(x->id == C->cc->esp_encr && x->keylen == C->cc->esp_bits);
        else if (x->type == IKE_TRANSFORM_INTEG)
            ck_assert_uint_eq(x->id, C->cc->esp_integ);
        else if (x->type == IKE_TRANSFORM_DH)
            ck_assert(with_ke && x->id == C->cc->pfs_dh);
        else
            ck_assert(x->type == IKE_TRANSFORM_ESN && x->id == ESN_NO);
    }
    return be32(p->spi);
}

/* AUTH = prf(prf(PSK, "Key Pad for IKEv2"), <SignedOctets>) (2.15), with
 * SignedOctets = RealMessage | Nonce of the peer | prf(SK_p, ID'). */
static void check_psk_auth(const struct cap_msg *m, const struct cap_msg *init_msg,
                           const struct ike_view peer_nonce, const struct ike_key *sk_p,
                           uint8_t id_type)
{
    const struct ike_payload *idp = need(&m->inner, id_type, m->file);
    int plen = ike_alg_prf_len(C->cc->prf);
    uint8_t macid[64], pad_key[64], want[64];
    struct ike_iov id_iov = {idp->body.p, idp->body.len};
    ck_assert_int_eq(C->ops->prf(C->cc->prf, sk_p->b, sk_p->len, &id_iov, 1, macid), IKE_OK);
    const struct cap_kv *psk = cap_key(&C->keys, "psk");
    static const char pad[] = "Key Pad for IKEv2";
    struct ike_iov pad_iov = {(const uint8_t *)pad, sizeof pad - 1};
    ck_assert_int_eq(C->ops->prf(C->cc->prf, psk->v, psk->len, &pad_iov, 1, pad_key), IKE_OK);
    struct ike_iov signed_octets[3] = {
        {init_msg->buf, init_msg->len}, {peer_nonce.p, peer_nonce.len}, {macid, (size_t)plen}};
    ck_assert_int_eq(C->ops->prf(C->cc->prf, pad_key, (size_t)plen, signed_octets, 3, want),
                     IKE_OK);
    struct ike_auth_payload a;
    ck_assert_int_eq(ike_auth_decode(need(&m->inner, IKE_PL_AUTH, m->file)->body, &a), IKE_OK);
    ck_assert_uint_eq(a.method, IKE_AUTH_SHARED_KEY_MIC);
    ck_assert_msg(a.data.len == (size_t)plen && memcmp(a.data.p, want, (size_t)plen) == 0,
                  "case %s: %s: AUTH does not verify", C->cc->name, m->file);
}

START_TEST(ike_auth_payloads)
{
    load_open(_i);
    size_t last = C->cc->dh_first != C->cc->dh ? 1 : 0;
    const struct cap_msg *ireq = find_msg(IKE_SA_INIT, false, last);
    const struct cap_msg *iresp = find_msg(IKE_SA_INIT, true, last);
    const struct cap_msg *req = find_msg(IKE_AUTH, false, 0);
    const struct cap_msg *resp = find_msg(IKE_AUTH, true, 0);
    check_id(req, IKE_PL_IDI, "id_i");
    check_id(req, IKE_PL_IDR, "id_r");
    check_id(resp, IKE_PL_IDR, "id_r");
    check_ts(req, IKE_PL_TSI, TS_I_NET);
    check_ts(req, IKE_PL_TSR, TS_R_NET);
    check_ts(resp, IKE_PL_TSI, TS_I_NET);
    check_ts(resp, IKE_PL_TSR, TS_R_NET);
    /* 1.2: the Child SA of IKE_AUTH never carries a KE transform. */
    check_esp_sa(req, false);
    check_esp_sa(resp, false);
    check_psk_auth(req, ireq, nonce(iresp, &iresp->outer), &C->sa[0].sk_pi, IKE_PL_IDI);
    check_psk_auth(resp, iresp, nonce(ireq, &ireq->outer), &C->sa[0].sk_pr, IKE_PL_IDR);
}
END_TEST

static void assert_child_keys(const struct ike_child_keys *k, const char *prefix)
{
    char name[48];
    const struct {
        const struct ike_key *k;
        const char *n;
    } want[] = {{&k->encr_i, "encr_i"},
                {&k->encr_r, "encr_r"},
                {&k->integ_i, "integ_i"},
                {&k->integ_r, "integ_r"}};
    for (size_t i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "%s%s", prefix, want[i].n);
        assert_key(want[i].k, name);
    }
}

/* KEYMAT = prf+(SK_d, [g^ir |] Ni | Nr) (2.17) against charon's keys, and
 * charon's logged prf+ seed against the nonces we decoded. */
static void check_child_keys(const char *prefix, const struct ike_key *sk_d, struct ike_view ni,
                             struct ike_view nr)
{
    char name[48];
    snprintf(name, sizeof name, "%sg_ir", prefix);
    const struct cap_kv *g = cap_key_opt(&C->keys, name);
    snprintf(name, sizeof name, "%sseed", prefix);
    const struct cap_kv *seed = cap_key(&C->keys, name);
    size_t glen = g ? g->len : 0;
    ck_assert_uint_eq(seed->len, glen + ni.len + nr.len);
    ck_assert(g == NULL || memcmp(seed->v, g->v, glen) == 0);
    ck_assert_msg(memcmp(seed->v + glen, ni.p, ni.len) == 0 &&
                      memcmp(seed->v + glen + ni.len, nr.p, nr.len) == 0,
                  "case %s: %s: decoded nonces differ from charon's seed", C->cc->name, prefix);
    struct ike_encr_info e;
    ck_assert_int_eq(ike_alg_encr(C->cc->esp_encr, C->cc->esp_bits, &e), IKE_OK);
    struct ike_integ_info in = {0};
    if (!e.aead)
        ck_assert_int_eq(ike_alg_integ(C->cc->esp_integ, &in), IKE_OK);
    struct ike_child_keys k;
    memset(&k, 0, sizeof k);
    int rc = ike_keys_child(C->ops, C->cc->prf, sk_d, g ? g->v : NULL, glen, ni.p, ni.len, nr.p,
                            nr.len, e.key_len, in.key_len, &k);
    ck_assert_msg(rc == IKE_OK, "ike_keys_child: %s", ike_err_str(rc));
    assert_child_keys(&k, prefix);
    ike_child_keys_clear(&k);
}

START_TEST(child_keys_match_charon)
{
    load_open(_i);
    size_t last = C->cc->dh_first != C->cc->dh ? 1 : 0;
    const struct cap_msg *ireq = find_msg(IKE_SA_INIT, false, last);
    const struct cap_msg *iresp = find_msg(IKE_SA_INIT, true, last);
    check_child_keys("child1.", &C->sa[0].sk_d, nonce(ireq, &ireq->outer),
                     nonce(iresp, &iresp->outer));
}
END_TEST

/* Child rekey (1.3.3): N(REKEY_SA) names the old SA by the SPI the
 * initiator chose for it; afterwards each side deletes its inbound SPI. */
START_TEST(child_rekey_and_delete)
{
    load_open(_i);
    uint32_t spi_i = check_esp_sa(find_msg(IKE_AUTH, false, 0), false);
    uint32_t spi_r = check_esp_sa(find_msg(IKE_AUTH, true, 0), false);
    const struct cap_msg *req = find_msg(CREATE_CHILD_SA, false, 0);
    const struct cap_msg *resp = find_msg(CREATE_CHILD_SA, true, 0);
    struct ike_notify_payload n;
    ck_assert_int_eq(ike_notify_decode(need(&req->inner, IKE_PL_NOTIFY, req->file)->body, &n),
                     IKE_OK);
    ck_assert(n.type == IKE_N_REKEY_SA && n.proto == IKE_PROTO_ESP && n.spi_size == 4);
    ck_assert_uint_eq(be32(n.spi.p), spi_i);
    bool pfs = C->cc->pfs_dh != 0;
    ck_assert(check_esp_sa(req, pfs) != spi_i);
    check_esp_sa(resp, pfs);
    ck_assert(!pfs == !ike_payload_find(&req->inner, IKE_PL_KE, 0));
    check_child_keys("child2.", &C->sa[0].sk_d, nonce(req, &req->inner), nonce(resp, &resp->inner));
    uint32_t want[2] = {spi_i, spi_r};
    for (int r = 0; r < 2; r++) {
        const struct cap_msg *m = find_msg(INFORMATIONAL, r == 1, 0);
        struct ike_delete_payload d;
        ck_assert_int_eq(ike_delete_decode(need(&m->inner, IKE_PL_DELETE, m->file)->body, &d),
                         IKE_OK);
        ck_assert(d.proto == IKE_PROTO_ESP && d.spi_size == 4 && d.n_spi == 1);
        ck_assert_uint_eq(ike_delete_spi32(&d, 0), want[r]);
    }
}
END_TEST

/* ---- tampering: the checks above can fail ---- */

START_TEST(tampered_or_wrong_key_fails)
{
    load_open(_i);
    const struct cap_msg *m = find_msg(IKE_AUTH, false, 0);
    static uint8_t buf[CAP_MAX_MSG_LEN], plain[CAP_MAX_MSG_LEN];
    size_t aad = sk_aad_len(m), plain_len = 0;
    struct ike_sk_params good = sk_params(0, true), wrong = sk_params(0, false);
    size_t spots[] = {aad + 20, m->len - 1, 20 /* header: part of the ICV/AAD input */};
    for (size_t s = 0; s < 3; s++) {
        memcpy(buf, m->buf, m->len);
        buf[spots[s]] ^= 0x01;
        ck_assert_int_eq(C->ops->sk_open(&good, buf, m->len, aad, plain, sizeof plain, &plain_len),
                         IKE_ERR_INTEGRITY);
    }
    ck_assert_int_ne(C->ops->sk_open(&wrong, m->buf, m->len, aad, plain, sizeof plain, &plain_len),
                     IKE_OK);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("captures");
    TCase *tc = tcase_create("strongswan");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_loop_test(tc, headers_and_outer_chains, 0, N_CASES);
    tcase_add_loop_test(tc, ike_sa_init_values, 0, N_CASES);
    tcase_add_loop_test(tc, ike_sa_keys_match_charon, 0, N_CASES);
    tcase_add_loop_test(tc, open_all_and_inner_chains, 0, N_CASES);
    tcase_add_loop_test(tc, ike_auth_payloads, 0, N_CASES);
    tcase_add_loop_test(tc, child_keys_match_charon, 0, N_CASES);
    tcase_add_loop_test(tc, tampered_or_wrong_key_fails, 0, N_CASES);
    tcase_add_loop_test(tc, child_rekey_and_delete, 0, 2);      /* cases a, b */
    tcase_add_loop_test(tc, ike_rekey_keys_match_charon, 0, 1); /* case a */
    tcase_add_loop_test(tc, ike_rekey_keys_match_charon, 2, 3); /* case c */
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()
