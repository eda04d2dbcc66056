/*
 * timers.c: every timer of the engine and its rule, in one place
 * (WireGuard timers.c style). SAs store deadlines; the rest of the engine
 * reports events (request_sent, response_received, heard, established,
 * child_installed) and this file turns them into deadlines. An IKE SA sits
 * in a min-heap keyed by the earliest of its own and its children's
 * deadlines, so finding due work never scans SAs.
 *
 * The timers:
 *   retransmit_at_ms  RFC 7296 2.1/2.4: resend our outstanding request at
 *                     base * factor^n (strongSwan: 4 s * 1.8^n, 5 tries); when
 *                     the last try times out the peer is dead: the IKE SA
 *                     and its kernel state are deleted (2.4). An IKE rekey
 *                     goes again before its IKE SA's lifetime ends.
 *   half_open_at_ms   RFC 7296 2.6 / RFC 8019: a responder SA that got
 *                     IKE_SA_INIT but no IKE_AUTH in time is dropped.
 *   dpd_at_ms         RFC 7296 2.4 liveness: after dpddelay without hearing
 *                     from the peer, send an empty INFORMATIONAL request.
 *   rekey_at_ms       IKE SA rekey (1.3.2) and Child SA rekey (1.3.3):
 *                     lifetime - rekeymargin - random(0, rekeymargin *
 *                     rekeyfuzz%) after install, the jitter of 2.8.1 so two
 *                     peers with equal settings rarely rekey together; never
 *                     earlier than half the lifetime. rekey=no: not armed.
 *                     The kernel's soft expiry (time, bytes, packets) also
 *                     starts a Child rekey. A failed rekey is retried with
 *                     backoff (2 s, 4 s, ... 64 s) while the SA is valid.
 *   expire_at_ms      ikelifetime / lifetime: hard expiry. The Child SA is
 *                     removed from the kernel at once (the kernel's own hard
 *                     limit fires too) and the peer told; the IKE SA is
 *                     deleted.
 *   delete_at_ms      an SA replaced by the peer's rekey whose DELETE never
 *                     came: 30 s later we delete it ourselves, so nothing
 *                     stale stays behind.
 *   probe_at_ms       such an SA, one estimated peer retransmit budget after
 *                     the last word on it: ask whether the peer still holds
 *                     it (an empty INFORMATIONAL); unanswered, it goes.
 *   recreate_at_ms    a Child SA expired without a replacement: make one
 *                     again once the task queue has room, or 1.5 s after
 *                     the peer refused it with TEMPORARY_FAILURE (2.25).
 * A deadline of 0 means "not armed".
 */
#include <stdlib.h>

#include "core.h"
#include "ike/err.h"

#define NO_HEAP UINT32_MAX

/* ---- the heap ----
 * Sifting moves a hole instead of swapping, so each level costs one
 * write of heap_idx into the SA that moves. */
static void heap_put(struct ike_engine *e, uint32_t i, struct ike_heap_ent x)
{
    e->heap[i] = x;
    x.sa->heap_idx = i;
}

static void heap_up(struct ike_engine *e, uint32_t i)
{
    struct ike_heap_ent x = e->heap[i];
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (e->heap[p].at <= x.at)
            break;
        heap_put(e, i, e->heap[p]);
        i = p;
    }
    heap_put(e, i, x);
}

static void heap_down(struct ike_engine *e, uint32_t i)
{
    struct ike_heap_ent x = e->heap[i];
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = l;
        if (l >= e->heap_n)
            break;
        if (r < e->heap_n && e->heap[r].at < e->heap[l].at)
            m = r;
        if (e->heap[m].at >= x.at)
            break;
        heap_put(e, i, e->heap[m]);
        i = m;
    }
    heap_put(e, i, x);
}

void ike_timers_remove(struct ike_engine *e, struct ike_sa *sa)
{
    uint32_t i = sa->heap_idx;
    if (i == NO_HEAP)
        return;
    sa->heap_idx = NO_HEAP;
    e->heap_n--;
    if (i == e->heap_n)
        return;
    heap_put(e, i, e->heap[e->heap_n]);
    heap_up(e, i);
    heap_down(e, i); /* a no-op if the moved entry went up */
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return a < b ? a : b;
}

/* Recompute an SA's deadline from its timers and re-place it in the heap. */
void ike_timers_update(struct ike_engine *e, struct ike_sa *sa)
{
    uint64_t d = earliest(earliest(sa->retransmit_at_ms, sa->half_open_at_ms),
                          earliest(sa->dpd_at_ms, sa->expire_at_ms));
    d = earliest(d, earliest(sa->rekey_at_ms, sa->delete_at_ms));
    d = earliest(d, sa->probe_at_ms);
    d = earliest(d, earliest(sa->hold_until_ms, sa->recreate_at_ms));
    d = earliest(d, sa->yield_until_ms);
    for (struct ike_child *c = sa->children; c; c = c->next)
        d = earliest(d, earliest(earliest(c->rekey_at_ms, c->expire_at_ms), c->delete_at_ms));
    if (!d || sa->state == IKE_SA_DEAD) {
        ike_timers_remove(e, sa);
        return;
    }
    if (sa->heap_idx != NO_HEAP && d == sa->deadline_ms)
        return; /* already in place */
    sa->deadline_ms = d;
    if (sa->heap_idx == NO_HEAP) {
        if (e->heap_n == e->heap_cap) {
            uint32_t cap = e->heap_cap ? e->heap_cap * 2 : 64;
            struct ike_heap_ent *h = realloc(e->heap, cap * sizeof(*h));
            if (!h)
                return; /* keeps the old deadline; retried on the next update */
            e->heap = h;
            e->heap_cap = cap;
        }
        e->heap_n++;
        heap_put(e, e->heap_n - 1, (struct ike_heap_ent){d, sa});
        heap_up(e, sa->heap_idx);
    } else {
        e->heap[sa->heap_idx].at = d;
        heap_up(e, sa->heap_idx);
        heap_down(e, sa->heap_idx);
    }
}

uint64_t ike_engine_next_deadline(const struct ike_engine *e)
{
    return e->heap_n ? e->heap[0].at : UINT64_MAX;
}

/* RFC 7296 2.4 leaves the schedule to us; exponential like strongSwan:
 * timeout(n) = base * (factor/100)^n, computed in integers. */
uint64_t ike_retransmit_timeout_ms(uint32_t base_ms, uint32_t factor_pct, uint32_t try_no)
{
    uint64_t t = base_ms;
    for (uint32_t i = 0; i < try_no && t < UINT64_MAX / 1000; i++)
        t = t * factor_pct / 100;
    return t;
}

/* ---- events reported by the rest of the engine ---- */
/* An IKE rekey that would next be retransmitted after its IKE SA's
 * lifetime is over goes again halfway to that end instead: RFC 7296 2.4
 * leaves the schedule to us, the peer answers a duplicate from its cache
 * (2.1), and it is the last chance to replace the SA before we must delete
 * it with its Child SAs (1.4.1). Seed 57224 --rekey: ikelifetime 21 s,
 * margin 1.5 s; the peer refused the first try (2.25.1: busy with a Child
 * rekey), the retry was lost, and the retransmission 1 s later came 45 ms
 * after the lifetime, when the peer was busy again. */
static uint64_t retransmit_before_end(const struct ike_sa *sa, uint64_t at, uint64_t now_ms)
{
    uint64_t end = sa->expire_at_ms;
    if (sa->out_task.type != TASK_IKE_REKEY || !end || at <= end || end < now_ms + 400)
        return at;
    return now_ms + (end - now_ms) / 2;
}

/* B82 (seed 484403 --rekey): the urgent slot of a mutual refusal (a Child
 * rekey at 1 rtt, the peer's IKE rekey at 2 rtt + 300 ms or 1-1.3 s after
 * its refusal, below) holds only if the request arrives. Its one copy was
 * lost, and our back-off (1 s) brought the retransmission 1 ms after the
 * peer's IKE retry: refused again (2.25.2), the child reached the
 * kernel's hard expiry with its third try's answer in flight. So the
 * urgent request gets one extra copy 1.5 round trips after it, within the
 * slot; the back-off schedule is kept. RFC 7296 2.4 leaves the
 * retransmission schedule to us, and a copy the peer did read is answered
 * from its cache (2.1). */
static uint64_t urgent_copy_at(struct ike_sa *sa, uint64_t at, uint64_t now_ms)
{
    if (sa->retransmits || sa->out_task.type != TASK_CHILD_REKEY || !sa->out_task.urgent)
        return at;
    uint64_t rtt = ike_timers_rtt(sa), copy = now_ms + rtt + rtt / 2;
    if (copy < at)
        return copy;
    sa->out_task.urgent = false; /* the back-off comes first anyway */
    return at;
}

void ike_timers_send_again(struct ike_engine *e, struct ike_sa *sa, const char *why)
{
    ike_log(e, IKE_LOG_INFO, "IKE SA %016llx_%016llx: request #%u again, %s",
            (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r, sa->msg_id_out, why);
    ike_out_datagram(e, &sa->local, &sa->remote, sa->out_req, sa->out_req_len);
}

void ike_timers_request_sent(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    uint64_t at = now_ms + ike_retransmit_timeout_ms(c->retransmit_base_ms,
                                                     c->retransmit_factor_pct, sa->retransmits);
    sa->retransmit_at_ms = urgent_copy_at(sa, retransmit_before_end(sa, at, now_ms), now_ms);
    if (!sa->retransmits)
        sa->req_sent_ms = now_ms;
    ike_timers_update(e, sa);
}

void ike_timers_response_received(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    ike_diag_answered(e, sa, now_ms); /* an "IKE blocked" warning recovered */
    if (!sa->retransmits && !sa->out_task.copied && sa->req_sent_ms && now_ms >= sa->req_sent_ms)
        sa->rtt_ms = now_ms - sa->req_sent_ms; /* a clean sample: no retransmission */
    sa->retransmit_at_ms = 0;
    sa->retransmits = 0;
    ike_timers_heard(e, sa, now_ms);
}

void ike_timers_heard(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    sa->last_heard_ms = now_ms;
    ike_rekey_release_hold(e, sa, now_ms);
    ike_rekey_probe_later(sa, now_ms); /* a REKEYED SA the peer still holds */
    if (sa->passive_old)
        ike_rekey_peer_has_new(e, sa, now_ms); /* its DELETE of the old SA is out */
    if (sa->state == IKE_SA_ESTABLISHED && sa->conn->cfg.dpd_delay_ms)
        sa->dpd_at_ms = now_ms + sa->conn->cfg.dpd_delay_ms;
    ike_timers_update(e, sa);
}

/* Offset of the rekey from install: life - margin - jitter, at least
 * life / 2 (so tiny test lifetimes still rekey before expiry). */
static uint64_t rekey_offset(struct ike_engine *e, const struct ike_conn_cfg *c, uint64_t life)
{
    if (!life || !c->rekey)
        return 0;
    uint64_t margin = c->rekey_margin_ms, fuzz = margin * c->rekey_fuzz_pct / 100, r = 0;
    if (fuzz) {
        ike_random(e, &r, sizeof(r));
        r %= fuzz + 1;
    }
    uint64_t t = life > margin + r ? life - margin - r : 0;
    /* The kernel counts lifetimes in whole seconds from a truncated add
     * time: keep 1.5 s between the rekey and the hard expiry. */
    if (life > 3000 && t > life - 1500)
        t = life - 1500;
    return t < life / 2 ? life / 2 : t;
}

void ike_timers_established(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    sa->half_open_at_ms = 0;
    sa->expire_at_ms = c->ike_lifetime_ms ? now_ms + c->ike_lifetime_ms : 0;
    uint64_t off = rekey_offset(e, c, c->ike_lifetime_ms);
    sa->rekey_at_ms = off ? now_ms + off : 0;
    ike_timers_heard(e, sa, now_ms);
}

uint64_t ike_timers_child_lifetime(struct ike_engine *e, struct ike_child *ch, uint64_t now_ms)
{
    const struct ike_conn_cfg *c = &ch->ike->conn->cfg;
    ch->expire_at_ms = c->child_lifetime_ms ? now_ms + c->child_lifetime_ms : 0;
    uint64_t off = rekey_offset(e, c, c->child_lifetime_ms);
    ch->rekey_at_ms = off ? now_ms + off : 0;
    return off;
}

void ike_timers_child_installed(struct ike_engine *e, struct ike_child *ch, uint64_t now_ms)
{
    (void)now_ms;
    ike_timers_update(e, ch->ike);
}

uint64_t ike_timers_retransmit_budget(const struct ike_conn_cfg *c)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i <= c->retransmit_tries; i++)
        total += ike_retransmit_timeout_ms(c->retransmit_base_ms, c->retransmit_factor_pct, i);
    return total;
}

uint64_t ike_timers_peer_budget(const struct ike_conn_cfg *c)
{
    return ike_timers_retransmit_budget(c) + 2000;
}

/* ---- a mutual refusal (RFC 7296 2.25.1 with 2.25.2) ----
 * Our IKE rekey and the peer's Child rekey or create cross: each side
 * refuses the other with TEMPORARY_FAILURE and must retry after a wait
 * (2.25: not immediately). Two independent waits crossed again and again
 * until an SA's end (B27, B60, B61, B75: seeds 206634, 225256, 305539,
 * both SAs in their last 2 s). Both sides see the refusal as mutual (the
 * IKE side refused Child work during this attempt: refused_peer_child;
 * the Child side refused an IKE rekey since its request went out:
 * refused_ike_ms) and follow one schedule, in round trips (rtt, the
 * latest clean sample) from the refusal each received (the two moments
 * differ by less than a round trip while the delays hold):
 *   - a Child exchange whose end of life comes before the latest IKE
 *     retry below could have reached it (1.3 s + 2 rtt + 300 ms) is
 *     urgent and goes at 1 rtt: by then the IKE side has its refusal;
 *   - the IKE rekey goes at 2 rtt + 300 ms, or 1-1.3 s when its IKE SA
 *     has that and 1.2 s more to spare (B27: time for an urgent child),
 *     unless such a Child request came first: then right after that
 *     child's DELETE, or 1 rtt + 200 ms after answering it;
 *   - any other Child exchange waits for the IKE rekey, which moves it to
 *     the new IKE SA and retries it at once (rekey_ike.c move_children),
 *     and goes on its own only at 1.3 s + 2 rtt + 300 ms, if the IKE
 *     rekey has not come (lost, or a peer with other rules).
 * So the IKE rekey, one exchange that every Child SA needs (1.4.1), goes
 * first unless a child is urgent, and the slots of the two sides stay
 * 300 ms plus a round trip apart. Tried and dropped: Child first always
 * (starved the IKE SA of seed 15815, many 5 s children); IKE first with
 * the Child side on its own timer (B70: crossed that timer, 305620,
 * 305642); IKE first for every child (crossed a child at its end of life
 * each round: 22077's test); a 100 ms gap (200276: the two sides' round
 * trip samples differed by 130 ms); any DELETE releasing the IKE retry
 * (201024: a DELETE of an older child let it go before the urgent child). */
uint64_t ike_timers_rtt(const struct ike_sa *sa)
{
    uint64_t rtt = sa->rtt_ms ? sa->rtt_ms : 200; /* no clean sample yet (a new IKE SA) */
    return rtt > 100 ? rtt : 100;
}

static uint64_t mutual_ike_retry(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    uint64_t jitter = 0, left = sa->expire_at_ms > now_ms ? sa->expire_at_ms - now_ms : 0;
    ike_random(e, &jitter, sizeof(jitter));
    uint64_t slot = 2 * ike_timers_rtt(sa) + IKE_MUTUAL_GAP_MS;
    uint64_t wait = IKE_REKEY_AFTER_CHILD_MS + jitter % 300; /* B27: time to spare */
    if (sa->expire_at_ms && wait + 1200 > left)
        wait = left > 1200 ? left - 1200 : 0; /* keep 1.2 s for our own rekey */
    sa->mutual_wait = true;                   /* ike_timers_peer_child_started */
    return now_ms + (wait > slot ? wait : slot);
}

static uint64_t mutual_child_retry(const struct ike_sa *sa, struct ike_child *ch, uint64_t at,
                                   uint64_t eol, uint64_t now_ms)
{
    uint64_t rtt = ike_timers_rtt(sa);
    uint64_t wait = now_ms + IKE_REKEY_AFTER_CHILD_MS + 300 + 2 * rtt + IKE_MUTUAL_GAP_MS;
    if (eol && wait >= eol) {
        ch->mutual_urgent = true; /* ike_timers_request_sent: an early copy */
        return now_ms + rtt;      /* urgent: before the IKE rekey */
    }
    return at < wait ? wait : at;
}

/* The peer started a Child exchange while our IKE rekey waits out a
 * mutual refusal: it was urgent; ours waits for the DELETE that ends it. */
void ike_timers_peer_child_started(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    if (!sa->mutual_wait || !sa->rekey_at_ms)
        return;
    sa->wait_peer_child = true; /* its DELETE: ike_timers_peer_child_done */
    uint64_t at = now_ms + ike_timers_rtt(sa) + 200;
    if (sa->rekey_at_ms < at && (!sa->expire_at_ms || at < sa->expire_at_ms)) {
        sa->rekey_at_ms = at;
        ike_timers_update(e, sa);
    }
}

/* The peer deleted a Child SA on this IKE SA: the Child exchange our IKE
 * rekey retry waits for is over, retry now. Unless it was another child's
 * and the one whose rekey we refused is still unreplaced: the peer has
 * more than one urgent child and retries the refused one next (B82b, seed
 * 666629 --rekey: two 5 s children; the second one's rekey, due while the
 * first was refused, went first, its DELETE let our retry go, and it met
 * the first one's retry; refused again, that child reached the kernel's
 * hard expiry before its third try was answered). Our timer, set when the
 * peer's exchange started (ike_timers_peer_child_started), still bounds
 * the wait. */
void ike_timers_peer_child_done(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    if (!sa->wait_peer_child)
        return;
    const struct ike_child *refused =
        sa->refused_child_out ? ike_child_by_out_spi(sa, sa->refused_child_out) : NULL;
    if (refused && (refused->state == CHILD_INSTALLED || refused->state == CHILD_REKEYING))
        return; /* its own DELETE releases us */
    sa->wait_peer_child = false;
    if (sa->rekey_at_ms > now_ms) {
        sa->rekey_at_ms = now_ms;
        ike_timers_update(e, sa);
    }
}

/* Retry a refused or unanswered rekey: 2 s, 4 s, ... 64 s, while valid.
 * TEMPORARY_FAILURE (2.25: the peer is busy, typically with a rekey of its
 * own) is not a failure: retry soon, and an IKE SA rekey sooner than a
 * Child SA rekey, so two peers refusing each other's rekeys do not do so
 * again in lockstep until the IKE SA expires. */
void ike_timers_rekey_failed(struct ike_engine *e, struct ike_sa *sa, struct ike_child *ch, int err,
                             uint64_t now_ms)
{
    uint32_t *fails = ch ? &ch->rekey_fails : &sa->rekey_fails;
    uint32_t *busy = ch ? &ch->rekey_busy : &sa->rekey_busy; /* says why at a hard expiry */
    uint64_t *at = ch ? &ch->rekey_at_ms : &sa->rekey_at_ms;
    /* A Child SA's limit is the kernel's hard expiry, which can come up to
     * 1 s before ours (whole-second add time): aim the retry before the
     * last moment to move traffic off it, not before expire_at_ms (seeds
     * 737, 1401: the clamped retry went out after the kernel's expiry). */
    uint64_t expire = ch ? ike_rekey_end_of_life(ch) : sa->expire_at_ms;
    uint32_t n = *fails < 5 ? *fails : 5;
    uint64_t jitter = 0;
    ike_random(e, &jitter, sizeof(jitter));
    if (ch) {
        ch->rekey_deferred = err == IKE_ERR_TEMPORARY;
        ch->mutual_urgent = false;
    }
    if (err == IKE_ERR_TEMPORARY) {
        *fails = 0;
        (*busy)++;
        if (!ch && sa->refused_peer_child)
            *at = mutual_ike_retry(e, sa, now_ms);
        else
            *at = now_ms + (ch ? 2000 + jitter % 1000 : 300 + jitter % 700);
    } else {
        (*fails)++;
        *at = now_ms + (2000ULL << n) + jitter % 1000;
    }
    /* Never give up while the SA is valid; past the last moment, still
     * retry after a round trip's pause (2.25: not immediately). */
    if (expire && *at >= expire)
        *at = expire > now_ms + 400 ? now_ms + (expire - now_ms) / 2 : now_ms + 200;
    if (ch && err == IKE_ERR_TEMPORARY && sa->refused_ike_ms &&
        sa->refused_ike_ms >= sa->req_sent_ms)
        *at = mutual_child_retry(sa, ch, *at, expire, now_ms); /* we refused its IKE rekey */
    ike_timers_update(e, sa);
}

/* A CREATE_CHILD_SA for a new Child SA refused with TEMPORARY_FAILURE
 * (2.25: the peer is rekeying the IKE SA, or busy with a Child exchange)
 * is not a failure either: the recreate timer asks again in 1.5 s, after
 * the IKE rekey has moved us to the new IKE SA if that was the reason.
 * Dropping it left a tunnel whose Child SA had expired down until the
 * IKE SA ended (seed 647). ike_child_recreate decides whether a tunnel is
 * still missing then. */
void ike_timers_create_refused(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    uint64_t at = now_ms + 1500; /* no draw: only we retry this create */
    if (!sa->recreate_at_ms || at < sa->recreate_at_ms)
        sa->recreate_at_ms = at;
    ike_timers_update(e, sa);
}

/* ---- handlers, named after the timer that fired ---- */
static void expired_retransmit(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    sa->retransmit_at_ms = 0;
    if (!sa->out_req)
        return;
    if (sa->out_task.urgent && !sa->retransmits) {
        /* B82: the urgent slot's extra copy (urgent_copy_at); the first
         * retransmission stays where the back-off put it. */
        sa->out_task.urgent = false;
        sa->out_task.copied = true;
        ike_timers_send_again(e, sa, "an urgent Child rekey's early copy");
        sa->retransmit_at_ms =
            sa->req_sent_ms +
            ike_retransmit_timeout_ms(c->retransmit_base_ms, c->retransmit_factor_pct, 0);
        ike_timers_update(e, sa);
        return;
    }
    if (sa->retransmits >= c->retransmit_tries) {
        if (ike_rekey_probe_unanswered(e, sa))
            return; /* a replaced SA the peer dropped: no verdict */
        ike_log(e, IKE_LOG_WARN,
                "IKE SA %016llx_%016llx: no answer to request #%u after %u retransmits; "
                "peer %s dead or IKE blocked",
                (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r, sa->msg_id_out,
                sa->retransmits, sa->conn->cfg.name);
        ike_diag_no_answer(e, sa, false, now_ms); /* dead peer, or IKE blocked */
        ike_sa_peer_dead(e, sa);                  /* first: the restart must find no other SA */
        ike_sa_destroy(e, sa, IKE_ERR_TIMEOUT);
        return;
    }
    sa->retransmits++;
    ike_diag_retransmit(e, sa, now_ms); /* IKE blocked while ESP flows? */
    ike_log(e, IKE_LOG_INFO, "IKE SA %016llx_%016llx: retransmit %u of request #%u",
            (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r, sa->retransmits,
            sa->msg_id_out);
    ike_out_datagram(e, &sa->local, &sa->remote, sa->out_req, sa->out_req_len);
    ike_timers_request_sent(e, sa, now_ms);
}

static void expired_half_open(struct ike_engine *e, struct ike_sa *sa)
{
    ike_log(e, IKE_LOG_INFO, "IKE SA %016llx_%016llx: half-open, no IKE_AUTH in time",
            (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r);
    ike_sa_destroy(e, sa, IKE_ERR_TIMEOUT);
}

static void expired_dpd(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    sa->dpd_at_ms = 0;
    struct ike_task t = {.type = TASK_DPD};
    ike_task_queue(e, sa, &t, now_ms);
}

static void expired_ike(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    ike_diag_ike_expired(e, sa, now_ms); /* unreplaced: our IKE rekeys failed or never ran */
    sa->expire_at_ms = 0;
    ike_log(e, IKE_LOG_INFO, "IKE SA %016llx_%016llx: lifetime over, deleting",
            (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r);
    struct ike_task t = {.type = TASK_IKE_DELETE};
    ike_task_queue(e, sa, &t, now_ms);
}

/* Hard expiry: never use an SA past its lifetime. Remove it from the
 * kernel now and tell the peer (RFC 7296 1.4.1). */
static void expired_child(struct ike_engine *e, struct ike_child *ch, uint64_t now_ms)
{
    ike_log(e, IKE_LOG_WARN, "Child SA %08x/%08x (%s): hard lifetime reached, deleting", ch->spi_in,
            ch->spi_out, ch->ike->conn->cfg.name);
    ike_child_hard_expired(e, ch, now_ms);
}

static void expired_child_rekey(struct ike_engine *e, struct ike_child *ch, uint64_t now_ms)
{
    ch->rekey_at_ms = 0;
    if (ike_rekey_child_queue(e, ch, now_ms) == IKE_ERR_BUSY)
        ch->rekey_at_ms =
            ike_rekey_requeue_at(ch->expire_at_ms, now_ms); /* queue full: must not be lost */
}

/* The peer replaced this child but never deleted it. */
static void expired_child_delete(struct ike_engine *e, struct ike_child *ch, uint64_t now_ms)
{
    ch->delete_at_ms = 0;
    const struct ike_child *next = ike_child_unconfirmed_successor(ch);
    if (next) {
        /* Still carrying our traffic, and its replacement is one the peer
         * has not confirmed (its CREATE_CHILD_SA may still be
         * retransmitting: B10). Keep the old SA while it is valid (RFC
         * 7296 2.8: the responder may send on it until it is deleted);
         * the peer's next request or DELETE confirms the new one sooner.
         * Leave it at its end of life, but not within one retransmission
         * interval of our response that made the new SA: the peer cannot
         * hold that SA yet, and its DELETE of the old one, sent as soon as
         * it has our response, normally comes within that time (B19, seed
         * 100126: we answered 40 ms before this, past the end of life).
         * Never past the hard expiry, which removes the old SA itself.
         *
         * Nor at its end of life while the peer may still be
         * retransmitting the request we answered (our retransmit budget
         * as the estimate, as in ike_rekey_passive_deadline): B32, seeds
         * 199, 200, 411 --rekey: our response was lost, the peer still
         * held only the old SA and its retransmission came between the
         * end of life and the hard expiry; moving our traffic 1.5 s
         * before the hard expiry sent it on an SA the peer did not have.
         * The hard expiry (the kernel's event, or ours: expired_child)
         * then removes the old SA, moves traffic to the best remaining
         * user and sends its DELETE; the peer's DELETE, its next request
         * or its traffic on the new SA move it sooner. Long after our
         * response (only the peer's DELETEs lost) the end of life stays
         * the last moment: the peer's copy may expire up to 1 s before
         * ours. So it is too for an old SA the peer said it no longer
         * keeps (peer_dropped, B42): its retransmission cannot need it. */
        uint64_t retrying = next->installed_ms + ike_timers_peer_budget(&ch->ike->conn->cfg);
        if (ch->expire_at_ms && now_ms < retrying && !ch->peer_dropped) {
            ch->delete_at_ms = 0;
            return;
        }
        uint64_t at = ike_rekey_end_of_life(ch);
        uint64_t grace = next->installed_ms + ch->ike->conn->cfg.retransmit_base_ms;
        if (grace > at)
            at = grace;
        if (at > now_ms) {
            if (!ch->expire_at_ms || at < ch->expire_at_ms)
                ch->delete_at_ms = at; /* else the hard expiry comes first */
            return;
        }
    }
    struct ike_task t = {.type = TASK_CHILD_DELETE, .del_spi = ch->spi_in};
    if (ike_task_queue(e, ch->ike, &t, now_ms) < 0)
        ch->delete_at_ms = now_ms + 1000; /* queue full: try again */
}

/* A full task queue (one request out, IKE_PENDING_TASKS waiting) refuses
 * the IKE rekey: try again, as expired_child_rekey does, or the IKE SA
 * runs to its lifetime with no rekey ever sent and takes every Child SA
 * with it (RFC 7296 1.4.1; seed 271567 --rekey: five Child rekeys and
 * their DELETEs filled the queue as a 39 s IKE SA's rekey fell due). */
static void expired_ike_rekey(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    sa->rekey_at_ms = 0;
    if (ike_rekey_ike_queue(e, sa, now_ms) != IKE_ERR_BUSY)
        return;
    sa->rekey_at_ms = ike_rekey_requeue_at(sa->expire_at_ms, now_ms);
}

static bool due(uint64_t at, uint64_t now_ms)
{
    return at && at <= now_ms;
}

/* Run one SA's due timers. Returns false if the SA was destroyed. */
static bool run_sa(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    if (due(sa->half_open_at_ms, now_ms)) {
        expired_half_open(e, sa);
        return false;
    }
    if (due(sa->retransmit_at_ms, now_ms)) {
        expired_retransmit(e, sa, now_ms);
        if (sa->state == IKE_SA_DEAD)
            return false;
    }
    if (due(sa->delete_at_ms, now_ms)) {
        /* Replaced by the peer's rekey but its DELETE never came: delete
         * it ourselves, so both sides drop it (the peer may still be
         * retransmitting its own DELETE). */
        sa->delete_at_ms = 0;
        ike_log(e, IKE_LOG_INFO, "IKE SA %016llx_%016llx: %s, DELETE never came",
                (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r,
                sa->redundant ? "redundant after a rekey collision" : "replaced by a rekey");
        if (sa->redundant && !sa->children) {
            /* Never used; the peer may not even have finished making it. */
            ike_sa_destroy(e, sa, 0);
            return false;
        }
        struct ike_task t = {.type = TASK_IKE_DELETE};
        ike_task_queue(e, sa, &t, now_ms);
        if (sa->state == IKE_SA_DEAD)
            return false;
    }
    if (due(sa->probe_at_ms, now_ms)) {
        ike_rekey_probe_old(e, sa, now_ms); /* does the peer still hold it? */
        if (sa->state == IKE_SA_DEAD)
            return false;
    }
    if (due(sa->hold_until_ms, now_ms)) {
        sa->hold_until_ms = 0; /* the peer has this new SA (or it is time) */
        ike_task_next(e, sa, now_ms);
        if (sa->state == IKE_SA_DEAD)
            return false;
    }
    if (due(sa->yield_until_ms, now_ms)) {
        sa->yield_until_ms = 0;
        ike_task_next(e, sa, now_ms);
        if (sa->state == IKE_SA_DEAD)
            return false;
    }
    if (due(sa->recreate_at_ms, now_ms))
        ike_child_recreate(e, sa, now_ms);
    if (due(sa->expire_at_ms, now_ms))
        expired_ike(e, sa, now_ms);
    if (due(sa->rekey_at_ms, now_ms))
        expired_ike_rekey(e, sa, now_ms);
    if (due(sa->dpd_at_ms, now_ms))
        expired_dpd(e, sa, now_ms);
    for (struct ike_child *c = sa->children, *next; c && sa->state != IKE_SA_DEAD; c = next) {
        next = c->next; /* expired_child frees c */
        if (due(c->expire_at_ms, now_ms))
            expired_child(e, c, now_ms);
        else if (due(c->rekey_at_ms, now_ms))
            expired_child_rekey(e, c, now_ms);
        else if (due(c->delete_at_ms, now_ms))
            expired_child_delete(e, c, now_ms);
    }
    return sa->state != IKE_SA_DEAD;
}

void ike_timers_run(struct ike_engine *e, uint64_t now_ms)
{
    /* Each SA runs at most once per call, so a handler that re-arms a
     * timer at now_ms cannot loop. */
    uint32_t budget = e->heap_n;
    while (e->heap_n && e->heap[0].at <= now_ms && budget--) {
        struct ike_sa *sa = e->heap[0].sa;
        if (run_sa(e, sa, now_ms)) {
            if (sa->heap_idx != UINT32_MAX && sa->deadline_ms <= now_ms) {
                /* Nothing re-armed this deadline: drop stale entries. */
                ike_timers_update(e, sa);
                if (sa->heap_idx != UINT32_MAX && sa->deadline_ms <= now_ms)
                    ike_timers_remove(e, sa);
            }
        }
    }
}

void ike_engine_handle_deadline(struct ike_engine *e, uint64_t now_ms)
{
    e->now_ms = now_ms;
    ike_timers_run(e, now_ms);
}
