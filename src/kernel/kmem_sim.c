/*
 * kmem_sim.c: what the in-memory kernel model simulates on request: traffic
 * counters with byte/packet limits, timed soft/hard expiry, ACQUIRE on a
 * trap policy, and a text dump of everything installed.
 *
 * Mirrors net/xfrm/xfrm_state.c: xfrm_state_check_expire() (a crossed hard
 * limit sends only the hard EXPIRE and kills the SA; a soft one is sent once
 * and the SA stays) and xfrm_timer_handler() (add-time lifetimes). It must
 * not print key bytes and has no clock of its own.
 */
#include <stdio.h>
#include <string.h>

#include "ike/err.h"
#include "kernel_int.h"
#include "kmem_int.h"

static void expire_event(struct ike_kernel_event *ev, const struct kmem_sa *s, bool hard)
{
    memset(ev, 0, sizeof(*ev));
    ev->type = hard ? IKE_KEV_EXPIRE_HARD : IKE_KEV_EXPIRE_SOFT;
    ev->sa = s->sa.id;
    ev->reqid = s->sa.reqid;
    ev->sel = s->sa.sel;
}

static bool over(uint64_t value, uint64_t limit)
{
    return limit != 0 && value >= limit;
}

int ike_kmem_add_traffic(struct ike_kmem *m, const struct ike_sa_id *id, uint64_t bytes,
                         uint64_t packets, uint64_t now_s, struct ike_kernel_event *ev, size_t cap)
{
    int i = ike_kmem_sa_lookup(m, id);
    struct kmem_sa *s;
    const struct ike_lifetime *l;

    if (cap < 1 || !ev)
        return IKE_ERR_INVALID_ARG;
    if (i < 0 || m->sas[i].larval)
        return IKE_ERR_KERNEL_NOENT;
    m->now_s = now_s;
    s = &m->sas[i];
    l = &s->sa.life;
    s->st.bytes += bytes;
    s->st.packets += packets;
    s->st.use_time_s = now_s;
    if (over(s->st.bytes, l->hard_bytes) || over(s->st.packets, l->hard_packets)) {
        expire_event(ev, s, true);
        ike_kmem_sa_remove(m, i);
        return 1;
    }
    if (!s->soft_done &&
        (over(s->st.bytes, l->soft_bytes) || over(s->st.packets, l->soft_packets))) {
        s->soft_done = true;
        expire_event(ev, s, false);
        return 1;
    }
    return 0;
}

int ike_kmem_tick(struct ike_kmem *m, uint64_t now_s, struct ike_kernel_event *ev, size_t cap)
{
    size_t n = 0;

    if (!ev && cap)
        return IKE_ERR_INVALID_ARG;
    m->now_s = now_s;
    while (m->heap_n && m->heap[0].due <= now_s) {
        struct kmem_exp e = m->heap[0];
        struct kmem_sa *s;
        if (!ike_kmem_exp_live(m, &e)) {
            ike_kmem_heap_pop(m);
            continue;
        }
        if (n == cap)
            break; /* stays due for the next call */
        ike_kmem_heap_pop(m);
        s = &m->sas[e.slot];
        expire_event(&ev[n++], s, e.kind == KMEM_EXP_HARD);
        if (e.kind == KMEM_EXP_HARD)
            ike_kmem_sa_remove(m, (int)e.slot);
        else
            s->soft_done = true;
    }
    return (int)n;
}

uint64_t ike_kmem_next_expiry(struct ike_kmem *m)
{
    while (m->heap_n && !ike_kmem_exp_live(m, &m->heap[0]))
        ike_kmem_heap_pop(m);
    return m->heap_n ? m->heap[0].due : UINT64_MAX;
}

int ike_kmem_acquire(const struct ike_kmem *m, const struct ike_policy_id *id,
                     struct ike_kernel_event *ev)
{
    int i = ike_kmem_pol_lookup(m, id);
    const struct ike_kernel_policy *p;

    if (i < 0)
        return IKE_ERR_KERNEL_NOENT;
    p = &m->pols[i].pol;
    if (p->action != IKE_POLICY_TRAP)
        return IKE_ERR_INVALID_ARG;
    memset(ev, 0, sizeof(*ev));
    ev->type = IKE_KEV_ACQUIRE;
    ev->reqid = p->reqid;
    ev->sel = p->sel;
    ev->dir = p->dir;
    ev->sa.dst = p->tmpl_dst;
    ev->sa.proto = IKE_IPPROTO_ESP;
    return 0;
}

/* ---- dump ---- */

struct dump_ctx {
    char *buf;
    size_t cap, len;
};

static void emit(struct dump_ctx *d, const char *line)
{
    size_t n = strlen(line);
    if (d->len < d->cap) {
        size_t room = d->cap - d->len;
        size_t k = n < room ? n : room - 1;
        memcpy(d->buf + d->len, line, k);
        d->buf[d->len + k] = '\0';
    }
    d->len += n;
}

static int dump_sa(void *arg, const struct ike_kernel_sa *sa, const struct ike_kmem_sa_state *st)
{
    char line[512], s[IKE_KERNEL_ADDR_STRLEN], t[IKE_KERNEL_ADDR_STRLEN];

    if (st->larval)
        snprintf(line, sizeof(line), "sa esp spi 0x%08x %s->%s larval (alloc_spi)\n", sa->id.spi,
                 ike_kernel_fmt_addr(&sa->src, s, sizeof(s)),
                 ike_kernel_fmt_addr(&sa->id.dst, t, sizeof(t)));
    else
        snprintf(line, sizeof(line),
                 "sa esp spi 0x%08x %s->%s %s reqid %u encr %u/%u integ %u%s bytes %llu "
                 "packets %llu%s\n",
                 sa->id.spi, ike_kernel_fmt_addr(&sa->src, s, sizeof(s)),
                 ike_kernel_fmt_addr(&sa->id.dst, t, sizeof(t)), ike_kernel_mode_name(sa->mode),
                 sa->reqid, sa->encr_id, sa->encr_key_bits, sa->integ_id, sa->esn ? " esn" : "",
                 (unsigned long long)st->stats.bytes, (unsigned long long)st->stats.packets,
                 st->soft_expired ? " soft-expired" : "");
    emit(arg, line);
    return 0;
}

static int dump_policy(void *arg, const struct ike_kernel_policy *p)
{
    struct ike_kernel_op op = {.type = IKE_KOP_ADD_POLICY};
    char line[512];
    size_t n;

    op.u.policy = *p;
    ike_kernel_op_describe(&op, line, sizeof(line) - 1);
    /* "ADD_POLICY ..." -> "policy ..." */
    n = strlen("ADD_POLICY");
    memmove(line, "policy", 6);
    memmove(line + 6, line + n, strlen(line + n) + 1);
    strcat(line, "\n");
    emit(arg, line);
    return 0;
}

size_t ike_kmem_dump(const struct ike_kmem *m, char *buf, size_t cap)
{
    struct dump_ctx d = {buf, cap, 0};
    char head[96];

    if (buf && cap)
        buf[0] = '\0';
    else
        d.cap = 0;
    snprintf(head, sizeof(head), "kmem: %zu SAs, %zu larval, %zu policies\n", ike_kmem_sa_count(m),
             ike_kmem_larval_count(m), ike_kmem_policy_count(m));
    emit(&d, head);
    ike_kmem_foreach_sa(m, dump_sa, &d);
    ike_kmem_foreach_policy(m, dump_policy, &d);
    return d.len;
}
