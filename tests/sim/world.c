/*
 * world.c: the simulated world: peers (engine + in-memory kernel), the
 * virtual clock, the network queue and the trace ring.
 *
 * One step processes exactly one thing (a datagram delivery, one engine's
 * timers, one kernel expiry batch, one scenario action, one traffic tick)
 * so the invariants run between any two of them. Every random decision
 * comes from a stream derived from the scenario seed; nothing here reads a
 * real clock or the environment, so a seed replays exactly. It must not
 * judge what it sees: verdicts live in invariants.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/crypto.h"
#include "ike/err.h"
#include "sim.h"
#include "test_props.h"

#define T0_MS 1000000ULL /* the clock starts here so kernel seconds are non-zero */

/* ---- trace ---- */
void sim_tracef(struct sim_world *w, const char *fmt, ...)
{
    if (!w->o->record && !w->o->verbose)
        return;
    char line[400];
    uint64_t rel = w->now_ms - w->t0_ms;
    int n = snprintf(line, sizeof(line), "%6llu.%03llu ", (unsigned long long)(rel / 1000),
                     (unsigned long long)(rel % 1000));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if (w->o->verbose)
        fprintf(stderr, "%s\n", line);
    if (!w->o->record || !w->trace_cap)
        return;
    char **slot = &w->trace[w->n_trace % w->trace_cap];
    free(*slot);
    *slot = strdup(line);
    w->n_trace++;
}

void sim_trace_print(const struct sim_world *w, FILE *f, uint32_t last_n)
{
    uint32_t have = w->n_trace < w->trace_cap ? w->n_trace : w->trace_cap;
    uint32_t n = last_n < have ? last_n : have;
    fprintf(f, "---- trace: last %u of %u events (seconds since start) ----\n", n, w->n_trace);
    for (uint32_t k = w->n_trace - n; k < w->n_trace; k++)
        fprintf(f, "%s\n", w->trace[k % w->trace_cap]);
    fprintf(f, "---- end of trace ----\n");
}

/* ---- engine callbacks ---- */
static void peer_rnd(void *ctx, uint8_t *buf, size_t n)
{
    struct sim_peer *p = ctx;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = sim_next(&p->rng);
        memcpy(buf + i, &v, n - i < 8 ? n - i : 8);
    }
}

static void peer_log(void *ctx, int level, const char *line)
{
    struct sim_peer *p = ctx;
    sim_tracef(p->w, "%s: %s", p->name, line);
    if (level == IKE_LOG_ERROR && p->w->o->strict_errors)
        sim_fail(p->w, "%s logged an engine ERROR: %s", p->name, line);
}

/* ---- peers ---- */
static void set_ep(struct ike_endpoint *ep, uint8_t last)
{
    memset(ep, 0, sizeof(*ep));
    ep->addr.family = IKE_AF_INET;
    ep->addr.bytes[0] = 10;
    ep->addr.bytes[3] = last;
    ep->port = 500;
}

static void set_subnet(struct ike_subnet *s, uint8_t n)
{
    memset(s, 0, sizeof(*s));
    s->addr.family = IKE_AF_INET;
    s->addr.bytes[0] = 10;
    s->addr.bytes[1] = n;
    s->prefix = 16;
}

/* The connection of peer i as its own ipsec.conf would say it. */
static void make_cfg(const struct sim_side *s, int i, struct ike_conn_cfg *c)
{
    ike_conn_cfg_defaults(c);
    snprintf(c->name, sizeof(c->name), "sim");
    set_ep(&c->local, (uint8_t)(i + 1));
    set_ep(&c->remote, (uint8_t)(2 - i));
    set_subnet(&c->local_ts, (uint8_t)(i + 1));
    set_subnet(&c->remote_ts, (uint8_t)(2 - i));
    memcpy(c->psk, "sim-psk-0123456789", 18);
    c->psk_len = 18;
    t_default_props(c);
    if (s->pfs) {
        c->esp[0].n_dh = 1;
        c->esp[0].dh[0] = CURVE25519;
    }
    c->mode = IKE_MODE_TUNNEL;
    c->auto_mode = s->auto_start ? IKE_AUTO_START : IKE_AUTO_ADD;
    c->ike_lifetime_ms = s->ike_life_ms;
    c->child_lifetime_ms = s->child_life_ms;
    c->rekey_margin_ms = s->margin_ms;
    c->rekey_fuzz_pct = s->fuzz_pct;
    c->life_bytes = s->life_bytes;
    c->margin_bytes = s->margin_bytes;
    c->rekey = true;
    c->dpd_delay_ms = s->dpd_delay_ms;
    c->dpd_timeout_ms = s->dpd_timeout_ms;
    c->dpd_action = s->dpd_action;
    c->close_action = s->close_action;
    c->retransmit_base_ms = s->rt_base_ms;
    c->retransmit_factor_pct = s->rt_factor_pct;
    c->retransmit_tries = s->rt_tries;
}

int sim_peer_start(struct sim_world *w, int i)
{
    struct sim_peer *p = &w->p[i];
    struct ike_engine_opts o;
    ike_engine_opts_defaults(&o);
    o.crypto = ike_crypto_openssl();
    o.random = peer_rnd;
    o.random_ctx = p;
    o.log = peer_log;
    o.log_ctx = p;
    o.log_level = (w->o->record || w->o->verbose) ? IKE_LOG_INFO : IKE_LOG_ERROR;
    p->e = ike_engine_new(&o);
    p->kmem = ike_kmem_new();
    if (!p->e || !p->kmem)
        return IKE_ERR_NOMEM;
    ike_kmem_backend_init(p->kmem, &p->kb, false);
    ike_kmem_set_time(p->kmem, w->now_ms / 1000);
    p->stopped = false;
    p->reinit_at_ms = 0;
    p->n_exp = 0;
    int rc = ike_engine_add_conn(p->e, &p->cfg);
    if (rc < 0)
        return rc;
    if (w->sc->side[i].auto_start) {
        sim_tracef(w, "%s: auto=start: initiate", p->name);
        ike_engine_initiate(p->e, "sim", w->now_ms);
    }
    return 0;
}

void sim_peer_stop(struct sim_world *w, int i)
{
    struct sim_peer *p = &w->p[i];
    ike_engine_free(p->e);
    ike_kmem_free(p->kmem);
    p->e = NULL;
    p->kmem = NULL;
    /* Its outstanding requests died with it. */
    for (int k = 0; k < w->n_outreq;) {
        if (w->outreq[k].from == i)
            w->outreq[k] = w->outreq[--w->n_outreq];
        else
            k++;
    }
}

int sim_world_init(struct sim_world *w, const struct sim_scenario *sc, const struct sim_opts *o)
{
    memset(w, 0, sizeof(*w));
    w->o = o;
    w->sc = sc;
    w->now_ms = w->t0_ms = T0_MS;
    w->next_traffic_ms = T0_MS + 1000;
    uint64_t s = sc->seed ^ 0x5eed5eed5eed5eedULL;
    w->net_rng = sim_next(&s);
    if (o->record) {
        w->trace_cap = o->trace_lines ? o->trace_lines : 4000;
        w->trace = calloc(w->trace_cap, sizeof(*w->trace));
    }
    for (int i = 0; i < SIM_PEERS; i++) {
        struct sim_peer *p = &w->p[i];
        p->w = w;
        p->idx = i;
        p->name = i ? "R" : "L";
        p->rng = sim_next(&s);
        set_ep(&p->addr, (uint8_t)(i + 1));
        make_cfg(&sc->side[i], i, &p->cfg);
    }
    for (int k = 0; k < sc->n_out; k++)
        sim_add_cause(w, T0_MS + sc->out[k].start_ms, T0_MS + sc->out[k].end_ms, "outage");
    for (int i = 0; i < SIM_PEERS; i++) {
        int rc = sim_peer_start(w, i);
        if (rc < 0)
            return rc;
    }
    sim_drain(w);
    return 0;
}

void sim_world_free(struct sim_world *w)
{
    for (int i = 0; i < SIM_PEERS; i++) {
        if (w->p[i].e)
            sim_peer_stop(w, i);
        ike_conn_cfg_clear(&w->p[i].cfg);
    }
    for (size_t k = 0; k < w->nq; k++)
        free(w->q[k].data);
    free(w->q);
    if (w->trace) {
        for (uint32_t k = 0; k < w->trace_cap; k++)
            free(w->trace[k]);
        free(w->trace);
    }
}

/* ---- network ---- */
static uint64_t be(const uint8_t *b, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | b[i];
    return v;
}

static const char *exch_name(uint8_t x)
{
    switch (x) {
    case IKE_SA_INIT:
        return "IKE_SA_INIT";
    case IKE_AUTH:
        return "IKE_AUTH";
    case CREATE_CHILD_SA:
        return "CREATE_CHILD_SA";
    case INFORMATIONAL:
        return "INFORMATIONAL";
    }
    return "?";
}

bool sim_outage_now(const struct sim_world *w, int from)
{
    uint64_t rel = w->now_ms - w->t0_ms;
    for (int k = 0; k < w->sc->n_out; k++) {
        const struct sim_outage *o = &w->sc->out[k];
        if (rel >= o->start_ms && rel < o->end_ms && (o->dirs & (1u << from)))
            return true;
    }
    return false;
}

static void note_drop(struct sim_world *w, int from, const char *why, const uint8_t *d, size_t len)
{
    w->dropped++;
    w->drop_ms[w->n_drop++ % SIM_DROP_RING] = w->now_ms;
    if (len >= 28)
        sim_tracef(w, "net: DROP (%s) %s->%s %s %s #%u", why, w->p[from].name, w->p[!from].name,
                   exch_name(d[18]), d[19] & 0x20 ? "resp" : "req", (unsigned)be(d + 20, 4));
}

uint32_t sim_drops_between(const struct sim_world *w, uint64_t from_ms, uint64_t to_ms)
{
    uint32_t n = 0, have = w->n_drop < SIM_DROP_RING ? w->n_drop : SIM_DROP_RING;
    for (uint32_t k = 0; k < have; k++) {
        uint64_t t = w->drop_ms[(w->n_drop - 1 - k) % SIM_DROP_RING];
        if (t >= from_ms && t <= to_ms)
            n++;
    }
    return n;
}

/* Remember a request until its response reaches the requester. */
static void track_request(struct sim_world *w, int from, const uint8_t *d)
{
    uint64_t spi_i = be(d, 8);
    uint32_t mid = (uint32_t)be(d + 20, 4);
    for (int k = 0; k < w->n_outreq; k++) {
        struct sim_outreq *r = &w->outreq[k];
        if (r->from == from && r->spi_i == spi_i && r->msg_id == mid && r->exchange == d[18])
            return; /* a retransmit */
    }
    if (w->n_outreq == SIM_MAX_OUT)
        return;
    w->outreq[w->n_outreq++] = (struct sim_outreq){
        .from = from, .spi_i = spi_i, .msg_id = mid, .exchange = d[18], .first_ms = w->now_ms};
}

static void track_response(struct sim_world *w, int to, const uint8_t *d)
{
    uint64_t spi_i = be(d, 8);
    uint32_t mid = (uint32_t)be(d + 20, 4);
    for (int k = 0; k < w->n_outreq; k++) {
        struct sim_outreq *r = &w->outreq[k];
        if (r->from == to && r->spi_i == spi_i && r->msg_id == mid && r->exchange == d[18]) {
            w->outreq[k] = w->outreq[--w->n_outreq];
            return;
        }
    }
}

static void push(struct sim_world *w, int to, const struct ike_output *o, uint64_t delay)
{
    if (w->nq == w->qcap) {
        size_t cap = w->qcap ? w->qcap * 2 : 32;
        struct sim_dgram *q = realloc(w->q, cap * sizeof(*q));
        if (!q)
            return;
        w->q = q;
        w->qcap = cap;
    }
    struct sim_dgram *d = &w->q[w->nq++];
    d->to = to;
    d->at_ms = w->now_ms + delay;
    d->seq = w->seq++;
    d->src = o->u.dgram.src;
    d->dst = o->u.dgram.dst;
    d->len = o->u.dgram.len;
    d->data = malloc(d->len ? d->len : 1);
    memcpy(d->data, o->u.dgram.data, d->len);
}

static void send_dgram(struct sim_world *w, int from, const struct ike_output *o)
{
    const uint8_t *d = o->u.dgram.data;
    size_t len = o->u.dgram.len;
    int to = !from;
    const struct sim_scenario *sc = w->sc;
    if (len >= 28) {
        if (!(d[19] & 0x20))
            track_request(w, from, d);
        if (!(d[19] & 0x20) && d[18] == IKE_SA_INIT && !be(d + 8, 8)) {
            struct sim_peer *p = &w->p[from];
            p->known_spi_r[p->n_known % SIM_EXP_RING] = 0; /* we initiated it */
            p->known_spi[p->n_known++ % SIM_EXP_RING] = be(d, 8);
        }
        sim_tracef(w, "net: %s->%s %s %s #%u spi %016llx_%016llx len %zu", w->p[from].name,
                   w->p[to].name, exch_name(d[18]), d[19] & 0x20 ? "resp" : "req",
                   (unsigned)be(d + 20, 4), (unsigned long long)be(d, 8),
                   (unsigned long long)be(d + 8, 8), len);
    }
    if (w->perfect) {
        push(w, to, o, sc->lat_min_ms);
        return;
    }
    if (sim_outage_now(w, from)) {
        note_drop(w, from, "outage", d, len);
        return;
    }
    if (sim_chance(&w->net_rng, sc->loss_x100)) {
        note_drop(w, from, "loss", d, len);
        return;
    }
    int copies = sim_chance(&w->net_rng, sc->dup_x100) ? 2 : 1;
    for (int c = 0; c < copies; c++)
        push(w, to, o, sim_range(&w->net_rng, sc->lat_min_ms, sc->lat_max_ms));
}

/* ---- outputs ---- */
static void apply_kop(struct sim_world *w, struct sim_peer *p, struct ike_kernel_op *op)
{
    char txt[200];
    ike_kernel_op_describe(op, txt, sizeof(txt));
    int rc = p->kb.apply(p->kb.ctx, op);
    sim_tracef(w, "%s: kernel %s%s%s", p->name, txt, rc < 0 ? " -> " : "",
               rc < 0 ? ike_err_str(rc) : "");
    if (rc < 0) {
        /* Deleting an SA the kernel already removed at its hard expiry
         * is expected (strongSwan ignores it too). */
        if (op->type == IKE_KOP_DEL_SA && rc == IKE_ERR_KERNEL_NOENT &&
            sim_was_hard_expired(p, op->u.sa_id.spi, 0))
            return;
        p->kernel_errors++;
        sim_fail(w, "%s: kernel op failed: %s: %s", p->name, txt, ike_err_str(rc));
    }
}

/* auto=start keeps the tunnel up: with no IKE SA of ours (the peer's
 * half-open ones do not count, ike_engine_conn_own_sa_count), initiate
 * again after a short random pause. */
static void arm_supervisor(struct sim_world *w, int i)
{
    struct sim_peer *p = &w->p[i];
    if (!w->o->supervisor || !w->sc->side[i].auto_start || p->stopped || w->shutting_down ||
        p->reinit_at_ms || ike_engine_conn_own_sa_count(p->e, "sim"))
        return;
    p->reinit_at_ms = w->now_ms + sim_range(&w->net_rng, 500, 3000);
    sim_tracef(w, "%s: supervisor: no IKE SA, re-initiate in %llu ms", p->name,
               (unsigned long long)(p->reinit_at_ms - w->now_ms));
}

/* G3 for IKE SAs: when each IKE SA came up (the first peer to say so). */
static void ike_came_up(struct sim_world *w, uint64_t spi_i)
{
    for (uint32_t k = 0; k < SIM_ORPHANS && k < w->n_ike_up; k++)
        if (w->ike_up_i[k] == spi_i)
            return;
    w->ike_up_i[w->n_ike_up % SIM_ORPHANS] = spi_i;
    w->ike_up_ms[w->n_ike_up++ % SIM_ORPHANS] = w->now_ms;
}

/* Whether an IKE SA going down now has reached the shorter of the two
 * ikelifetimes (the engine deletes it then, timers.c expired_ike). */
static bool ike_life_ended(const struct sim_world *w, uint64_t spi_i)
{
    uint64_t life = w->sc->side[0].ike_life_ms;
    if (!life || (w->sc->side[1].ike_life_ms && w->sc->side[1].ike_life_ms < life))
        life = w->sc->side[1].ike_life_ms;
    for (uint32_t k = 0; life && k < SIM_ORPHANS && k < w->n_ike_up; k++)
        if (w->ike_up_i[k] == spi_i)
            return w->now_ms - w->ike_up_ms[k] + 100 >= life;
    return false;
}

static void on_event(struct sim_world *w, int i, const struct ike_event *ev)
{
    struct sim_peer *p = &w->p[i];
    static const char *const names[] = {
        "?",           "IKE_UP",       "IKE_DOWN",      "CHILD_UP",
        "CHILD_DOWN",  "CHILD_FAILED", "CHILD_REKEYED", "IKE_REKEYED",
        "REKEY_FAILED"};
    sim_tracef(w, "%s: event %s ike %016llx_%016llx child %08x/%08x old %08x err %s", p->name,
               ev->type < 9 ? names[ev->type] : "?", (unsigned long long)ev->ike_spi_i,
               (unsigned long long)ev->ike_spi_r, ev->child_spi_in, ev->child_spi_out,
               ev->old_spi_in, ev->err ? ike_err_str(ev->err) : "-");
    switch (ev->type) {
    case IKE_EV_IKE_UP:
    case IKE_EV_IKE_REKEYED:
        p->known_spi_r[p->n_known % SIM_EXP_RING] = ev->ike_spi_r;
        p->known_spi[p->n_known++ % SIM_EXP_RING] = ev->ike_spi_i;
        ike_came_up(w, ev->ike_spi_i);
        p->ups += ev->type == IKE_EV_IKE_UP;
        p->rekeys_ike += ev->type == IKE_EV_IKE_REKEYED;
        break;
    case IKE_EV_IKE_DOWN:
        p->downs++;
        if (ike_life_ended(w, ev->ike_spi_i))
            w->ike_life_down_ms = w->now_ms;
        if (ev->err == IKE_ERR_TIMEOUT) {
            p->timeouts++;
            sim_check_timeout(w, i, ev);
        }
        break;
    case IKE_EV_CHILD_REKEYED:
        p->rekeys_child++;
        break;
    case IKE_EV_REKEY_FAILED:
        if (ev->err == IKE_ERR_TEMPORARY) /* a 2.25 collision: G5 */
            w->tempfail_ms[w->n_tempfail++ % SIM_ORPHANS] = w->now_ms;
        break;
    }
}

void sim_drain(struct sim_world *w)
{
    bool again = true;
    while (again) {
        again = false;
        for (int i = 0; i < SIM_PEERS; i++) {
            struct sim_peer *p = &w->p[i];
            struct ike_output o;
            if (!p->e)
                continue;
            while (ike_engine_pop_output(p->e, &o)) {
                again = true;
                if (o.type == IKE_OUT_DATAGRAM)
                    send_dgram(w, i, &o);
                else if (o.type == IKE_OUT_KERNEL)
                    apply_kop(w, p, &o.u.kop);
                else if (o.type == IKE_OUT_EVENT)
                    on_event(w, i, &o.u.ev);
                ike_wipe(&o.u.kop, sizeof(o.u.kop));
            }
            arm_supervisor(w, i);
        }
    }
}

bool sim_was_hard_expired(const struct sim_peer *p, uint32_t spi, uint64_t since_ms)
{
    uint32_t have = p->n_exp < SIM_EXP_RING ? p->n_exp : SIM_EXP_RING;
    for (uint32_t k = 0; k < have; k++) {
        uint32_t j = (p->n_exp - 1 - k) % SIM_EXP_RING;
        if (p->exp_spi[j] == spi && p->exp_ms[j] >= since_ms)
            return true;
    }
    return false;
}

/* ---- kernel events and traffic ---- */
/* The kernel model already deleted a hard-expired SA: remember it before
 * the engine hears of any event of the batch, so its DEL_SA of an SA that
 * expired in the same batch is recognised. */
static void note_expiry(struct sim_world *w, int i, const struct ike_kernel_event *ev)
{
    struct sim_peer *p = &w->p[i];
    if (ev->type != IKE_KEV_EXPIRE_HARD)
        return;
    uint32_t j = p->n_exp++ % SIM_EXP_RING;
    p->exp_spi[j] = ev->sa.spi;
    p->exp_ms[j] = w->now_ms;
}

static void kernel_event(struct sim_world *w, int i, const struct ike_kernel_event *ev)
{
    struct sim_peer *p = &w->p[i];
    bool hard = ev->type == IKE_KEV_EXPIRE_HARD;
    sim_tracef(w, "%s: kernel EXPIRE %s spi %08x", p->name, hard ? "hard" : "soft", ev->sa.spi);
    if (hard)
        sim_check_hard_expiry(w, i, ev);
    ike_engine_kernel_event(p->e, ev, w->now_ms);
    sim_drain(w);
}

static int out_policy_cb(void *arg, const struct ike_kernel_policy *pol)
{
    struct ike_kernel_policy *found = arg;
    if (pol->dir == IKE_DIR_OUT && pol->action == IKE_POLICY_IPSEC && !found->spi)
        *found = *pol;
    return 0;
}

/* One second of traffic each way through the pinned outbound SA, counted
 * at both ends (so byte and packet limits move on both kernels). */
static void traffic_tick(struct sim_world *w)
{
    const struct sim_scenario *sc = w->sc;
    uint64_t now_s = w->now_ms / 1000;
    for (int s = 0; s < SIM_PEERS; s++) {
        struct ike_kernel_policy pol = {0};
        struct ike_kernel_event ev;
        if (!w->p[s].kmem)
            continue;
        ike_kmem_foreach_policy(w->p[s].kmem, out_policy_cb, &pol);
        if (!pol.spi)
            continue;
        struct ike_sa_id id = {.dst = pol.tmpl_dst, .spi = pol.spi, .proto = IKE_IPPROTO_ESP};
        uint64_t pk = sc->pkt_per_s, by = pk * sc->pkt_bytes;
        if (ike_kmem_add_traffic(w->p[s].kmem, &id, by, pk, now_s, &ev, 1) == 1) {
            note_expiry(w, s, &ev);
            kernel_event(w, s, &ev);
        }
        int r = !s;
        if (w->p[r].kmem && !sim_outage_now(w, s) &&
            ike_kmem_add_traffic(w->p[r].kmem, &id, by, pk, now_s, &ev, 1) == 1) {
            note_expiry(w, r, &ev);
            kernel_event(w, r, &ev);
        }
    }
}

/* ---- scenario actions ---- */
static void do_action(struct sim_world *w, struct sim_action *a)
{
    a->done = true;
    for (int i = 0; i < SIM_PEERS; i++) {
        if (a->peer >= 0 && a->peer != i)
            continue;
        struct sim_peer *p = &w->p[i];
        int rc = 0;
        if (a->type == SA_FORCE_REKEY) {
            rc = ike_engine_rekey(p->e, "sim", a->arg != 0, w->now_ms);
            sim_tracef(w, "%s: action: rekey %s -> %s", p->name, a->arg ? "IKE" : "child",
                       rc < 0 ? ike_err_str(rc) : "ok");
        } else if (a->type == SA_NEW_CHILD) {
            rc = ike_engine_initiate(p->e, "sim", w->now_ms);
            sim_tracef(w, "%s: action: initiate another Child SA -> %s", p->name,
                       rc < 0 ? ike_err_str(rc) : "ok");
        } else if (a->type == SA_RESTART) {
            sim_tracef(w, "%s: action: RESTART (engine and kernel state lost)", p->name);
            sim_peer_stop(w, i);
            sim_add_cause(w, w->now_ms, w->now_ms, "restart");
            if (sim_peer_start(w, i) < 0)
                sim_fail(w, "%s: restart failed", p->name);
        }
    }
    /* Drain once after both sides acted: "at the same instant". */
    sim_drain(w);
}

/* ---- the step ---- */
enum { K_NONE, K_DGRAM, K_TIMER, K_KEXP, K_ACTION, K_REINIT, K_TRAFFIC };

static void consider(uint64_t t, int kind, int idx, uint64_t *best, int *bk, int *bi)
{
    if (t < *best) {
        *best = t;
        *bk = kind;
        *bi = idx;
    }
}

static void deliver(struct sim_world *w, size_t k)
{
    struct sim_dgram d = w->q[k];
    w->q[k] = w->q[--w->nq];
    int from = !d.to;
    if (!w->perfect && sim_outage_now(w, from)) {
        note_drop(w, from, "outage, in flight", d.data, d.len);
    } else {
        w->delivered++;
        if (d.len >= 28 && (d.data[19] & 0x20))
            track_response(w, d.to, d.data);
        if (w->p[d.to].e)
            ike_engine_recv(w->p[d.to].e, d.data, d.len, &d.src, &d.dst, w->now_ms);
        sim_drain(w);
    }
    free(d.data);
}

/* A requester gives up after its retransmit budget (or lost the SA): stop
 * waiting for the response then. */
static void prune_requests(struct sim_world *w)
{
    for (int k = 0; k < w->n_outreq;) {
        const struct sim_outreq *r = &w->outreq[k];
        uint64_t limit = sim_rt_budget(&w->sc->side[r->from]) + w->sc->lat_max_ms + 1000;
        if (w->now_ms > r->first_ms + limit)
            w->outreq[k] = w->outreq[--w->n_outreq];
        else
            k++;
    }
}

/* The earliest due item: a datagram (earliest delivery, then send order),
 * an engine deadline, a kernel expiry, a scenario action, a supervisor
 * re-initiation or the traffic tick. */
static uint64_t next_item(const struct sim_world *w, int *kind, int *idx)
{
    uint64_t best = UINT64_MAX;
    int bk = K_NONE, bi = -1;
    size_t first = w->nq;
    for (size_t k = 0; k < w->nq; k++)
        if (first == w->nq || w->q[k].at_ms < w->q[first].at_ms ||
            (w->q[k].at_ms == w->q[first].at_ms && w->q[k].seq < w->q[first].seq))
            first = k;
    if (first < w->nq)
        consider(w->q[first].at_ms, K_DGRAM, (int)first, &best, &bk, &bi);
    for (int i = 0; i < SIM_PEERS; i++) {
        if (!w->p[i].e)
            continue;
        consider(ike_engine_next_deadline(w->p[i].e), K_TIMER, i, &best, &bk, &bi);
        uint64_t x = ike_kmem_next_expiry(w->p[i].kmem);
        if (x != UINT64_MAX)
            consider(x * 1000, K_KEXP, i, &best, &bk, &bi);
        if (w->p[i].reinit_at_ms)
            consider(w->p[i].reinit_at_ms, K_REINIT, i, &best, &bk, &bi);
    }
    for (int k = 0; k < w->sc->n_act; k++)
        if (!w->sc->act[k].done)
            consider(w->t0_ms + w->sc->act[k].at_ms, K_ACTION, k, &best, &bk, &bi);
    consider(w->next_traffic_ms, K_TRAFFIC, 0, &best, &bk, &bi);
    *kind = bk;
    *idx = bi;
    return best;
}

bool sim_step(struct sim_world *w, uint64_t until_ms)
{
    int bk, bi;
    uint64_t best = next_item(w, &bk, &bi);
    if (best > until_ms) {
        w->now_ms = until_ms;
        return false;
    }
    if (best > w->now_ms)
        w->now_ms = best;
    for (int i = 0; i < SIM_PEERS; i++)
        if (w->p[i].kmem)
            ike_kmem_set_time(w->p[i].kmem, w->now_ms / 1000);
    w->steps++;
    prune_requests(w);
    switch (bk) {
    case K_DGRAM:
        deliver(w, (size_t)bi);
        break;
    case K_TIMER:
        ike_engine_handle_deadline(w->p[bi].e, w->now_ms);
        sim_drain(w);
        break;
    case K_KEXP: {
        struct ike_kernel_event ev[8];
        int n = ike_kmem_tick(w->p[bi].kmem, w->now_ms / 1000, ev, 8);
        for (int k = 0; k < n; k++)
            note_expiry(w, bi, &ev[k]);
        for (int k = 0; k < n && w->p[bi].e; k++)
            kernel_event(w, bi, &ev[k]);
        break;
    }
    case K_ACTION:
        do_action(w, (struct sim_action *)&w->sc->act[bi]);
        break;
    case K_REINIT:
        w->p[bi].reinit_at_ms = 0;
        if (!ike_engine_conn_own_sa_count(w->p[bi].e, "sim") && !w->shutting_down) {
            sim_tracef(w, "%s: supervisor: initiate", w->p[bi].name);
            ike_engine_initiate(w->p[bi].e, "sim", w->now_ms);
        }
        sim_drain(w);
        break;
    case K_TRAFFIC:
        w->next_traffic_ms = w->now_ms + 1000;
        traffic_tick(w);
        return true; /* traffic alone changes no SA state unless it expired one */
    }
    return true;
}

bool sim_quiet(const struct sim_world *w)
{
    return w->nq == 0 && w->n_outreq == 0;
}

void sim_add_cause(struct sim_world *w, uint64_t start_ms, uint64_t end_ms, const char *what)
{
    if (w->n_cause == SIM_MAX_CAUSES) {
        /* Merge into the last one: windows only ever grow. */
        w->cause[SIM_MAX_CAUSES - 1].end_ms = end_ms;
        return;
    }
    w->cause[w->n_cause++] = (struct sim_cause){start_ms, end_ms, what};
    sim_tracef(w, "sim: disturbance '%s' excuses until +%llu ms", what,
               (unsigned long long)(end_ms + w->sc->recover_ms - w->now_ms));
}
