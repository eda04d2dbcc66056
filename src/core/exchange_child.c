/*
 * exchange_child.c: CREATE_CHILD_SA for an additional Child SA (RFC 7296
 * 1.3.1, 2.17), with or without PFS, and the Child SA negotiation pieces
 * IKE_AUTH shares (offer, accept, finish, derive).
 *
 *   Initiator                         Responder
 *   HDR, SK {SA, Ni, [KEi], TSi, TSr}  -->
 *                             <--  HDR, SK {SA, Nr, [KEr], TSi, TSr}
 *   or                        <--  HDR, SK {N(NO_PROPOSAL_CHOSEN |
 *                                  TS_UNACCEPTABLE | INVALID_KE_PAYLOAD)}
 *
 * KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr). The responder installs the
 * new SAs before sending its response, so the initiator's first packet
 * finds them. Rekeying (N(REKEY_SA)) comes with the rekey issue.
 */
#include <string.h>

#include "core.h"
#include "ike/err.h"

/* SA payload: our proposals (we initiate) or our answer (we respond). */
int ike_child_offer(struct ike_engine *e, struct ike_sa *sa, struct ike_child *ch, uint16_t dh,
                    struct ike_msg_builder *mb)
{
    (void)e;
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    struct ike_sa_payload sap;
    uint8_t spi[4];
    ike_put_be32(spi, ch->spi_in);
    if (ch->we_initiated)
        ike_proposal_build(c->esp, c->n_esp, IKE_PROTO_ESP, spi, 4, dh, &sap);
    else
        ike_proposal_answer(ch->prop_num, IKE_PROTO_ESP, spi, 4, &ch->algs, &sap);
    ike_sa_encode(mb, &sap);
    return 0;
}

/* TSi, TSr: the initiator's side first, whoever we are. */
void ike_child_offer_ts(struct ike_sa *sa, struct ike_child *ch, struct ike_msg_builder *mb)
{
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    if (ch->we_initiated) {
        struct ike_ts_payload l, r;
        ike_ts_from_subnet(&c->local_ts, &sa->local.addr, &l);
        ike_ts_from_subnet(&c->remote_ts, &sa->remote.addr, &r);
        ike_ts_set_from(&ch->ts_local, &l);
        ike_ts_set_from(&ch->ts_remote, &r);
    }
    /* TSi is always the initiator's side. */
    ike_ts_set_encode(mb, IKE_PL_TSI, ch->we_initiated ? &ch->ts_local : &ch->ts_remote);
    ike_ts_set_encode(mb, IKE_PL_TSR, ch->we_initiated ? &ch->ts_remote : &ch->ts_local);
    if (c->mode == IKE_MODE_TRANSPORT)
        ike_notify_encode(mb, 0, NULL, 0, IKE_N_USE_TRANSPORT_MODE, NULL, 0);
}

static int decode_sa_ts(const struct ike_payload_list *in, struct ike_sa_payload *sap,
                        struct ike_ts_payload *tsi, struct ike_ts_payload *tsr)
{
    const struct ike_payload *p_sa = ike_payload_find(in, IKE_PL_SA, 0);
    const struct ike_payload *p_i = ike_payload_find(in, IKE_PL_TSI, 0);
    const struct ike_payload *p_r = ike_payload_find(in, IKE_PL_TSR, 0);
    if (!p_sa || !p_i || !p_r)
        return IKE_ERR_MISSING_PAYLOAD;
    int rc = ike_sa_decode(p_sa->body, sap);
    if (rc == 0)
        rc = ike_ts_decode(p_i->body, tsi);
    if (rc == 0)
        rc = ike_ts_decode(p_r->body, tsr);
    return rc;
}

/* Our configured selectors: (local, remote). */
static void cfg_ts(const struct ike_sa *sa, struct ike_ts_payload *l, struct ike_ts_payload *r)
{
    ike_ts_from_subnet(&sa->conn->cfg.local_ts, &sa->local.addr, l);
    ike_ts_from_subnet(&sa->conn->cfg.remote_ts, &sa->remote.addr, r);
}

/* Responder: choose a proposal and narrow the selectors (2.9). */
int ike_child_accept(struct ike_engine *e, struct ike_sa *sa, const struct ike_payload_list *in,
                     struct ike_child *ch, bool in_auth, uint16_t *notify)
{
    (void)e;
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    struct ike_sa_payload sap;
    struct ike_ts_payload tsi, tsr, our_l, our_r;
    *notify = IKE_N_INVALID_SYNTAX;
    if (decode_sa_ts(in, &sap, &tsi, &tsr) < 0)
        return IKE_ERR_INVALID_SYNTAX;
    uint16_t ke_group = 0;
    const struct ike_payload *p_ke = ike_payload_find(in, IKE_PL_KE, 0);
    struct ike_ke_payload ke;
    if (p_ke && ike_ke_decode(p_ke->body, &ke) == 0)
        ke_group = ke.group;
    int idx =
        ike_proposal_select(c->esp, c->n_esp, IKE_PROTO_ESP, &sap, ke_group, in_auth, &ch->algs);
    if (idx < 0 || sap.p[idx].spi_size != 4) {
        *notify = IKE_N_NO_PROPOSAL_CHOSEN;
        return IKE_ERR_NO_PROPOSAL;
    }
    if (in_auth)
        ch->algs.dh = IKE_DH_NONE;
    ch->prop_num = sap.p[idx].num;
    ch->spi_out = ike_be32(sap.p[idx].spi);
    cfg_ts(sa, &our_l, &our_r);
    /* TSi is the initiator's side: our remote; TSr our local. */
    if (ike_ts_narrow_set(&tsi, &our_r, &ch->ts_remote) < 0 ||
        ike_ts_narrow_set(&tsr, &our_l, &ch->ts_local) < 0) {
        *notify = IKE_N_TS_UNACCEPTABLE;
        return IKE_ERR_TS_UNACCEPTABLE;
    }
    *notify = 0;
    return 0;
}

/* Initiator: check the responder's answer against what we offered. */
int ike_child_finish(struct ike_engine *e, struct ike_sa *sa, const struct ike_payload_list *in,
                     struct ike_child *ch, bool in_auth)
{
    (void)e;
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    struct ike_sa_payload sap;
    struct ike_ts_payload tsi, tsr, our_l, our_r;
    int rc = decode_sa_ts(in, &sap, &tsi, &tsr);
    if (rc < 0)
        return rc;
    rc = ike_proposal_check_reply(c->esp, c->n_esp, IKE_PROTO_ESP, &sap, in_auth, &ch->algs);
    if (rc < 0 || sap.p[0].spi_size != 4)
        return IKE_ERR_NO_PROPOSAL;
    if (in_auth)
        ch->algs.dh = IKE_DH_NONE;
    ch->spi_out = ike_be32(sap.p[0].spi);
    cfg_ts(sa, &our_l, &our_r);
    /* The answer must lie within what we proposed. */
    if (ike_ts_narrow_set(&tsi, &our_l, &ch->ts_local) < 0 ||
        ike_ts_narrow_set(&tsr, &our_r, &ch->ts_remote) < 0)
        return IKE_ERR_TS_UNACCEPTABLE;
    return 0;
}

int ike_child_derive(struct ike_engine *e, struct ike_sa *sa, struct ike_child *ch,
                     const uint8_t *g_ir, size_t g_ir_len, const uint8_t *ni, size_t ni_len,
                     const uint8_t *nr, size_t nr_len)
{
    struct ike_encr_info ei;
    struct ike_integ_info ii = {0};
    int rc = ike_alg_encr(ch->algs.encr, ch->algs.encr_keylen, &ei);
    if (rc == 0 && !ei.aead)
        rc = ike_alg_integ(ch->algs.integ, &ii);
    if (rc < 0)
        return rc;
    /* KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) */
    return ike_keys_child(e->c, sa->algs.prf, &sa->keys.sk_d, g_ir, g_ir_len, ni, ni_len, nr,
                          nr_len, ei.key_len, ii.key_len, &ch->keys);
}

/* ---- CREATE_CHILD_SA for a new Child SA ---- */
int ike_child_build_request(struct ike_engine *e, struct ike_sa *sa, struct ike_task *t,
                            uint64_t now_ms)
{
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    uint8_t pub[IKE_KE_MAX];
    size_t pub_len = 0;
    int rc;
    if (!t->child) {
        if (!(t->child = ike_child_new(e, sa)))
            return IKE_ERR_NOMEM;
        t->child->we_initiated = true;
        t->dh = ike_proposal_first_dh(c->esp, c->n_esp); /* PFS if esp= names a group */
    }
    ike_random(e, t->nonce, IKE_NONCE_LEN);
    if (t->ke) {
        e->c->ke_free(t->ke);
        t->ke = NULL;
    }
    if (t->dh && (rc = ike_ke_generate(e, t->dh, &t->ke, pub, sizeof(pub), &pub_len)) < 0)
        return rc;
    struct ike_msg_builder mb;
    ike_mb_init_chain(&mb, e->plain, sizeof(e->plain));
    ike_child_offer(e, sa, t->child, t->dh, &mb);   /* SA */
    ike_nonce_encode(&mb, t->nonce, IKE_NONCE_LEN); /* Ni */
    if (t->dh)
        ike_ke_encode(&mb, t->dh, pub, pub_len); /* [KEi] */
    ike_child_offer_ts(sa, t->child, &mb);       /* TSi, TSr */
    return ike_msg_send_request(e, sa, CREATE_CHILD_SA, &mb, now_ms);
}

/* Nonce and (if negotiated) g^ir of the peer's half of the exchange. */
static int peer_nonce_ke(struct ike_engine *e, const struct ike_payload_list *in, struct ike_ke *ke,
                         uint16_t dh, struct ike_view *nonce, struct ike_secret *g)
{
    const struct ike_payload *p_n = ike_payload_find(in, IKE_PL_NONCE, 0);
    if (!p_n || ike_nonce_decode(p_n->body, nonce) < 0)
        return IKE_ERR_MISSING_PAYLOAD;
    if (!dh)
        return 0;
    const struct ike_payload *p_ke = ike_payload_find(in, IKE_PL_KE, 0);
    struct ike_ke_payload kp;
    if (!p_ke || ike_ke_decode(p_ke->body, &kp) < 0 || kp.group != dh)
        return IKE_ERR_INVALID_KE;
    return e->c->ke_derive(ke, kp.data.p, kp.data.len, g);
}

/*
 * B34 (sim seeds 47 and 955 --rekey): our CREATE_CHILD_SA's response is
 * lost; the peer, which installed the new SA when it answered, later
 * deletes it (its hard expiry, or our old SA's, came first) and tells us
 * with a DELETE of an SPI we do not know yet; then our retransmission
 * gets the cached response (RFC 7296 2.1: the same bytes) and we
 * installed, and sent on, an SA the peer no longer has. Remember such
 * SPIs for the request outstanding when the DELETE came; a response that
 * names one makes nothing: the peer already deleted that SA.
 * The SPIs go in a ring of IKE_GONE_SPIS, the oldest replaced first: the
 * two it had were pushed out by DELETEs of children we had already
 * removed ourselves, one per tiny Child lifetime while our rekey's
 * response was lost for 30 s, and we pinned the SA the peer had deleted
 * 22 s before (B56, seed 45162 --rekey).
 */
void ike_child_note_gone(struct ike_sa *sa, uint32_t spi_out)
{
    uint8_t t = sa->out_task.type;
    if (t != TASK_CHILD_CREATE && t != TASK_CHILD_REKEY)
        return;
    if (sa->gone_msg_id != sa->msg_id_out) {
        sa->gone_msg_id = sa->msg_id_out;
        memset(sa->gone_spi, 0, sizeof(sa->gone_spi));
        sa->gone_next = 0;
    }
    sa->gone_spi[sa->gone_next] = spi_out;
    sa->gone_next = (uint8_t)((sa->gone_next + 1) % IKE_GONE_SPIS);
}

bool ike_child_gone_at_peer(const struct ike_sa *sa, uint32_t spi_out)
{
    if (sa->gone_msg_id != sa->msg_id_out || !spi_out)
        return false;
    for (size_t i = 0; i < IKE_GONE_SPIS; i++)
        if (sa->gone_spi[i] == spi_out)
            return true;
    return false;
}

static int child_failed(struct ike_engine *e, struct ike_sa *sa, int rc, uint64_t now_ms)
{
    ike_log(e, IKE_LOG_WARN, "%s: CREATE_CHILD_SA failed: %s", sa->conn->cfg.name, ike_err_str(rc));
    ike_out_event(e, sa, sa->out_task.child, IKE_EV_CHILD_FAILED, rc);
    ike_request_done(e, sa);
    if (rc == IKE_ERR_TEMPORARY)
        ike_timers_create_refused(e, sa, now_ms); /* 2.25: ask again later */
    ike_task_next(e, sa, now_ms);
    return rc;
}

int ike_child_process_response(struct ike_engine *e, struct ike_sa *sa,
                               const struct ike_payload_list *in, uint64_t now_ms)
{
    struct ike_task *t = &sa->out_task;
    struct ike_notify_payload n;
    if (ike_msg_find_notify(in, IKE_N_INVALID_KE_PAYLOAD, &n) && n.data.len == 2) {
        uint16_t g = (uint16_t)(n.data.p[0] << 8 | n.data.p[1]);
        const struct ike_conn_cfg *c = &sa->conn->cfg;
        if (g == t->dh || !ike_proposal_has_dh(c->esp, c->n_esp, g))
            return child_failed(e, sa, IKE_ERR_INVALID_KE, now_ms);
        /* 1.3: retry the same child with the group the peer asked for,
         * as a new request (new message ID). */
        struct ike_task retry = *t;
        retry.dh = g;
        t->child = NULL;
        t->ke = NULL;
        ike_request_done(e, sa);
        sa->out_task = retry;
        return ike_child_build_request(e, sa, &sa->out_task, now_ms);
    }
    uint16_t err = ike_msg_error_notify(in);
    if (err)
        return child_failed(e, sa, ike_notify_to_err(err), now_ms);
    struct ike_child *ch = t->child;
    struct ike_view nr;
    struct ike_secret g = {0};
    int rc = ike_child_finish(e, sa, in, ch, false);
    if (rc == 0 && ike_child_gone_at_peer(sa, ch->spi_out)) {
        ike_log(e, IKE_LOG_INFO, "%s: the peer deleted Child SA %08x before its response came",
                sa->conn->cfg.name, ch->spi_out);
        child_failed(e, sa, IKE_ERR_NO_SA, now_ms);
        ike_child_recreate(e, sa, now_ms); /* if no other child carries the tunnel */
        return IKE_ERR_NO_SA;
    }
    if (rc == 0 && ch->algs.dh != t->dh)
        rc = IKE_ERR_NO_PROPOSAL;
    if (rc == 0)
        rc = peer_nonce_ke(e, in, t->ke, t->dh, &nr, &g);
    if (rc == 0)
        rc = ike_child_derive(e, sa, ch, g.p, g.len, t->nonce, IKE_NONCE_LEN, nr.p, nr.len);
    ike_secret_free(&g);
    if (rc < 0) {
        /* The peer installed an SA we cannot use: ask it to delete it. */
        struct ike_task d = {.type = TASK_CHILD_DELETE, .del_spi = ch->spi_in};
        child_failed(e, sa, rc, now_ms);
        ike_task_queue(e, sa, &d, now_ms);
        return rc;
    }
    t->child = NULL;
    ike_child_attach(e, sa, ch);
    ike_child_install(e, ch, now_ms, true);
    ike_request_done(e, sa);
    ike_task_next(e, sa, now_ms);
    return 0;
}

/* Responder: derive, install, then answer (inbound SA before the peer can
 * send on it). */
int ike_child_respond(struct ike_engine *e, struct ike_sa *sa, const struct ike_hdr *h,
                      const struct ike_payload_list *in, struct ike_child *ch, uint64_t now_ms)
{
    uint8_t nr[IKE_NONCE_LEN], pub[IKE_KE_MAX];
    size_t pub_len = 0;
    struct ike_ke *ke = NULL;
    struct ike_secret g = {0};
    struct ike_view ni;
    int rc = 0;
    ike_random(e, nr, sizeof(nr));
    if (ch->algs.dh)
        rc = ike_ke_generate(e, ch->algs.dh, &ke, pub, sizeof(pub), &pub_len);
    if (rc == 0)
        rc = peer_nonce_ke(e, in, ke, ch->algs.dh, &ni, &g);
    if (rc == 0)
        rc = ike_child_derive(e, sa, ch, g.p, g.len, ni.p, ni.len, nr, sizeof(nr));
    ike_secret_free(&g);
    if (ke)
        e->c->ke_free(ke);
    if (rc < 0)
        return rc;
    ike_low_nonce(ch->low_nonce, &ch->low_nonce_len, ni.p, ni.len, nr, sizeof(nr)); /* 2.8.1 */
    ike_child_attach(e, sa, ch);
    ike_child_install(e, ch, now_ms, false);
    struct ike_msg_builder mb;
    ike_mb_init_chain(&mb, e->plain + IKE_MSG_MAX / 2, IKE_MSG_MAX / 2);
    ike_child_offer(e, sa, ch, 0, &mb);
    ike_nonce_encode(&mb, nr, sizeof(nr));
    if (ch->algs.dh)
        ike_ke_encode(&mb, ch->algs.dh, pub, pub_len);
    ike_child_offer_ts(sa, ch, &mb);
    return ike_msg_send_response(e, sa, CREATE_CHILD_SA, h->msg_id, &mb);
}

int ike_child_process_request(struct ike_engine *e, struct ike_sa *sa, const struct ike_hdr *h,
                              const struct ike_payload_list *in, uint64_t now_ms)
{
    /* 2.25: nothing new on an IKE SA that is being rekeyed or replaced. */
    if (sa->state != IKE_SA_ESTABLISHED)
        return ike_msg_notify_response(e, sa, CREATE_CHILD_SA, h->msg_id, IKE_N_TEMPORARY_FAILURE,
                                       NULL, 0);
    struct ike_notify_payload rekey;
    bool child_rekey = ike_msg_find_notify(in, IKE_N_REKEY_SA, &rekey);
    bool has_ts = ike_payload_find(in, IKE_PL_TSI, 0) != NULL;
    if ((child_rekey || has_ts) && sa->out_task.type != TASK_IKE_REKEY)
        ike_timers_peer_child_started(e, sa, now_ms); /* a mutual refusal's IKE retry waits */
    if (child_rekey)
        return ike_rekey_child_process_request(e, sa, h, in, &rekey, now_ms);
    if (!has_ts) /* no selectors: the IKE SA itself */
        return ike_rekey_ike_process_request(e, sa, h, in, now_ms);
    if (sa->out_task.type == TASK_IKE_REKEY) {
        sa->refused_peer_child = true; /* our retry lets it go first (timers.c) */
        return ike_msg_notify_response(e, sa, CREATE_CHILD_SA, h->msg_id, IKE_N_TEMPORARY_FAILURE,
                                       NULL, 0);
    }
    struct ike_child *ch = ike_child_new(e, sa);
    if (!ch)
        return IKE_ERR_NOMEM;
    uint16_t notify = 0;
    int rc = ike_child_accept(e, sa, in, ch, false, &notify);
    struct ike_ke_payload kp;
    const struct ike_payload *p_ke = ike_payload_find(in, IKE_PL_KE, 0);
    if (rc == 0 && ch->algs.dh &&
        (!p_ke || ike_ke_decode(p_ke->body, &kp) < 0 || kp.group != ch->algs.dh)) {
        uint8_t g[2] = {(uint8_t)(ch->algs.dh >> 8), (uint8_t)ch->algs.dh};
        ike_child_release(e, ch);
        return ike_msg_notify_response(e, sa, CREATE_CHILD_SA, h->msg_id, IKE_N_INVALID_KE_PAYLOAD,
                                       g, 2);
    }
    if (rc == 0 && (rc = ike_child_respond(e, sa, h, in, ch, now_ms)) == 0)
        return 0;
    if (ch->state == CHILD_INSTALLED)
        ike_child_remove(e, ch, rc);
    else
        ike_child_release(e, ch);
    ike_log(e, IKE_LOG_WARN, "%s: refused CREATE_CHILD_SA: %s", sa->conn->cfg.name,
            ike_err_str(rc));
    return ike_msg_notify_response(e, sa, CREATE_CHILD_SA, h->msg_id,
                                   notify ? notify : IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0);
}
