/*
 * exchange_sa_init.c: IKE_SA_INIT (RFC 7296 1.2, 2.6, 2.7, 2.10, 2.23).
 *
 *   Initiator                         Responder
 *   HDR, [N(COOKIE),] SAi1, KEi, Ni,
 *        N(NAT_D_SRC), N(NAT_D_DST)  -->
 *                                <--  HDR, SAr1, KEr, Nr, N(NAT_D_SRC), N(NAT_D_DST)
 *   or                           <--  HDR, N(COOKIE)              (2.6, stateless)
 *   or                           <--  HDR, N(INVALID_KE_PAYLOAD)  (1.2, stateless)
 *   or                           <--  HDR, N(NO_PROPOSAL_CHOSEN)
 *
 * The responder keeps no state before it has chosen a proposal, checked the
 * KE group and (above the half-open threshold) a cookie. The exchange ends
 * with SKEYSEED and SK_* derived on both sides (keys.c).
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "ike/err.h"

#define MAX_INIT_RETRIES 4 /* COOKIE / INVALID_KE rounds before giving up */

/* Make a key pair for `group` with the private part from our random
 * callback (so a seeded engine is deterministic). */
int ike_ke_generate(struct ike_engine *e, uint16_t group, struct ike_ke **ke, uint8_t *pub,
                    size_t cap, size_t *pub_len)
{
    uint8_t seed[66];
    /* MODP private exponents: twice the group's strength (RFC 3526 table:
     * 2048 ~ 110 bits, 3072 ~ 130, 4096 ~ 150), not the prime's size,
     * which would only make exponentiation slower. */
    size_t n = group == MODP_2048 ? 32 : group == MODP_3072 ? 40 : 48;
    switch (group) {
    case CURVE25519:
        n = 32;
        break;
    case CURVE448:
        n = 56;
        break;
    case ECP_256:
        n = 32;
        break;
    case ECP_384:
        n = 48;
        break;
    case ECP_521:
        n = 66;
        break;
    }
    ike_random(e, seed, n);
    if (group == ECP_256 || group == ECP_384)
        seed[0] &= 0x7f; /* below the group order */
    if (group == ECP_521)
        seed[0] = 0;
    seed[n - 1] |= 1; /* never zero */
    int rc = e->c->ke_new(group, seed, n, ke, pub, cap, pub_len);
    ike_wipe(seed, sizeof(seed));
    return rc;
}

/* NAT detection data: SHA-1(SPIi | SPIr | IP | port) (2.23). */
static int nat_hash(struct ike_engine *e, uint64_t spi_i, uint64_t spi_r,
                    const struct ike_endpoint *ep, uint8_t out[20])
{
    uint8_t spis[16], port[2] = {(uint8_t)(ep->port >> 8), (uint8_t)ep->port};
    ike_put_be64(spis, spi_i);
    ike_put_be64(spis + 8, spi_r);
    struct ike_iov iov[3] = {
        {spis, 16}, {ep->addr.bytes, ep->addr.family == IKE_AF_INET ? 4u : 16u}, {port, 2}};
    if (!e->c->sha1)
        return IKE_ERR_UNSUPPORTED_ALG;
    return e->c->sha1(iov, 3, out);
}

static void add_nat_d(struct ike_engine *e, struct ike_msg_builder *mb, const struct ike_sa *sa,
                      uint64_t spi_r)
{
    uint8_t h[20];
    if (nat_hash(e, sa->spi_i, spi_r, &sa->local, h) == 0)
        ike_notify_encode(mb, 0, NULL, 0, IKE_N_NAT_DETECTION_SOURCE_IP, h, 20);
    if (nat_hash(e, sa->spi_i, spi_r, &sa->remote, h) == 0)
        ike_notify_encode(mb, 0, NULL, 0, IKE_N_NAT_DETECTION_DESTINATION_IP, h, 20);
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n);
    if (d)
        memcpy(d, p, n);
    return d;
}

/* SKEYSEED and SK_* from g^ir (2.14). */
static int derive_ike_keys(struct ike_engine *e, struct ike_sa *sa, const struct ike_secret *g)
{
    int rc = ike_alg_encr(sa->algs.encr, sa->algs.encr_keylen, &sa->encr);
    if (rc < 0)
        return rc;
    memset(&sa->integ, 0, sizeof(sa->integ));
    if (!sa->encr.aead && (rc = ike_alg_integ(sa->algs.integ, &sa->integ)) < 0)
        return rc;
    int prf_len = ike_alg_prf_len(sa->algs.prf);
    if (prf_len < 0)
        return prf_len;
    struct ike_sa_key_lens lens = {.prf_id = sa->algs.prf,
                                   .prf_len = (size_t)prf_len,
                                   .integ_len = sa->integ.key_len,
                                   .encr_len = sa->encr.key_len};
    uint8_t spi_i[8], spi_r[8];
    ike_put_be64(spi_i, sa->spi_i);
    ike_put_be64(spi_r, sa->spi_r);
    return ike_keys_ike_sa(e->c, &lens, g->p, g->len, sa->setup->nonce_i, sa->setup->nonce_i_len,
                           sa->setup->nonce_r, sa->setup->nonce_r_len, spi_i, spi_r, &sa->keys);
}

/* ---- initiator ---- */
int ike_init_start(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    if (!sa->setup->ke_group)
        sa->setup->ke_group = ike_proposal_first_dh(c->ike, c->n_ike);
    /* A COOKIE retry repeats every other payload unchanged (2.6); an
     * INVALID_KE retry needs a key pair of the new group. */
    if (!sa->setup->ke || sa->setup->ke_pub_group != sa->setup->ke_group) {
        if (sa->setup->ke)
            e->c->ke_free(sa->setup->ke);
        sa->setup->ke = NULL;
        int rc = ike_ke_generate(e, sa->setup->ke_group, &sa->setup->ke, sa->setup->ke_pub,
                                 sizeof(sa->setup->ke_pub), &sa->setup->ke_pub_len);
        if (rc < 0)
            return rc;
        sa->setup->ke_pub_group = sa->setup->ke_group;
    }
    if (!sa->setup->nonce_i_len) {
        sa->setup->nonce_i_len = IKE_NONCE_LEN;
        ike_random(e, sa->setup->nonce_i, IKE_NONCE_LEN);
    }
    const uint8_t *pub = sa->setup->ke_pub;
    size_t pub_len = sa->setup->ke_pub_len;

    struct ike_hdr h;
    struct ike_msg_builder mb;
    struct ike_sa_payload sap;
    ike_msg_hdr(sa, IKE_SA_INIT, false, 0, &h);
    ike_mb_init(&mb, e->msg, sizeof(e->msg), &h);
    if (sa->setup->cookie_len) /* 2.6: the cookie is the first payload */
        ike_notify_encode(&mb, 0, NULL, 0, IKE_N_COOKIE, sa->setup->cookie, sa->setup->cookie_len);
    ike_proposal_build(c->ike, c->n_ike, IKE_PROTO_IKE, NULL, 0, sa->setup->ke_group, &sap);
    ike_sa_encode(&mb, &sap);
    ike_ke_encode(&mb, sa->setup->ke_group, pub, pub_len);
    ike_nonce_encode(&mb, sa->setup->nonce_i, sa->setup->nonce_i_len);
    add_nat_d(e, &mb, sa, 0);
    int len = ike_mb_finish(&mb);
    if (len < 0)
        return len;
    free(sa->setup->init_req);
    if (!(sa->setup->init_req = dup_bytes(e->msg, (size_t)len)))
        return IKE_ERR_NOMEM;
    sa->setup->init_req_len = (size_t)len;
    sa->out_task.type = TASK_IKE_INIT;
    if (sa->state == IKE_SA_CREATED)
        ike_sa_set_state(e, sa, IKE_SA_INIT_SENT, "initiating");
    return ike_send_request(e, sa, e->msg, (size_t)len, now_ms);
}

/* COOKIE or INVALID_KE_PAYLOAD: try again with what the responder asked. */
static int init_retry(struct ike_engine *e, struct ike_sa *sa, const struct ike_payload_list *l,
                      uint64_t now_ms, bool *handled)
{
    struct ike_notify_payload n;
    *handled = false;
    if (ike_msg_find_notify(l, IKE_N_COOKIE, &n)) {
        if (!n.data.len || n.data.len > IKE_COOKIE_MAX)
            return IKE_ERR_INVALID_SYNTAX;
        memcpy(sa->setup->cookie, n.data.p, n.data.len);
        sa->setup->cookie_len = (uint8_t)n.data.len;
        ike_log(e, IKE_LOG_INFO, "responder demands a COOKIE, retrying");
    } else if (ike_msg_find_notify(l, IKE_N_INVALID_KE_PAYLOAD, &n)) {
        const struct ike_conn_cfg *c = &sa->conn->cfg;
        if (n.data.len != 2)
            return IKE_ERR_INVALID_SYNTAX;
        uint16_t g = (uint16_t)(n.data.p[0] << 8 | n.data.p[1]);
        if (g == sa->setup->ke_group || !ike_proposal_has_dh(c->ike, c->n_ike, g)) {
            ike_log(e, IKE_LOG_WARN, "responder wants DH group %s, which ike= does not offer",
                    ike_transform_name(IKE_TRANSFORM_DH, g));
            return IKE_ERR_NO_PROPOSAL;
        }
        ike_log(e, IKE_LOG_INFO, "responder wants DH group %s, retrying",
                ike_transform_name(IKE_TRANSFORM_DH, g));
        sa->setup->ke_group = g;
    } else {
        return 0;
    }
    *handled = true;
    if (++sa->retransmits > MAX_INIT_RETRIES) /* reset by init_start's send */
        return IKE_ERR_TIMEOUT;
    return ike_init_start(e, sa, now_ms);
}

static int init_fail(struct ike_engine *e, struct ike_sa *sa, int rc, const char *why)
{
    ike_log(e, IKE_LOG_WARN, "IKE_SA_INIT with %s failed: %s (%s)", sa->conn->cfg.name, why,
            ike_err_str(rc));
    ike_sa_destroy(e, sa, rc);
    return rc;
}

static int notify_to_err(uint16_t n)
{
    switch (n) {
    case IKE_N_NO_PROPOSAL_CHOSEN:
        return IKE_ERR_NO_PROPOSAL;
    case IKE_N_AUTHENTICATION_FAILED:
        return IKE_ERR_AUTH_FAILED;
    case IKE_N_TS_UNACCEPTABLE:
        return IKE_ERR_TS_UNACCEPTABLE;
    case IKE_N_INVALID_KE_PAYLOAD:
        return IKE_ERR_INVALID_KE;
    case IKE_N_TEMPORARY_FAILURE:
        return IKE_ERR_TEMPORARY;
    case IKE_N_CHILD_SA_NOT_FOUND:
        return IKE_ERR_NO_SA;
    }
    return IKE_ERR_INVALID_SYNTAX;
}

int ike_notify_to_err(uint16_t notify_type)
{
    return notify_to_err(notify_type);
}

int ike_init_process_response(struct ike_engine *e, struct ike_sa *sa, const struct ike_hdr *h,
                              const uint8_t *msg, size_t len, uint64_t now_ms)
{
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    struct ike_payload_list l;
    uint8_t bad = 0;
    if (sa->state != IKE_SA_INIT_SENT)
        return IKE_ERR_STATE;
    int rc = ike_payloads_decode(h->next_payload, msg + IKE_HDR_LEN, len - IKE_HDR_LEN, &l, &bad);
    if (rc < 0)
        return rc; /* dropped: an unauthenticated message cannot fail the SA */
    bool retried;
    rc = init_retry(e, sa, &l, now_ms, &retried);
    if (rc < 0)
        return init_fail(e, sa, rc, "retry refused");
    if (retried)
        return 0;
    uint16_t err = ike_msg_error_notify(&l);
    if (err) {
        ike_log(e, IKE_LOG_WARN, "responder answered IKE_SA_INIT with %s", ike_notify_name(err));
        return init_fail(e, sa, notify_to_err(err), ike_notify_name(err));
    }
    if ((rc = ike_payload_rules_check(IKE_SA_INIT, IKE_MSG_RESPONSE, &l, NULL)) < 0)
        return rc;
    struct ike_sa_payload sap;
    struct ike_ke_payload ke;
    struct ike_view nr;
    if ((rc = ike_msg_decode_sa_ke_nonce(&l, &sap, &ke, &nr)) < 0)
        return rc;
    if (!h->spi_r)
        return IKE_ERR_BAD_SPI;
    rc = ike_proposal_check_reply(c->ike, c->n_ike, IKE_PROTO_IKE, &sap, false, &sa->algs);
    if (rc == 0 && (sa->algs.dh != sa->setup->ke_group || ke.group != sa->setup->ke_group))
        rc = IKE_ERR_NO_PROPOSAL;
    if (rc < 0)
        return init_fail(e, sa, rc, "responder chose a proposal we did not offer");
    struct ike_secret g = {0};
    rc = e->c->ke_derive(sa->setup->ke, ke.data.p, ke.data.len, &g);
    if (rc < 0)
        return init_fail(e, sa, rc, "responder's KE payload is invalid");
    e->c->ke_free(sa->setup->ke);
    sa->setup->ke = NULL;
    sa->spi_r = h->spi_r;
    memcpy(sa->setup->nonce_r, nr.p, nr.len);
    sa->setup->nonce_r_len = (uint8_t)nr.len;
    rc = derive_ike_keys(e, sa, &g);
    ike_secret_free(&g);
    if (rc < 0)
        return init_fail(e, sa, rc, "key derivation");
    if (!(sa->setup->init_resp = dup_bytes(msg, len)))
        return init_fail(e, sa, IKE_ERR_NOMEM, "out of memory");
    sa->setup->init_resp_len = len;
    ike_timers_response_received(e, sa, now_ms);
    ike_request_done(e, sa);
    rc = ike_auth_build_request(e, sa, now_ms);
    return rc < 0 ? init_fail(e, sa, rc, "building IKE_AUTH") : 0;
}

/* ---- responder ---- */
/* Stateless answer carrying one notify (COOKIE, INVALID_KE, NO_PROPOSAL). */
static int stateless_notify(struct ike_engine *e, const struct ike_hdr *req,
                            const struct ike_endpoint *from, const struct ike_endpoint *to,
                            uint16_t type, const uint8_t *data, size_t len)
{
    struct ike_hdr h = {.spi_i = req->spi_i,
                        .version = IKE_VERSION_2,
                        .exchange = IKE_SA_INIT,
                        .flags = IKE_FLAG_RESPONSE};
    struct ike_msg_builder mb;
    uint8_t buf[256];
    ike_mb_init(&mb, buf, sizeof(buf), &h);
    ike_notify_encode(&mb, 0, NULL, 0, type, data, len);
    int n = ike_mb_finish(&mb);
    if (n < 0)
        return n;
    ike_log(e, IKE_LOG_INFO, "answering IKE_SA_INIT [%016llx] with %s",
            (unsigned long long)req->spi_i, ike_notify_name(type));
    return ike_out_datagram(e, to, from, buf, (size_t)n);
}

/* 2.6: cookie = prf(secret, Ni | IPi | SPIi); stateless to verify. */
static int make_cookie(struct ike_engine *e, struct ike_view ni, const struct ike_endpoint *from,
                       uint64_t spi_i, uint8_t out[32])
{
    uint8_t spi[8];
    ike_put_be64(spi, spi_i);
    struct ike_iov iov[3] = {
        {ni.p, ni.len}, {from->addr.bytes, from->addr.family == IKE_AF_INET ? 4u : 16u}, {spi, 8}};
    return e->c->prf(PRF_HMAC_SHA2_256, e->cookie_secret, sizeof(e->cookie_secret), iov, 3, out);
}

static bool cookie_ok(struct ike_engine *e, const struct ike_payload_list *l, struct ike_view ni,
                      const struct ike_endpoint *from, uint64_t spi_i, uint8_t want[32])
{
    struct ike_notify_payload n;
    if (make_cookie(e, ni, from, spi_i, want) < 0)
        return false;
    if (!l->n || l->pl[0].type != IKE_PL_NOTIFY || ike_notify_decode(l->pl[0].body, &n) < 0 ||
        n.type != IKE_N_COOKIE)
        return false;
    return n.data.len == 32 && ike_ct_memcmp(n.data.p, want, 32) == 0;
}

/* A retransmitted IKE_SA_INIT request: answer from the half-open SA. */
static bool init_retransmit(struct ike_engine *e, const struct ike_hdr *h, const uint8_t *msg,
                            size_t len)
{
    struct ike_sa *sa = ike_map_get(&e->halfopen_by_spi, h->spi_i);
    if (!sa)
        return false;
    if (!sa->setup || !sa->setup->init_req) {
        /* A late duplicate of the request that made an SA now up: a new
         * half-open SA for it would only linger until its timeout. */
        ike_log(e, IKE_LOG_INFO, "IKE_SA_INIT request for an established SA, dropped");
        return true;
    }
    if (sa->setup->init_req_len == len && !memcmp(sa->setup->init_req, msg, len) &&
        sa->setup->init_resp) {
        ike_log(e, IKE_LOG_INFO, "IKE_SA_INIT request retransmitted, resending response");
        ike_out_datagram(e, &sa->local, &sa->remote, sa->setup->init_resp,
                         sa->setup->init_resp_len);
    }
    return true; /* same SPIi, other content: dropped */
}

/* Our IKE_SA_INIT response; saved as RealMessage2 for our AUTH. */
static int init_build_response(struct ike_engine *e, struct ike_sa *sa, uint8_t prop_num,
                               const uint8_t *pub, size_t pub_len)
{
    struct ike_hdr h;
    struct ike_msg_builder mb;
    struct ike_sa_payload ans;
    ike_msg_hdr(sa, IKE_SA_INIT, true, 0, &h);
    ike_mb_init(&mb, e->msg, sizeof(e->msg), &h);
    ike_proposal_answer(prop_num, IKE_PROTO_IKE, NULL, 0, &sa->algs, &ans);
    ike_sa_encode(&mb, &ans);
    ike_ke_encode(&mb, sa->algs.dh, pub, pub_len);
    ike_nonce_encode(&mb, sa->setup->nonce_r, sa->setup->nonce_r_len);
    add_nat_d(e, &mb, sa, sa->spi_r);
    int len = ike_mb_finish(&mb);
    if (len < 0)
        return len;
    if (!(sa->setup->init_resp = dup_bytes(e->msg, (size_t)len)))
        return IKE_ERR_NOMEM;
    sa->setup->init_resp_len = (size_t)len;
    return ike_send_response(e, sa, e->msg, (size_t)len);
}

/* Create the responder SA once the offer is acceptable. */
static int init_accept(struct ike_engine *e, struct ike_conn *conn, const struct ike_hdr *h,
                       const uint8_t *msg, size_t len, const struct ike_endpoint *from,
                       const struct ike_endpoint *to, const struct ike_algs *algs, uint8_t prop_num,
                       const struct ike_ke_payload *ke, struct ike_view ni, uint64_t now_ms)
{
    struct ike_sa *sa = ike_sa_new(e, conn, false);
    if (!sa)
        return IKE_ERR_NOMEM;
    sa->spi_i = h->spi_i;
    sa->local = *to;
    sa->remote = *from;
    sa->algs = *algs;
    memcpy(sa->setup->nonce_i, ni.p, ni.len);
    sa->setup->nonce_i_len = (uint8_t)ni.len;
    sa->setup->nonce_r_len = IKE_NONCE_LEN;
    ike_random(e, sa->setup->nonce_r, IKE_NONCE_LEN);
    if (ike_map_put(&e->halfopen_by_spi, sa->spi_i, sa) == 0) {
        sa->half_open = true;
        e->n_half_open++;
    }
    uint8_t pub[IKE_KE_MAX];
    size_t pub_len = 0;
    struct ike_secret g = {0};
    int rc = ike_ke_generate(e, algs->dh, &sa->setup->ke, pub, sizeof(pub), &pub_len);
    if (rc == 0)
        rc = e->c->ke_derive(sa->setup->ke, ke->data.p, ke->data.len, &g);
    if (rc == 0)
        rc = derive_ike_keys(e, sa, &g);
    ike_secret_free(&g);
    if (rc == 0 && !(sa->setup->init_req = dup_bytes(msg, len)))
        rc = IKE_ERR_NOMEM;
    sa->setup->init_req_len = len;
    if (rc < 0) {
        ike_log(e, IKE_LOG_WARN, "IKE_SA_INIT from peer: %s", ike_err_str(rc));
        if (rc == IKE_ERR_KE_INVALID || rc == IKE_ERR_KE_ZERO)
            stateless_notify(e, h, from, to, IKE_N_INVALID_SYNTAX, NULL, 0);
        ike_sa_destroy(e, sa, rc);
        return rc;
    }
    e->c->ke_free(sa->setup->ke);
    sa->setup->ke = NULL;
    ike_sa_set_state(e, sa, IKE_SA_INIT_DONE, "IKE_SA_INIT answered");
    sa->half_open_at_ms = now_ms + e->opts.half_open_timeout_ms;
    ike_timers_update(e, sa);
    return init_build_response(e, sa, prop_num, pub, pub_len);
}

int ike_init_process_request(struct ike_engine *e, const struct ike_hdr *h, const uint8_t *msg,
                             size_t len, const struct ike_endpoint *from,
                             const struct ike_endpoint *to, uint64_t now_ms)
{
    struct ike_payload_list l;
    uint8_t bad = 0;
    if (e->shutting_down)
        return IKE_ERR_STATE; /* going down: no new IKE SAs */
    if (init_retransmit(e, h, msg, len))
        return 0;
    int rc = ike_payloads_decode(h->next_payload, msg + IKE_HDR_LEN, len - IKE_HDR_LEN, &l, &bad);
    if (rc == 0)
        rc = ike_payload_rules_check(IKE_SA_INIT, IKE_MSG_REQUEST, &l, NULL);
    struct ike_sa_payload sap;
    struct ike_ke_payload ke;
    struct ike_view ni;
    if (rc == 0)
        rc = ike_msg_decode_sa_ke_nonce(&l, &sap, &ke, &ni);
    if (rc < 0) {
        ike_log(e, IKE_LOG_INFO, "dropped malformed IKE_SA_INIT: %s", ike_err_str(rc));
        return rc;
    }
    struct ike_conn *conn = ike_conn_match(e, to, from);
    if (!conn) {
        ike_log(e, IKE_LOG_WARN, "IKE_SA_INIT from a peer no connection accepts");
        return stateless_notify(e, h, from, to, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0);
    }
    uint8_t want[32];
    if (e->n_half_open >= e->opts.cookie_threshold && !cookie_ok(e, &l, ni, from, h->spi_i, want))
        return stateless_notify(e, h, from, to, IKE_N_COOKIE, want, sizeof(want));
    struct ike_algs algs;
    int idx = ike_proposal_select(conn->cfg.ike, conn->cfg.n_ike, IKE_PROTO_IKE, &sap, ke.group,
                                  false, &algs);
    if (idx < 0) {
        ike_log(e, IKE_LOG_WARN, "%s: no IKE proposal of the peer matches ike=", conn->cfg.name);
        return stateless_notify(e, h, from, to, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0);
    }
    if (algs.dh != ke.group) {
        uint8_t g[2] = {(uint8_t)(algs.dh >> 8), (uint8_t)algs.dh};
        return stateless_notify(e, h, from, to, IKE_N_INVALID_KE_PAYLOAD, g, 2);
    }
    return init_accept(e, conn, h, msg, len, from, to, &algs, sap.p[idx].num, &ke, ni, now_ms);
}
