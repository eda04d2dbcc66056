/*
 * exchange_auth.c: IKE_AUTH with pre-shared keys (RFC 7296 1.2, 2.15) and
 * the first Child SA it carries.
 *
 *   Initiator                         Responder
 *   HDR, SK {IDi, [N(INITIAL_CONTACT)], [IDr,] AUTH,
 *            SAi2, TSi, TSr, [N(USE_TRANSPORT_MODE)]}  -->
 *                        <--  HDR, SK {IDr, AUTH, SAr2, TSi, TSr}
 *   or                   <--  HDR, SK {IDr, AUTH, N(NO_PROPOSAL_CHOSEN |
 *                                          TS_UNACCEPTABLE)}  (no child)
 *   or                   <--  HDR, SK {N(AUTHENTICATION_FAILED)}
 *
 * The IKE SA is established only after the peer's AUTH verified. A failed
 * child negotiation keeps the IKE SA (2.21.2).
 */
#include <string.h>

#include "core.h"
#include "ike/err.h"

/* Our ID payload body: type | 3 reserved | data (what MACedID covers). */
static size_t id_body(const struct ike_id_cfg *id, const struct ike_endpoint *ep, uint8_t *out)
{
    memset(out, 0, 4);
    if (id->type && id->len) {
        out[0] = id->type;
        memcpy(out + 4, id->data, id->len);
        return 4u + id->len;
    }
    bool v4 = ep->addr.family == IKE_AF_INET;
    out[0] = v4 ? ID_IPV4_ADDR : ID_IPV6_ADDR;
    memcpy(out + 4, ep->addr.bytes, v4 ? 4 : 16);
    return v4 ? 8 : 20;
}

/* Does the peer's ID match what the config expects? */
static bool id_matches(const struct ike_sa *sa, const struct ike_id_payload *id)
{
    const struct ike_id_cfg *want = &sa->conn->cfg.remote_id;
    if (want->any || (!want->type && sa->conn->cfg.remote_any))
        return true;
    uint8_t body[4 + IKE_ID_MAX];
    size_t n = id_body(want, &sa->remote, body);
    return id->body.len == n && !memcmp(id->body.p, body, n);
}

static int verify_auth(struct ike_engine *e, struct ike_sa *sa, bool peer_is_initiator,
                       const struct ike_payload_list *in, uint8_t id_type)
{
    const struct ike_payload *p_id = ike_payload_find(in, id_type, 0);
    const struct ike_payload *p_auth = ike_payload_find(in, IKE_PL_AUTH, 0);
    struct ike_id_payload id;
    struct ike_auth_payload auth;
    uint8_t want[IKE_KEY_MAX];
    size_t want_len = 0;
    if (!p_id || !p_auth)
        return IKE_ERR_MISSING_PAYLOAD;
    if (ike_id_decode(p_id->body, &id) < 0 || ike_auth_decode(p_auth->body, &auth) < 0)
        return IKE_ERR_INVALID_SYNTAX;
    if (!id_matches(sa, &id)) {
        ike_log(e, IKE_LOG_WARN, "%s: peer identity (%s) is not the configured one",
                sa->conn->cfg.name, ike_id_type_name(id.type));
        return IKE_ERR_AUTH_FAILED;
    }
    if (auth.method != IKE_AUTH_SHARED_KEY_MIC)
        return IKE_ERR_AUTH_FAILED;
    int rc = ike_auth_psk(e, sa, peer_is_initiator, id.body.p, id.body.len, want, &want_len);
    if (rc < 0)
        return rc;
    rc = auth.data.len == want_len && !ike_ct_memcmp(auth.data.p, want, want_len)
             ? 0
             : IKE_ERR_AUTH_FAILED;
    ike_wipe(want, sizeof(want));
    return rc;
}

static int add_id_auth(struct ike_engine *e, struct ike_sa *sa, struct ike_msg_builder *mb,
                       uint8_t pl_type)
{
    uint8_t body[4 + IKE_ID_MAX], auth[IKE_KEY_MAX];
    size_t auth_len = 0;
    size_t n = id_body(&sa->conn->cfg.local_id, &sa->local, body);
    ike_id_encode(mb, pl_type, body[0], body + 4, n - 4);
    if (pl_type == IKE_PL_IDI && !sa->conn->cfg.remote_id.any && sa->conn->cfg.remote_id.type) {
        uint8_t rbody[4 + IKE_ID_MAX];
        size_t rn = id_body(&sa->conn->cfg.remote_id, &sa->remote, rbody);
        ike_id_encode(mb, IKE_PL_IDR, rbody[0], rbody + 4, rn - 4);
    }
    int rc = ike_auth_psk(e, sa, pl_type == IKE_PL_IDI, body, n, auth, &auth_len);
    if (rc == 0)
        ike_auth_encode(mb, IKE_AUTH_SHARED_KEY_MIC, auth, auth_len);
    ike_wipe(auth, sizeof(auth));
    return rc;
}

/* Another IKE SA of ours with this peer that it may still hold? 2.4: the
 * notify asserts that this IKE SA is the only one active between us, and
 * a REKEYED or DELETING SA is active until its DELETE is answered; the
 * peer clears all of them on receipt (initial_contact). The peer index
 * holds just this peer's SAs: a short walk. */
static bool have_other_sa(struct ike_engine *e, const struct ike_sa *sa)
{
    for (struct ike_sa *o = ike_index_peer_first(e, sa->conn, &sa->remote.addr); o;
         o = ike_index_peer_next(o))
        if (o != sa)
            return true;
    return false;
}

int ike_auth_build_request(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    struct ike_msg_builder mb;
    ike_mb_init_chain(&mb, e->plain, sizeof(e->plain));
    /* IDi (and IDr), AUTH */
    if (!have_other_sa(e, sa))
        ike_notify_encode(&mb, 0, NULL, 0, IKE_N_INITIAL_CONTACT, NULL, 0);
    int rc = add_id_auth(e, sa, &mb, IKE_PL_IDI);
    if (rc < 0)
        return rc;
    struct ike_child *ch = ike_child_new(e, sa);
    if (!ch)
        return IKE_ERR_NOMEM;
    ch->we_initiated = true;
    sa->setup->first_child = ch;
    /* SAi2, TSi, TSr: no KE in IKE_AUTH, so no DH transforms */
    if ((rc = ike_child_offer(e, sa, ch, IKE_DH_NONE, &mb)) < 0)
        return rc;
    ike_child_offer_ts(sa, ch, &mb);
    sa->out_task.type = TASK_IKE_AUTH;
    ike_sa_set_state(e, sa, IKE_SA_AUTH_SENT, "IKE_SA_INIT done");
    return ike_msg_send_request(e, sa, IKE_AUTH, &mb, now_ms);
}

/* INITIAL_CONTACT (2.4): the peer held no other IKE SA with us when it
 * started this one, so ours with the same connection and peer that were
 * up before its IKE_SA_INIT arrived are stale: drop them. One that came up
 * meanwhile (both sides initiating at once) is not stale: the peer has it.
 * REKEYED and DELETING ones are stale too: an old IKE SA we answered a
 * rekey of, whose response the peer never got (a one-way outage), waited
 * in REKEYED for a DELETE the peer, which had declared it dead, would
 * never send (seed 823). */
static void initial_contact(struct ike_engine *e, struct ike_sa *sa)
{
    /* The established SAs with this (conn, peer) come from an index; a
     * destroy unlinks one, so look again from the first after each. */
    struct ike_sa *o = ike_index_peer_first(e, sa->conn, &sa->remote.addr);
    while (o) {
        if (o == sa || o->established_ms >= sa->created_ms) {
            o = ike_index_peer_next(o);
            continue;
        }
        ike_log(e, IKE_LOG_INFO, "INITIAL_CONTACT: deleting stale IKE SA %016llx_%016llx",
                (unsigned long long)o->spi_i, (unsigned long long)o->spi_r);
        ike_diag_peer_restarted(e, o, e->now_ms); /* names what it clears, for diagnose */
        ike_sa_destroy(e, o, 0);
        o = ike_index_peer_first(e, sa->conn, &sa->remote.addr);
    }
}

static void established(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    ike_sa_set_state(e, sa, IKE_SA_ESTABLISHED, "peer authenticated");
    if (sa->half_open) { /* stays in halfopen_by_spi for late duplicates */
        sa->half_open = false;
        e->n_half_open--;
    }
    ike_timers_established(e, sa, now_ms);
    sa->established_ms = now_ms;
    sa->conn->restart_tries = 0;
    ike_out_event(e, sa, NULL, IKE_EV_IKE_UP, 0);
}

/* Keys and kernel state of the first child (KEYMAT from the IKE_SA_INIT
 * nonces, 2.17), after the IKE SA is up. As responder the child takes
 * outbound traffic only where it is the first user of its policies (G1):
 * beside another IKE SA's child (both sides auto=start) it waits, like a
 * CREATE_CHILD_SA responder's, until the peer proves it got our response
 * (ike_child_confirm). Pinned at once, it black-holed our traffic when
 * that response was lost and the peer gave the setup up (seed 19013).
 * As initiator the response proves the peer made the child, but not
 * when: to a retransmitted request the peer resends its cached answer
 * unchanged (2.1), made when the first copy arrived, so the child may
 * already have ended there (its lifetime is the peer's policy, 2.8).
 * Beside a child the peer confirmed that carries our traffic now, such a
 * child takes none: it waits for that one to leave, or for an exchange
 * on it (its rekey's new SA takes traffic as any does). Pinned at once,
 * it black-holed our traffic for an SA the peer had ended 6 s before
 * (seed 302945, B74). */
static int first_child_up(struct ike_engine *e, struct ike_sa *sa, struct ike_child *ch,
                          uint64_t now_ms)
{
    int rc = ike_child_derive(e, sa, ch, NULL, 0, sa->setup->nonce_i, sa->setup->nonce_i_len,
                              sa->setup->nonce_r, sa->setup->nonce_r_len);
    if (rc < 0)
        return rc;
    bool pin = ch->we_initiated && !(sa->setup->auth_resent && ike_child_policy_carried(e, ch));
    sa->setup->first_child = NULL;
    ike_child_attach(e, sa, ch);
    return ike_child_install(e, ch, now_ms, pin);
}

int ike_auth_process_request(struct ike_engine *e, struct ike_sa *sa, const struct ike_hdr *h,
                             const struct ike_payload_list *in, uint64_t now_ms)
{
    int rc = verify_auth(e, sa, true, in, IKE_PL_IDI);
    if (rc < 0) {
        ike_log(e, IKE_LOG_WARN, "%s: IKE_AUTH from peer failed: %s (check the PSK and IDs)",
                sa->conn->cfg.name, ike_err_str(rc));
        ike_msg_notify_response(e, sa, IKE_AUTH, h->msg_id, IKE_N_AUTHENTICATION_FAILED, NULL, 0);
        ike_sa_destroy(e, sa, IKE_ERR_AUTH_FAILED);
        return rc;
    }
    established(e, sa, now_ms);
    bool contact = ike_msg_find_notify(in, IKE_N_INITIAL_CONTACT, NULL) != NULL;

    struct ike_msg_builder mb;
    ike_mb_init_chain(&mb, e->plain + IKE_MSG_MAX / 2, IKE_MSG_MAX / 2);
    if ((rc = add_id_auth(e, sa, &mb, IKE_PL_IDR)) < 0)
        return rc;
    struct ike_child *ch = ike_child_new(e, sa);
    uint16_t notify = IKE_N_NO_PROPOSAL_CHOSEN;
    if (ch && ike_child_accept(e, sa, in, ch, true, &notify) == 0 &&
        ike_child_offer(e, sa, ch, IKE_DH_NONE, &mb) == 0 &&
        first_child_up(e, sa, ch, now_ms) == 0) {
        ike_child_offer_ts(sa, ch, &mb);
        ch = NULL; /* installed before the response: make-before-break */
    } else {
        ike_log(e, IKE_LOG_WARN, "%s: no Child SA in IKE_AUTH: %s", sa->conn->cfg.name,
                ike_notify_name(notify));
        ike_notify_encode(&mb, 0, NULL, 0, notify, NULL, 0);
        if (ch)
            ike_child_release(e, ch);
        ike_out_event(e, sa, NULL, IKE_EV_CHILD_FAILED, ike_notify_to_err(notify));
    }
    rc = ike_msg_send_response(e, sa, IKE_AUTH, h->msg_id, &mb);
    ike_sa_free_setup(e, sa);
    /* Only now, with the request read and answered: dropping a stale IKE
     * SA can start our request on another (its children handed to the
     * survivor of an IKE rekey collision, 2.8.2, take a held Child rekey
     * along), built in the buffer the request's payloads still point
     * into. Seed 11520 --rekey: the peer restarted during such a
     * collision, the Child rekey overwrote its IKE_AUTH's SA payload, we
     * answered INVALID_SYNTAX and the tunnel stayed down for 105 s
     * (B45). The new child then takes outbound traffic as the stale
     * ones leave (policies_leave). */
    if (contact)
        initial_contact(e, sa);
    return rc;
}

int ike_auth_process_response(struct ike_engine *e, struct ike_sa *sa,
                              const struct ike_payload_list *in, uint64_t now_ms)
{
    if (sa->state != IKE_SA_AUTH_SENT)
        return IKE_ERR_STATE;
    uint16_t err = ike_msg_error_notify(in);
    int rc = err == IKE_N_AUTHENTICATION_FAILED ? IKE_ERR_AUTH_FAILED
                                                : verify_auth(e, sa, false, in, IKE_PL_IDR);
    if (rc < 0) {
        ike_log(e, IKE_LOG_WARN, "%s: IKE_AUTH failed: %s (check the PSK and IDs on both sides)",
                sa->conn->cfg.name, ike_err_str(rc));
        ike_sa_destroy(e, sa, rc);
        return rc;
    }
    established(e, sa, now_ms);
    struct ike_child *ch = sa->setup->first_child;
    if (err) {
        ike_log(e, IKE_LOG_WARN, "%s: peer refused the Child SA: %s", sa->conn->cfg.name,
                ike_notify_name(err));
        ike_out_event(e, sa, NULL, IKE_EV_CHILD_FAILED, ike_notify_to_err(err));
    } else if (ch && (rc = ike_child_finish(e, sa, in, ch, true)) == 0) {
        rc = first_child_up(e, sa, ch, now_ms);
    }
    if (rc < 0) {
        ike_log(e, IKE_LOG_WARN, "%s: Child SA from IKE_AUTH unusable: %s", sa->conn->cfg.name,
                ike_err_str(rc));
        ike_out_event(e, sa, NULL, IKE_EV_CHILD_FAILED, rc);
        /* 2.21: a bad child answer means the child is deleted, IKE stays */
    }
    ike_sa_free_setup(e, sa); /* also drops an unused first child */
    ike_request_done(e, sa);
    ike_task_next(e, sa, now_ms);
    return 0;
}
