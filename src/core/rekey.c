/*
 * rekey.c: rekeying Child SAs and the IKE SA with CREATE_CHILD_SA
 * (RFC 7296 1.3.2, 1.3.3, 2.8, 2.17, 2.18, 2.25), including every collision
 * of 2.8.1 / 2.8.2.
 *
 *   Child SA rekey                       IKE SA rekey
 *   HDR, SK {N(REKEY_SA), SA, Ni,        HDR, SK {SA, Ni, KEi} -->
 *            [KEi], TSi, TSr} -->                   <-- HDR, SK {SA, Nr, KEr}
 *          <-- HDR, SK {SA, Nr, [KEr], TSi, TSr}
 *   then INFORMATIONAL {D(old SA)} by the rekey initiator.
 *
 * Make-before-break, in kernel-operation order:
 *  - Responder: installs the new inbound AND outbound SA before it sends its
 *    response (so the initiator can send on the new SA the moment it has
 *    the response), but keeps its outbound policy on the OLD SA: the
 *    initiator has no new inbound SA until our response arrives. It moves
 *    outbound traffic to the new SA when the old one is deleted (the
 *    initiator's DELETE proves it has the new SA).
 *  - Initiator: its new inbound SPI is reserved before the request goes out;
 *    when the response arrives the new inbound SA is installed first thing
 *    (some peers, Libreswan 4.10 among them, send on the new SA right after
 *    answering), then the outbound SA, then the outbound policy switches to
 *    it (the responder has had it since before its response).
 *  - The old inbound SA stays until the DELETE exchange of the old SA
 *    completes, so packets still in flight on it are accepted.
 *
 * Collisions (2.8.1): when both peers rekey the same SA, both exchanges
 * complete; the new SA made by the exchange holding the lowest of the four
 * nonces is redundant and is deleted by the peer that initiated that
 * exchange; the initiator of the surviving exchange deletes the old SA.
 * Each side decides alone from the same four nonces, so they agree.
 * This file holds Child SA rekeying and what both kinds share; the IKE SA
 * side is in rekey_ike.c.
 */
#include <string.h>

#include "core.h"
#include "ike/err.h"

/* "Lowest" is octet by octet; a nonce that is a prefix of the other is
 * the lower one (2.8.1). */
int ike_nonce_cmp(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    size_t n = a_len < b_len ? a_len : b_len;
    int c = memcmp(a, b, n);
    if (c)
        return c;
    return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

void ike_low_nonce(uint8_t *out, uint8_t *out_len, const uint8_t *a, size_t a_len, const uint8_t *b,
                   size_t b_len)
{
    const uint8_t *lo = ike_nonce_cmp(a, a_len, b, b_len) <= 0 ? a : b;
    size_t n = lo == a ? a_len : b_len;
    if (n > IKE_LOW_NONCE_MAX)
        n = IKE_LOW_NONCE_MAX;
    memcpy(out, lo, n);
    *out_len = (uint8_t)n;
}

/* When to delete, ourselves, a child the peer should delete: after the
 * peer's whole retransmit budget (it may still be retrying the exchange
 * that replaced it, and needs the old SA until then), but before the
 * child's hard expiry, which the kernel counts in whole seconds. */
uint64_t ike_rekey_passive_deadline(const struct ike_child *ch, uint64_t now_ms)
{
    uint64_t wait = ike_timers_peer_budget(&ch->ike->conn->cfg);
    uint64_t at = now_ms + (wait > PASSIVE_DELETE_TIMEOUT_MS ? wait : PASSIVE_DELETE_TIMEOUT_MS);
    uint64_t eol = ike_rekey_end_of_life(ch);
    if (eol && eol < now_ms + 1000) {
        /* Tiny lifetimes: give our response a moment to reach the peer,
         * but stay ahead of the kernel, whose hard expiry can come up
         * to 1 s before ours (whole-second add time). */
        uint64_t last = ch->expire_at_ms > now_ms + 1100 ? ch->expire_at_ms - 1100 : now_ms;
        eol = now_ms + 1000 < last ? now_ms + 1000 : last;
    }
    return eol && at > eol ? eol : at;
}

/* The last moment to move traffic off a child: 1.5 s before our hard
 * expiry (the kernel's, counted from a truncated add time, may be up to
 * 1 s earlier). 0 = no time limit. */
uint64_t ike_rekey_end_of_life(const struct ike_child *ch)
{
    return ch->expire_at_ms > 1500 ? ch->expire_at_ms - 1500 : 0;
}

/* When a rekey the full task queue could not take asks again (a Child
 * rekey, or an IKE rekey: seed 271567, B71):
 * a second later, or every 200 ms once that second would end within 2 s
 * of the hard expiry (the kernel's may come 1 s early): with many tiny
 * children on one IKE SA the queue frees up within a few round trips,
 * and a retry a second later came after the kernel's hard expiry (seed
 * 18165). */
uint64_t ike_rekey_requeue_at(uint64_t expire_at_ms, uint64_t now_ms)
{
    if (expire_at_ms && now_ms + 3000 >= expire_at_ms)
        return now_ms + 200;
    return now_ms + 1000;
}

void ike_rekey_forget_child(struct ike_child *ch)
{
    struct ike_sa *sa = ch->ike;
    if (!sa)
        return;
    for (struct ike_child *c = sa->children; c; c = c->next)
        if (c->rekey_new == ch)
            c->rekey_new = NULL;
    if (sa->out_task.collision == ch)
        sa->out_task.collision = NULL;
}

/* ---- triggers ---- */
int ike_rekey_child_queue(struct ike_engine *e, struct ike_child *ch, uint64_t now_ms)
{
    if (ch->state != CHILD_INSTALLED || ch->ike->state != IKE_SA_ESTABLISHED)
        return IKE_ERR_STATE;
    struct ike_task t = {.type = TASK_CHILD_REKEY, .del_spi = ch->spi_in};
    t.urgent = ch->mutual_urgent; /* an early copy (timers.c, B82) */
    return ike_task_queue(e, ch->ike, &t, now_ms);
}

int ike_rekey_ike_queue(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    if (sa->state != IKE_SA_ESTABLISHED)
        return IKE_ERR_STATE;
    struct ike_task t = {.type = TASK_IKE_REKEY};
    return ike_task_queue(e, sa, &t, now_ms);
}

int ike_engine_rekey(struct ike_engine *e, const char *name, bool ike, uint64_t now_ms)
{
    e->now_ms = now_ms;
    struct ike_conn *c = ike_conn_find(e, name);
    if (!c)
        return IKE_ERR_NO_CONFIG;
    int rc = IKE_ERR_NO_SA;
    /* rekeyctl: only this connection's SAs (sa_index.c); an SA a rekey
     * makes goes in front of the list and is not visited. */
    for (struct ike_sa *sa = c->sas, *next; sa; sa = next) {
        next = sa->conn_next;
        if (sa->state != IKE_SA_ESTABLISHED)
            continue;
        if (ike) {
            rc = ike_rekey_ike_queue(e, sa, now_ms);
            continue;
        }
        for (struct ike_child *ch = sa->children; ch; ch = ch->next)
            if (ch->state == CHILD_INSTALLED && !ch->redundant)
                rc = ike_rekey_child_queue(e, ch, now_ms) < 0 && rc < 0 ? rc : 0;
    }
    return rc;
}

/* ---- Child SA rekey, we initiate ---- */
int ike_rekey_child_build_request(struct ike_engine *e, struct ike_sa *sa, struct ike_task *t,
                                  uint64_t now_ms)
{
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    struct ike_child *old = ike_map_get(&e->child_by_spi, t->del_spi);
    uint8_t pub[IKE_KE_MAX];
    size_t pub_len = 0;
    int rc;
    if (!old || old->ike != sa || (old->state != CHILD_INSTALLED && old->state != CHILD_REKEYING))
        return IKE_ERR_NO_SA; /* deleted or replaced while the task waited */
    if (!t->child) {
        /* The new inbound SPI is reserved now, before the request leaves. */
        if (!(t->child = ike_child_new(e, sa)))
            return IKE_ERR_NOMEM;
        t->child->we_initiated = true;
        t->child->reqid = old->reqid;
        t->child->ts_local = old->ts_local; /* a rekey never narrows (2.9) */
        t->child->ts_remote = old->ts_remote;
        if (!t->dh)
            t->dh = ike_proposal_first_dh(c->esp, c->n_esp);
    }
    /* Confirmed (child_sa.c) and, after an IKE rekey moved it here, the
     * peer has sent a request on this IKE SA, so it holds it here too;
     * a redundant SA of a collision the peer refuses to rekey as it
     * deletes it (seed 1311), so no conclusion comes of that. */
    t->peer_holds = old->confirmed && !old->redundant && sa->msg_id_in > 0;
    t->peer_lacks = old->answer_lost && !old->confirmed;
    ike_random(e, t->nonce, IKE_NONCE_LEN);
    if (t->ke)
        e->c->ke_free(t->ke);
    t->ke = NULL;
    if (t->dh && (rc = ike_ke_generate(e, t->dh, &t->ke, pub, sizeof(pub), &pub_len)) < 0)
        return rc;
    struct ike_msg_builder mb;
    uint8_t spi[4];
    ike_put_be32(spi, old->spi_in); /* the SPI we expect inbound on the old SA */
    ike_mb_init_chain(&mb, e->plain, sizeof(e->plain));
    ike_notify_encode(&mb, IKE_PROTO_ESP, spi, 4, IKE_N_REKEY_SA, NULL, 0);
    ike_child_offer(e, sa, t->child, t->dh, &mb);
    ike_nonce_encode(&mb, t->nonce, IKE_NONCE_LEN);
    if (t->dh)
        ike_ke_encode(&mb, t->dh, pub, pub_len);
    ike_ts_set_encode(&mb, IKE_PL_TSI, &t->child->ts_local);
    ike_ts_set_encode(&mb, IKE_PL_TSR, &t->child->ts_remote);
    if (c->mode == IKE_MODE_TRANSPORT)
        ike_notify_encode(&mb, 0, NULL, 0, IKE_N_USE_TRANSPORT_MODE, NULL, 0);
    if (old->state == CHILD_INSTALLED)
        ike_child_set_state(e, old, CHILD_REKEYING, "rekey started");
    return ike_msg_send_request(e, sa, CREATE_CHILD_SA, &mb, now_ms);
}

/* Decide a 2.8.1 collision once both exchanges are complete on our side.
 * old may be gone already (the winner deleted it). */
static void resolve_child_collision(struct ike_engine *e, struct ike_sa *sa, struct ike_child *old,
                                    struct ike_child *ours, struct ike_child *theirs,
                                    uint64_t now_ms)
{
    if (old)
        old->rekey_new = NULL;
    bool ours_lowest = ike_nonce_cmp(ours->low_nonce, ours->low_nonce_len, theirs->low_nonce,
                                     theirs->low_nonce_len) < 0;
    struct ike_child *redundant = ours_lowest ? ours : theirs;
    redundant->redundant = true;
    ike_log(e, IKE_LOG_INFO,
            "%s: rekey collision, %s new Child SA %08x/%08x is redundant (lowest nonce)",
            sa->conn->cfg.name, ours_lowest ? "our" : "the peer's", redundant->spi_in,
            redundant->spi_out);
    if (old && old->state == CHILD_REKEYING)
        ike_child_set_state(e, old, CHILD_REKEYED, "rekey collision");
    if (ours_lowest && !theirs->confirmed && ike_child_in_kernel(ours)) {
        /* We made the redundant SA and delete it, but not while the
         * peer's surviving SA is unconfirmed (it may lack our response
         * that made it): until then our redundant SA, which the peer
         * surely holds until our DELETE, keeps our traffic. The old SA
         * is no safe carrier: the peer rekeyed it because its copy is
         * near its end, and lifetimes differ (B36, seed 222 --rekey: the
         * peer's copy had hard-expired 1.1 s before). The peer's next
         * request (its DELETE of the old SA) confirms the survivor
         * (ike_child_confirm), which deletes ours; its passive deadline
         * is the fallback. */
        ike_child_pin_outbound(e, ours);
        ours->rekey_at_ms = 0; /* never rekey a redundant SA (seed 287) */
        ours->delete_when_confirmed = true;
        ours->delete_at_ms = ike_rekey_passive_deadline(ours, now_ms);
        if (old) {
            ike_task_drop(e, sa, TASK_CHILD_DELETE, old->spi_in);
            old->delete_at_ms = ike_rekey_passive_deadline(old, now_ms);
        }
    } else if (ours_lowest) {
        /* We made the redundant SA: we delete it now, and move our
         * traffic to the best other user (pin_rank): the peer's surviving
         * SA once confirmed, else another confirmed child of the same
         * policies, else the old SA, the peer's unconfirmed SA as the
         * last resort. Not the old SA before a confirmed survivor, for
         * the reason above (B36, seed 955 --rekey: the peer's copy had
         * hard-expired 1.8 s before). */
        ike_child_unpin(e, ours);
        if (old) /* our own DELETE of it, queued when ours completed, is void */
            ike_task_drop(e, sa, TASK_CHILD_DELETE, old->spi_in);
        struct ike_task t = {.type = TASK_CHILD_DELETE, .del_spi = ours->spi_in};
        ike_task_queue(e, sa, &t, now_ms);
        if (old)
            old->delete_at_ms = ike_rekey_passive_deadline(old, now_ms);
    } else {
        /* The peer deletes its redundant SA; if it never does, we will. */
        theirs->rekey_at_ms = 0;
        theirs->delete_at_ms = ike_rekey_passive_deadline(theirs, now_ms);
    }
    if (!ours_lowest && old) {
        /* We won: our new SA stays (outbound already on it); we delete the
         * old SA, the peer deletes its redundant one. */
        struct ike_task t = {.type = TASK_CHILD_DELETE, .del_spi = old->spi_in};
        ike_task_queue(e, sa, &t, now_ms);
    }
    ike_timers_update(e, sa);
}

/* Our rekey of OLD ended without a new SA of ours, but the peer's rekey of
 * the same SA, which we answered, went through: that one stands. OLD waits
 * for the peer's DELETE like any SA the peer rekeyed (2.8: the initiator of
 * the surviving rekey deletes the old SA), and goes by itself at the passive
 * deadline if that DELETE is lost. */
static void peer_rekey_stands(struct ike_engine *e, struct ike_sa *sa, struct ike_child *old,
                              uint64_t now_ms)
{
    ike_child_set_state(e, old, CHILD_REKEYED, "rekeyed by peer");
    old->delete_at_ms = ike_rekey_passive_deadline(old, now_ms);
    ike_timers_update(e, sa);
}

static int child_rekey_failed(struct ike_engine *e, struct ike_sa *sa, struct ike_child *old,
                              int err, const struct ike_payload_list *in, uint64_t now_ms)
{
    bool check = ike_diag_rekey_failed(e, sa, old, in, err, now_ms); /* the rekey check's */
    ike_log(e, IKE_LOG_WARN,
            "%s: rekey of Child SA %08x/%08x failed: %s; retrying while it is valid",
            sa->conn->cfg.name, old ? old->spi_in : 0, old ? old->spi_out : 0, ike_err_str(err));
    ike_out_event(e, sa, old, IKE_EV_REKEY_FAILED, err);
    if (old && old->state == CHILD_REKEYING && sa->out_task.collision) {
        peer_rekey_stands(e, sa, old, now_ms);
    } else if (old && old->state == CHILD_REKEYING) {
        ike_child_set_state(e, old, CHILD_INSTALLED, "rekey failed");
        if (!check) /* a failed check keeps the normal rekey time */
            ike_timers_rekey_failed(e, sa, old, err, now_ms);
    }
    ike_request_done(e, sa);
    ike_task_next(e, sa, now_ms);
    return err;
}

/* A peer that answers INVALID_KE_PAYLOAD: retry with its group (1.3). */
int ike_rekey_retry_with_group(struct ike_engine *e, struct ike_sa *sa, uint16_t g, uint64_t now_ms)
{
    struct ike_task *t = &sa->out_task;
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    bool ike = t->type == TASK_IKE_REKEY;
    if (g == t->dh || !ike_proposal_has_dh(ike ? c->ike : c->esp, ike ? c->n_ike : c->n_esp, g))
        return IKE_ERR_INVALID_KE;
    ike_log(e, IKE_LOG_INFO, "%s: peer wants DH group %s for the rekey, retrying", c->name,
            ike_transform_name(IKE_TRANSFORM_DH, g));
    struct ike_task retry = *t;
    retry.dh = g;
    t->child = NULL;
    t->ke = NULL;
    t->new_sa = NULL;
    ike_request_done(e, sa);
    sa->out_task = retry;
    return ike ? ike_rekey_ike_build_request(e, sa, &sa->out_task, now_ms)
               : ike_rekey_child_build_request(e, sa, &sa->out_task, now_ms);
}

uint16_t ike_rekey_invalid_ke_group(const struct ike_payload_list *in)
{
    struct ike_notify_payload n;
    if (!ike_msg_find_notify(in, IKE_N_INVALID_KE_PAYLOAD, &n) || n.data.len != 2)
        return 0;
    return (uint16_t)(n.data.p[0] << 8 | n.data.p[1]);
}

/* Derive and install the new child of our rekey; the old one is replaced. */
static int child_rekey_complete(struct ike_engine *e, struct ike_sa *sa, struct ike_child *old,
                                const struct ike_payload_list *in, uint64_t now_ms)
{
    struct ike_task *t = &sa->out_task;
    struct ike_child *ch = t->child;
    struct ike_ts_set keep_l = ch->ts_local, keep_r = ch->ts_remote;
    struct ike_view nr;
    struct ike_secret g = {0};
    int rc = ike_child_finish(e, sa, in, ch, false);
    if (rc == 0 && ike_child_gone_at_peer(sa, ch->spi_out))
        return IKE_ERR_NO_SA; /* B34: the peer deleted the new SA already */
    if (rc == 0 && ch->algs.dh != t->dh)
        rc = IKE_ERR_NO_PROPOSAL;
    const struct ike_payload *p_n = ike_payload_find(in, IKE_PL_NONCE, 0);
    if (rc == 0 && (!p_n || ike_nonce_decode(p_n->body, &nr) < 0))
        rc = IKE_ERR_MISSING_PAYLOAD;
    if (rc == 0 && t->dh) {
        const struct ike_payload *p_ke = ike_payload_find(in, IKE_PL_KE, 0);
        struct ike_ke_payload kp;
        rc = !p_ke || ike_ke_decode(p_ke->body, &kp) < 0 || kp.group != t->dh
                 ? IKE_ERR_INVALID_KE
                 : e->c->ke_derive(t->ke, kp.data.p, kp.data.len, &g);
    }
    if (rc == 0)
        rc = ike_child_derive(e, sa, ch, g.p, g.len, t->nonce, IKE_NONCE_LEN, nr.p, nr.len);
    ike_secret_free(&g);
    if (rc < 0)
        return rc;
    ch->ts_local = keep_l; /* same selectors, so the policies are shared */
    ch->ts_remote = keep_r;
    ike_low_nonce(ch->low_nonce, &ch->low_nonce_len, t->nonce, IKE_NONCE_LEN, nr.p, nr.len);
    ch->rekeys = old ? old->rekeys + 1 : 1;
    t->child = NULL;
    ike_child_attach(e, sa, ch);
    /* New inbound SA first, then outbound, then the outbound switch. */
    ike_child_install(e, ch, now_ms, true);
    struct ike_event *ev = ike_out_event(e, sa, ch, IKE_EV_CHILD_REKEYED, 0);
    if (ev)
        ev->old_spi_in = t->del_spi;
    struct ike_child *theirs = t->collision;
    t->collision = NULL;
    if (theirs) {
        resolve_child_collision(e, sa, old, ch, theirs, now_ms);
    } else if (old && ike_child_in_kernel(old)) {
        old->rekey_fails = 0;
        old->rekey_deferred = false;
        old->rekey_new = ch; /* a colliding request may still arrive */
        if (old->state != CHILD_REKEYED)
            ike_child_set_state(e, old, CHILD_REKEYED, "rekeyed");
        struct ike_task d = {.type = TASK_CHILD_DELETE, .del_spi = old->spi_in};
        ike_task_queue(e, sa, &d, now_ms);
    }
    return 0;
}

/* B42 (sim seed 3481 --rekey): we answered the peer's rekey of OLD while
 * ours was outstanding, and ours got CHILD_SA_NOT_FOUND. Mostly the peer's
 * rekey completed (our response reached it) and it is deleting OLD, its
 * DELETE lost or still on the way (2.8.1, second sequence); left REKEYING,
 * with no passive deadline, OLD carried our traffic until our hard expiry,
 * after the peer's copy had gone. OLD is then the peer's to delete, as if
 * we had never started our rekey, and its end of life is the last moment
 * to carry our traffic, as for any SA whose DELETE was lost: not held past
 * it while the peer may still retransmit the request we answered (B32),
 * as the peer says it keeps no copy of OLD for us. The NOT_FOUND confirms
 * nothing and moves nothing at once: the peer also answers it when its
 * copy hard-expired while its rekey was still retransmitting (seed 1975:
 * our response to it was in flight; confirming the peer's new SA moved our
 * traffic off a working sibling onto it; also 3498, 4232), or when OLD is
 * still on the IKE SA the one our request came on replaces (seed 5164: a
 * 2.8.2 collision pending at the peer). */
static void peer_dropped_old(struct ike_engine *e, struct ike_sa *sa, struct ike_child *old,
                             uint64_t now_ms)
{
    old->peer_dropped = true;
    peer_rekey_stands(e, sa, old, now_ms);
}

/* 2.25: before our rekey request left, the peer had proved it held this
 * SA under this IKE SA (t->peer_holds), and now answers CHILD_SA_NOT_FOUND:
 * it expired or was lost there, so no retry can succeed. (Proof that came
 * later is not enough: an answer made before the peer had our response
 * that made the SA can arrive after the peer's next request, seed 661;
 * and mid IKE rekey collision the peer may still keep the SA under the
 * old IKE SA, seed 30.) End ours now, not at our hard expiry (seed
 * 32949: the peer's copy expired first). 2.25 says silently; we send a
 * DELETE all the same, one exchange that a peer lacking the SA answers
 * empty (1.4.1) and that ends it at a peer that holds it but refused to
 * rekey it (its redundant SA of a collision we did not see, seed 46588).
 * Then make a new child unless the peer does: a side whose SA expired
 * makes one itself (ike_child_hard_expired), so its CREATE_CHILD_SA may be
 * on the way; one retransmission interval later the recreate timer makes
 * ours if no child carries the tunnel by then (wait_ms). Creating at once
 * made two children where one was wanted. */
static int child_lost_by_peer(struct ike_engine *e, struct ike_sa *sa, struct ike_child *old,
                              uint64_t wait_ms, uint64_t now_ms)
{
    ike_log(e, IKE_LOG_WARN, "%s: the peer %s Child SA %08x/%08x; deleting ours",
            sa->conn->cfg.name, wait_ms ? "no longer has" : "never got", old->spi_in, old->spi_out);
    ike_request_done(e, sa);
    ike_child_retire(e, old, "the peer does not have it", now_ms);
    uint64_t at = now_ms + wait_ms;
    if (!sa->recreate_at_ms || sa->recreate_at_ms > at)
        sa->recreate_at_ms = at;
    ike_timers_update(e, sa);
    ike_task_next(e, sa, now_ms);
    return 0;
}

int ike_rekey_child_process_response(struct ike_engine *e, struct ike_sa *sa,
                                     const struct ike_payload_list *in, uint64_t now_ms)
{
    struct ike_task *t = &sa->out_task;
    struct ike_child *old = ike_map_get(&e->child_by_spi, t->del_spi);
    if (old && (old->ike != sa || old->out_gone))
        old = NULL; /* out_gone: as good as gone, its DELETE is queued (B43) */
    uint16_t g = ike_rekey_invalid_ke_group(in);
    if (g) {
        int rc = ike_rekey_retry_with_group(e, sa, g, now_ms);
        return rc < 0 ? child_rekey_failed(e, sa, old, rc, in, now_ms) : 0;
    }
    uint16_t err = ike_msg_error_notify(in);
    if (err == IKE_N_CHILD_SA_NOT_FOUND && (t->collision || !old || old->state == CHILD_REKEYED)) {
        /* 2.8.1, second sequence: the peer's rekey already replaced it. */
        ike_log(e, IKE_LOG_INFO, "Child SA %08x already rekeyed by the peer", t->del_spi);
        if (old && old->state == CHILD_REKEYING && t->collision)
            peer_dropped_old(e, sa, old, now_ms);
        ike_request_done(e, sa);
        ike_task_next(e, sa, now_ms);
        return 0;
    }
    if (err == IKE_N_CHILD_SA_NOT_FOUND && old && t->peer_holds)
        return child_lost_by_peer(e, sa, old, sa->conn->cfg.retransmit_base_ms, now_ms);
    /* We made old by answering the peer, our answer was lost (the peer
     * asked again), so the peer lacks old until its next retransmission
     * gets the answer resent (2.1), which its back-off may bring only
     * after old's hard expiry: retrying the rekey got NOT_FOUND until
     * then (seeds 58071, 71889, 81034 --rekey). While a retry can still
     * finish in time it is retried (the peer's retransmission may come
     * first and restore old, as any NOT_FOUND, B7); at the last call,
     * 2.25: delete it and make a new child from scratch. At once: the
     * peer, its request still outstanding, cannot make one itself
     * (window size 1, 2.3). Our DELETE ends old at the peer either way:
     * arriving first, it makes the resent answer install nothing (B34,
     * ike_child_note_gone). B78 (seed 468333 --rekey): the same when
     * nothing told us the answer was lost (the peer's retransmissions
     * were lost too): a child we made by answering, which the peer has
     * never confirmed, and NOT_FOUND at the last call: waiting on can only
     * end at its hard expiry. */
    uint64_t eol = old ? ike_rekey_end_of_life(old) : 0;
    if (err == IKE_N_CHILD_SA_NOT_FOUND && old && (t->peer_lacks || !old->we_initiated) &&
        !old->confirmed &&
        (!eol || eol <= now_ms + IKE_CHILD_LAST_CALL_MS)) /* !eol: only byte limits */
        return child_lost_by_peer(e, sa, old, 0, now_ms);
    /* Any other CHILD_SA_NOT_FOUND is retried like any refusal: the peer
     * may simply not have processed the exchange that made this child yet
     * (we answered its rekey a moment ago, B7). */
    if (err) {
        return child_rekey_failed(e, sa, old, ike_notify_to_err(err), in, now_ms);
    }
    uint32_t new_spi = t->child ? t->child->spi_in : 0;
    int rc = child_rekey_complete(e, sa, old, in, now_ms);
    if (rc == IKE_ERR_NO_SA) {
        /* B34 (exchange_child.c): the peer made the new SA and deleted it
         * before our retransmission got its response: nothing to install
         * or delete; the old SA, if still here, is rekeyed again. */
        ike_log(e, IKE_LOG_INFO, "%s: the peer deleted the new Child SA before its response came",
                sa->conn->cfg.name);
        child_rekey_failed(e, sa, old, rc, in, now_ms);
        ike_child_recreate(e, sa, now_ms); /* if no other child carries the tunnel */
        return rc;
    }
    if (rc < 0) {
        /* The peer installed an SA we cannot use: ask it to delete it. */
        struct ike_task d = {.type = TASK_CHILD_DELETE, .del_spi = new_spi};
        child_rekey_failed(e, sa, old, rc, in, now_ms);
        if (new_spi)
            ike_task_queue(e, sa, &d, now_ms);
        return rc;
    }
    ike_request_done(e, sa);
    ike_task_next(e, sa, now_ms);
    return 0;
}

/* ---- Child SA rekey, the peer initiates ---- */
int ike_rekey_refuse(struct ike_engine *e, struct ike_sa *sa, const struct ike_hdr *h,
                     uint16_t type, const struct ike_notify_payload *n, const char *why)
{
    ike_log(e, IKE_LOG_INFO, "%s: answering the peer's rekey with %s (%s)", sa->conn->cfg.name,
            ike_notify_name(type), why);
    if (type == IKE_N_CHILD_SA_NOT_FOUND && n) {
        /* 3.10.1: name the SA we did not find. */
        struct ike_msg_builder mb;
        uint8_t inner[64];
        ike_mb_init_chain(&mb, inner, sizeof(inner));
        ike_notify_encode(&mb, n->proto, n->spi.p, n->spi.len, type, NULL, 0);
        return ike_msg_send_response(e, sa, CREATE_CHILD_SA, h->msg_id, &mb);
    }
    return ike_msg_notify_response(e, sa, CREATE_CHILD_SA, h->msg_id, type, NULL, 0);
}

/* The old child after the peer replaced it (in every collision order). */
static void child_replaced_by_peer(struct ike_engine *e, struct ike_child *old,
                                   struct ike_child *ch, uint64_t now_ms)
{
    struct ike_sa *sa = old->ike;
    ch->rekeys = old->rekeys + 1;
    if (old->state == CHILD_REKEYING && sa->out_task.type == TASK_CHILD_REKEY &&
        sa->out_task.del_spi == old->spi_in) {
        sa->out_task.collision = ch; /* ours is outstanding: decide at its response */
    } else if (old->state == CHILD_REKEYED && old->rekey_new) {
        resolve_child_collision(e, sa, old, old->rekey_new, ch, now_ms); /* ours done */
    } else {
        if (old->state == CHILD_INSTALLED)
            ike_child_set_state(e, old, CHILD_REKEYED, "rekeyed by peer");
        /* The initiator deletes the old SA; if it never does, we will. */
        old->delete_at_ms = ike_rekey_passive_deadline(old, now_ms);
        old->rekey_at_ms = 0;
    }
    ike_timers_update(e, old->ike);
}

int ike_rekey_child_process_request(struct ike_engine *e, struct ike_sa *sa,
                                    const struct ike_hdr *h, const struct ike_payload_list *in,
                                    const struct ike_notify_payload *n, uint64_t now_ms)
{
    if (n->proto != IKE_PROTO_ESP || n->spi_size != 4 || n->spi.len != 4)
        return ike_rekey_refuse(e, sa, h, IKE_N_INVALID_SYNTAX, NULL, "bad REKEY_SA notify");
    if (sa->out_task.type == TASK_IKE_REKEY || sa->state != IKE_SA_ESTABLISHED) {
        if (sa->out_task.type == TASK_IKE_REKEY) {
            sa->refused_peer_child = true; /* our retry lets it go first (timers.c) */
            sa->refused_child_out = ike_be32(n->spi.p);
        }
        return ike_rekey_refuse(e, sa, h, IKE_N_TEMPORARY_FAILURE, NULL, "IKE SA being rekeyed");
    }
    /* REKEY_SA names the SPI the peer receives on: our outbound SPI. */
    struct ike_child *old = ike_child_by_out_spi(sa, ike_be32(n->spi.p));
    if (!old && sa->rekey_old && sa->rekey_old->collision == sa &&
        ike_child_by_out_spi(sa->rekey_old, ike_be32(n->spi.p))) {
        /* A new IKE SA we answered while our own rekey of the old one is
         * outstanding: 2.8.2 decides at its response where the children
         * go, so they are still on the old SA. The peer, which has both
         * results, already rekeys them here. The child exists and the
         * condition is temporary, a rekeying operation: 2.25 says
         * TEMPORARY_FAILURE, which the peer retries (our rekey went again
         * when this request came: recv.c, B81). CHILD_SA_NOT_FOUND
         * (2.25: "does not exist") made the peer delete the child and the
         * tunnel went down (seed 87004; a DELETE here finds them on the
         * old SA, seed 122). */
        return ike_rekey_refuse(e, sa, h, IKE_N_TEMPORARY_FAILURE, NULL,
                                "IKE rekey collision pending");
    }
    if (!old || old->state == CHILD_DELETING || old->state == CHILD_CREATING || old->redundant)
        return ike_rekey_refuse(e, sa, h, IKE_N_CHILD_SA_NOT_FOUND, n, "no such Child SA");
    struct ike_child *ch = ike_child_new(e, sa);
    if (!ch)
        return IKE_ERR_NOMEM;
    uint16_t notify = 0;
    int rc = ike_child_accept(e, sa, in, ch, false, &notify);
    ch->reqid = old->reqid;
    ch->ts_local = old->ts_local; /* keeps reqid, selectors, policies */
    ch->ts_remote = old->ts_remote;
    struct ike_ke_payload kp;
    const struct ike_payload *p_ke = ike_payload_find(in, IKE_PL_KE, 0);
    if (rc == 0 && ch->algs.dh &&
        (!p_ke || ike_ke_decode(p_ke->body, &kp) < 0 || kp.group != ch->algs.dh)) {
        uint8_t g[2] = {(uint8_t)(ch->algs.dh >> 8), (uint8_t)ch->algs.dh};
        ike_child_release(e, ch);
        return ike_msg_notify_response(e, sa, CREATE_CHILD_SA, h->msg_id, IKE_N_INVALID_KE_PAYLOAD,
                                       g, 2);
    }
    if (rc == 0)
        rc = ike_child_respond(e, sa, h, in, ch, now_ms); /* outbound stays on the old SA */
    if (rc < 0) {
        if (ike_child_in_kernel(ch))
            ike_child_remove(e, ch, rc);
        else
            ike_child_release(e, ch);
        ike_diag_rekey_refused(e, sa, old, in, notify ? notify : IKE_N_NO_PROPOSAL_CHOSEN, now_ms);
        return ike_rekey_refuse(e, sa, h, notify ? notify : IKE_N_NO_PROPOSAL_CHOSEN, NULL,
                                ike_err_str(rc));
    }
    struct ike_event *ev = ike_out_event(e, sa, ch, IKE_EV_CHILD_REKEYED, 0);
    if (ev)
        ev->old_spi_in = old->spi_in;
    child_replaced_by_peer(e, old, ch, now_ms);
    return 0;
}

/* B76 (regress seed 28377 --rekey, on B72's course): both peers rekeyed
 * Child SA X at once and we won the 2.8.1 collision: the peer's new SA R
 * is redundant, its creator deletes it (we wait the passive deadline).
 * But our answer that made R was lost, and before the peer's
 * retransmission got it resent the peer had lost X to our DELETE and our
 * surviving SA S to its hard expiry (its lifetimes were shorter): it saw
 * no collision, nothing being left for R to be redundant with, took R for
 * its plain rekey of X, and deleted S. R was the tunnel's only Child SA at
 * both ends, yet we refused the peer's rekey of it (CHILD_SA_NOT_FOUND,
 * for a redundant SA) and deleted it at its passive deadline: no Child SA
 * left at either end and nobody to make one (391 s down). Redundancy is
 * relative to the survivor (2.8.1: two SAs for one pair of selectors):
 * once the peer deletes the survivor and nothing else of ours carries
 * those selectors, R is the tunnel's SA again: kept, rekeyed, carrying
 * our traffic. Called after the peer's DELETE removed a child of `reqid`. */
void ike_rekey_redundant_stands(struct ike_engine *e, struct ike_sa *sa, uint32_t reqid,
                                uint64_t now_ms)
{
    struct ike_child *red = NULL;
    for (struct ike_child *c = sa->children; c; c = c->next) {
        if (c->reqid != reqid)
            continue;
        if (c->redundant && !c->we_initiated && c->state == CHILD_INSTALLED)
            red = c;
        else if (c->state == CHILD_INSTALLED || c->state == CHILD_REKEYING ||
                 c->state == CHILD_CREATING)
            return; /* another SA carries the tunnel, or one is coming */
    }
    if (!red)
        return;
    ike_log(e, IKE_LOG_INFO,
            "%s: the peer deleted the survivor of a rekey collision: its Child SA %08x/%08x is "
            "no longer redundant",
            sa->conn->cfg.name, red->spi_in, red->spi_out);
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    red->redundant = false;
    red->delete_at_ms = 0;
    if (c->rekey && red->expire_at_ms) {
        uint64_t at =
            red->expire_at_ms > c->rekey_margin_ms ? red->expire_at_ms - c->rekey_margin_ms : 0;
        red->rekey_at_ms = at > now_ms ? at : now_ms;
    }
    ike_child_pin_outbound(e, red);
    ike_timers_update(e, sa);
}
