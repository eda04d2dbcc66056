/*
 * diag_rec.c: the engine side of ike/diag.h. Hooks called where an
 * exchange or an SA ends badly gather the facts (what we offered, what the
 * peer's answer showed, whether ESP still arrived, the SA's age) and keep
 * a classified record per connection: IKE_DIAG_KEEP records in one block
 * allocated on the conn's first need, newest first, a retry folded into
 * the record it repeats. Also the rekey check after set-up (rekeycheck=).
 * The hooks only record and log: they never change what the protocol does,
 * except that a failed rekey check falls back to the normal rekey time
 * instead of the fast retry schedule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "ike/diag.h"
#include "ike/err.h"

#define CHECK_DELAY_INITIATOR_MS 3000
#define CHECK_DELAY_RESPONDER_MS 8000 /* later, so two rekeyd peers do not both check */

struct ike_diag_conn {
    struct ike_diag_conn_info info;
    uint32_t check_spi;         /* inbound SPI of the Child SA the check rekeys */
    uint64_t check_saved_rekey; /* its normal rekey time */
};

static struct ike_diag_conn *dc_get(struct ike_conn *c)
{
    if (!c->diag)
        c->diag = calloc(1, sizeof(*c->diag));
    return c->diag;
}

void ike_diag_conn_free(struct ike_conn *c)
{
    free(c->diag);
    c->diag = NULL;
}

static void facts_child(struct ike_diag_facts *f, const struct ike_child *ch)
{
    if (!ch)
        return;
    f->encr = ch->algs.encr;
    f->encr_keylen = ch->algs.encr_keylen;
    f->integ = ch->algs.integ;
}

static bool is_check(const struct ike_diag_conn *d, const struct ike_child *ch)
{
    return d && ch && d->info.check == IKE_DIAG_CHECK_PENDING && d->check_spi == ch->spi_in;
}

static void log_record(struct ike_engine *e, const struct ike_conn *c,
                       const struct ike_diag_record *r)
{
    /* A peer that deletes the IKE SA early may just have been stopped:
     * kept for diagnose, but no warning for what is often no fault. */
    int level = r->f.rekey_check                                            ? IKE_LOG_ERROR
                : r->cause == IKE_DIAG_PEER_LIFETIME_SHORTER && r->f.ike_sa ? IKE_LOG_INFO
                                                                            : IKE_LOG_WARN;
    if (!ike_log_on(e, level))
        return;
    char cause[320], fix[240];
    ike_diag_cause_text(r, cause, sizeof(cause));
    ike_diag_fix_text(r, fix, sizeof(fix));
    ike_log(e, level, "%s%s: %s Fix: %s",
            r->f.rekey_check ? "rekey check: " : "diagnose: ", c->cfg.name, cause, fix);
}

/* Keep a record for conn; sa may be NULL (a trap policy has none). */
static void record_conn(struct ike_engine *e, struct ike_conn *conn, const struct ike_sa *sa,
                        const struct ike_child *ch, struct ike_diag_facts *f, uint64_t now_ms)
{
    struct ike_diag_conn *d = dc_get(conn);
    if (!d)
        return;
    f->initiator = sa && sa->initiator;
    uint8_t cause = ike_diag_classify(f);
    struct ike_diag_conn_info *in = &d->info;
    struct ike_diag_record *r = &in->rec[0];
    uint64_t spi_i = sa ? sa->spi_i : 0, spi_r = sa ? sa->spi_r : 0;
    in->total++;
    bool same = in->n && r->cause == cause && r->f.attempt == f->attempt && r->ike_spi_i == spi_i &&
                r->ike_spi_r == spi_r && r->child_spi_in == (ch ? ch->spi_in : 0);
    bool news = !same || (r->f.pending && !f->pending); /* an early warning came true */
    if (same && !r->f.pending) {
        r->repeats++; /* a retry of the same failure */
    } else if (!same) {
        size_t keep = in->n < IKE_DIAG_KEEP ? in->n : IKE_DIAG_KEEP - 1;
        memmove(&in->rec[1], &in->rec[0], keep * sizeof(in->rec[0]));
        in->n = keep + 1;
        memset(r, 0, sizeof(*r));
        r->cause = cause;
        r->ike_spi_i = spi_i;
        r->ike_spi_r = spi_r;
        r->child_spi_in = ch ? ch->spi_in : 0;
        r->child_spi_out = ch ? ch->spi_out : 0;
        r->local = sa ? sa->local.addr : conn->cfg.local.addr;
        r->remote = sa ? sa->remote.addr : conn->cfg.remote.addr;
    }
    r->f = *f;
    r->at_ms = now_ms;
    if (news)
        log_record(e, conn, r);
}

static void record(struct ike_engine *e, struct ike_sa *sa, const struct ike_child *ch,
                   struct ike_diag_facts *f, uint64_t now_ms)
{
    record_conn(e, sa->conn, sa, ch, f, now_ms);
}

/* What the peer's answer shows about its group: the one INVALID_KE_PAYLOAD
 * asks for, or its KE payload's (none when an answer has no KE). */
static void answer_group(const struct ike_payload_list *in, struct ike_diag_facts *f)
{
    uint16_t g = ike_rekey_invalid_ke_group(in);
    if (g) {
        f->peer_dh = g;
        f->peer_dh_shown = true;
        return;
    }
    if (ike_msg_error_notify(in))
        return; /* a refusal shows nothing of what the peer would take */
    const struct ike_payload *p = ike_payload_find(in, IKE_PL_KE, 0);
    struct ike_ke_payload kp;
    f->peer_dh = p && ike_ke_decode(p->body, &kp) == 0 ? kp.group : 0;
    f->peer_dh_shown = true;
}

bool ike_diag_rekey_failed(struct ike_engine *e, struct ike_sa *sa, struct ike_child *old,
                           const struct ike_payload_list *in, int err, uint64_t now_ms)
{
    if (err == IKE_ERR_TEMPORARY)
        return false; /* RFC 7296 2.25: the peer is busy, not failing */
    const struct ike_task *t = &sa->out_task;
    struct ike_diag_facts f = {
        .attempt = old ? IKE_DIAG_A_CHILD_REKEY : IKE_DIAG_A_IKE_REKEY,
        .outcome = IKE_DIAG_O_REFUSED,
        .err = err,
        .our_dh = t->dh,
    };
    if (in) {
        f.notify = ike_msg_error_notify(in);
        answer_group(in, &f);
    }
    if (!f.notify)
        f.outcome = IKE_DIAG_O_BAD_ANSWER;
    facts_child(&f, old);
    if (!old) {
        f.encr = sa->algs.encr;
        f.encr_keylen = sa->algs.encr_keylen;
        f.integ = sa->algs.integ;
    }
    struct ike_diag_conn *d = sa->conn->diag;
    bool check = is_check(d, old);
    f.rekey_check = check;
    record(e, sa, old, &f, now_ms);
    if (check) {
        /* The check found the mismatch; the tunnel stays up on its SA and
         * the normal rekey time (and its retries) comes back. */
        d->info.check = IKE_DIAG_CHECK_FAILED;
        d->info.check_at_ms = now_ms;
        old->rekey_at_ms = d->check_saved_rekey;
        ike_timers_update(e, sa);
    }
    return check;
}

void ike_diag_rekey_refused(struct ike_engine *e, struct ike_sa *sa, const struct ike_child *ch,
                            const struct ike_payload_list *in, uint16_t notify, uint64_t now_ms)
{
    if (notify != IKE_N_NO_PROPOSAL_CHOSEN && notify != IKE_N_TS_UNACCEPTABLE)
        return;
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    struct ike_diag_facts f = {
        .attempt = IKE_DIAG_A_CHILD_REKEY,
        .outcome = IKE_DIAG_O_WE_REFUSED,
        .notify = notify,
        .our_dh = ike_proposal_first_dh(c->esp, c->n_esp),
        .peer_dh_shown = true,
    };
    const struct ike_payload *p = ike_payload_find(in, IKE_PL_KE, 0);
    struct ike_ke_payload kp;
    if (p && ike_ke_decode(p->body, &kp) == 0)
        f.peer_dh = kp.group;
    facts_child(&f, ch);
    record(e, sa, ch, &f, now_ms);
}

/* Inbound ESP packets of the SA's installed children, +1 (0 = unknown). */
static uint64_t esp_in(struct ike_engine *e, const struct ike_sa *sa)
{
    if (!e->opts.esp_stats)
        return 0;
    uint64_t sum = 1;
    bool any = false;
    for (const struct ike_child *c = sa->children; c; c = c->next) {
        struct ike_sa_id id = {.dst = sa->local.addr, .spi = c->spi_in, .proto = IKE_IPPROTO_ESP};
        struct ike_sa_stats st;
        if (!ike_child_in_kernel(c) || e->opts.esp_stats(e->opts.esp_stats_ctx, &id, &st) < 0)
            continue;
        sum += st.packets;
        any = true;
    }
    return any ? sum : 0;
}

#define EARLY_RETRANSMITS 3 /* about 25 s with the default schedule */

void ike_diag_retransmit(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    if (sa->retransmits == 1) {
        const struct ike_conn_cfg *c = &sa->conn->cfg;
        sa->diag_sent_ms =
            now_ms - ike_retransmit_timeout_ms(c->retransmit_base_ms, c->retransmit_factor_pct, 0);
    } else if (sa->retransmits == EARLY_RETRANSMITS)
        ike_diag_no_answer(e, sa, true, now_ms);
    /* "ESP still arrives" means since the previous retransmit: a count
     * kept from the first one also held ESP that came before the peer
     * died (interop rekeyd/peer-killed on a loaded host: a DPD request
     * answered late was retransmitted once just before the kill, and the
     * dead peer was called "IKE blocked"). */
    sa->diag_esp_in = esp_in(e, sa);
}

static uint8_t attempt_of(uint8_t task)
{
    switch (task) {
    case TASK_IKE_INIT:
    case TASK_IKE_AUTH:
        return IKE_DIAG_A_SETUP;
    case TASK_CHILD_CREATE:
        return IKE_DIAG_A_CHILD_CREATE;
    case TASK_CHILD_REKEY:
        return IKE_DIAG_A_CHILD_REKEY;
    case TASK_IKE_REKEY:
        return IKE_DIAG_A_IKE_REKEY;
    case TASK_DPD:
        return IKE_DIAG_A_DPD;
    }
    return IKE_DIAG_A_DELETE;
}

void ike_diag_no_answer(struct ike_engine *e, struct ike_sa *sa, bool pending, uint64_t now_ms)
{
    /* The IKE_SA_INIT of a set-up goes out without an SA of ours on the
     * path: sa->out_task is empty then. */
    uint8_t task = sa->out_task.type               ? sa->out_task.type
                   : sa->state == IKE_SA_AUTH_SENT ? TASK_IKE_AUTH
                                                   : TASK_IKE_INIT;
    struct ike_diag_facts f = {
        .attempt = attempt_of(task),
        .outcome = IKE_DIAG_O_NO_ANSWER,
        .err = IKE_ERR_TIMEOUT,
        .retransmits = sa->retransmits,
        .pending = pending,
    };
    uint64_t before = sa->diag_esp_in, after = esp_in(e, sa);
    if (before && after)
        f.esp = after > before ? IKE_DIAG_ESP_FLOWING : IKE_DIAG_ESP_IDLE;
    if (pending && f.esp != IKE_DIAG_ESP_FLOWING)
        return; /* a silent peer may still answer: judged at the end */
    struct ike_child *ch =
        task == TASK_CHILD_REKEY ? ike_map_get(&e->child_by_spi, sa->out_task.del_spi) : NULL;
    if (ch && ch->ike != sa)
        ch = NULL;
    facts_child(&f, ch ? ch : sa->children);
    struct ike_diag_conn *d = sa->conn->diag;
    if (!pending && is_check(d, ch)) {
        f.rekey_check = true;
        d->info.check = IKE_DIAG_CHECK_FAILED;
        d->info.check_at_ms = now_ms;
    }
    record(e, sa, ch, &f, now_ms);
}

/* The answer came after all: an early "IKE blocked (still retrying)"
 * record of this SA is no longer current. Keep it, marked recovered and
 * how long IKE went unanswered, so the operator still sees the firewall
 * that dropped IKE for a while. */
void ike_diag_answered(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    struct ike_diag_conn *d = sa->conn->diag;
    if (!d || sa->retransmits < EARLY_RETRANSMITS)
        return;
    for (size_t k = 0; k < d->info.n; k++) {
        struct ike_diag_record *r = &d->info.rec[k];
        if (r->cause != IKE_DIAG_IKE_BLOCKED || !r->f.pending || r->f.recovered_ms ||
            r->ike_spi_i != sa->spi_i || r->ike_spi_r != sa->spi_r)
            continue;
        r->f.recovered_ms = now_ms > sa->diag_sent_ms ? now_ms - sa->diag_sent_ms : 1;
        r->at_ms = now_ms;
        log_record(e, sa->conn, r);
    }
}

/* When the child was installed, from its hard expiry; 0 = not known. */
static uint64_t installed_at(const struct ike_child *ch)
{
    uint64_t life = ch->ike->conn->cfg.child_lifetime_ms;
    return life && ch->expire_at_ms > life ? ch->expire_at_ms - life : 0;
}

static void lifetime_facts(const struct ike_child *ch, struct ike_diag_facts *f, uint64_t now_ms)
{
    const struct ike_conn_cfg *c = &ch->ike->conn->cfg;
    const struct ike_diag_conn *d = ch->ike->conn->diag;
    uint64_t at = installed_at(ch);
    uint64_t rekey = d && d->check_spi == ch->spi_in && d->info.check == IKE_DIAG_CHECK_PENDING
                         ? d->check_saved_rekey
                         : ch->rekey_at_ms;
    f->attempt = IKE_DIAG_A_LIFETIME;
    f->age_ms = now_ms - at;
    f->rekey_ms = rekey > at ? rekey - at : 0;
    f->life_ms = c->child_lifetime_ms;
    f->rekey_off = !c->rekey;
    f->rekey_fails = ch->rekey_fails;
    f->rekey_busy = ch->rekey_busy;
    facts_child(f, ch);
}

void ike_diag_peer_deleted(struct ike_engine *e, struct ike_child *ch, uint64_t now_ms)
{
    /* A child the peer deletes without having rekeyed it (its rekey makes
     * it REKEYED first) ended on the peer's lifetime, if before ours. */
    if (ch->state != CHILD_INSTALLED || ch->redundant || !installed_at(ch))
        return;
    struct ike_diag_facts f = {.outcome = IKE_DIAG_O_PEER_DELETED};
    lifetime_facts(ch, &f, now_ms);
    if (ike_diag_classify(&f) == IKE_DIAG_PEER_LIFETIME_SHORTER)
        record(e, ch->ike, ch, &f, now_ms);
}

void ike_diag_hard_expired(struct ike_engine *e, struct ike_child *ch, uint64_t now_ms)
{
    if ((ch->state != CHILD_INSTALLED && ch->state != CHILD_REKEYING) || ch->redundant)
        return; /* a replaced child waiting for its DELETE is no failure */
    struct ike_diag_facts f = {.outcome = IKE_DIAG_O_HARD_EXPIRED};
    lifetime_facts(ch, &f, now_ms);
    record(e, ch->ike, ch, &f, now_ms);
}

/* The IKE SA's facts at its end: age from its hard expiry (set when it
 * was established or rekeyed in, timers.c), our rekey time after that. */
static void ike_lifetime_facts(const struct ike_sa *sa, struct ike_diag_facts *f, uint64_t now_ms)
{
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    uint64_t life = c->ike_lifetime_ms;
    uint64_t at = life && sa->expire_at_ms > life ? sa->expire_at_ms - life : 0;
    f->attempt = IKE_DIAG_A_LIFETIME;
    f->ike_sa = true;
    f->age_ms = at && now_ms > at ? now_ms - at : 0;
    f->rekey_ms = at && sa->rekey_at_ms > at ? sa->rekey_at_ms - at : 0;
    f->life_ms = life;
    f->rekey_off = !c->rekey;
    f->rekey_fails = sa->rekey_fails;
    f->rekey_busy = sa->rekey_busy;
    f->encr = sa->algs.encr;
    f->encr_keylen = sa->algs.encr_keylen;
    f->integ = sa->algs.integ;
}

void ike_diag_ike_expired(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    if (sa->state != IKE_SA_ESTABLISHED || sa->replaced)
        return; /* a rekey replaced it: no failure */
    struct ike_diag_facts f = {.outcome = IKE_DIAG_O_HARD_EXPIRED};
    ike_lifetime_facts(sa, &f, now_ms);
    f.age_ms = f.life_ms; /* expire_at_ms is what ran out */
    record(e, sa, NULL, &f, now_ms);
}

/* The peer deleted the IKE SA (not replaced by a rekey): before our own
 * IKE rekey was due, its IKE lifetime ended first. After a failed rekey
 * of ours or with ours under way, the age proves nothing: no record. */
void ike_diag_ike_peer_deleted(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    if (sa->state != IKE_SA_ESTABLISHED || sa->replaced || sa->redundant || sa->rekey_fails ||
        sa->out_task.type == TASK_IKE_REKEY)
        return;
    /* A newer IKE SA with the peer: it re-authenticated (make-before-break)
     * or won a collision; the old one going is no lifetime matter. */
    for (const struct ike_sa *o = sa->conn->sas; o; o = o->conn_next)
        if (o != sa && o->state == IKE_SA_ESTABLISHED && o->established_ms >= sa->established_ms)
            return;
    struct ike_diag_facts f = {.outcome = IKE_DIAG_O_PEER_DELETED};
    ike_lifetime_facts(sa, &f, now_ms);
    if (!f.age_ms || (!f.rekey_off && sa->rekey_at_ms <= now_ms))
        return;
    if (ike_diag_classify(&f) == IKE_DIAG_PEER_LIFETIME_SHORTER)
        record(e, sa, NULL, &f, now_ms);
}

/* RFC 7296 2.4: the peer's INITIAL_CONTACT; stale and its children are
 * about to go. Name them (the first few in detail) for diagnose. */
void ike_diag_peer_restarted(struct ike_engine *e, struct ike_sa *stale, uint64_t now_ms)
{
    struct ike_diag_facts f = {.attempt = IKE_DIAG_A_SETUP, .outcome = IKE_DIAG_O_PEER_RESTARTED};
    const struct ike_child *first = NULL;
    size_t len = 0, shown = 0;
    for (const struct ike_child *c = stale->children; c; c = c->next) {
        if (!ike_child_in_kernel(c))
            continue;
        f.n_stale++;
        first = first ? first : c;
        char one[24];
        int n = snprintf(one, sizeof(one), "%s%08x/%08x", shown ? ", " : "", c->spi_in, c->spi_out);
        if (n > 0 && len + (size_t)n + sizeof(" and 99 more") < sizeof(f.detail)) {
            memcpy(f.detail + len, one, (size_t)n + 1);
            len += (size_t)n;
            shown++;
        }
    }
    if (shown < f.n_stale)
        snprintf(f.detail + len, sizeof(f.detail) - len, " and %u more",
                 f.n_stale - (unsigned)shown);
    facts_child(&f, first);
    record(e, stale, first, &f, now_ms);
}

/* ---- the rekey check (rekeycheck=yes) ---- */

/* The first Child SA of a new tunnel: rekey it once, soon, so a PFS or
 * proposal mismatch (IKE_AUTH carries no KE, RFC 7296 1.2) shows now and
 * not at the first real rekey. The IKE SA initiator checks first; the
 * responder later, only if the peer did not rekey the child meanwhile. */
static void check_arm(struct ike_engine *e, struct ike_sa *sa, struct ike_child *ch)
{
    const struct ike_conn_cfg *c = &sa->conn->cfg;
    if (!c->rekey_check || !c->rekey || !sa->setup || ch->redundant || !ch->rekey_at_ms)
        return;
    struct ike_diag_conn *d = dc_get(sa->conn);
    if (!d)
        return;
    uint64_t at = e->now_ms + (sa->initiator ? CHECK_DELAY_INITIATOR_MS : CHECK_DELAY_RESPONDER_MS);
    d->check_spi = ch->spi_in;
    d->check_saved_rekey = ch->rekey_at_ms;
    if (at < ch->rekey_at_ms)
        ch->rekey_at_ms = at;
    ike_timers_update(e, sa); /* the SA's deadline was computed before this */
    d->info.check = IKE_DIAG_CHECK_PENDING;
    d->info.check_at_ms = ch->rekey_at_ms;
    d->info.check_dh = 0;
    ike_log(e, IKE_LOG_INFO, "rekey check: %s: Child SA %08x/%08x will be rekeyed once in %llu ms",
            c->name, ch->spi_in, ch->spi_out, (unsigned long long)(ch->rekey_at_ms - e->now_ms));
}

static void check_done(struct ike_engine *e, struct ike_sa *sa, struct ike_diag_conn *d,
                       const struct ike_child *ch, bool by_peer)
{
    d->info.check = IKE_DIAG_CHECK_PASSED;
    d->info.check_at_ms = e->now_ms;
    d->info.check_dh = ch->algs.dh;
    ike_log(e, IKE_LOG_INFO,
            "rekey check: %s: passed, %s rekeyed the Child SA (new %08x/%08x, PFS %s); rekeys "
            "will work",
            sa->conn->cfg.name, by_peer ? "the peer" : "we", ch->spi_in, ch->spi_out,
            ike_diag_group_name(ch->algs.dh));
}

void ike_diag_event(struct ike_engine *e, struct ike_sa *sa, struct ike_child *ch, uint8_t type,
                    int err)
{
    struct ike_diag_conn *d = sa->conn->diag;
    struct ike_diag_facts f = {.err = err, .outcome = IKE_DIAG_O_REFUSED};
    switch (type) {
    case IKE_EV_CHILD_UP:
        if (ch)
            check_arm(e, sa, ch);
        return;
    case IKE_EV_CHILD_REKEYED:
        /* Ours (the task still names the old child) or the peer's rekey of
         * the same tunnel (same reqid): either way rekeying works. */
        if (d && ch && d->info.check == IKE_DIAG_CHECK_PENDING) {
            const struct ike_child *old = ike_map_get(&e->child_by_spi, d->check_spi);
            bool ours = ch->we_initiated && sa->out_task.type == TASK_CHILD_REKEY &&
                        sa->out_task.del_spi == d->check_spi;
            if (ours || (!ch->we_initiated && old && old != ch && old->reqid == ch->reqid))
                check_done(e, sa, d, ch, !ours);
        }
        return;
    case IKE_EV_CHILD_DOWN:
        if (is_check(d, ch))
            d->info.check = IKE_DIAG_CHECK_SKIPPED; /* gone before the check ran */
        return;
    case IKE_EV_IKE_DOWN:
        /* Timeouts are recorded with better facts by ike_diag_no_answer. */
        if (!err || err == IKE_ERR_TIMEOUT || sa->established_ms)
            return;
        f.attempt = IKE_DIAG_A_SETUP;
        break;
    case IKE_EV_CHILD_FAILED:
        f.attempt = IKE_DIAG_A_CHILD_CREATE;
        break;
    default:
        return;
    }
    /* The notify that carried it (sent or received): operators know it. */
    f.notify = err == IKE_ERR_NO_PROPOSAL       ? IKE_N_NO_PROPOSAL_CHOSEN
               : err == IKE_ERR_TS_UNACCEPTABLE ? IKE_N_TS_UNACCEPTABLE
               : err == IKE_ERR_AUTH_FAILED     ? IKE_N_AUTHENTICATION_FAILED
                                                : 0;
    record(e, sa, NULL, &f, e->now_ms);
}

/* ---- public ---- */
int ike_engine_diag(const struct ike_engine *e, const char *name, struct ike_diag_conn_info *out)
{
    if (!e || !name || !out)
        return IKE_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    for (const struct ike_conn *c = e->conns; c; c = c->next) {
        if (strcmp(c->cfg.name, name))
            continue;
        if (c->diag)
            *out = c->diag->info;
        return 0;
    }
    return IKE_ERR_NO_CONFIG;
}

/* The backend's text after the op ("ADD_POLICY out ...: "), kept whole
 * for a policy: "already exists (EEXIST)" are the kernel's words. */
static void kernel_words(const char *detail, bool keep_errno, char *out, size_t cap)
{
    /* The backend's text starts with the op ("ADD_SA esp spi ...: ") and
     * ends with errno (" (ENOENT...)"): keep the reason, and errno when
     * the sentence names it (policies). */
    const char *colon = detail ? strstr(detail, ": ") : NULL;
    const char *p = colon ? colon + 2 : (detail ? detail : "");
    const char *end = keep_errno ? NULL : strstr(p, " (");
    int n = end ? (int)(end - p) : (int)strlen(p);
    snprintf(out, cap, "%.*s", n, p);
    for (char *q = out; *q; q++)
        if (*q < 0x20 || *q > 0x7e)
            *q = '?'; /* the backend's words reach a terminal */
}

/* A refused policy belongs to the conn with its reqid (a child's or the
 * trap's, child_sa.c). A DEL_POLICY names no reqid: not attributed. */
static int policy_failed(struct ike_engine *e, const struct ike_kernel_op *op, int err,
                         const char *detail, uint64_t now_ms)
{
    if (op->type == IKE_KOP_DEL_POLICY)
        return IKE_ERR_NO_SA;
    const struct ike_kernel_policy *p = &op->u.policy;
    struct ike_conn *c = e->conns;
    while (c && c->reqid != p->reqid)
        c = c->next;
    if (!c)
        return IKE_ERR_NO_SA;
    const struct ike_sa *sa = c->sas;
    while (sa && sa->state != IKE_SA_ESTABLISHED)
        sa = sa->conn_next;
    struct ike_diag_facts f = {
        .attempt = IKE_DIAG_A_INSTALL,
        .outcome = IKE_DIAG_O_KERNEL_ERROR,
        .err = err,
        .kop = op->type,
        .pol_dir = p->dir,
        .sel = p->sel,
    };
    kernel_words(detail, true, f.detail, sizeof(f.detail));
    record_conn(e, c, sa, NULL, &f, now_ms);
    return 0;
}

int ike_engine_kernel_failed(struct ike_engine *e, const struct ike_kernel_op *op, int err,
                             const char *detail, uint64_t now_ms)
{
    if (!e || !op)
        return IKE_ERR_INVALID_ARG;
    e->now_ms = now_ms;
    if (op->type >= IKE_KOP_ADD_POLICY && op->type <= IKE_KOP_DEL_POLICY)
        return policy_failed(e, op, err, detail, now_ms);
    if (op->type != IKE_KOP_ADD_SA && op->type != IKE_KOP_UPDATE_SA)
        return IKE_ERR_NO_SA;
    const struct ike_kernel_sa *k = &op->u.sa;
    struct ike_child *ch = ike_map_get(&e->child_by_spi, k->id.spi);
    if (ch && (ch->ike->local.addr.family != k->id.dst.family ||
               memcmp(ch->ike->local.addr.bytes, k->id.dst.bytes, 16)))
        ch = NULL;
    if (!ch)
        ch = ike_child_find_out(e, &k->id.dst, k->id.spi);
    if (!ch || !ch->ike)
        return IKE_ERR_NO_SA;
    struct ike_diag_facts f = {
        .attempt = IKE_DIAG_A_INSTALL,
        .outcome = IKE_DIAG_O_KERNEL_ERROR,
        .err = err,
        .encr = k->encr_id,
        .encr_keylen = k->encr_key_bits,
        .integ = k->integ_id,
        .kop = op->type,
    };
    if (detail)
        kernel_words(detail, false, f.detail, sizeof(f.detail));
    record(e, ch->ike, ch, &f, now_ms);
    return 0;
}
