/*
 * engine.c: the engine object, its output queue, connections, and the
 * dispatch of received datagrams to the exchange handlers.
 *
 * Every received datagram ends in one verdict that is logged: dropped
 * (malformed, unknown SA, outside the window, failed integrity), answered
 * from the replay cache, or handed to exactly one exchange handler. Nothing
 * unauthenticated changes an established SA.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "ike/err.h"

void ike_engine_opts_defaults(struct ike_engine_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->log_level = IKE_LOG_INFO;
    o->cookie_threshold = 1000;
    o->half_open_timeout_ms = 30000;
    o->expected_sas = 64;
}

struct ike_engine *ike_engine_new(const struct ike_engine_opts *opts)
{
    if (!opts || !opts->crypto || !opts->random)
        return NULL;
    struct ike_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->opts = *opts;
    e->c = opts->crypto;
    e->next_reqid = 1;
    if (ike_map_init(&e->sa_by_spi, opts->expected_sas) < 0 ||
        ike_map_init(&e->halfopen_by_spi, 16) < 0 ||
        ike_map_init(&e->child_by_spi, opts->expected_sas) < 0 ||
        ike_map_init(&e->pol_refs, 16) < 0 ||
        ike_map_init(&e->child_by_out, opts->expected_sas) < 0 ||
        ike_map_init(&e->conn_by_name, 16) < 0 || ike_map_init(&e->sa_by_peer, 16) < 0) {
        ike_engine_free(e);
        return NULL;
    }
    ike_random(e, e->cookie_secret, sizeof(e->cookie_secret));
    return e;
}

static void free_sa_list(struct ike_sa *sa)
{
    while (sa) {
        struct ike_sa *n = sa->next_free;
        free(sa);
        sa = n;
    }
}

void ike_engine_free(struct ike_engine *e)
{
    if (!e)
        return;
    e->shutting_down = true;
    /* Every live SA is in sa_by_spi; destroying only marks its slot. */
    for (uint32_t i = 0; i < e->sa_by_spi.cap; i++) {
        struct ike_sa *sa = ike_map_at(&e->sa_by_spi, i);
        if (sa)
            ike_sa_destroy(e, sa, 0);
    }
    free_sa_list(e->free_sas);
    while (e->free_children) {
        struct ike_child *n = e->free_children->next;
        free(e->free_children);
        e->free_children = n;
    }
    while (e->conns) {
        struct ike_conn *n = e->conns->next;
        ike_policy_trap(e, e->conns, false); /* frees the trap's ref */
        ike_conn_cfg_clear(&e->conns->cfg);
        ike_diag_conn_free(e->conns);
        free(e->conns);
        e->conns = n;
    }
    for (uint32_t i = 0; i < e->outq_n; i++)
        free(e->outq[(e->outq_head + i) % e->outq_cap].buf);
    free(e->outq);
    free(e->last_popped);
    free(e->heap);
    ike_map_clear(&e->sa_by_spi);
    ike_map_clear(&e->halfopen_by_spi);
    ike_map_clear(&e->child_by_spi);
    ike_map_clear(&e->pol_refs); /* empty: every child was removed above */
    ike_map_clear(&e->child_by_out);
    ike_map_clear(&e->conn_by_name);
    ike_map_clear(&e->sa_by_peer);
    ike_wipe(e->cookie_secret, sizeof(e->cookie_secret));
    ike_wipe(e->plain, sizeof(e->plain));
    free(e);
}

/* ---- logging and randomness ---- */
bool ike_log_on(const struct ike_engine *e, int level)
{
    return e->opts.log && level <= e->opts.log_level;
}

void ike_log(struct ike_engine *e, int level, const char *fmt, ...)
{
    if (!ike_log_on(e, level))
        return; /* format only when the level is enabled (DESIGN.md 6) */
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    e->opts.log(e->opts.log_ctx, level, line);
}

void ike_random(struct ike_engine *e, void *buf, size_t n)
{
    e->opts.random(e->opts.random_ctx, buf, n);
}

/* ---- output queue ---- */
static struct ike_outq_item *outq_push(struct ike_engine *e)
{
    if (e->outq_n == e->outq_cap) {
        uint32_t cap = e->outq_cap ? e->outq_cap * 2 : 16;
        struct ike_outq_item *q = malloc(cap * sizeof(*q));
        if (!q)
            return NULL;
        for (uint32_t i = 0; i < e->outq_n; i++)
            q[i] = e->outq[(e->outq_head + i) % e->outq_cap];
        free(e->outq);
        e->outq = q;
        e->outq_cap = cap;
        e->outq_head = 0;
    }
    struct ike_outq_item *it = &e->outq[(e->outq_head + e->outq_n) % e->outq_cap];
    e->outq_n++;
    memset(it, 0, sizeof(*it));
    return it;
}

int ike_out_datagram(struct ike_engine *e, const struct ike_endpoint *src,
                     const struct ike_endpoint *dst, const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len);
    if (!copy)
        return IKE_ERR_NOMEM;
    memcpy(copy, data, len);
    struct ike_outq_item *it = outq_push(e);
    if (!it) {
        free(copy);
        return IKE_ERR_NOMEM;
    }
    it->buf = copy;
    it->out.type = IKE_OUT_DATAGRAM;
    it->out.u.dgram.src = *src;
    it->out.u.dgram.dst = *dst;
    it->out.u.dgram.data = copy;
    it->out.u.dgram.len = len;
    return 0;
}

int ike_out_kernel(struct ike_engine *e, const struct ike_kernel_op *op)
{
    struct ike_outq_item *it = outq_push(e);
    if (!it)
        return IKE_ERR_NOMEM;
    it->out.type = IKE_OUT_KERNEL;
    it->out.u.kop = *op; /* the caller applies and logs it */
    return 0;
}

struct ike_event *ike_out_event(struct ike_engine *e, struct ike_sa *sa, struct ike_child *child,
                                uint8_t type, int err)
{
    struct ike_outq_item *it = outq_push(e);
    if (!it)
        return NULL;
    it->out.type = IKE_OUT_EVENT;
    struct ike_event *ev = &it->out.u.ev;
    ev->type = type;
    ev->err = err;
    memcpy(ev->conn, sa->conn->cfg.name, sizeof(ev->conn)); /* no formatting per event */
    ev->conn[sizeof(ev->conn) - 1] = 0;
    ev->ike_spi_i = sa->spi_i;
    ev->ike_spi_r = sa->spi_r;
    if (child) {
        ev->child_spi_in = child->spi_in;
        ev->child_spi_out = child->spi_out;
    }
    ike_diag_event(e, sa, child, type, err);
    return ev;
}

bool ike_engine_pop_output(struct ike_engine *e, struct ike_output *out)
{
    free(e->last_popped);
    e->last_popped = NULL;
    if (!e->outq_n)
        return false;
    struct ike_outq_item *it = &e->outq[e->outq_head];
    *out = it->out;
    e->last_popped = it->buf;
    if (it->out.type == IKE_OUT_KERNEL) {
        /* The caller has its copy; wipe the keys in ours. */
        ike_wipe(&it->out.u.kop, sizeof(it->out.u.kop));
    }
    e->outq_head = (e->outq_head + 1) % e->outq_cap;
    e->outq_n--;
    return true;
}

/* ---- connections ---- */
void ike_conn_cfg_defaults(struct ike_conn_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->mode = IKE_MODE_TUNNEL;
    c->auto_mode = IKE_AUTO_ADD;
    c->ike_lifetime_ms = 3 * 3600 * 1000ULL;
    c->child_lifetime_ms = 3600 * 1000ULL;
    c->rekey_margin_ms = 9 * 60 * 1000ULL;
    c->rekey_fuzz_pct = 100;
    c->rekey = true;
    c->dpd_timeout_ms = 150 * 1000ULL;
    c->retransmit_base_ms = 4000;
    c->retransmit_factor_pct = 180;
    c->retransmit_tries = 5;
    c->keyingtries = 3;
}

void ike_conn_cfg_clear(struct ike_conn_cfg *c)
{
    ike_wipe(c->psk, sizeof(c->psk));
    c->psk_len = 0;
}

static bool addr_eq(const struct ike_addr *a, const struct ike_addr *b)
{
    size_t n = a->family == IKE_AF_INET ? 4 : 16;
    return a->family == b->family && !memcmp(a->bytes, b->bytes, n);
}

/* The connection for a new IKE SA from `remote` to `local` (responder). */
struct ike_conn *ike_conn_match(struct ike_engine *e, const struct ike_endpoint *local,
                                const struct ike_endpoint *remote)
{
    struct ike_conn *any = NULL;
    for (struct ike_conn *c = e->conns; c; c = c->next) {
        if (c->cfg.auto_mode == IKE_AUTO_IGNORE)
            continue;
        if (c->cfg.local.addr.family && !addr_eq(&c->cfg.local.addr, &local->addr))
            continue;
        if (!c->cfg.remote_any && addr_eq(&c->cfg.remote.addr, &remote->addr))
            return c; /* an exact peer match wins over %any */
        if (c->cfg.remote_any && !any)
            any = c;
    }
    return any;
}

int ike_engine_add_conn(struct ike_engine *e, const struct ike_conn_cfg *cfg)
{
    if (!cfg->name[0] || !cfg->n_ike || !cfg->n_esp)
        return IKE_ERR_INVALID_ARG;
    struct ike_conn *c = ike_conn_find(e, cfg->name);
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c)
            return IKE_ERR_NOMEM;
        c->cfg = *cfg;
        if (ike_index_conn_add(e, c) < 0) {
            ike_conn_cfg_clear(&c->cfg);
            free(c);
            return IKE_ERR_NOMEM;
        }
        c->reqid = cfg->reqid ? cfg->reqid : e->next_reqid++;
        c->next = e->conns;
        e->conns = c;
    } else {
        ike_policy_trap(e, c, false); /* its selectors may change */
        ike_conn_cfg_clear(&c->cfg);
        c->cfg = *cfg; /* same name: the index entry stays */
    }
    if (!c->cfg.local.port)
        c->cfg.local.port = 500;
    if (!c->cfg.remote.port)
        c->cfg.remote.port = 500;
    if (c->cfg.auto_mode == IKE_AUTO_ROUTE)
        return ike_policy_trap(e, c, true);
    return 0;
}

/* ---- control ---- */
int ike_engine_initiate(struct ike_engine *e, const char *name, uint64_t now_ms)
{
    e->now_ms = now_ms;
    struct ike_conn *c = ike_conn_find(e, name);
    if (!c)
        return IKE_ERR_NO_CONFIG;
    if (e->shutting_down)
        return IKE_ERR_STATE;
    if (c->cfg.remote_any)
        return IKE_ERR_INVALID_ARG; /* cannot initiate to %any */
    /* With an IKE SA up, "up" adds a Child SA (CREATE_CHILD_SA, 1.3.1).
     * Only this connection's SAs are looked at (sa_index.c). */
    for (struct ike_sa *o = c->n_established ? c->sas : NULL; o; o = o->conn_next) {
        if (o->state == IKE_SA_ESTABLISHED) {
            struct ike_task t = {.type = TASK_CHILD_CREATE};
            return ike_task_queue(e, o, &t, now_ms);
        }
    }
    struct ike_sa *sa = ike_sa_new(e, c, true);
    if (!sa)
        return IKE_ERR_NOMEM;
    sa->local = c->cfg.local;
    sa->remote = c->cfg.remote;
    int rc = ike_init_start(e, sa, now_ms);
    if (rc < 0)
        ike_sa_destroy(e, sa, rc);
    return rc;
}

static void delete_sa(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms)
{
    if (sa->state == IKE_SA_ESTABLISHED) {
        struct ike_task t = {.type = TASK_IKE_DELETE};
        ike_task_queue(e, sa, &t, now_ms);
    } else if (sa->state != IKE_SA_DELETING) {
        ike_sa_destroy(e, sa, 0);
    }
}

/* Every SA of one connection (its list), or of all (the SPI map). */
static void delete_sas_of(struct ike_engine *e, struct ike_conn *c, uint64_t now_ms)
{
    if (c) {
        for (struct ike_sa *sa = c->sas, *next; sa; sa = next) {
            next = sa->conn_next; /* SAs made meanwhile go in front: not visited */
            delete_sa(e, sa, now_ms);
        }
        return;
    }
    for (uint32_t i = 0; i < e->sa_by_spi.cap; i++) {
        struct ike_sa *sa = ike_map_at(&e->sa_by_spi, i);
        if (sa)
            delete_sa(e, sa, now_ms);
    }
}

int ike_engine_terminate(struct ike_engine *e, const char *name, uint64_t now_ms)
{
    e->now_ms = now_ms;
    struct ike_conn *c = ike_conn_find(e, name);
    if (!c)
        return IKE_ERR_NO_CONFIG;
    delete_sas_of(e, c, now_ms);
    return 0;
}

int ike_engine_remove_conn(struct ike_engine *e, const char *name, uint64_t now_ms)
{
    struct ike_conn **pp = &e->conns;
    while (*pp && strcmp((*pp)->cfg.name, name))
        pp = &(*pp)->next;
    if (!*pp)
        return IKE_ERR_NO_CONFIG;
    struct ike_conn *c = *pp;
    ike_policy_trap(e, c, false); /* so its last child removes the policies */
    /* SAs reference the conn: tear them down without a DELETE exchange
     * (each destroy unlinks it from c->sas). */
    while (c->sas)
        ike_sa_destroy(e, c->sas, 0);
    (void)now_ms;
    ike_index_conn_del(e, c);
    *pp = c->next;
    ike_conn_cfg_clear(&c->cfg);
    ike_diag_conn_free(c);
    free(c);
    return 0;
}

void ike_engine_shutdown(struct ike_engine *e, uint64_t now_ms)
{
    e->now_ms = now_ms;
    e->shutting_down = true;
    for (struct ike_conn *c = e->conns; c; c = c->next)
        ike_policy_trap(e, c, false); /* nothing of ours stays in the kernel */
    delete_sas_of(e, NULL, now_ms);
}

int ike_engine_kernel_event(struct ike_engine *e, const struct ike_kernel_event *ev,
                            uint64_t now_ms)
{
    e->now_ms = now_ms;
    if (ev->type == IKE_KEV_ACQUIRE)
        return e->shutting_down ? 0 : ike_trap_acquire(e, ev);
    if (ev->type != IKE_KEV_EXPIRE_HARD && ev->type != IKE_KEV_EXPIRE_SOFT)
        return 0; /* POLEXPIRE: we install no policy with a lifetime */
    /* Expiry events name the SA by (dst, SPI). Both SAs of a child carry
     * the same limits; we act on the inbound one, found by our SPI. */
    struct ike_child *ch = ike_map_get(&e->child_by_spi, ev->sa.spi);
    const struct ike_addr *dst = &ev->sa.dst;
    if (ch && dst->family &&
        (dst->family != ch->ike->local.addr.family ||
         memcmp(dst->bytes, ch->ike->local.addr.bytes, 16)))
        ch = NULL; /* not our inbound SA: an outbound one with the same SPI */
    bool outbound = !ch && dst->family;
    if (outbound)
        ch = ike_child_find_out(e, dst, ev->sa.spi); /* outbound traffic counts too */
    if (!ch || !ike_child_in_kernel(ch))
        return IKE_ERR_NO_SA;
    if (ev->type == IKE_KEV_EXPIRE_HARD && outbound) {
        ike_log(e, IKE_LOG_WARN, "Child SA %08x/%08x (%s): kernel hard expiry of the outbound SA",
                ch->spi_in, ch->spi_out, ch->ike->conn->cfg.name);
        ike_child_out_expired(e, ch, now_ms); /* the inbound SA stays until our DELETE's response */
        return 0;
    }
    if (ev->type == IKE_KEV_EXPIRE_HARD) {
        ike_log(e, IKE_LOG_WARN, "Child SA %08x/%08x (%s): kernel hard expiry, deleting",
                ch->spi_in, ch->spi_out, ch->ike->conn->cfg.name);
        ike_child_hard_expired(e, ch, now_ms); /* the kernel dropped it already */
        return 0;
    }
    /* Soft expiry (time, bytes or packets): rekey now; a redundant SA
     * (collision) is not rekeyed, its DELETE is due (seed 287). */
    return ch->state == CHILD_INSTALLED && !ch->redundant ? ike_rekey_child_queue(e, ch, now_ms)
                                                          : 0;
}

/* ---- status ---- */
static void fill_sa_info(const struct ike_sa *sa, struct ike_sa_info *i)
{
    memset(i, 0, sizeof(*i));
    snprintf(i->conn, sizeof(i->conn), "%s", sa->conn->cfg.name);
    i->spi_i = sa->spi_i;
    i->spi_r = sa->spi_r;
    i->initiator = sa->initiator;
    i->state = ike_sa_state_name(sa->state);
    i->local = sa->local;
    i->remote = sa->remote;
    i->encr = sa->algs.encr;
    i->encr_keylen = sa->algs.encr_keylen;
    i->integ = sa->algs.integ;
    i->prf = sa->algs.prf;
    i->dh = sa->algs.dh;
    i->rekey_at_ms = sa->rekey_at_ms;
    i->expire_at_ms = sa->expire_at_ms;
    i->rekeys = sa->rekeys;
    for (const struct ike_child *c = sa->children; c; c = c->next)
        i->n_children++;
}

static void visit_sa(const struct ike_sa *sa,
                     void (*ike_cb)(void *ctx, const struct ike_sa_info *sa),
                     void (*child_cb)(void *ctx, const struct ike_sa_info *sa,
                                      const struct ike_child_info *child),
                     void *ctx)
{
    struct ike_sa_info si;
    fill_sa_info(sa, &si);
    if (ike_cb)
        ike_cb(ctx, &si);
    for (const struct ike_child *c = sa->children; c && child_cb; c = c->next) {
        struct ike_child_info ci = {
            .spi_in = c->spi_in,
            .spi_out = c->spi_out,
            .state = ike_child_state_name(c->state),
            .encr = c->algs.encr,
            .encr_keylen = c->algs.encr_keylen,
            .integ = c->algs.integ,
            .dh = c->algs.dh,
            .reqid = c->reqid,
            .rekey_at_ms = c->rekey_at_ms,
            .expire_at_ms = c->expire_at_ms,
            .rekeys = c->rekeys,
        };
        child_cb(ctx, &si, &ci);
    }
}

void ike_engine_foreach(const struct ike_engine *e,
                        void (*ike_cb)(void *ctx, const struct ike_sa_info *sa),
                        void (*child_cb)(void *ctx, const struct ike_sa_info *sa,
                                         const struct ike_child_info *child),
                        void *ctx)
{
    for (uint32_t i = 0; i < e->sa_by_spi.cap; i++) {
        const struct ike_sa *sa = ike_map_at(&e->sa_by_spi, i);
        if (sa)
            visit_sa(sa, ike_cb, child_cb, ctx);
    }
}

int ike_engine_foreach_conn(struct ike_engine *e, const char *conn,
                            void (*ike_cb)(void *ctx, const struct ike_sa_info *sa),
                            void (*child_cb)(void *ctx, const struct ike_sa_info *sa,
                                             const struct ike_child_info *child),
                            void *ctx)
{
    const struct ike_conn *c = ike_conn_find(e, conn);
    if (!c)
        return IKE_ERR_NO_CONFIG;
    for (const struct ike_sa *sa = c->sas; sa; sa = sa->conn_next)
        visit_sa(sa, ike_cb, child_cb, ctx);
    return 0;
}

size_t ike_engine_conn_sa_count(struct ike_engine *e, const char *conn)
{
    const struct ike_conn *c = ike_conn_find(e, conn);
    return c ? c->n_sas : 0;
}

size_t ike_engine_conn_own_sa_count(struct ike_engine *e, const char *conn)
{
    const struct ike_conn *c = ike_conn_find(e, conn);
    size_t n = 0;
    for (const struct ike_sa *sa = c ? c->sas : NULL; sa; sa = sa->conn_next)
        n += !ike_sa_peers_half_open(sa);
    return n;
}

int ike_engine_child_keys(const struct ike_engine *e, uint32_t spi_in, struct ike_key *encr_in,
                          struct ike_key *integ_in, struct ike_key *encr_out,
                          struct ike_key *integ_out)
{
    const struct ike_child *ch = ike_map_get(&e->child_by_spi, spi_in);
    if (!ch)
        return IKE_ERR_NO_SA;
    /* The exchange initiator sends with the _i keys (RFC 7296 2.17). */
    const struct ike_child_keys *k = &ch->keys;
    *encr_in = ch->we_initiated ? k->encr_r : k->encr_i;
    *integ_in = ch->we_initiated ? k->integ_r : k->integ_i;
    *encr_out = ch->we_initiated ? k->encr_i : k->encr_r;
    *integ_out = ch->we_initiated ? k->integ_i : k->integ_r;
    return 0;
}

size_t ike_engine_ike_sa_count(const struct ike_engine *e)
{
    return e->n_sas;
}
