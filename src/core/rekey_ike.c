/*
 * rekey_ike.c: rekeying the IKE SA (RFC 7296 1.3.2, 2.18) and its
 * collisions (2.8.2), both roles. The new IKE SA's keys come from the old
 * SA's SK_d and PRF; the Child SAs move to it; the rekey initiator becomes
 * its original initiator and message IDs start again at 0. The old SA only
 * waits for its DELETE. Child SA rekeying and the shared pieces are in
 * rekey.c.
 */
#include <string.h>

#include "core.h"
#include "ike/err.h"

/* ---- IKE SA rekey ---- */
/* SKEYSEED = prf_old(SK_d (old), g^ir (new) | Ni | Nr);
 * SK_* = prf+_new(SKEYSEED, Ni | Nr | SPIi | SPIr) (2.18). */
static int derive_rekeyed(struct ike_engine *e, struct ike_sa *old, struct ike_sa *n,
                          const struct ike_secret *g)
{
    int rc = ike_alg_encr(n->algs.encr, n->algs.encr_keylen, &n->encr);
    memset(&n->integ, 0, sizeof(n->integ));
    if (rc == 0 && !n->encr.aead)
        rc = ike_alg_integ(n->algs.integ, &n->integ);
    int prf_len = ike_alg_prf_len(n->algs.prf);
    if (rc < 0 || prf_len < 0)
        return rc < 0 ? rc : prf_len;
    struct ike_sa_key_lens lens = {.prf_id = n->algs.prf,
                                   .prf_len = (size_t)prf_len,
                                   .integ_len = n->integ.key_len,
                                   .encr_len = n->encr.key_len};
    uint8_t spi_i[8], spi_r[8];
    ike_put_be64(spi_i, n->spi_i);
    ike_put_be64(spi_r, n->spi_r);
    return ike_keys_ike_rekey(e->c, old->algs.prf, &old->keys.sk_d, &lens, g->p, g->len,
                              n->setup->nonce_i, n->setup->nonce_i_len, n->setup->nonce_r,
                              n->setup->nonce_r_len, spi_i, spi_r, &n->keys);
}

/* A child whose DELETE is the old SA's outstanding request stays there:
 * that DELETE's response comes on the old SA (ike_rekey_ike_process_request
 * lets the peer's IKE rekey through while it is outstanding). */
static bool deleting_on(const struct ike_sa *old, const struct ike_child *ch)
{
    return ch->state == CHILD_DELETING && old->out_task.type == TASK_CHILD_DELETE &&
           ike_task_deletes(&old->out_task, ch->spi_in);
}

/* Unlink the child at *pp and put it on n (its list and its IKE SA). */
static struct ike_child *hand_over(struct ike_child **pp, struct ike_sa *n)
{
    struct ike_child *ch = *pp;
    *pp = ch->next;
    ch->ike = n;
    ch->next = n->children;
    n->children = ch;
    return ch;
}

/* Children and queued Child work move to the new IKE SA (2.18); the old
 * one only waits for its DELETE. */
static void move_children(struct ike_engine *e, struct ike_sa *old, struct ike_sa *n)
{
    old->successor = ike_sa_our_spi(n);
    struct ike_child **pp = &old->children;
    while (*pp) {
        if (deleting_on(old, *pp)) {
            pp = &(*pp)->next;
            continue;
        }
        struct ike_child *ch = hand_over(pp, n);
        /* The IKE rekey that made the peer refuse this child's rekey with
         * TEMPORARY_FAILURE is over (2.25: wait for the operation that
         * caused it, then retry): retry now on the new IKE SA instead of
         * seconds later, when a tiny lifetime may be over (seed 1401). */
        if (ch->rekey_deferred && ch->state == CHILD_INSTALLED && ch->rekey_at_ms > e->now_ms)
            ch->rekey_at_ms = e->now_ms;
        ch->rekey_deferred = false;
    }
    /* Child work moves with the children; a replaced SA keeps only its own
     * DELETE (a liveness check or rekey of it would block that DELETE). */
    uint8_t keep = 0;
    for (uint8_t i = 0; i < old->n_pending; i++) {
        struct ike_task *t = &old->pending[i];
        bool child_task = t->type == TASK_CHILD_CREATE || t->type == TASK_CHILD_DELETE ||
                          t->type == TASK_CHILD_REKEY;
        if (child_task && n->n_pending < IKE_PENDING_TASKS)
            n->pending[n->n_pending++] = *t;
        else if (t->type == TASK_IKE_DELETE)
            old->pending[keep++] = *t;
        else
            ike_task_clear(e, t);
    }
    old->n_pending = keep;
    if (old->recreate_at_ms && !n->recreate_at_ms)
        n->recreate_at_ms = old->recreate_at_ms; /* a Child SA to make again */
    old->recreate_at_ms = 0;
    if (old->child_expired_ms > n->child_expired_ms)
        n->child_expired_ms = old->child_expired_ms; /* its DELETE moves too */
    old->replaced = true;
    old->rekey_at_ms = old->dpd_at_ms = old->expire_at_ms = 0;
    n->rekeys = old->rekeys + 1;
    if (old->state == IKE_SA_ESTABLISHED)
        ike_sa_set_state(e, old, IKE_SA_REKEYED, "rekeyed");
    ike_timers_update(e, old);
    ike_timers_update(e, n);
    if (n->state == IKE_SA_ESTABLISHED)
        ike_task_next(e, n, e->now_ms); /* e.g. an old Child SA's DELETE */
}

/* A replaced IKE SA waits for the peer's DELETE at least as long as the
 * peer may retransmit it. */
uint64_t ike_rekey_passive_ike_wait(const struct ike_sa *sa)
{
    uint64_t wait = ike_timers_peer_budget(&sa->conn->cfg);
    return wait > PASSIVE_DELETE_TIMEOUT_MS ? wait : PASSIVE_DELETE_TIMEOUT_MS;
}

/* `old` is REKEYED and its DELETE is the peer's to send (2.18, 2.8.2):
 * wait for it, asking on `old` meanwhile whether the peer still holds it
 * (ike_rekey_probe_later). */
static void await_peer_delete(struct ike_sa *old, uint64_t now_ms)
{
    old->delete_at_ms = now_ms + ike_rekey_passive_ike_wait(old);
    ike_rekey_probe_later(old, now_ms);
}

static void delete_ike_sa(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    struct ike_task t = {.type = TASK_IKE_DELETE};
    ike_task_queue(e, sa, &t, now_ms);
}

/* `old`, the peer's new SA of a rekey that collided with ours, was itself
 * rekeyed before ours completed: by the peer (seed 58258: a forced rekey
 * of its collision survivor), by us, or by both at once (B46, seed 16178:
 * a collision of its own). The collision is still to be decided at the
 * end of ours, on the nonces of the exchange that made `old` (2.8.2), and
 * the children go to old's successor n: hand n that role, or we see no
 * collision, keep our own (redundant) SA and the peers disagree on the
 * children's IKE SA. */
static void inherit_collision(struct ike_sa *old, struct ike_sa *n)
{
    struct ike_sa *a = old->rekey_old;
    if (!a || a->collision != old)
        return;
    a->collision = n;
    n->rekey_old = a;
    old->rekey_old = NULL;
    memcpy(n->low_nonce, old->low_nonce, sizeof(n->low_nonce));
    n->low_nonce_len = old->low_nonce_len;
}

/* n, a new IKE SA our answer to the peer's rekey made, carries none of
 * our requests until the peer has it: the peer keys it only when our
 * answer arrives and drops a request of ours that overtakes the answer
 * (reordering); our retransmission came after a tiny Child lifetime was
 * over (B16, seed 1487). Its DELETE of old follows our answer at once
 * (release_on_delete), anything heard on n releases too (ike_timers_heard),
 * and IKE_REKEY_HOLD_MS ends the wait when both are lost. But a child on n
 * whose rekey must start before then waits only IKE_REKEY_HOLD_MIN_MS
 * (past any reordering): with the peer's DELETE lost, the 2 s hold sent
 * our Child rekey after the kernel's hard expiry of a 7 s child (seed
 * 81109 --rekey). Its last moment is IKE_CHILD_LAST_CALL_MS before its
 * end of life, so the rekey's round trip ends before the kernel's
 * whole-second hard expiry. Set before the children move from old to n:
 * the move starts n's next queued task (seed 201024 --rekey: a Child rekey
 * went on n at once and was dropped by the peer, which lacked n). */
static void hold_for_peer(struct ike_engine *e, struct ike_sa *n, struct ike_sa *old,
                          uint64_t now_ms)
{
    uint64_t until = now_ms + IKE_REKEY_HOLD_MS;
    for (const struct ike_child *ch = old->children; ch; ch = ch->next) {
        uint64_t eol = ike_rekey_end_of_life(ch);
        if (ch->state != CHILD_INSTALLED || ch->redundant || !eol)
            continue;
        uint64_t last = eol > IKE_CHILD_LAST_CALL_MS ? eol - IKE_CHILD_LAST_CALL_MS : 0;
        if (last < now_ms + IKE_REKEY_HOLD_MIN_MS)
            last = now_ms + IKE_REKEY_HOLD_MIN_MS;
        if (last < until)
            until = last;
    }
    n->hold_until_ms = until;
    old->release_on_delete = ike_sa_our_spi(n);
    ike_timers_update(e, n);
}

/* 2.8.2: both exchanges done; the new SA with the lowest nonce goes. */
static void resolve_ike_collision(struct ike_engine *e, struct ike_sa *old, uint64_t now_ms)
{
    struct ike_sa *ours = old->rekey_new, *theirs = old->collision;
    old->rekey_new = old->collision = NULL;
    ours->rekey_old = theirs->rekey_old = NULL;
    bool ours_lowest = ike_nonce_cmp(ours->low_nonce, ours->low_nonce_len, theirs->low_nonce,
                                     theirs->low_nonce_len) < 0;
    struct ike_sa *survivor = ours_lowest ? theirs : ours, *redundant = ours_lowest ? ours : theirs;
    redundant->redundant = true;
    ike_log(e, IKE_LOG_INFO,
            "IKE SA %016llx_%016llx: rekey collision, %s new IKE SA %016llx_%016llx is redundant",
            (unsigned long long)old->spi_i, (unsigned long long)old->spi_r,
            ours_lowest ? "our" : "the peer's", (unsigned long long)redundant->spi_i,
            (unsigned long long)redundant->spi_r);
    if (ours_lowest) /* the survivor is the peer's, made by our answer */
        hold_for_peer(e, theirs, old, now_ms);
    move_children(e, old, survivor);
    inherit_collision(old, survivor);
    /* Who deletes old is the collision's to decide: not a DELETE queued
     * at its lifetime while our rekey was outstanding. From the loser it
     * reads, at a winner still waiting for our response (reordered behind
     * it), as 2.8.2's "the other peer did not detect the simultaneous
     * rekey": the winner forgets its own rekey and keeps the children on
     * our redundant SA, which we delete (B47, seed 2324 --rekey). */
    ike_task_drop(e, old, TASK_IKE_DELETE, 0);
    if (ours_lowest) {
        /* The survivor is the peer's: our answer made it, and the peer
         * may not have that answer yet (B16 within a collision, seed
         * 96780 --rekey: our Child rekey on it overtook the answer). The
         * winner's DELETE of old, or anything heard on it, releases
         * (hold_for_peer above). */
        delete_ike_sa(e, ours, now_ms); /* we made it, we delete it */
        await_peer_delete(old, now_ms); /* the winner deletes old */
    } else {
        /* We won, the peer deletes its redundant SA. It can do so only
         * once it has our response to its rekey, which it may still be
         * retransmitting on the old SA: so the old SA stays until the
         * redundant one is gone (its DELETE, or our passive timeout).
         * Deleting the old SA at once made the peer drop its half-made
         * SA while we kept it as redundant (B12). */
        redundant->delete_at_ms = now_ms + ike_rekey_passive_ike_wait(redundant);
        redundant->delete_old_after = ike_sa_our_spi(old);
    }
    ike_timers_update(e, old);
    ike_timers_update(e, redundant);
}

/* The old SA goes while its DELETE of children it kept (deleting_on) is
 * still unanswered: the peer moved its copies to the new SA, so the
 * DELETE is asked again there (a peer that already removed them answers
 * without a Delete payload, 2.25.1). Every SPI of it, also of a child we
 * already removed at its hard expiry (its DELETE still has to reach the
 * peer, delete_spis): asking again only for the children still listed
 * lost that DELETE, and the peer kept its copy REKEYED until its passive
 * timeout (B44, seed 11299 --rekey). */
static void redelete_on(struct ike_engine *e, struct ike_sa *sa, struct ike_sa *n)
{
    const struct ike_task *out = &sa->out_task;
    for (int k = 0; n && n->state == IKE_SA_ESTABLISHED && k <= out->n_more; k++) {
        uint32_t spi = ike_task_del_spi(out, k);
        for (struct ike_child **pp = &sa->children; *pp; pp = &(*pp)->next) {
            if ((*pp)->spi_in == spi && deleting_on(sa, *pp)) {
                hand_over(pp, n);
                break;
            }
        }
        struct ike_task t = {.type = TASK_CHILD_DELETE, .del_spi = spi, .resend = true};
        ike_task_queue(e, n, &t, e->now_ms);
    }
}

/* Child work left on an SA whose children are all gone: a Child SA to make
 * again (its last child expired unreplaced, B28) or the DELETE of an expired
 * one, queued behind our lost IKE rekey. It belongs to the survivor as much
 * as the children would (2.18): B80, seeds 430574 and 680342 --rekey: the
 * peer rekeyed the SA, we answered with our rekey still outstanding (the
 * collision undecided), and its DELETE of the old SA dropped that work; we
 * kept an IKE SA with no Child SA and no outbound policy (43 s and more). */
static bool child_work(const struct ike_sa *sa)
{
    return sa->recreate_at_ms || ike_task_has(sa, TASK_CHILD_CREATE) ||
           ike_task_has(sa, TASK_CHILD_DELETE);
}

void ike_rekey_ike_deleted(struct ike_engine *e, struct ike_sa *sa)
{
    if (sa->out_task.type == TASK_CHILD_DELETE && sa->successor)
        redelete_on(e, sa, ike_sa_find(e, sa->successor));
    if (sa->release_on_delete)
        ike_rekey_release_hold(e, ike_sa_find(e, sa->release_on_delete), e->now_ms);
    struct ike_sa *old = ike_sa_find(e, sa->delete_old_after);
    if (old && old != sa && old->state == IKE_SA_REKEYED)
        delete_ike_sa(e, old, e->now_ms); /* the collision's loser is done with it */
    struct ike_sa *to = sa->collision ? sa->collision : sa->rekey_new;
    if (to && to->state == IKE_SA_ESTABLISHED && (sa->children || child_work(sa))) {
        ike_log(e, IKE_LOG_INFO, "IKE SA %016llx_%016llx deleted by the peer after its rekey",
                (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r);
        move_children(e, sa, to);
    }
    if (sa->rekey_new)
        sa->rekey_new->rekey_old = NULL;
    if (sa->collision)
        sa->collision->rekey_old = NULL;
    if (sa->rekey_old) {
        if (sa->rekey_old->rekey_new == sa)
            sa->rekey_old->rekey_new = NULL;
        if (sa->rekey_old->collision == sa)
            sa->rekey_old->collision = NULL;
    }
    sa->rekey_new = sa->collision = sa->rekey_old = NULL;
}

int ike_rekey_ike_build_request(struct ike_engine *e, struct ike_sa *sa, struct ike_task *t,
                                uint64_t now_ms)
{
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    uint8_t pub[IKE_KE_MAX], spi[8];
    size_t pub_len = 0;
    if (sa->state != IKE_SA_ESTABLISHED)
        return IKE_ERR_STATE;
    if (!t->new_sa) {
        /* The rekey initiator is the new SA's original initiator (2.18). */
        if (!(t->new_sa = ike_sa_new(e, sa->conn, true)))
            return IKE_ERR_NOMEM;
        t->new_sa->local = sa->local;
        t->new_sa->remote = sa->remote;
        t->new_sa->rekey_old = sa;
        if (!t->dh)
            t->dh = sa->algs.dh; /* the IKE SA's own group first */
    }
    struct ike_sa *n = t->new_sa;
    /* this attempt's refusals only */
    sa->refused_peer_child = sa->mutual_wait = sa->wait_peer_child = false;
    sa->refused_child_out = 0;
    n->setup->nonce_i_len = IKE_NONCE_LEN;
    ike_random(e, n->setup->nonce_i, IKE_NONCE_LEN);
    if (n->setup->ke)
        e->c->ke_free(n->setup->ke);
    n->setup->ke = NULL;
    int rc = ike_ke_generate(e, t->dh, &n->setup->ke, pub, sizeof(pub), &pub_len);
    if (rc < 0)
        return rc;
    struct ike_msg_builder mb;
    struct ike_sa_payload sap;
    ike_put_be64(spi, n->spi_i);
    ike_mb_init_chain(&mb, e->plain, sizeof(e->plain));
    ike_proposal_build(c->ike, c->n_ike, IKE_PROTO_IKE, spi, 8, t->dh, &sap);
    ike_sa_encode(&mb, &sap);
    ike_nonce_encode(&mb, n->setup->nonce_i, n->setup->nonce_i_len);
    ike_ke_encode(&mb, t->dh, pub, pub_len);
    return ike_msg_send_request(e, sa, CREATE_CHILD_SA, &mb, now_ms);
}

/* The new IKE SA is keyed: establish it and hand it the tunnel. */
static void ike_rekeyed(struct ike_engine *e, struct ike_sa *old, struct ike_sa *n,
                        bool we_initiated, uint64_t now_ms)
{
    ike_low_nonce(n->low_nonce, &n->low_nonce_len, n->setup->nonce_i, n->setup->nonce_i_len,
                  n->setup->nonce_r, n->setup->nonce_r_len);
    ike_sa_free_setup(e, n); /* keyed: the nonces are no longer needed */
    ike_sa_set_state(e, n, IKE_SA_ESTABLISHED, "rekeyed IKE SA");
    n->established_ms = old->established_ms; /* the same tunnel, for INITIAL_CONTACT */
    ike_timers_established(e, n, now_ms);
    struct ike_event *ev = ike_out_event(e, n, NULL, IKE_EV_IKE_REKEYED, 0);
    if (ev) {
        ev->old_ike_spi_i = old->spi_i;
        ev->old_ike_spi_r = old->spi_r;
    }
    if (we_initiated) {
        old->rekey_new = n;
        if (old->collision) {
            resolve_ike_collision(e, old, now_ms);
        } else {
            old->rekey_new = NULL;
            n->rekey_old = NULL;
            move_children(e, old, n);
            inherit_collision(old, n);
            delete_ike_sa(e, old, now_ms); /* on the old SA, by its rekey initiator */
        }
    } else if (old->out_task.type == TASK_IKE_REKEY) {
        old->collision = n; /* our own rekey is outstanding: decide at its end */
    } else {
        n->rekey_old = NULL;
        n->passive_old = ike_sa_our_spi(old);
        hold_for_peer(e, n, old, now_ms);
        move_children(e, old, n);
        await_peer_delete(old, now_ms);
        ike_timers_update(e, old);
        inherit_collision(old, n);
    }
}

/* The peer sent something on n, the IKE SA our answer to its rekey made:
 * it holds n, so it has our answer and sent its DELETE of the old SA when
 * that came (2.18: the rekey initiator deletes the old SA). Only
 * retransmissions of that DELETE can still come, for the peer's retransmit
 * budget (ours as the estimate, as ike_rekey_passive_deadline does for
 * Child SAs): the old SA waits that long, not the 30 s floor meant for a
 * peer whose state we know nothing of, then we delete it ourselves (a peer
 * still retransmitting gets ours, and both drop it: 1.4.1). All three of
 * the peer's DELETEs were lost: it gave up after 3.5 s while we kept the
 * old SA REKEYED for 30 s, nothing outstanding (B48, seed 15656). */
void ike_rekey_peer_has_new(struct ike_engine *e, struct ike_sa *n, uint64_t now_ms)
{
    struct ike_sa *old = ike_sa_find(e, n->passive_old);
    if (!old || old == n || old->state != IKE_SA_REKEYED || !old->delete_at_ms)
        return;
    uint64_t at = now_ms + ike_timers_peer_budget(&old->conn->cfg);
    if (at < old->delete_at_ms) {
        old->delete_at_ms = at;
        ike_timers_update(e, old);
    }
}

/* B77 (seed 507653 --rekey): the peer retransmits its rekey of `old`, so
 * it lacks our answer and with it the new IKE SA: it dropped whatever we
 * sent there meanwhile, unreadable (no keys yet at its end). Our request
 * outstanding on the new SA goes again right after the resent answer,
 * which keys it there, rather than at our back-off: in the seed a Child
 * rekey started 2 s before the child's hard lifetime, both copies sent so
 * far were dropped, and the next retransmission was due after the hard
 * expiry. 2.4 leaves the retransmission schedule to us; should the peer
 * have read an earlier copy after all, it answers this one from its cache
 * (2.1). B79 (seed 451451 --rekey, delays 24-163 ms): that copy overtook
 * the answer and was dropped too, and the next retransmission, by the
 * back-off, again came after the child's hard lifetime: so the next copy
 * goes one and a half round trips later, once the answer has landed. */
static void resend_on_new(struct ike_engine *e, struct ike_sa *old, uint64_t now_ms)
{
    struct ike_sa *n = old->successor ? ike_sa_find(e, old->successor) : NULL;
    if (!n || n == old || n->passive_old != ike_sa_our_spi(old) || n->state != IKE_SA_ESTABLISHED ||
        !n->out_req)
        return;
    ike_timers_send_again(e, n, "the peer lacked this SA");
    uint64_t rtt = ike_timers_rtt(old);
    n->retransmit_at_ms = now_ms + rtt + rtt / 2;
    ike_timers_update(e, n);
}

/* B81 (seed 482680 --rekey): both peers rekeyed IKE SA `old` at once
 * (2.8.2) and our answer made n, the peer's new SA, while our own rekey
 * is still outstanding on `old`: we decide only at its response (2.8.2
 * needs all four nonces), and until then we refuse the peer's Child work
 * on n with TEMPORARY_FAILURE (B53). But the peer keys n only from our
 * answer, and by then it has decided: it sends on n only once n survived
 * (or it never saw our request, and then it refuses that as an SA it is
 * closing, 2.8.2). A new request of the peer's on n therefore proves our
 * exchange on `old` is stuck (its request or its answer lost), not in
 * progress. In the seed the answer and our retransmissions were lost
 * twice each (10% loss), the peer retried its Child rekey three times in
 * 5 s, each refused, and our next retransmission was due 1 s after its
 * child's hard expiry (byte-driven). 2.4 leaves the schedule to us: our
 * request goes again now, one copy per new request of the peer's (its
 * window paces them, so no rate limit is needed); the peer answers it
 * from its cache (2.1), the collision is decided, and the peer's next
 * retry finds the children on n. The back-off schedule is unchanged. */
void ike_rekey_peer_on_new(struct ike_engine *e, struct ike_sa *n)
{
    struct ike_sa *old = n->rekey_old;
    if (!old || old->collision != n || old->out_task.type != TASK_IKE_REKEY || !old->out_req)
        return;
    ike_timers_send_again(e, old, "the peer already uses its new IKE SA");
}

/* The peer retransmitted a request on `old`, an IKE SA we hold REKEYED
 * and wait to see deleted: it has not got our answer yet (2.1), and if
 * that answer made the new SA (its rekey), it still holds the children
 * under `old` (they move only with that answer, 2.18). Our passive timeout
 * would now delete `old`, and the peer would drop those children with it
 * (1.4.1) while ours live on under the new SA: the peer's inbound SAs go
 * while we send on them. The peer's retransmission intervals are its own
 * (2.4) and may grow far past our estimate (B55, seed 74020 --rekey): our wait
 * of 33.5 s ran out 12 s after the peer's third retransmission, 9 s before
 * its fourth. So the wait starts again from each retransmission heard. A
 * forged one could only keep a replaced SA longer: whoever can forge it
 * can as well drop the peer's DELETE. */
void ike_rekey_peer_retransmits(struct ike_engine *e, struct ike_sa *old, uint64_t now_ms)
{
    if (old->state != IKE_SA_REKEYED || !old->delete_at_ms)
        return;
    resend_on_new(e, old, now_ms);
    uint64_t at = now_ms + ike_rekey_passive_ike_wait(old);
    if (at > old->delete_at_ms)
        old->delete_at_ms = at;
    ike_rekey_probe_later(old, now_ms); /* it still holds old */
    ike_timers_update(e, old);
}

/* B72 (seeds 368433, 374299 --rekey): the peer rekeyed IKE SA `old` (or
 * won a collision over it), we answered, and every try of its DELETE of
 * old was lost; the peer gave up on it after its retransmit budget (3.5
 * and 7 s there; an unanswered DELETE of a replaced SA is no verdict) and
 * dropped it, while we kept old REKEYED, nothing outstanding, for the
 * 30 s floor of ike_rekey_passive_ike_wait. The floor must stay: a peer
 * that lacks our answer may retransmit its rekey slowly (B55), and our
 * own DELETE would make it drop the children with old (1.4.1, 2.25.2).
 * But we can ask without that risk: an empty INFORMATIONAL request on old
 * (a liveness check, 2.4) is answered by a peer that holds old in any
 * state, waiting for our answer or still retransmitting its DELETE, and
 * by nobody once the peer dropped it. So one estimated peer retransmit
 * budget (ours + 2 s, as ike_rekey_peer_has_new) after the last word
 * heard on old, we ask; an answer re-arms the question (anything heard on
 * old does: ike_timers_heard), silence for our whole budget drops old
 * (ike_rekey_probe_unanswered), no verdict on the peer: old carries no
 * tunnel, and the new SA answers for itself. */
void ike_rekey_probe_later(struct ike_sa *old, uint64_t now_ms)
{
    old->probe_at_ms = 0;
    if (old->state != IKE_SA_REKEYED || !old->delete_at_ms)
        return;
    uint64_t at = now_ms + ike_timers_peer_budget(&old->conn->cfg);
    if (at < old->delete_at_ms)
        old->probe_at_ms = at;
}

void ike_rekey_probe_old(struct ike_engine *e, struct ike_sa *old, uint64_t now_ms)
{
    old->probe_at_ms = 0;
    /* A request of ours still outstanding asks the same: its answer re-arms
     * the question, its timeout drops old. */
    if (old->state != IKE_SA_REKEYED || !old->delete_at_ms || old->out_task.type != TASK_NONE ||
        old->n_pending)
        return;
    ike_log(e, IKE_LOG_INFO,
            "IKE SA %016llx_%016llx: replaced by the peer's rekey, its DELETE has not come: "
            "asking whether the peer still holds it",
            (unsigned long long)old->spi_i, (unsigned long long)old->spi_r);
    struct ike_task t = {.type = TASK_DPD};
    ike_task_queue(e, old, &t, now_ms);
}

bool ike_rekey_probe_unanswered(struct ike_engine *e, struct ike_sa *sa)
{
    if (sa->state != IKE_SA_REKEYED || sa->out_task.type != TASK_DPD)
        return false;
    ike_log(e, IKE_LOG_INFO,
            "IKE SA %016llx_%016llx: replaced by the peer's rekey and no longer answered: the "
            "peer dropped it (its DELETE was lost), dropping it too",
            (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r);
    ike_sa_destroy(e, sa, 0); /* replaced: no IKE_DOWN, no verdict */
    return true;
}

/* The peer has our new IKE SA: our queued requests may go (at once, from
 * the timer run: never from inside the processing of its message). */
void ike_rekey_release_hold(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    if (!sa || !sa->hold_until_ms || sa->hold_until_ms <= now_ms)
        return;
    sa->hold_until_ms = now_ms;
    ike_timers_update(e, sa);
}

static int ike_rekey_failed(struct ike_engine *e, struct ike_sa *sa, int err,
                            const struct ike_payload_list *in, uint64_t now_ms)
{
    ike_diag_rekey_failed(e, sa, NULL, in, err, now_ms);
    ike_log(e, IKE_LOG_WARN, "%s: rekey of IKE SA %016llx_%016llx failed: %s; retrying",
            sa->conn->cfg.name, (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r,
            ike_err_str(err));
    ike_out_event(e, sa, NULL, IKE_EV_REKEY_FAILED, err);
    struct ike_sa *theirs = sa->collision;
    ike_request_done(e, sa); /* drops the half-made new SA */
    if (theirs) {
        /* The peer's rekey went through while ours did not: adopt it. */
        sa->collision = NULL;
        theirs->rekey_old = NULL;
        move_children(e, sa, theirs);
        /* The timer index must see it: without this update the replaced
         * SA never timed out, stayed REKEYED for good, and once the new
         * SA died (the peer never got our response to its rekey) the
         * conn held an IKE SA and nothing re-initiated (seed 55270). */
        await_peer_delete(sa, now_ms);
        ike_timers_update(e, sa);
    } else {
        ike_timers_rekey_failed(e, sa, NULL, err, now_ms);
    }
    ike_task_next(e, sa, now_ms);
    return err;
}

int ike_rekey_ike_process_response(struct ike_engine *e, struct ike_sa *sa,
                                   const struct ike_payload_list *in, uint64_t now_ms)
{
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    struct ike_task *t = &sa->out_task;
    struct ike_sa *n = t->new_sa;
    uint16_t g = ike_rekey_invalid_ke_group(in);
    if (g) {
        int rc = ike_rekey_retry_with_group(e, sa, g, now_ms);
        return rc < 0 ? ike_rekey_failed(e, sa, rc, in, now_ms) : 0;
    }
    uint16_t err = ike_msg_error_notify(in);
    if (err)
        return ike_rekey_failed(e, sa, ike_notify_to_err(err), in, now_ms);
    struct ike_sa_payload sap;
    struct ike_ke_payload ke;
    struct ike_view nr;
    struct ike_secret gir = {0};
    int rc = ike_msg_decode_sa_ke_nonce(in, &sap, &ke, &nr);
    if (rc == 0)
        rc = ike_proposal_check_reply(c->ike, c->n_ike, IKE_PROTO_IKE, &sap, false, &n->algs);
    if (rc == 0 && (sap.p[0].spi_size != 8 || n->algs.dh != t->dh || ke.group != t->dh))
        rc = IKE_ERR_NO_PROPOSAL;
    if (rc == 0)
        rc = e->c->ke_derive(n->setup->ke, ke.data.p, ke.data.len, &gir);
    if (rc == 0) {
        n->spi_r = ike_be64(sap.p[0].spi);
        memcpy(n->setup->nonce_r, nr.p, nr.len);
        n->setup->nonce_r_len = (uint8_t)nr.len;
        rc = derive_rekeyed(e, sa, n, &gir);
    }
    ike_secret_free(&gir);
    if (rc < 0)
        return ike_rekey_failed(e, sa, rc, in, now_ms);
    e->c->ke_free(n->setup->ke);
    n->setup->ke = NULL;
    t->new_sa = NULL;
    sa->rekey_fails = 0;
    ike_rekeyed(e, sa, n, true, now_ms);
    ike_request_done(e, sa);
    ike_task_next(e, sa, now_ms);
    return 0;
}

/* Key the responder's new IKE SA; returns a notify to refuse with, or 0. */
static uint16_t ike_rekey_accept(struct ike_engine *e, struct ike_sa *sa,
                                 const struct ike_payload_list *in, struct ike_sa **out,
                                 uint8_t *prop_num, uint8_t *pub, size_t *pub_len)
{
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    struct ike_sa_payload sap;
    struct ike_ke_payload ke;
    struct ike_view ni;
    struct ike_algs algs;
    if (ike_msg_decode_sa_ke_nonce(in, &sap, &ke, &ni) < 0)
        return IKE_N_INVALID_SYNTAX;
    int idx = ike_proposal_select(c->ike, c->n_ike, IKE_PROTO_IKE, &sap, ke.group, false, &algs);
    if (idx < 0)
        return IKE_N_NO_PROPOSAL_CHOSEN;
    if (sap.p[idx].spi_size != 8)
        return IKE_N_INVALID_SYNTAX;
    if (algs.dh != ke.group)
        return IKE_N_INVALID_KE_PAYLOAD;
    struct ike_sa *n = ike_sa_new(e, sa->conn, false);
    if (!n)
        return IKE_N_TEMPORARY_FAILURE;
    n->spi_i = ike_be64(sap.p[idx].spi);
    n->local = sa->local;
    n->remote = sa->remote;
    n->algs = algs;
    memcpy(n->setup->nonce_i, ni.p, ni.len);
    n->setup->nonce_i_len = (uint8_t)ni.len;
    n->setup->nonce_r_len = IKE_NONCE_LEN;
    ike_random(e, n->setup->nonce_r, IKE_NONCE_LEN);
    struct ike_secret g = {0};
    int rc = ike_ke_generate(e, algs.dh, &n->setup->ke, pub, IKE_KE_MAX, pub_len);
    if (rc == 0)
        rc = e->c->ke_derive(n->setup->ke, ke.data.p, ke.data.len, &g);
    if (rc == 0)
        rc = derive_rekeyed(e, sa, n, &g);
    ike_secret_free(&g);
    if (rc < 0) {
        ike_sa_destroy(e, n, 0);
        return IKE_N_NO_PROPOSAL_CHOSEN;
    }
    e->c->ke_free(n->setup->ke);
    n->setup->ke = NULL;
    *prop_num = sap.p[idx].num;
    *out = n;
    return 0;
}

int ike_rekey_ike_process_request(struct ike_engine *e, struct ike_sa *sa, const struct ike_hdr *h,
                                  const struct ike_payload_list *in, uint64_t now_ms)
{
    /* 2.25: while another exchange of ours runs on this IKE SA, or once it
     * is replaced, a rekey of it is refused for now. Not for a DELETE of
     * Child SAs (B41): 2.25.1 says SHOULD refuse while "closing a Child
     * SA", but its mirror, 2.25.2, has the peer answer our DELETE as usual
     * while it rekeys the IKE SA, so the two may overlap: the deleted
     * children stay on the old SA until that DELETE's response comes
     * there (move_children). Refusing starved the IKE rekey of a peer
     * whose retry arrived while our DELETE after each Child rekey was
     * out, until the IKE SA expired with every child (seeds 997, 15815,
     * 16214, 20906 --rekey --without outage,loss: tiny children, IKE
     * margins of 1.5-1.6 s). */
    if (sa->state != IKE_SA_ESTABLISHED ||
        (sa->out_task.type != TASK_NONE && sa->out_task.type != TASK_IKE_REKEY &&
         sa->out_task.type != TASK_CHILD_DELETE)) {
        /* Both sides rekeying Child SAs in turn can refuse the IKE rekey
         * until the IKE SA expires (seed 1553): make room for its retry,
         * which comes a round trip after the peer's wait (B84). */
        if (sa->state == IKE_SA_ESTABLISHED) {
            if (sa->out_task.type == TASK_CHILD_REKEY || sa->out_task.type == TASK_CHILD_CREATE)
                sa->refused_ike_ms = now_ms; /* a mutual refusal if ours is refused too */
            sa->yield_until_ms = now_ms + IKE_REKEY_YIELD_MS + ike_timers_rtt(sa);
            ike_timers_update(e, sa);
        }
        return ike_rekey_refuse(e, sa, h, IKE_N_TEMPORARY_FAILURE, NULL, "busy");
    }
    sa->yield_until_ms = 0; /* the peer's IKE rekey is here */
    uint8_t pub[IKE_KE_MAX], prop_num = 0, spi[8];
    size_t pub_len = 0;
    struct ike_sa *n = NULL;
    uint16_t refuse = ike_rekey_accept(e, sa, in, &n, &prop_num, pub, &pub_len);
    if (refuse == IKE_N_INVALID_KE_PAYLOAD) {
        uint16_t dh = ike_proposal_first_dh(sa->conn->cfg.ike, sa->conn->cfg.n_ike);
        uint8_t g[2] = {(uint8_t)(dh >> 8), (uint8_t)dh};
        return ike_msg_notify_response(e, sa, CREATE_CHILD_SA, h->msg_id, refuse, g, 2);
    }
    if (refuse)
        return ike_rekey_refuse(e, sa, h, refuse, NULL, "IKE SA rekey");
    struct ike_msg_builder mb;
    struct ike_sa_payload ans;
    ike_put_be64(spi, n->spi_r);
    ike_mb_init_chain(&mb, e->plain + IKE_MSG_MAX / 2, IKE_MSG_MAX / 2);
    ike_proposal_answer(prop_num, IKE_PROTO_IKE, spi, 8, &n->algs, &ans);
    ike_sa_encode(&mb, &ans);
    ike_nonce_encode(&mb, n->setup->nonce_r, n->setup->nonce_r_len);
    ike_ke_encode(&mb, n->algs.dh, pub, pub_len);
    int rc = ike_msg_send_response(e, sa, CREATE_CHILD_SA, h->msg_id, &mb);
    if (rc < 0) {
        ike_sa_destroy(e, n, 0);
        return rc;
    }
    n->rekey_old = sa;
    ike_rekeyed(e, sa, n, false, now_ms);
    return 0;
}
