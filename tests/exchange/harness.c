/*
 * harness.c: the simulated world of the exchange tests (see harness.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ike/diag.h"
#include "ike/crypto.h"
#include "ike/err.h"
#include "test_props.h"

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void h_test_rnd(void *ctx, uint8_t *buf, size_t n)
{
    struct h_peer *p = ctx;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = splitmix(&p->rng);
        memcpy(buf + i, &v, n - i < 8 ? n - i : 8);
    }
}

static void logger(void *ctx, int level, const char *line)
{
    (void)level;
    struct h_peer *p = ctx;
    if (getenv("H_VERBOSE"))
        fprintf(stderr, "[%s] %s\n", p->name, line);
    if (p->n_log < H_LOG_LINES)
        p->log[p->n_log++] = strdup(line);
}

static bool use_v6; /* set by h_init_v6 for the next h_init / h_conn_defaults */

/* 10.0.0.N or 2001:db8::N */
static void set_addr(struct ike_endpoint *ep, uint8_t last)
{
    memset(ep, 0, sizeof(*ep));
    if (use_v6) {
        static const uint8_t pfx[4] = {0x20, 0x01, 0x0d, 0xb8};
        ep->addr.family = IKE_AF_INET6;
        memcpy(ep->addr.bytes, pfx, 4);
        ep->addr.bytes[15] = last;
    } else {
        ep->addr.family = IKE_AF_INET;
        ep->addr.bytes[0] = 10;
        ep->addr.bytes[3] = last;
    }
    ep->port = 500;
}

/* 10.N.0.0/16 or 2001:db8:N::/48 */
static void set_subnet(struct ike_subnet *s, uint8_t n)
{
    struct ike_endpoint ep;
    set_addr(&ep, 0);
    memset(s, 0, sizeof(*s));
    s->addr = ep.addr;
    if (use_v6) {
        s->addr.bytes[5] = n;
        s->prefix = 48;
    } else {
        s->addr.bytes[1] = n;
        s->prefix = 16;
    }
}

void h_use_v6(bool on)
{
    use_v6 = on;
}

void h_conn_defaults(struct ike_conn_cfg *c, bool left_side)
{
    ike_conn_cfg_defaults(c);
    snprintf(c->name, sizeof(c->name), "t");
    set_addr(&c->local, left_side ? 1 : 2);
    set_addr(&c->remote, left_side ? 2 : 1);
    set_subnet(&c->local_ts, left_side ? 1 : 2);
    set_subnet(&c->remote_ts, left_side ? 2 : 1);
    memcpy(c->psk, "test-psk", 8);
    c->psk_len = 8;
    t_default_props(c);
}

void h_init(struct h_world *w, uint64_t seed)
{
    memset(w, 0, sizeof(*w));
    w->latency_ms = 10;
    w->now_ms = 1000000;
    for (int i = 0; i < 2; i++) {
        struct h_peer *p = &w->p[i];
        p->name = i ? "right" : "left";
        p->rng = seed * 2 + (uint64_t)i + 1;
        set_addr(&p->addr, (uint8_t)(i + 1));
        struct ike_engine_opts o;
        ike_engine_opts_defaults(&o);
        o.crypto = ike_crypto_openssl();
        o.random = h_test_rnd;
        o.random_ctx = p;
        o.log = logger;
        o.log_ctx = p;
        o.log_level = IKE_LOG_DEBUG;
        p->kmem = ike_kmem_new();
        ike_kmem_backend_init(p->kmem, &p->kb, false);
        o.esp_stats = p->kb.get_stats; /* ike/diag.h: is ESP still arriving? */
        o.esp_stats_ctx = p->kb.ctx;
        p->e = ike_engine_new(&o);
    }
}

void h_free(struct h_world *w)
{
    for (int i = 0; i < 2; i++) {
        struct h_peer *p = &w->p[i];
        ike_engine_free(p->e);
        ike_kmem_free(p->kmem);
        for (int k = 0; k < p->n_log; k++)
            free(p->log[k]);
    }
    for (int k = 0; k < w->nq; k++)
        free(w->q[k].data);
}

void h_add_conns(struct h_world *w, const struct ike_conn_cfg *left,
                 const struct ike_conn_cfg *right)
{
    if (left)
        ike_engine_add_conn(w->p[0].e, left);
    if (right)
        ike_engine_add_conn(w->p[1].e, right);
}

static int peer_of(struct h_world *w, const struct ike_endpoint *ep)
{
    for (int i = 0; i < 2; i++)
        if (w->p[i].addr.addr.family == ep->addr.family &&
            !memcmp(w->p[i].addr.addr.bytes, ep->addr.bytes, 16))
            return i;
    return -1;
}

static void enqueue(struct h_world *w, int from, const struct ike_output *o)
{
    int to = peer_of(w, &o->u.dgram.dst);
    int verdict = w->filter ? w->filter(w, from, o->u.dgram.data, o->u.dgram.len, w->filter_ctx)
                            : H_DELIVER;
    if (to < 0 || verdict == H_DROP) {
        w->dropped++;
        return;
    }
    for (int copies = verdict == H_DUP ? 2 : 1; copies > 0 && w->nq < H_MAX_INFLIGHT; copies--) {
        struct h_dgram *d = &w->q[w->nq++];
        d->to = to;
        d->at_ms = w->now_ms + w->latency_ms;
        d->src = o->u.dgram.src;
        d->dst = o->u.dgram.dst;
        d->len = o->u.dgram.len;
        d->data = malloc(d->len);
        memcpy(d->data, o->u.dgram.data, d->len);
        if (verdict == H_CORRUPT)
            d->data[d->len - 1] ^= 0x01;
    }
}

void h_drain(struct h_world *w)
{
    for (int i = 0; i < 2; i++) {
        struct h_peer *p = &w->p[i];
        struct ike_output o;
        while (ike_engine_pop_output(p->e, &o)) {
            if (o.type == IKE_OUT_DATAGRAM) {
                p->sent++;
                enqueue(w, i, &o);
            } else if (o.type == IKE_OUT_KERNEL) {
                p->kernel_ops++;
                if (getenv("H_VERBOSE")) {
                    char d[256];
                    ike_kernel_op_describe(&o.u.kop, d, sizeof(d));
                    fprintf(stderr, "[%s] kernel: %s\n", p->name, d);
                }
                int rc = p->kb.apply(p->kb.ctx, &o.u.kop);
                if (rc < 0) {
                    p->kernel_errors++; /* and the engine records why (ike/diag.h) */
                    ike_engine_kernel_failed(p->e, &o.u.kop, rc, p->kb.last_error(p->kb.ctx),
                                             w->now_ms);
                }
                ike_wipe(&o.u.kop, sizeof(o.u.kop));
            } else if (p->n_ev < H_MAX_EVENTS) {
                p->ev[p->n_ev++] = o.u.ev;
            }
        }
    }
}

static void step_check(struct h_world *w)
{
    char why[200];
    if (w->check_continuity && !w->violation[0] && h_check_continuity(w, why, sizeof(why)) < 0)
        snprintf(w->violation, sizeof(w->violation), "t=%llu: %s",
                 (unsigned long long)w->now_ms, why);
}

static void deliver(struct h_world *w, int idx)
{
    struct h_dgram d = w->q[idx];
    memmove(&w->q[idx], &w->q[idx + 1], (size_t)(w->nq - idx - 1) * sizeof(w->q[0]));
    w->nq--;
    w->delivered++;
    ike_engine_recv(w->p[d.to].e, d.data, d.len, &d.src, &d.dst, w->now_ms);
    free(d.data);
    h_drain(w);
    step_check(w);
}

int h_deliver_one_hop(struct h_world *w)
{
    int n = w->nq;
    w->now_ms += w->latency_ms;
    for (int k = 0; k < n; k++)
        deliver(w, 0);
    return n;
}

static uint64_t next_event(struct h_world *w)
{
    uint64_t t = UINT64_MAX;
    for (int k = 0; k < w->nq; k++)
        if (w->q[k].at_ms < t)
            t = w->q[k].at_ms;
    for (int i = 0; i < 2; i++) {
        uint64_t d = ike_engine_next_deadline(w->p[i].e);
        if (d < t)
            t = d;
    }
    return t;
}

uint64_t h_run(struct h_world *w, uint64_t max_ms)
{
    uint64_t end = w->now_ms + max_ms;
    h_drain(w);
    for (;;) {
        uint64_t t = next_event(w);
        if (t == UINT64_MAX || t > end)
            break;
        if (t > w->now_ms)
            w->now_ms = t;
        for (int k = 0; k < w->nq;) {
            if (w->q[k].at_ms <= w->now_ms)
                deliver(w, k);
            else
                k++;
        }
        for (int i = 0; i < 2; i++) {
            if (ike_engine_next_deadline(w->p[i].e) <= w->now_ms) {
                ike_engine_handle_deadline(w->p[i].e, w->now_ms);
                h_drain(w);
                step_check(w);
            }
        }
    }
    return w->now_ms;
}

void h_advance(struct h_world *w, uint64_t ms)
{
    uint64_t end = w->now_ms + ms;
    h_run(w, ms);
    w->now_ms = end; /* h_run stops at the last event; time itself moves on */
}

int h_count_events(const struct h_peer *p, uint8_t type)
{
    int n = 0;
    for (int i = 0; i < p->n_ev; i++)
        n += p->ev[i].type == type;
    return n;
}

const struct ike_event *h_last_event(const struct h_peer *p, uint8_t type)
{
    for (int i = p->n_ev - 1; i >= 0; i--)
        if (p->ev[i].type == type)
            return &p->ev[i];
    return NULL;
}

bool h_log_has(const struct h_peer *p, const char *needle)
{
    for (int i = 0; i < p->n_log; i++)
        if (strstr(p->log[i], needle))
            return true;
    return false;
}

struct count_ctx {
    const char *state;
    int n;
};

static void count_ike(void *ctx, const struct ike_sa_info *sa)
{
    struct count_ctx *c = ctx;
    if (!c->state || !strcmp(sa->state, c->state))
        c->n++;
}

int h_ike_count(const struct h_peer *p, const char *state)
{
    struct count_ctx c = {state, 0};
    ike_engine_foreach(p->e, count_ike, NULL, &c);
    return c.n;
}

static void count_child(void *ctx, const struct ike_sa_info *sa, const struct ike_child_info *ch)
{
    (void)sa;
    struct count_ctx *c = ctx;
    if (!strcmp(ch->state, "INSTALLED"))
        c->n++;
}

int h_child_count(const struct h_peer *p)
{
    struct count_ctx c = {NULL, 0};
    ike_engine_foreach(p->e, NULL, count_child, &c);
    return c.n;
}

struct tunnel_ctx {
    struct h_world *w;
    int self;
    int pairs;
    char *why;
    size_t cap;
    bool bad;
};

static bool key_eq(const struct ike_key *a, const struct ike_key *b)
{
    return a->len == b->len && !memcmp(a->b, b->b, a->len);
}

/* Our outbound SA must be the peer's inbound SA, byte for byte. */
static void check_child(void *ctx, const struct ike_sa_info *sa, const struct ike_child_info *ch)
{
    struct tunnel_ctx *t = ctx;
    if (strcmp(ch->state, "INSTALLED"))
        return;
    struct ike_sa_id id = {.dst = sa->remote.addr, .spi = ch->spi_out, .proto = IKE_IPPROTO_ESP};
    const struct ike_kernel_sa *mine = ike_kmem_find_sa(t->w->p[t->self].kmem, &id, NULL);
    const struct ike_kernel_sa *theirs = ike_kmem_find_sa(t->w->p[!t->self].kmem, &id, NULL);
    if (!mine || !theirs) {
        snprintf(t->why, t->cap, "%s: outbound SA %08x %s", t->w->p[t->self].name, ch->spi_out,
                 !mine ? "not in own kernel" : "not inbound at the peer");
        t->bad = true;
        return;
    }
    if (!key_eq(&mine->encr_key, &theirs->encr_key) ||
        !key_eq(&mine->integ_key, &theirs->integ_key) || mine->encr_id != theirs->encr_id) {
        snprintf(t->why, t->cap, "%s: SA %08x keys differ between peers", t->w->p[t->self].name,
                 ch->spi_out);
        t->bad = true;
        return;
    }
    t->pairs++;
}

int h_check_tunnel(struct h_world *w, char *why, size_t cap)
{
    struct tunnel_ctx t = {.w = w, .why = why, .cap = cap};
    why[0] = 0;
    for (t.self = 0; t.self < 2; t.self++)
        ike_engine_foreach(w->p[t.self].e, NULL, check_child, &t);
    return t.bad ? -1 : t.pairs;
}

int h_rule_filter(struct h_world *w, int from, const uint8_t *data, size_t len, void *ctx)
{
    (void)w;
    struct h_rule *r = ctx;
    if (len < 28 || (r->from >= 0 && r->from != from) ||
        (r->exchange && data[18] != r->exchange) ||
        (r->response >= 0 && !!(data[19] & 0x20) != r->response))
        return H_DELIVER;
    int n = r->matched++;
    return n >= r->skip && n < r->skip + r->count ? r->action : H_DELIVER;
}

void h_set_rule(struct h_world *w, struct h_rule *r)
{
    w->filter = r ? h_rule_filter : NULL;
    w->filter_ctx = r;
}

void h_inject(struct h_world *w, int to, const uint8_t *data, size_t len)
{
    ike_engine_recv(w->p[to].e, data, len, &w->p[!to].addr, &w->p[to].addr, w->now_ms);
    h_drain(w);
}

struct cont_ctx {
    struct h_world *w;
    int self, n;
    char *why;
    size_t cap;
    bool bad;
    uint32_t first_spi;
};

static int check_out_policy(void *arg, const struct ike_kernel_policy *p)
{
    struct cont_ctx *c = arg;
    if (p->dir != IKE_DIR_OUT)
        return 0;
    if (!c->first_spi)
        c->first_spi = p->spi;
    struct ike_sa_id id = {.dst = p->tmpl_dst, .spi = p->spi, .proto = IKE_IPPROTO_ESP};
    const struct ike_kernel_sa *mine = ike_kmem_find_sa(c->w->p[c->self].kmem, &id, NULL);
    const struct ike_kernel_sa *theirs = ike_kmem_find_sa(c->w->p[!c->self].kmem, &id, NULL);
    if (!mine || !theirs || !key_eq(&mine->encr_key, &theirs->encr_key) ||
        !key_eq(&mine->integ_key, &theirs->integ_key)) {
        snprintf(c->why, c->cap, "%s sends on SPI %08x, which %s", c->w->p[c->self].name, p->spi,
                 !mine ? "it does not have" : !theirs ? "the peer has not installed" : "differs");
        c->bad = true;
        return 1;
    }
    c->n++;
    return 0;
}

int h_check_continuity(struct h_world *w, char *why, size_t cap)
{
    struct cont_ctx c = {.w = w, .why = why, .cap = cap};
    why[0] = 0;
    for (c.self = 0; c.self < 2 && !c.bad; c.self++)
        ike_kmem_foreach_policy(w->p[c.self].kmem, check_out_policy, &c);
    return c.bad ? -1 : c.n;
}

uint32_t h_pinned_out_spi(struct h_world *w, int i)
{
    char why[8];
    struct cont_ctx c = {.w = w, .self = i, .why = why, .cap = sizeof(why)};
    ike_kmem_foreach_policy(w->p[i].kmem, check_out_policy, &c);
    return c.first_spi;
}

void h_run_ordered(struct h_world *w, uint64_t order, uint64_t max_ms)
{
    uint64_t end = w->now_ms + max_ms;
    h_drain(w);
    while (w->now_ms < end) {
        if (w->nq) {
            int k = (int)(order % (uint64_t)w->nq);
            order /= (uint64_t)w->nq;
            w->now_ms++;
            w->q[k].at_ms = w->now_ms;
            deliver(w, k);
            continue;
        }
        uint64_t t = next_event(w);
        if (t == UINT64_MAX || t > end)
            break;
        w->now_ms = t > w->now_ms ? t : w->now_ms;
        for (int i = 0; i < 2; i++) {
            if (ike_engine_next_deadline(w->p[i].e) <= w->now_ms) {
                ike_engine_handle_deadline(w->p[i].e, w->now_ms);
                h_drain(w);
                step_check(w);
            }
        }
    }
}
