/*
 * invariants.c: what must hold after every step of the simulation
 * (DESIGN.md section 5), and the explicit rules for when a broken tunnel is
 * excused. It only reads engines (ike_engine_foreach, ike_engine_child_keys)
 * and kernel models; it must never change either.
 *
 * Grace rules (the only ones):
 *  G1 a direction may be broken while an IKE_AUTH exchange between the
 *     peers is outstanding (request seen, response not yet delivered to its
 *     sender): the responder installs and pins before the initiator has the
 *     keys. Rekeys get no grace at all (make-before-break);
 *  G2 anything may be broken from the start of a disturbance (outage,
 *     restart, a peer declared dead after losses) until R after its end,
 *     where R (scenario.c) = the survivor's DPD delay + retransmit budget +
 *     supervisor delay + two setup budgets + two max delays.
 *  G3 a direction may break when the SA it used reaches the end of its
 *     life (its kernel hard expiry, or the engine's own delete up to 3.5
 *     s before it: 1.5 s before the engine's expiry, which the kernel's
 *     whole seconds may put 2 s earlier) and the rekey that should have replaced it was lost: the
 *     same lossy-window test as the lifetime invariant (more than one
 *     datagram lost, or a disturbance, in margin * (1 + fuzz) + one
 *     retransmit budget before the end; any loss when the margin is
 *     shorter than one retransmission of either side plus a round trip).
 *     The SA may also be the one the sender just moved to, whose life
 *     had ended at the receiver (the sender learned of it from a response
 *     the receiver resent, RFC 7296 2.1, or moved to it as another SA
 *     went). No engine can carry traffic on an SA past its lifetime or on
 *     one the peer never got; the break is then treated as a disturbance
 *     of its own (G2: recover within R).
 *     The same holds for the IKE SA: when an engine deletes one at the end
 *     of its lifetime (its IKE rekey lost, or held behind a lost exchange:
 *     window size 1, RFC 7296 2.3, and a margin shorter than one
 *     retransmission leaves no time to retry), its Child SAs go with it
 *     (1.4.1), so a break as it goes down is judged the same way (seeds
 *     48 and 222 --rekey: IKE rekeymargin 1 s, retransmissions 2 s).
 *  G5 (part of the lossy-window test, so it applies where G3 and the
 *     lifetime invariant do) a rekey window counts as lossy when a 2.25
 *     collision was refused with TEMPORARY_FAILURE in it and the margin
 *     is shorter than 3.5 round trips at the largest delay: the refused
 *     round, the IKE rekey, the Child rekey and its DELETE cannot fit
 *     (collided_in_short_margin).
 *  G4 an IKE SA one peer declared dead (retransmissions exhausted) may
 *     live on at a peer that runs no DPD: RFC 7296 2.4 makes liveness
 *     checks optional, and nothing is sent to a peer that is gone, so such
 *     a peer learns of the loss only at its own next request on that SA
 *     (a rekey at the latest) or from the other side's INITIAL_CONTACT.
 *     Agreement skips that SA and its Child SAs at the DPD-less peer,
 *     and liveness the timeout of its own request on that SA (how it
 *     learns; still a disturbance for G2); continuity is still checked,
 *     so an orphan that carries traffic (a black hole the engine could
 *     avoid) is still a violation.
 * A peer declared dead (IKE_ERR_TIMEOUT) is itself checked: datagrams must
 * have been lost in its retransmit window, or a disturbance must cover it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ike/err.h"
#include "sim.h"

#define SNAP_IKE   64
#define SNAP_CHILD 64

struct snap_child {
    uint64_t spi_i, spi_r; /* its IKE SA */
    uint32_t spi_in, spi_out, reqid;
    const char *state;
};

struct snap {
    int n_ike, n_child, n_est;
    bool overflow;
    struct {
        uint64_t spi_i, spi_r;
        const char *state;
    } ike[SNAP_IKE];
    struct snap_child ch[SNAP_CHILD];
};

void sim_fail(struct sim_world *w, const char *fmt, ...)
{
    if (w->failed)
        return;
    char why[SIM_WHY];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    sim_tracef(w, "VIOLATION: %s", why);
    if (!w->violated) {
        w->violated = true;
        w->fail_ms = w->now_ms;
        memcpy(w->why, why, sizeof(why));
    }
    if (!w->o->keep_going) /* --keep-going: see what happens next */
        w->failed = true;
}

static void snap_ike(void *ctx, const struct ike_sa_info *sa)
{
    struct snap *s = ctx;
    if (s->n_ike == SNAP_IKE) {
        s->overflow = true;
        return;
    }
    s->ike[s->n_ike].spi_i = sa->spi_i;
    s->ike[s->n_ike].spi_r = sa->spi_r;
    s->ike[s->n_ike++].state = sa->state;
    s->n_est += !strcmp(sa->state, "ESTABLISHED");
}

static void snap_child(void *ctx, const struct ike_sa_info *sa, const struct ike_child_info *c)
{
    struct snap *s = ctx;
    if (s->n_child == SNAP_CHILD) {
        s->overflow = true;
        return;
    }
    s->ch[s->n_child++] =
        (struct snap_child){sa->spi_i, sa->spi_r, c->spi_in, c->spi_out, c->reqid, c->state};
}

static void take(const struct sim_peer *p, struct snap *s)
{
    memset(s, 0, sizeof(*s));
    if (p->e)
        ike_engine_foreach(p->e, snap_ike, snap_child, s);
}

bool sim_excused(const struct sim_world *w, uint64_t at_ms)
{
    for (int k = 0; k < w->n_cause; k++)
        if (w->cause[k].start_ms <= at_ms && at_ms <= w->cause[k].end_ms + w->sc->recover_ms)
            return true;
    return false;
}

/* G1: only IKE_AUTH counts: a rekey (and any CREATE_CHILD_SA of a tunnel
 * that is up) must never break continuity (make-before-break).
 * --lenient-continuity also excuses an outstanding CREATE_CHILD_SA. */
static bool setup_in_flight(const struct sim_world *w)
{
    for (int k = 0; k < w->n_outreq; k++)
        if (w->outreq[k].exchange == IKE_AUTH ||
            (w->outreq[k].exchange == CREATE_CHILD_SA && w->o->lenient_continuity))
            return true;
    return false;
}

static bool key_eq(const struct ike_key *a, const struct ike_key *b)
{
    return a->len == b->len && !memcmp(a->b, b->b, a->len);
}

/* ---- no leaks: the kernel holds only what the engine owns ---- */
struct leak_ctx {
    struct sim_world *w;
    const struct sim_peer *p;
    const struct snap *s;
};

static const struct snap_child *child_with(const struct snap *s, uint32_t spi, bool inbound)
{
    for (int k = 0; k < s->n_child; k++)
        if ((inbound ? s->ch[k].spi_in : s->ch[k].spi_out) == spi && strcmp(s->ch[k].state, "DEAD"))
            return &s->ch[k];
    return NULL;
}

static int leak_sa_cb(void *arg, const struct ike_kernel_sa *sa, const struct ike_kmem_sa_state *st)
{
    struct leak_ctx *c = arg;
    bool inbound = sa->id.dst.family == c->p->addr.addr.family &&
                   !memcmp(sa->id.dst.bytes, c->p->addr.addr.bytes, sizeof(sa->id.dst.bytes));
    if (child_with(c->s, sa->id.spi, inbound))
        return 0;
    sim_fail(c->w, "leak: %s kernel holds %s%s SA %08x that no Child SA of its engine owns",
             c->p->name, st->larval ? "larval " : "", inbound ? "inbound" : "outbound", sa->id.spi);
    return 1;
}

static int leak_pol_cb(void *arg, const struct ike_kernel_policy *pol)
{
    struct leak_ctx *c = arg;
    for (int k = 0; k < c->s->n_child; k++) {
        const struct snap_child *ch = &c->s->ch[k];
        if (ch->reqid == pol->reqid &&
            (pol->dir != IKE_DIR_OUT || !pol->spi || ch->spi_out == pol->spi))
            return 0;
    }
    sim_fail(c->w, "leak: %s kernel holds a %s policy (reqid %u, spi %08x) no Child SA owns",
             c->p->name,
             pol->dir == IKE_DIR_OUT  ? "out"
             : pol->dir == IKE_DIR_IN ? "in"
                                      : "fwd",
             pol->reqid, pol->spi);
    return 1;
}

/* The states in which a child has its SAs in the kernel (child_sa.c). */
static bool in_kernel(const char *state)
{
    return !strcmp(state, "INSTALLED") || !strcmp(state, "REKEYING") || !strcmp(state, "REKEYED") ||
           !strcmp(state, "DELETING");
}

/* L1: an installed child whose kernel SA is gone may only linger while its
 * delete goes out after the kernel's hard expiry. */
static void check_child_kernel(struct sim_world *w, const struct sim_peer *p, const struct snap *s)
{
    uint64_t grace = sim_rt_budget(&w->sc->side[p->idx]) + w->sc->lat_max_ms + 1000;
    uint64_t since = w->now_ms > grace ? w->now_ms - grace : 0;
    for (int k = 0; k < s->n_child && !w->failed; k++) {
        const struct snap_child *ch = &s->ch[k];
        if (!in_kernel(ch->state))
            continue;
        for (int dir = 0; dir < 2; dir++) {
            struct ike_kmem_sa_state st;
            struct ike_sa_id id = {.spi = dir ? ch->spi_out : ch->spi_in, .proto = IKE_IPPROTO_ESP};
            id.dst = dir ? w->p[!p->idx].addr.addr : p->addr.addr;
            if (ike_kmem_find_sa(p->kmem, &id, &st) && !st.larval)
                continue;
            if (sim_was_hard_expired(p, id.spi, since))
                continue;
            sim_fail(w,
                     "lifetime: %s keeps Child SA %08x/%08x INSTALLED but its %s kernel SA is "
                     "gone%s",
                     p->name, ch->spi_in, ch->spi_out, dir ? "outbound" : "inbound",
                     sim_was_hard_expired(p, id.spi, 0) ? " (hard-expired long ago)" : "");
        }
    }
}

static void check_peer(struct sim_world *w, const struct sim_peer *p, const struct snap *s)
{
    /* Half-open responder SAs are bounded by their own timeout (and the
     * COOKIE threshold), not by us: only established ones count here. */
    if (s->overflow || s->n_est > 8 || s->n_child > 32) {
        sim_fail(w, "bound: %s holds %d established IKE SAs (%d in all) and %d Child SAs", p->name,
                 s->n_est, s->n_ike, s->n_child);
        return;
    }
    if (ike_kmem_sa_count(p->kmem) + ike_kmem_larval_count(p->kmem) > 2 * 32 + 8) {
        sim_fail(w, "bound: %s kernel holds %zu SAs", p->name, ike_kmem_sa_count(p->kmem));
        return;
    }
    struct leak_ctx c = {w, p, s};
    if (!ike_kmem_foreach_sa(p->kmem, leak_sa_cb, &c))
        ike_kmem_foreach_policy(p->kmem, leak_pol_cb, &c);
    if (!w->failed)
        check_child_kernel(w, p, s);
}

/* ---- continuity ---- */
static int first_out_cb(void *arg, const struct ike_kernel_policy *pol)
{
    struct ike_kernel_policy *found = arg;
    if (pol->dir == IKE_DIR_OUT && pol->action == IKE_POLICY_IPSEC) {
        *found = *pol;
        return 1;
    }
    return 0;
}

/* Would a packet s -> r pass? NULL if yes, else why not. end_s: when
 * the SA reaches its hard time limit at either end (0 = none); soft:
 * whether the sender's kernel reported its soft limit. */
static const char *direction_broken(const struct sim_world *w, int s, uint32_t *spi,
                                    uint64_t *end_s, bool *soft)
{
    const struct sim_peer *ps = &w->p[s], *pr = &w->p[!s];
    struct ike_kernel_policy pol;
    memset(&pol, 0, sizeof(pol));
    *spi = 0;
    if (!ike_kmem_foreach_policy(ps->kmem, first_out_cb, &pol))
        return "sender has no outbound IPsec policy";
    *spi = pol.spi;
    struct ike_sa_id id = {.dst = pol.tmpl_dst, .spi = pol.spi, .proto = IKE_IPPROTO_ESP};
    struct ike_kmem_sa_state st;
    const struct ike_kernel_sa *out = ike_kmem_find_sa(ps->kmem, &id, &st);
    if (!out || st.larval)
        return "the pinned outbound SA is not in the sender's kernel";
    *end_s = out->life.hard_add_s ? st.stats.add_time_s + out->life.hard_add_s : 0;
    *soft = st.soft_expired;
    const struct ike_kernel_sa *in = ike_kmem_find_sa(pr->kmem, &id, &st);
    if (!in || st.larval)
        return "the pinned outbound SA is not installed inbound at the receiver";
    /* The receiver's lifetime may be the shorter one (mismatch). */
    uint64_t in_end = in->life.hard_add_s ? st.stats.add_time_s + in->life.hard_add_s : 0;
    if (in_end && (!*end_s || in_end < *end_s))
        *end_s = in_end;
    if (in->encr_id != out->encr_id || !key_eq(&in->encr_key, &out->encr_key) ||
        !key_eq(&in->integ_key, &out->integ_key))
        return "the receiver's inbound SA has other keys";
    return NULL;
}

/* G5: a request refused with TEMPORARY_FAILURE (RFC 7296 2.25.1/2.25.2:
 * a Child rekey during an IKE rekey, an IKE rekey during a Child
 * exchange; the refused side MUST wait before retrying) in the rekey
 * window of a margin shorter than 3.5 round trips at the largest delay:
 * the refused round, the IKE rekey, the Child rekey and its DELETE cannot
 * all fit (window size 1 serialises them). Seeds 7399 and 12854: 1 s
 * margins, round trips near 400 ms, forced IKE rekeys by the peer. */
static bool collided_in_short_margin(const struct sim_world *w, const struct sim_side *s,
                                     uint64_t margin)
{
    if (margin >= 7 * (uint64_t)w->sc->lat_max_ms)
        return false;
    uint64_t span = margin * (100 + s->fuzz_pct) / 100 + 2 * (uint64_t)w->sc->lat_max_ms;
    uint64_t from = w->now_ms > span ? w->now_ms - span : 0;
    for (uint32_t k = 0; k < SIM_ORPHANS && k < w->n_tempfail; k++)
        if (w->tempfail_ms[k] >= from && w->tempfail_ms[k] <= w->now_ms)
            return true;
    return false;
}

/* The rekey window of side i's SAs ending now: margin * (1 + fuzz) (the
 * rekey may start that early) plus one retransmit budget (an exchange
 * started then may still be retransmitting). Lossy = a disturbance window
 * touches it or more than one datagram between the peers was lost. */
static bool rekey_window_lossy(const struct sim_world *w, int i)
{
    const struct sim_side *s = &w->sc->side[i];
    uint64_t margin = s->margin_ms;
    uint64_t rate = (uint64_t)w->sc->pkt_per_s * w->sc->pkt_bytes;
    if (s->margin_bytes && rate && s->margin_bytes * 1000 / rate < margin)
        margin = s->margin_bytes * 1000 / rate;
    uint64_t span = margin * (100 + s->fuzz_pct) / 100 + sim_rt_budget(s);
    uint64_t from = w->now_ms > span ? w->now_ms - span : 0;
    for (int k = 0; k < w->n_cause; k++)
        if (w->cause[k].start_ms <= w->now_ms && w->cause[k].end_ms + w->sc->recover_ms >= from)
            return true;
    if (collided_in_short_margin(w, s, margin))
        return true;
    /* A margin shorter than one retransmission (plus a round trip)
     * cannot absorb even one lost datagram: the rekey's DELETE or
     * response is retried only after the SA is gone. The retransmission
     * may be the peer's, the slower one: a lost datagram of an exchange
     * the peer started waits for its retry (RFC 7296 2.1: no response is
     * resent unasked). Seed 18779 --rekey: our TEMPORARY_FAILURE to the
     * peer's IKE rekey was lost, and until its retry 2 s later the peer
     * refused our Child rekey (2.25.2), margin 1.4 s; 5450: our response
     * to the peer's Child rekey and its retry were lost, and the SA it
     * made, which the peer still lacked, could not be rekeyed (margin 1.5
     * s, the peer's retransmissions 2 s apart). */
    const struct sim_side *o = &w->sc->side[!i];
    uint64_t rt = s->rt_base_ms > o->rt_base_ms ? s->rt_base_ms : o->rt_base_ms;
    uint32_t tolerable = margin < rt + 2 * w->sc->lat_max_ms ? 0 : 1;
    return sim_drops_between(w, from, w->now_ms) > tolerable;
}

/* Peer s's inbound SPI of its Child SA whose outbound SPI is out (0 if
 * none): the pair of RFC 7296 1.4.1. */
struct twin_q {
    uint32_t out, in;
};

static void twin_cb(void *ctx, const struct ike_sa_info *sa, const struct ike_child_info *c)
{
    (void)sa;
    struct twin_q *q = ctx;
    if (c->spi_out == q->out)
        q->in = c->spi_in;
}

static uint32_t twin_of(const struct sim_world *w, int s, uint32_t out)
{
    struct twin_q q = {.out = out, .in = 0};
    if (out)
        ike_engine_foreach(w->p[s].e, NULL, twin_cb, &q);
    return q.in;
}

/* G3 for the twin: the sender's INBOUND SA of the Child SA that carried
 * s -> r reached its hard limit (lifebytes count each SA's own bytes, so
 * the two halves of a pair end at different moments), and the outbound
 * half had passed its own soft limit. RFC 7296 1.4.1: when an SA is
 * closed both members of the pair MUST be closed, so s stops sending on
 * the outbound half. An engine might keep that half until its DELETE is
 * answered (as B43 keeps the inbound half of an expired outbound SA), but
 * with the rekey lost that DELETE waits behind the outstanding request
 * (window size 1, 2.3) and the half ends at its own hard limit within its
 * margin, which G3 excuses under the same lossy window: keeping it would
 * delay the break, never avoid it. Seed 56132 --rekey: the inbound SA's
 * hard byte limit came 1 s before the outbound SA's, with three rekey
 * requests lost and the sender's retransmissions about to run out.
 *
 * The outbound half need not have passed its soft limit when it carries
 * the direction only because the SA before it hard-expired at the sender
 * (its rekey lost in the same window): seed 211371 --rekey, L's DPD and
 * its three retransmissions lost, the rekeys of both Child SAs queued
 * behind it (window size 1, 2.3); L's first SA ended at its outbound byte
 * limit, traffic moved to the second SA's outbound half, and 10 s later
 * that SA's inbound half reached its byte limit. 1.4.1 closes the pair
 * then, and the outbound half, fresh by byte count, cannot be kept by a
 * conformant engine; its DELETE and the rekey still waited behind the
 * unanswered request. */
static bool carrier_replaced_after_expiry(const struct sim_world *w, int s)
{
    uint64_t at = w->ok_moved_ms[s] > 2000 ? w->ok_moved_ms[s] - 2000 : 0;
    return w->ok_prev[s] && sim_was_hard_expired(&w->p[s], w->ok_prev[s], at);
}

static bool twin_ended(const struct sim_world *w, int s, uint64_t since)
{
    return (w->ok_soft[s] || carrier_replaced_after_expiry(w, s)) && w->ok_twin[s] &&
           sim_was_hard_expired(&w->p[s], w->ok_twin[s], since);
}

/* G3: the direction s -> r broke now; was it the end of its SA's life
 * with the rekey lost? Either peer may have started that rekey. The SA
 * may also be the one s has just moved to (spi), whose life had already
 * ended at r: s learned of it from a stale answer, a response r resent
 * for its retransmitted request (RFC 7296 2.1: the same response, never
 * a new one) while r's DELETE of the expired SA waited behind r's own
 * outstanding request (window size 1). Seeds 20162 (IKE_AUTH), 34455
 * (CREATE_CHILD_SA), 32500 (s moved to it when r's DELETE of another SA
 * came, 47 ms after r's hard expiry) --rekey. */
static bool ended_in_lossy_rekey(struct sim_world *w, int s, uint32_t spi)
{
    uint64_t since = w->now_ms > 2000 ? w->now_ms - 2000 : 0;
    /* The engine ends an SA 1.5 s before its own hard expiry (rekey.c
     * ike_rekey_end_of_life); the kernel's whole-second limits, counted
     * from a whole-second add time and rounded up, end it up to 2 s after
     * the engine's (seed 49652 --rekey: 2.4 s). */
    bool ended = (w->ok_end_s[s] && w->now_ms + 3500 >= w->ok_end_s[s] * 1000) ||
                 sim_was_hard_expired(&w->p[s], w->ok_spi[s], since) ||
                 sim_was_hard_expired(&w->p[!s], w->ok_spi[s], since) ||
                 (spi && sim_was_hard_expired(&w->p[!s], spi, 0)) ||
                 (w->ike_life_down_ms && w->ike_life_down_ms >= since) || twin_ended(w, s, since);
    return w->o->rekey && ended && (rekey_window_lossy(w, 0) || rekey_window_lossy(w, 1));
}

static void check_continuity(struct sim_world *w, int s)
{
    uint32_t spi;
    uint64_t end_s = 0;
    bool soft = false;
    const char *why = direction_broken(w, s, &spi, &end_s, &soft);
    if (!why) {
        w->armed[s] = true;
        w->broken_since[s] = 0;
        if (spi != w->ok_spi[s]) {
            w->ok_twin[s] = twin_of(w, s, spi);
            w->ok_prev[s] = w->ok_spi[s];
            w->ok_moved_ms[s] = w->now_ms;
        }
        w->ok_spi[s] = spi;
        w->ok_end_s[s] = end_s;
        w->ok_soft[s] = soft;
        return;
    }
    if (!w->armed[s])
        return;
    if (!w->broken_since[s]) {
        w->broken_since[s] = w->now_ms;
        if (ended_in_lossy_rekey(w, s, spi))
            sim_add_cause(w, w->now_ms, w->now_ms, "SA life ended, its rekey lost");
    }
    if (sim_excused(w, w->now_ms) || setup_in_flight(w))
        return;
    sim_fail(w, "continuity: %s->%s broken since +%llu ms: %s (spi %08x)", w->p[s].name,
             w->p[!s].name, (unsigned long long)(w->now_ms - w->broken_since[s]), why, spi);
}

/* ---- agreement ---- */
static bool same_keys(const struct sim_world *w, uint32_t l_in, uint32_t r_in)
{
    struct ike_key ei[2], ii[2], eo[2], io[2];
    if (ike_engine_child_keys(w->p[0].e, l_in, &ei[0], &ii[0], &eo[0], &io[0]) < 0 ||
        ike_engine_child_keys(w->p[1].e, r_in, &ei[1], &ii[1], &eo[1], &io[1]) < 0)
        return false;
    bool ok = key_eq(&eo[0], &ei[1]) && key_eq(&io[0], &ii[1]) && key_eq(&ei[0], &eo[1]) &&
              key_eq(&ii[0], &io[1]);
    ike_wipe(ei, sizeof(ei));
    ike_wipe(ii, sizeof(ii));
    ike_wipe(eo, sizeof(eo));
    ike_wipe(io, sizeof(io));
    return ok;
}

static bool has_ike(const struct snap *s, uint64_t spi_i, uint64_t spi_r)
{
    for (int k = 0; k < s->n_ike; k++)
        if (s->ike[k].spi_i == spi_i && s->ike[k].spi_r == spi_r &&
            !strcmp(s->ike[k].state, "ESTABLISHED"))
            return true;
    return false;
}

/* G4: is this IKE SA one that peer `holder`'s partner declared dead while
 * the holder has no DPD? */
static bool orphan(const struct sim_world *w, int holder, uint64_t spi_i, uint64_t spi_r)
{
    if (w->sc->side[holder].dpd_delay_ms)
        return false;
    uint32_t have = w->n_orphan < SIM_ORPHANS ? w->n_orphan : SIM_ORPHANS;
    for (uint32_t k = 0; k < have; k++)
        if (w->orphan_i[k] == spi_i && w->orphan_r[k] == spi_r)
            return true;
    return false;
}

static void check_agreement(struct sim_world *w, const struct snap s[2])
{
    for (int a = 0; a < 2 && !w->failed; a++) {
        const struct snap *x = &s[a], *y = &s[!a];
        const char *me = w->p[a].name, *peer = w->p[!a].name;
        for (int k = 0; k < x->n_ike; k++)
            /* A responder's half-open SA (INIT_DONE) is bounded by the
             * half-open timeout and counted by the bound check; a stale
             * duplicate IKE_SA_INIT makes one legitimately (see B11). */
            if (strcmp(x->ike[k].state, "ESTABLISHED") && strcmp(x->ike[k].state, "INIT_DONE")) {
                sim_fail(w,
                         "agreement: %s IKE SA %016llx_%016llx stuck in %s with no exchange "
                         "outstanding",
                         me, (unsigned long long)x->ike[k].spi_i,
                         (unsigned long long)x->ike[k].spi_r, x->ike[k].state);
                return;
            } else if (!strcmp(x->ike[k].state, "ESTABLISHED") &&
                       !has_ike(y, x->ike[k].spi_i, x->ike[k].spi_r) &&
                       !orphan(w, a, x->ike[k].spi_i, x->ike[k].spi_r)) {
                sim_fail(w, "agreement: %s has IKE SA %016llx_%016llx, %s does not", me,
                         (unsigned long long)x->ike[k].spi_i, (unsigned long long)x->ike[k].spi_r,
                         peer);
                return;
            }
        for (int k = 0; k < x->n_child; k++) {
            const struct snap_child *c = &x->ch[k];
            if (strcmp(c->state, "INSTALLED") && strcmp(c->state, "DEAD")) {
                sim_fail(w,
                         "agreement: %s Child SA %08x/%08x stuck in %s with no exchange "
                         "outstanding",
                         me, c->spi_in, c->spi_out, c->state);
                return;
            }
            if (strcmp(c->state, "INSTALLED") || orphan(w, a, c->spi_i, c->spi_r))
                continue;
            const struct snap_child *o = child_with(y, c->spi_out, true);
            if (!o || o->spi_out != c->spi_in || strcmp(o->state, "INSTALLED")) {
                sim_fail(w, "agreement: %s has Child SA %08x/%08x, %s does not", me, c->spi_in,
                         c->spi_out, peer);
                return;
            }
            if (o->spi_i != c->spi_i || o->spi_r != c->spi_r) {
                sim_fail(w, "agreement: Child SA %08x/%08x under different IKE SAs", c->spi_in,
                         c->spi_out);
                return;
            }
            if (a == 0 && !same_keys(w, c->spi_in, o->spi_in)) {
                sim_fail(w, "agreement: Child SA %08x/%08x keys differ between peers", c->spi_in,
                         c->spi_out);
                return;
            }
        }
    }
}

/* ---- entry points ---- */
void sim_check_step(struct sim_world *w)
{
    if (w->failed || !w->p[0].e || !w->p[1].e)
        return;
    w->checks++;
    struct snap s[2];
    for (int i = 0; i < SIM_PEERS; i++) {
        take(&w->p[i], &s[i]);
        check_peer(w, &w->p[i], &s[i]);
    }
    if (w->shutting_down || w->failed)
        return;
    for (int i = 0; i < SIM_PEERS && !w->failed; i++)
        check_continuity(w, i);
    if (!w->failed && sim_quiet(w) && !sim_excused(w, w->now_ms))
        check_agreement(w, s);
}

void sim_check_settled(struct sim_world *w)
{
    if (w->failed)
        return;
    struct snap s[2];
    for (int i = 0; i < SIM_PEERS; i++) {
        take(&w->p[i], &s[i]);
        int up = 0;
        for (int k = 0; k < s[i].n_child; k++)
            up += !strcmp(s[i].ch[k].state, "INSTALLED");
        if (!s[i].n_est || !up) {
            sim_fail(w,
                     "recovery: after the network healed %s has %d established IKE SAs "
                     "and %d installed Child SAs",
                     w->p[i].name, s[i].n_est, up);
            return;
        }
        uint32_t spi;
        uint64_t end_s;
        bool soft;
        const char *why = direction_broken(w, i, &spi, &end_s, &soft);
        if (why) {
            sim_fail(w, "continuity after settling: %s->%s: %s (spi %08x)", w->p[i].name,
                     w->p[!i].name, why, spi);
            return;
        }
    }
    check_agreement(w, s);
}

/* After shutdown + settle: the kernels are empty. A side that did not shut
 * down may be re-initiating (closeaction/dpdaction=restart) towards the
 * one that did, which refuses: it may hold IKE SAs being set up, none
 * established. A side that shut down holds nothing at all. */
void sim_check_shutdown(struct sim_world *w)
{
    for (int i = 0; i < SIM_PEERS && !w->failed; i++) {
        const struct sim_peer *p = &w->p[i];
        bool was_shut = w->sc->shutdown_peer < 0 || w->sc->shutdown_peer == i;
        struct snap s;
        take(p, &s);
        size_t sas = ike_kmem_sa_count(p->kmem), larval = ike_kmem_larval_count(p->kmem);
        size_t pols = ike_kmem_policy_count(p->kmem);
        size_t ike = was_shut ? (size_t)s.n_ike : (size_t)s.n_est;
        if (sas || larval || pols || ike) {
            char dump[600];
            ike_kmem_dump(p->kmem, dump, sizeof(dump));
            sim_fail(w,
                     "shutdown: %s (%s) still holds %zu IKE SAs, kernel %zu SAs, %zu larval, "
                     "%zu policies: %s",
                     p->name, was_shut ? "shut down" : "peer shut down", ike, sas, larval, pols,
                     dump);
        }
    }
}

void sim_check_hard_expiry(struct sim_world *w, int i, const struct ike_kernel_event *ev)
{
    if (!w->o->rekey || w->failed || rekey_window_lossy(w, i))
        return;
    /* An SA already replaced (its rekey done, its DELETE still under way,
     * say lost and retransmitted) may run out: its successor carries the
     * traffic, which continuity checks. No owner at all: its twin of the
     * same child expired in this batch and was judged (the leak check
     * covers SAs nobody owns). */
    struct snap s;
    take(&w->p[i], &s);
    const struct snap_child *c = child_with(&s, ev->sa.spi, true);
    if (!c)
        c = child_with(&s, ev->sa.spi, false);
    if (!c || !strcmp(c->state, "REKEYED") || !strcmp(c->state, "DELETING"))
        return;
    /* The child came with the IKE_AUTH we answered and the peer never got
     * that answer: its retransmission is not yet due, and until it is the
     * peer refuses every request on that IKE SA, our rekey included (seed
     * 52121 --rekey: an 11 s child, the peer's next IKE_AUTH try at 14 s). */
    struct snap ps;
    take(&w->p[!i], &ps);
    for (int k = 0; k < ps.n_ike; k++)
        if (ps.ike[k].spi_i == c->spi_i && ps.ike[k].spi_r == c->spi_r &&
            !strcmp(ps.ike[k].state, "AUTH_SENT"))
            return;
    sim_fail(w,
             "lifetime: %s SA %08x reached its hard expiry although the peer was reachable "
             "for the whole rekey margin (%llu ms)",
             w->p[i].name, ev->sa.spi, (unsigned long long)w->sc->side[i].margin_ms);
}

void sim_check_timeout(struct sim_world *w, int i, const struct ike_event *ev)
{
    const struct sim_peer *p = &w->p[i];
    bool known = false;
    for (uint32_t k = 0; k < SIM_EXP_RING && k < p->n_known; k++)
        known |= p->known_spi[k] == ev->ike_spi_i &&
                 (!p->known_spi_r[k] || p->known_spi_r[k] == ev->ike_spi_r);
    if (!known)
        return; /* a half-open responder SA timed out: no verdict on the peer */
    const struct sim_side *s = &w->sc->side[i];
    uint64_t win = sim_rt_budget(s) + 30000 + 2 * w->sc->lat_max_ms; /* + half-open timeout */
    uint64_t from = w->now_ms > win ? w->now_ms - win : 0;
    /* G4: the peer declared this SA dead (or gave its setup up) long ago
     * and we run no DPD: our next request on it goes unanswered, as
     * nothing answers for an SA the peer deleted (2.21.4 only MAY send an
     * unprotected INVALID_IKE_SPI). That timeout is how we learn, no false
     * verdict. It is still a disturbance: the engine cannot tell it from a
     * dead peer and re-establishes (B39), so G2 covers the set-up time
     * (seed 15129: 554 s after our IKE_AUTH response was lost). */
    bool learned = orphan(w, i, ev->ike_spi_i, ev->ike_spi_r);
    if (!learned && !sim_excused(w, w->now_ms) && !sim_drops_between(w, from, w->now_ms) &&
        !w->shutting_down)
        sim_fail(w,
                 "liveness: %s declared the peer dead (IKE_ERR_TIMEOUT) although no datagram "
                 "was lost in the last %llu ms",
                 w->p[i].name, (unsigned long long)win);
    sim_add_cause(w, w->now_ms, w->now_ms, "peer declared dead");
    uint32_t j = w->n_orphan++ % SIM_ORPHANS; /* G4 */
    w->orphan_i[j] = ev->ike_spi_i;
    w->orphan_r[j] = ev->ike_spi_r;
}
