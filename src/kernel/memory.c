/*
 * memory.c: the in-memory kernel model (include/ike/kernel_memory.h).
 *
 * Keeps installed SAs and policies in slot arrays indexed by open-addressing
 * hash tables, with the semantics and errors of Linux XFRM (see the header),
 * and timed expiries in a binary heap so 100,000 SAs cost the same per
 * operation as 10. Traffic, expiry and acquire are simulated on request.
 * It must not touch the real kernel, a clock or any I/O, and must never
 * print or leak key bytes (slots are wiped on delete and on free).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/err.h"
#include "ike/kernel_memory.h"
#include "kernel_int.h"
#include "kmem_int.h"

/* ---- canonical keys: identity fields as bytes, unused bytes zero ---- */

static void put_addr(uint8_t *p, const struct ike_addr *a)
{
    size_t n = ike_kernel_addr_len(a->family);
    memset(p, 0, 16);
    memcpy(p, a->bytes, n);
}

static void sa_key(uint8_t k[KMEM_SA_KEY], const struct ike_sa_id *id)
{
    memset(k, 0, KMEM_SA_KEY);
    k[0] = id->dst.family;
    k[1] = id->proto;
    memcpy(k + 4, &id->spi, 4);
    put_addr(k + 8, &id->dst);
}

static void pol_key(uint8_t k[KMEM_POL_KEY], const struct ike_policy_id *id)
{
    const struct ike_selector *s = &id->sel;
    uint32_t mark = id->mark & id->mark_mask;

    memset(k, 0, KMEM_POL_KEY);
    k[0] = s->src.family ? s->src.family : s->dst.family;
    k[1] = s->src_prefix;
    k[2] = s->dst_prefix;
    k[3] = s->ip_proto;
    memcpy(k + 4, &s->sport, 2);
    memcpy(k + 6, &s->dport, 2);
    k[8] = id->dir;
    memcpy(k + 12, &mark, 4);
    memcpy(k + 16, &id->mark_mask, 4);
    memcpy(k + 52, &id->if_id, 4);
    put_addr(k + 20, &s->src);
    put_addr(k + 36, &s->dst);
}

static void policy_id_of(struct ike_policy_id *id, const struct ike_kernel_policy *p)
{
    memset(id, 0, sizeof(*id));
    id->sel = p->sel;
    id->dir = p->dir;
    id->mark = p->mark;
    id->mark_mask = p->mark_mask;
    id->if_id = p->if_id;
}

/* ---- model lifecycle ---- */

struct ike_kmem *ike_kmem_new(void)
{
    struct ike_kmem *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->acq_expires = 30;
    m->rng = 0x9e3779b97f4a7c15ull;
    return m;
}

void ike_kmem_free(struct ike_kmem *m)
{
    if (!m)
        return;
    if (m->sas)
        explicit_bzero(m->sas, m->sa_cap * sizeof(*m->sas));
    free(m->sas);
    free(m->pols);
    free(m->sa_free);
    free(m->pol_free);
    free(m->sa_tab.ix);
    free(m->sa_tab.hash);
    free(m->pol_tab.ix);
    free(m->pol_tab.hash);
    free(m->heap);
    explicit_bzero(m, sizeof(*m));
    free(m);
}

void ike_kmem_set_time(struct ike_kmem *m, uint64_t now_s)
{
    m->now_s = now_s;
}

void ike_kmem_set_acq_expires(struct ike_kmem *m, uint32_t s)
{
    m->acq_expires = s;
}

void ike_kmem_fail_next(struct ike_kmem *m, unsigned n, int err, uint8_t op_type)
{
    m->fail_n = n;
    m->fail_err = err;
    m->fail_type = op_type;
}

size_t ike_kmem_sa_count(const struct ike_kmem *m)
{
    return m->n_sa - m->n_larval;
}

size_t ike_kmem_larval_count(const struct ike_kmem *m)
{
    return m->n_larval;
}

size_t ike_kmem_policy_count(const struct ike_kmem *m)
{
    return m->n_pol;
}

/* ---- slots ---- */

int ike_kmem_sa_lookup(const struct ike_kmem *m, const struct ike_sa_id *id)
{
    uint8_t k[KMEM_SA_KEY];
    sa_key(k, id);
    return ike_kmem_tab_find(&m->sa_tab, m->sas, sizeof(*m->sas), k, KMEM_SA_KEY);
}

int ike_kmem_pol_lookup(const struct ike_kmem *m, const struct ike_policy_id *id)
{
    uint8_t k[KMEM_POL_KEY];
    pol_key(k, id);
    return ike_kmem_tab_find(&m->pol_tab, m->pols, sizeof(*m->pols), k, KMEM_POL_KEY);
}

/* A free SA slot index (grown on demand), or -1. */
static int sa_slot_get(struct ike_kmem *m)
{
    if (m->n_sa_free)
        return (int)m->sa_free[--m->n_sa_free];
    if (m->sa_used == m->sa_cap) {
        size_t cap = m->sa_cap ? m->sa_cap * 2 : 64;
        struct kmem_sa *n = calloc(cap, sizeof(*n));
        uint32_t *f = realloc(m->sa_free, cap * sizeof(*f));
        if (!n || !f) {
            free(n);
            if (f)
                m->sa_free = f;
            return -1;
        }
        m->sa_free = f;
        if (m->sas) {
            memcpy(n, m->sas, m->sa_cap * sizeof(*n));
            explicit_bzero(m->sas, m->sa_cap * sizeof(*n)); /* old copy held keys */
            free(m->sas);
        }
        m->sas = n;
        m->sa_cap = cap;
    }
    return (int)m->sa_used++;
}

void ike_kmem_sa_remove(struct ike_kmem *m, int i)
{
    struct kmem_sa *s = &m->sas[i];
    uint32_t gen = s->gen + 1;

    ike_kmem_tab_del(&m->sa_tab, m->sas, sizeof(*m->sas), KMEM_SA_KEY, (uint32_t)i);
    if (s->larval)
        m->n_larval--;
    m->n_sa--;
    explicit_bzero(s, sizeof(*s));
    s->gen = gen; /* heap entries for the old SA become stale */
    m->sa_free[m->n_sa_free++] = (uint32_t)i;
}

/* Insert a new SA slot with this id; returns the index or IKE_ERR_NOMEM. */
static int sa_insert(struct ike_kmem *m, const struct ike_sa_id *id)
{
    int i;

    if (ike_kmem_tab_reserve(&m->sa_tab, m->n_sa + 1) < 0)
        return IKE_ERR_NOMEM;
    i = sa_slot_get(m);
    if (i < 0)
        return IKE_ERR_NOMEM;
    m->sas[i].used = true;
    sa_key(m->sas[i].key, id);
    ike_kmem_tab_add(&m->sa_tab, m->sas, sizeof(*m->sas), KMEM_SA_KEY, (uint32_t)i);
    m->n_sa++;
    return i;
}

/* Push the timed expiries of SA slot i (soft/hard add lifetimes). */
static int sa_schedule(struct ike_kmem *m, int i)
{
    struct kmem_sa *s = &m->sas[i];
    uint64_t add = s->st.add_time_s;
    int rc = 0;

    if (s->larval) {
        if (m->acq_expires)
            rc = ike_kmem_heap_push(m, add + m->acq_expires, (uint32_t)i, KMEM_EXP_HARD);
        return rc;
    }
    if (s->sa.life.soft_add_s && !s->soft_done)
        rc = ike_kmem_heap_push(m, add + s->sa.life.soft_add_s, (uint32_t)i, KMEM_EXP_SOFT);
    if (rc == 0 && s->sa.life.hard_add_s)
        rc = ike_kmem_heap_push(m, add + s->sa.life.hard_add_s, (uint32_t)i, KMEM_EXP_HARD);
    return rc;
}

/* ---- ops ---- */

static int add_sa(struct ike_kmem *m, const struct ike_kernel_sa *sa)
{
    int i;

    if (ike_kmem_sa_lookup(m, &sa->id) >= 0)
        return IKE_ERR_KERNEL_EXISTS;
    i = sa_insert(m, &sa->id);
    if (i < 0)
        return i;
    m->sas[i].sa = *sa;
    m->sas[i].st.add_time_s = m->now_s;
    if (sa_schedule(m, i) < 0) {
        ike_kmem_sa_remove(m, i);
        return IKE_ERR_NOMEM;
    }
    return 0;
}

/* xfrm_state_update(): a larval SA becomes the full SA; an installed SA
 * takes only the new lifetimes, encapsulation and if_id. */
static int update_sa(struct ike_kmem *m, const struct ike_kernel_sa *sa)
{
    int i = ike_kmem_sa_lookup(m, &sa->id);
    struct kmem_sa *s;

    if (i < 0)
        return IKE_ERR_KERNEL_NOENT;
    s = &m->sas[i];
    s->gen++; /* drop the old timed expiries */
    if (s->larval) {
        s->larval = false;
        m->n_larval--;
        s->sa = *sa;
        s->st.add_time_s = m->now_s;
    } else {
        s->sa.life = sa->life;
        s->sa.encap_sport = sa->encap_sport;
        s->sa.encap_dport = sa->encap_dport;
        if (sa->if_id)
            s->sa.if_id = sa->if_id;
        s->soft_done = false; /* the kernel clears km.dying */
    }
    return sa_schedule(m, i) < 0 ? IKE_ERR_NOMEM : 0;
}

static int del_sa(struct ike_kmem *m, const struct ike_sa_id *id)
{
    int i = ike_kmem_sa_lookup(m, id);
    if (i < 0)
        return IKE_ERR_KERNEL_NOENT;
    ike_kmem_sa_remove(m, i);
    return 0;
}

static int pol_slot_get(struct ike_kmem *m)
{
    if (m->n_pol_free)
        return (int)m->pol_free[--m->n_pol_free];
    if (m->pol_used == m->pol_cap) {
        size_t cap = m->pol_cap ? m->pol_cap * 2 : 64;
        struct kmem_pol *n = realloc(m->pols, cap * sizeof(*n));
        uint32_t *f;
        if (!n)
            return -1;
        m->pols = n;
        f = realloc(m->pol_free, cap * sizeof(*f));
        if (!f)
            return -1;
        m->pol_free = f;
        m->pol_cap = cap;
    }
    return (int)m->pol_used++;
}

static int put_policy(struct ike_kmem *m, const struct ike_kernel_policy *p, bool excl)
{
    struct ike_policy_id id;
    int i;

    policy_id_of(&id, p);
    i = ike_kmem_pol_lookup(m, &id);
    if (i >= 0) {
        if (excl)
            return IKE_ERR_KERNEL_EXISTS;
        m->pols[i].pol = *p;
        return 0;
    }
    if (ike_kmem_tab_reserve(&m->pol_tab, m->n_pol + 1) < 0)
        return IKE_ERR_NOMEM;
    i = pol_slot_get(m);
    if (i < 0)
        return IKE_ERR_NOMEM;
    memset(&m->pols[i], 0, sizeof(m->pols[i]));
    m->pols[i].used = true;
    m->pols[i].pol = *p;
    pol_key(m->pols[i].key, &id);
    ike_kmem_tab_add(&m->pol_tab, m->pols, sizeof(*m->pols), KMEM_POL_KEY, (uint32_t)i);
    m->n_pol++;
    return 0;
}

static int del_policy(struct ike_kmem *m, const struct ike_policy_id *id)
{
    int i = ike_kmem_pol_lookup(m, id);
    if (i < 0)
        return IKE_ERR_KERNEL_NOENT;
    ike_kmem_tab_del(&m->pol_tab, m->pols, sizeof(*m->pols), KMEM_POL_KEY, (uint32_t)i);
    memset(&m->pols[i], 0, sizeof(m->pols[i]));
    m->pol_free[m->n_pol_free++] = (uint32_t)i;
    m->n_pol--;
    return 0;
}

static bool sa_valid(const struct ike_kernel_sa *sa)
{
    return sa->id.proto == IKE_IPPROTO_ESP && ike_kernel_addr_len(sa->id.dst.family) &&
           sa->src.family == sa->id.dst.family && sa->encr_key.len <= IKE_KEY_MAX &&
           sa->integ_key.len <= IKE_KEY_MAX;
}

static int apply(void *ctx, const struct ike_kernel_op *op)
{
    struct ike_kmem *m = ctx;

    if (!op)
        return IKE_ERR_INVALID_ARG;
    if (m->fail_n && (m->fail_type == 0 || m->fail_type == op->type)) {
        m->fail_n--;
        return m->fail_err;
    }
    switch (op->type) {
    case IKE_KOP_ADD_SA:
        return sa_valid(&op->u.sa) ? add_sa(m, &op->u.sa) : IKE_ERR_INVALID_ARG;
    case IKE_KOP_UPDATE_SA:
        return sa_valid(&op->u.sa) ? update_sa(m, &op->u.sa) : IKE_ERR_INVALID_ARG;
    case IKE_KOP_DEL_SA:
        return del_sa(m, &op->u.sa_id);
    case IKE_KOP_ADD_POLICY:
        return op->u.policy.dir > IKE_DIR_FWD ? IKE_ERR_INVALID_ARG
                                              : put_policy(m, &op->u.policy, true);
    case IKE_KOP_UPDATE_POLICY:
        return op->u.policy.dir > IKE_DIR_FWD ? IKE_ERR_INVALID_ARG
                                              : put_policy(m, &op->u.policy, false);
    case IKE_KOP_DEL_POLICY:
        return del_policy(m, &op->u.policy_id);
    }
    return IKE_ERR_INVALID_ARG;
}

static uint32_t next_rand(struct ike_kmem *m)
{
    /* xorshift64*: deterministic, so seeded runs replay exactly. */
    m->rng ^= m->rng >> 12;
    m->rng ^= m->rng << 25;
    m->rng ^= m->rng >> 27;
    return (uint32_t)((m->rng * 0x2545f4914f6cdd1dull) >> 32);
}

/* An SPI in [min, max] that no SA for dst uses, or 0 when the range is full. */
static uint32_t pick_spi(struct ike_kmem *m, const struct ike_addr *dst, uint32_t min, uint32_t max)
{
    struct ike_sa_id id = {.dst = *dst, .proto = IKE_IPPROTO_ESP};
    uint64_t span = (uint64_t)max - min + 1, k;

    for (int tries = 0; tries < 32; tries++) {
        id.spi = min + (uint32_t)(next_rand(m) % span);
        if (id.spi && ike_kmem_sa_lookup(m, &id) < 0)
            return id.spi;
    }
    /* Nearly full range: walk it once from a random start. */
    uint64_t start = next_rand(m) % span;
    for (k = 0; k < span; k++) {
        id.spi = min + (uint32_t)((start + k) % span);
        if (id.spi && ike_kmem_sa_lookup(m, &id) < 0)
            return id.spi;
    }
    return 0;
}

static int alloc_spi(void *ctx, const struct ike_addr *src, const struct ike_addr *dst,
                     uint32_t min, uint32_t max, uint32_t *spi)
{
    struct ike_kmem *m = ctx;
    struct ike_sa_id id = {.proto = IKE_IPPROTO_ESP};
    int i;

    if (!src || !dst || !spi || min > max || !ike_kernel_addr_len(dst->family))
        return IKE_ERR_INVALID_ARG;
    id.dst = *dst;
    id.spi = pick_spi(m, dst, min, max);
    if (id.spi == 0)
        return IKE_ERR_KERNEL; /* the kernel says ENOENT: no free SPI */
    i = sa_insert(m, &id);
    if (i < 0)
        return i;
    m->sas[i].larval = true;
    m->n_larval++;
    m->sas[i].sa.id = id;
    m->sas[i].sa.src = *src;
    m->sas[i].st.add_time_s = m->now_s;
    if (sa_schedule(m, i) < 0) {
        ike_kmem_sa_remove(m, i);
        return IKE_ERR_NOMEM;
    }
    *spi = id.spi;
    return 0;
}

static int get_stats(void *ctx, const struct ike_sa_id *id, struct ike_sa_stats *st)
{
    struct ike_kmem *m = ctx;
    int i = ike_kmem_sa_lookup(m, id);
    if (i < 0)
        return IKE_ERR_KERNEL_NOENT;
    *st = m->sas[i].st;
    return 0;
}

static const char *last_error(void *ctx)
{
    (void)ctx;
    return "";
}

static void destroy_owned(void *ctx)
{
    ike_kmem_free(ctx);
}

static void destroy_borrowed(void *ctx)
{
    (void)ctx;
}

void ike_kmem_backend_init(struct ike_kmem *m, struct ike_kernel_backend *be, bool owns)
{
    memset(be, 0, sizeof(*be));
    be->ctx = m;
    be->name = "memory";
    be->apply = apply;
    be->alloc_spi = alloc_spi;
    be->get_stats = get_stats;
    be->last_error = last_error;
    be->destroy = owns ? destroy_owned : destroy_borrowed;
}

struct ike_kmem *ike_kmem_from_backend(const struct ike_kernel_backend *be)
{
    if (!be || be->apply != apply)
        return NULL;
    return be->ctx;
}

/* ---- inspection ---- */

const struct ike_kernel_sa *ike_kmem_find_sa(const struct ike_kmem *m, const struct ike_sa_id *id,
                                             struct ike_kmem_sa_state *st)
{
    int i = ike_kmem_sa_lookup(m, id);
    if (i < 0)
        return NULL;
    if (st) {
        st->larval = m->sas[i].larval;
        st->soft_expired = m->sas[i].soft_done;
        st->stats = m->sas[i].st;
    }
    return &m->sas[i].sa;
}

const struct ike_kernel_policy *ike_kmem_find_policy(const struct ike_kmem *m,
                                                     const struct ike_policy_id *id)
{
    int i = ike_kmem_pol_lookup(m, id);
    return i < 0 ? NULL : &m->pols[i].pol;
}

int ike_kmem_foreach_sa(const struct ike_kmem *m, ike_kmem_sa_cb cb, void *arg)
{
    for (size_t i = 0; i < m->sa_used; i++) {
        const struct kmem_sa *s = &m->sas[i];
        struct ike_kmem_sa_state st = {s->larval, s->soft_done, s->st};
        int rc;
        if (!s->used)
            continue;
        rc = cb(arg, &s->sa, &st);
        if (rc)
            return rc;
    }
    return 0;
}

int ike_kmem_foreach_policy(const struct ike_kmem *m, ike_kmem_policy_cb cb, void *arg)
{
    for (size_t i = 0; i < m->pol_used; i++) {
        int rc;
        if (!m->pols[i].used)
            continue;
        rc = cb(arg, &m->pols[i].pol);
        if (rc)
            return rc;
    }
    return 0;
}
