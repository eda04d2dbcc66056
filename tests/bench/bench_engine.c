/*
 * bench_engine.c: CPU time, crypto share, heap and instructions per IKEv2
 * exchange of the engine (DESIGN.md section 6), in process: an initiator
 * side and a responder engine, each side with its own in-memory kernel,
 * N IKE SAs with one Child SA each, then Child rekeys (no PFS, X25519,
 * P-256, MODP-2048) and an IKE rekey of every SA.
 *
 * Datagrams go straight from one side's outputs to the other's recv (no
 * loss); kernel ops are applied outside the timed region. After every phase
 * the run is checked (SA and policy counts in both kernels, keys equal on
 * both sides, every SA established, the expected events): a broken run
 * exits 1, so the numbers printed are always of a working run. It never
 * fails on a figure. See tests/bench/BENCHMARKS.md.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "ike/engine.h"
#include "ike/err.h"
#include "ike/kernel_memory.h"
#include "test_props.h"

#ifdef HAVE_CALLGRIND_H
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_TOGGLE_COLLECT
#endif

#define DG_MAX   4096
#define Q_MAX    512
#define KOPS_MAX 64

struct side {
    const char *name;
    struct ike_engine **e;
    uint32_t n_e;
    struct ike_kmem *km;
    struct ike_kernel_backend kb;
    uint64_t rng;
    uint64_t ns, calls;           /* CPU time in engine calls this phase */
    struct bench_cc cc;           /* crypto calls this phase */
    struct bench_cc cc_mark;      /* cc when the last replay ran */
    uint64_t crypto_ns, replayed; /* replayed crypto time, exchanges it covers */
    uint64_t ev[16];              /* events this phase, by type */
    uint64_t bad_ev;              /* failures reported by events */
    bool collect;                 /* callgrind: count this side's calls */
};

struct dgram {
    int to;       /* side index */
    uint32_t eng; /* engine index within the side */
    struct ike_endpoint src, dst;
    size_t len;
    uint8_t data[DG_MAX];
};

static struct {
    uint32_t sas, per_eng, window, sample;
    const char *phase; /* stop after this phase (callgrind) */
    unsigned skip;     /* phases not run (bit = phase index) */
    int cg_side;       /* 0 init, 1 resp */
    bool cg, mem, verbose;
    double unit_ms;
} opt = {1000, 0, 16, 1, NULL, 0, 1, false, true, true, 30};

static struct side side[2]; /* 0 initiator, 1 responder */
static struct dgram q[Q_MAX];
static unsigned q_head, q_len;
static struct ike_kernel_op kops[KOPS_MAX];
static int n_kops;
static uint64_t now_ms = 1000000;
static uint64_t clock_overhead_ns;

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "bench_engine: FAILED: " __VA_ARGS__);                                     \
        fputc('\n', stderr);                                                                       \
        exit(1);                                                                                   \
    } while (0)

/* ---- addresses: SA i is 10.(1+i/65536).(i/256%256).(i%256) <-> 172.16.0.1 ---- */
static void sa_addr(uint32_t i, struct ike_endpoint *ep)
{
    memset(ep, 0, sizeof(*ep));
    ep->addr.family = IKE_AF_INET;
    ep->addr.bytes[0] = 10;
    ep->addr.bytes[1] = (uint8_t)(1 + (i >> 16));
    ep->addr.bytes[2] = (uint8_t)(i >> 8);
    ep->addr.bytes[3] = (uint8_t)i;
    ep->port = 500;
}

static uint32_t sa_index(const struct ike_endpoint *ep)
{
    const uint8_t *b = ep->addr.bytes;
    return ((uint32_t)(b[1] - 1) << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static void resp_addr(struct ike_endpoint *ep)
{
    memset(ep, 0, sizeof(*ep));
    ep->addr.family = IKE_AF_INET;
    memcpy(ep->addr.bytes, (const uint8_t[]){172, 16, 0, 1}, 4);
    ep->port = 500;
}

/* splitmix64: fast and seeded, so a run is the same run every time */
static void rnd(void *ctx, uint8_t *buf, size_t n)
{
    uint64_t *s = &((struct side *)ctx)->rng;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        memcpy(buf + i, &z, n - i < 8 ? n - i : 8);
    }
}

/* ---- one engine call: timed, crypto counted, outputs drained ---- */
static uint64_t t0;

static void call_begin(struct side *s)
{
    bench_cc_cur = &s->cc;
    if (opt.cg)
        bench_crypto_counting(s->collect);
    bench_heap_ctx = s == &side[1] ? BH_ENGINE : BH_OTHER;
    t0 = bench_cpu_ns();
    if (s->collect)
        CALLGRIND_TOGGLE_COLLECT;
}

static void enqueue(int from, const struct ike_output *o)
{
    if (q_len == Q_MAX || o->u.dgram.len > DG_MAX)
        FAIL("datagram queue full or datagram of %zu bytes", o->u.dgram.len);
    struct dgram *d = &q[(q_head + q_len++) % Q_MAX];
    d->to = !from;
    d->eng = from ? sa_index(&o->u.dgram.dst) / opt.per_eng : 0;
    d->src = o->u.dgram.src;
    d->dst = o->u.dgram.dst;
    d->len = o->u.dgram.len;
    memcpy(d->data, o->u.dgram.data, d->len);
}

static void drain(struct side *s, struct ike_engine *e)
{
    struct ike_output o;
    while (ike_engine_pop_output(e, &o)) {
        if (o.type == IKE_OUT_DATAGRAM) {
            enqueue(s == &side[1], &o);
        } else if (o.type == IKE_OUT_KERNEL) {
            if (n_kops == KOPS_MAX)
                FAIL("more than %d kernel ops from one call", KOPS_MAX);
            kops[n_kops++] = o.u.kop;
        } else if (o.type == IKE_OUT_EVENT) {
            uint8_t t = o.u.ev.type;
            s->ev[t & 15]++;
            if (t == IKE_EV_CHILD_FAILED || t == IKE_EV_REKEY_FAILED ||
                (t == IKE_EV_IKE_DOWN && o.u.ev.err))
                s->bad_ev++;
        }
    }
}

static void call_end(struct side *s, struct ike_engine *e)
{
    drain(s, e);
    if (s->collect)
        CALLGRIND_TOGGLE_COLLECT;
    uint64_t t1 = bench_cpu_ns();
    s->ns += t1 - t0 > clock_overhead_ns ? t1 - t0 - clock_overhead_ns : 0;
    s->calls++;
    bench_cc_cur = NULL;
    bench_heap_ctx = s == &side[1] ? BH_KMEM : BH_OTHER;
    for (int i = 0; i < n_kops; i++) {
        int rc = s->kb.apply(s->kb.ctx, &kops[i]);
        if (rc < 0) {
            char d[256];
            ike_kernel_op_describe(&kops[i], d, sizeof(d));
            FAIL("%s kernel op %s: %s", s->name, d, ike_err_str(rc));
        }
        ike_wipe(&kops[i], sizeof(kops[i]));
    }
    n_kops = 0;
    bench_heap_ctx = BH_OTHER;
}

static void pump(void)
{
    while (q_len) {
        struct dgram *d = &q[q_head];
        q_head = (q_head + 1) % Q_MAX;
        q_len--;
        struct side *s = &side[d->to];
        struct ike_engine *e = s->e[d->eng];
        call_begin(s);
        ike_engine_recv(e, d->data, d->len, &d->src, &d->dst, now_ms);
        call_end(s, e);
    }
}

static void run_timers(void)
{
    now_ms += 1000;
    for (int k = 0; k < 2; k++) {
        ike_kmem_set_time(side[k].km, now_ms / 1000);
        for (uint32_t i = 0; i < side[k].n_e; i++) {
            struct ike_engine *e = side[k].e[i];
            if (ike_engine_next_deadline(e) <= now_ms) {
                call_begin(&side[k]);
                ike_engine_handle_deadline(e, now_ms);
                call_end(&side[k], e);
                pump();
            }
        }
    }
}

/* ---- configuration ---- */
static void conn_common(struct ike_conn_cfg *c)
{
    ike_conn_cfg_defaults(c);
    memcpy(c->psk, "bench-psk-0123456789", 20);
    c->psk_len = 20;
    t_default_props(c);
}

/* Initiator conn i: 10.x.y.z <-> 172.16.0.1, host-to-host (the traffic
 * selectors default to the two addresses, so every SA has its own). */
static void init_conn(uint32_t i, uint16_t pfs, struct ike_conn_cfg *c)
{
    conn_common(c);
    snprintf(c->name, sizeof(c->name), "c%u", i);
    sa_addr(i, &c->local);
    resp_addr(&c->remote);
    if (pfs) {
        c->esp[0].n_dh = 1;
        c->esp[0].dh[0] = pfs;
    }
}

static struct ike_engine *new_engine(struct side *s, uint32_t expected)
{
    struct ike_engine_opts o;
    ike_engine_opts_defaults(&o);
    o.crypto = bench_crypto_ops();
    o.random = rnd;
    o.random_ctx = s;
    o.log = NULL; /* no formatting */
    o.log_level = IKE_LOG_ERROR;
    o.expected_sas = expected;
    struct ike_engine *e = ike_engine_new(&o);
    if (!e)
        FAIL("ike_engine_new");
    return e;
}

static void setup_sides(void)
{
    side[0].name = "initiator";
    side[1].name = "responder";
    side[0].rng = 0x1234;
    side[1].rng = 0x5678;
    side[0].n_e = (opt.sas + opt.per_eng - 1) / opt.per_eng;
    side[1].n_e = 1;
    for (int k = 0; k < 2; k++) {
        bench_heap_ctx = k ? BH_KMEM : BH_OTHER;
        side[k].km = ike_kmem_new();
        bench_heap_ctx = BH_OTHER;
        if (!side[k].km || !(side[k].e = calloc(side[k].n_e, sizeof(*side[k].e))))
            FAIL("out of memory");
        ike_kmem_backend_init(side[k].km, &side[k].kb, false);
        ike_kmem_set_acq_expires(side[k].km, 0);
    }
    /* The responder's engine heap starts here: engine + its one conn. */
    bench_heap_ctx = BH_ENGINE;
    side[1].e[0] = new_engine(&side[1], 0);
    struct ike_conn_cfg c;
    conn_common(&c);
    snprintf(c.name, sizeof(c.name), "hub");
    resp_addr(&c.local);
    c.remote_any = true;
    c.remote_id.any = true;
    /* esp=aes256gcm16,aes256gcm16-x25519-ecp256-modp2048: PFS optional */
    c.n_esp = 2;
    c.esp[1] = c.esp[0];
    c.esp[1].n_dh = 3;
    c.esp[1].dh[0] = CURVE25519;
    c.esp[1].dh[1] = ECP_256;
    c.esp[1].dh[2] = MODP_2048;
    if (ike_engine_add_conn(side[1].e[0], &c) < 0)
        FAIL("responder add_conn");
    bench_heap_ctx = BH_OTHER;
    for (uint32_t n = 0; n < side[0].n_e; n++)
        side[0].e[n] = new_engine(&side[0], opt.per_eng);
    for (uint32_t i = 0; i < opt.sas; i++) {
        init_conn(i, 0, &c);
        if (ike_engine_add_conn(side[0].e[i / opt.per_eng], &c) < 0)
            FAIL("initiator add_conn c%u", i);
    }
}

static void set_pfs(uint16_t group)
{
    struct ike_conn_cfg c;
    for (uint32_t i = 0; i < opt.sas; i++) {
        init_conn(i, group, &c);
        if (ike_engine_add_conn(side[0].e[i / opt.per_eng], &c) < 0)
            FAIL("initiator add_conn c%u", i);
    }
}

/* ---- correctness after each phase ---- */
struct chk {
    uint32_t ike_est, ike_other, ch_inst, ch_other, dh_bad, key_bad;
    uint16_t want_dh;
    bool keys; /* compare both directions in both kernels (responder view) */
};

static void chk_ike(void *ctx, const struct ike_sa_info *sa)
{
    struct chk *c = ctx;
    if (!strcmp(sa->state, "ESTABLISHED"))
        c->ike_est++;
    else
        c->ike_other++;
}

static bool same_sa(const struct ike_sa_id *id)
{
    const struct ike_kernel_sa *a = ike_kmem_find_sa(side[0].km, id, NULL);
    const struct ike_kernel_sa *b = ike_kmem_find_sa(side[1].km, id, NULL);
    return a && b && a->encr_id == b->encr_id && a->encr_key.len == b->encr_key.len &&
           !memcmp(a->encr_key.b, b->encr_key.b, a->encr_key.len) &&
           a->integ_key.len == b->integ_key.len &&
           !memcmp(a->integ_key.b, b->integ_key.b, a->integ_key.len);
}

static void chk_child(void *ctx, const struct ike_sa_info *sa, const struct ike_child_info *ch)
{
    struct chk *c = ctx;
    if (strcmp(ch->state, "INSTALLED")) {
        c->ch_other++;
        return;
    }
    c->ch_inst++;
    if (ch->dh != c->want_dh)
        c->dh_bad++;
    if (!c->keys)
        return;
    struct ike_sa_id out = {.dst = sa->remote.addr, .spi = ch->spi_out, .proto = IKE_IPPROTO_ESP};
    struct ike_sa_id in = {.dst = sa->local.addr, .spi = ch->spi_in, .proto = IKE_IPPROTO_ESP};
    if (!same_sa(&out) || !same_sa(&in))
        c->key_bad++;
}

static size_t policies_per_sa;

static void check_side(int k, const char *phase, uint16_t dh, uint8_t ev_type)
{
    struct side *s = &side[k];
    struct chk c = {.want_dh = dh, .keys = k == 1};
    uint32_t n = opt.sas;
    for (uint32_t i = 0; i < s->n_e; i++)
        ike_engine_foreach(s->e[i], chk_ike, chk_child, &c);
    size_t sas = ike_kmem_sa_count(s->km), pol = ike_kmem_policy_count(s->km);
    if (!policies_per_sa && k == 0 && pol % n == 0 && pol / n >= 2)
        policies_per_sa = pol / n;
    if (c.ike_est != n || c.ike_other || c.ch_inst != n || c.ch_other)
        FAIL("%s %s: %u IKE SAs established (+%u other), %u Child SAs installed (+%u other), "
             "want %u",
             phase, s->name, c.ike_est, c.ike_other, c.ch_inst, c.ch_other, n);
    if (sas != 2 * (size_t)n || ike_kmem_larval_count(s->km) || pol != policies_per_sa * n)
        FAIL("%s %s kernel: %zu SAs (want %u), %zu larval, %zu policies (want %zu)", phase, s->name,
             sas, 2 * n, ike_kmem_larval_count(s->km), pol, policies_per_sa * n);
    if (c.dh_bad)
        FAIL("%s %s: %u Child SAs without the PFS group %u", phase, s->name, c.dh_bad, dh);
    if (c.key_bad)
        FAIL("%s: %u Child SAs whose kernel SAs differ between the sides", phase, c.key_bad);
    if (s->bad_ev || s->ev[ev_type] != n)
        FAIL("%s %s: %llu failure events, %llu events of type %u (want %u)", phase, s->name,
             (unsigned long long)s->bad_ev, (unsigned long long)s->ev[ev_type], ev_type, n);
}

/* ---- phases ---- */
enum { PH_SETUP, PH_NOPFS, PH_X25519, PH_P256, PH_MODP, PH_IKE, PH_N };
static const struct {
    const char *name;
    uint16_t pfs;
    uint8_t ev;
    unsigned groups; /* bench_unit_measure mask */
    const char *target;
} phases[PH_N] = {
    {"setup", 0, IKE_EV_IKE_UP, 1u << BG_X25519, "100"},
    {"child-nopfs", 0, IKE_EV_CHILD_REKEYED, 0, "20"},
    {"child-x25519", CURVE25519, IKE_EV_CHILD_REKEYED, 1u << BG_X25519, "80"},
    {"child-p256", ECP_256, IKE_EV_CHILD_REKEYED, 1u << BG_P256, "80"},
    {"child-modp2048", MODP_2048, IKE_EV_CHILD_REKEYED, 1u << BG_MODP2048, "-"},
    {"ike-rekey", 0, IKE_EV_IKE_REKEYED, 1u << BG_X25519, "85"},
};

static int phase_by_name(const char *name)
{
    for (int p = 0; p < PH_N; p++)
        if (!strcmp(phases[p].name, name))
            return p;
    return -1;
}

static void start_one(int p, uint32_t i)
{
    char name[16];
    snprintf(name, sizeof(name), "c%u", i);
    struct ike_engine *e = side[0].e[i / opt.per_eng];
    call_begin(&side[0]);
    int rc = p == PH_SETUP ? ike_engine_initiate(e, name, now_ms)
                           : ike_engine_rekey(e, name, p == PH_IKE, now_ms);
    call_end(&side[0], e);
    if (rc < 0)
        FAIL("%s: starting %s: %s", phases[p].name, name, ike_err_str(rc));
}

/* The crypto the window just used, done again now and timed (every
 * sample-th window), so the crypto figure sees the same machine load as
 * the engine's. Work not replayed (other windows, timers) is skipped. */
static void replay(bool timed, uint32_t exchanges)
{
    for (int k = 0; k < 2 && !opt.cg; k++) {
        struct side *s = &side[k];
        struct bench_cc d = s->cc;
        bench_cc_sub(&d, &s->cc_mark);
        s->cc_mark = s->cc;
        if (timed) {
            s->crypto_ns += bench_replay_ns(&d);
            s->replayed += exchanges;
        }
    }
}

static void run_phase(int p)
{
    if (p >= PH_X25519 && p <= PH_MODP)
        set_pfs(phases[p].pfs); /* not timed: a configuration change */
    for (int k = 0; k < 2; k++) {
        struct side *s = &side[k];
        s->ns = s->calls = s->bad_ev = s->crypto_ns = s->replayed = 0;
        memset(&s->cc, 0, sizeof(s->cc));
        memset(&s->cc_mark, 0, sizeof(s->cc_mark));
        memset(s->ev, 0, sizeof(s->ev));
        s->collect = opt.cg && opt.phase && phase_by_name(opt.phase) == p && opt.cg_side == k;
    }
    for (uint32_t i = 0, w = 0; i < opt.sas; i += opt.window, w++) {
        uint32_t j;
        for (j = i; j < i + opt.window && j < opt.sas; j++)
            start_one(p, j);
        pump();
        replay(w % opt.sample == 0, j - i);
    }
    run_timers();
    replay(false, 0);
    /* The Child SAs keep the last PFS group they were rekeyed with. */
    static uint16_t child_dh;
    if (p >= PH_NOPFS && p <= PH_MODP)
        child_dh = phases[p].pfs;
    for (int k = 0; k < 2; k++)
        check_side(k, phases[p].name, child_dh, phases[p].ev);
}

/* ---- report ---- */
static void print_row(int p)
{
    double n = opt.sas, us[2], cr[2];
    for (int k = 0; k < 2; k++) {
        us[k] = (double)side[k].ns / 1e3 / n;
        cr[k] = side[k].replayed ? (double)side[k].crypto_ns / 1e3 / (double)side[k].replayed : 0;
    }
    printf("%-15s %7u %9.1f %9.1f %8.1f %8.1f %6.2f %6.2f %9.1f %9.1f %6s\n", phases[p].name,
           opt.sas, us[0], us[1], cr[0], cr[1], cr[0] > 0 ? us[0] / cr[0] : 0,
           cr[1] > 0 ? us[1] / cr[1] : 0, us[0] - cr[0], us[1] - cr[1], phases[p].target);
    fflush(stdout);
}

/* What one exchange of the responder asked of crypto, and what it cost. */
static void print_detail(const struct bench_unit *u)
{
    const struct bench_cc *c = &side[1].cc;
    double n = opt.sas;
    printf("  resp calls/exchange: prf %.1f (%.0f B avg), keygen %.2f, derive %.2f, seal %.1f, "
           "open %.1f, sha1 %.1f; engine calls %.1f\n",
           (double)c->prf / n, c->prf ? (double)c->prf_bytes / (double)c->prf : 0,
           (double)(c->ke_new[0] + c->ke_new[1] + c->ke_new[2]) / n,
           (double)(c->ke_derive[0] + c->ke_derive[1] + c->ke_derive[2]) / n, (double)c->seal / n,
           (double)c->open / n, (double)c->sha1 / n, (double)side[1].calls / n);
    printf("  resp crypto at unit costs timed after the phase: %.1f us/exchange\n",
           bench_cc_cost(c, u) / n);
    printf("  units (us): x25519 %.1f+%.1f p256 %.1f+%.1f modp2048 %.1f+%.1f hmac %.2f+%.4f/B "
           "seal %.2f+%.4f/B open %.2f+%.4f/B sha1 %.2f\n",
           u->keygen[0], u->derive[0], u->keygen[1], u->derive[1], u->keygen[2], u->derive[2],
           u->prf_fixed, u->prf_per_byte, u->seal_fixed, u->seal_per_byte, u->open_fixed,
           u->open_per_byte, u->sha1);
}

static struct bench_rss rss_start; /* before the first SA */

static void print_mem(int p)
{
    struct bench_rss r;
    bench_rss_read(&r);
    double n = opt.sas;
    printf("mem %-15s %7u engine-heap/SA %7.0f B  kmem-heap/SA %6.0f B  process RSS %7ld KiB "
           "(anon %ld, file %ld; +%.0f B per SA, both sides)\n",
           phases[p].name, opt.sas, (double)bench_heap[BH_ENGINE] / n,
           (double)bench_heap[BH_KMEM] / n, r.rss, r.anon, r.file,
           (double)(r.rss - rss_start.rss) * 1024 / n);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_engine [--sas N] [--small] [--per-engine G] [--window W]\n"
                    "         [--sample S (replay crypto every S-th window)]\n"
                    "         [--no-mem] [--quiet] [--unit-ms MS] [--skip PHASE]... [--phase NAME "
                    "--side init|resp "
                    "--callgrind-friendly]\n");
    exit(2);
}

static void parse(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--small")) {
            opt.sas = 300;
            opt.unit_ms = 3;
        } else if (!strcmp(a, "--quiet")) {
            opt.verbose = false;
        } else if (!strcmp(a, "--no-mem")) {
            opt.mem = false;
        } else if (!strcmp(a, "--callgrind-friendly")) {
            opt.cg = true;
            opt.mem = false;
        } else if (!v) {
            usage();
        } else if (!strcmp(a, "--sas") && ++i) {
            opt.sas = (uint32_t)strtoul(v, NULL, 10);
        } else if (!strcmp(a, "--per-engine") && ++i) {
            opt.per_eng = (uint32_t)strtoul(v, NULL, 10);
        } else if (!strcmp(a, "--window") && ++i) {
            opt.window = (uint32_t)strtoul(v, NULL, 10);
        } else if (!strcmp(a, "--sample") && ++i) {
            opt.sample = (uint32_t)strtoul(v, NULL, 10);
        } else if (!strcmp(a, "--unit-ms") && ++i) {
            opt.unit_ms = atof(v);
        } else if (!strcmp(a, "--skip") && ++i) {
            int p = phase_by_name(v);
            if (p <= 0) /* setup cannot be skipped */
                usage();
            opt.skip |= 1u << p;
        } else if (!strcmp(a, "--phase") && ++i) {
            opt.phase = v;
        } else if (!strcmp(a, "--side") && ++i) {
            opt.cg_side = !strcmp(v, "resp");
        } else {
            usage();
        }
    }
    if (!opt.per_eng || opt.per_eng > opt.sas)
        opt.per_eng = opt.sas; /* default: one initiator engine holds every SA */
    if (!opt.sas || opt.sas > 16 * 65536 || !opt.window || !opt.sample ||
        opt.window > Q_MAX / 4 || (opt.phase && phase_by_name(opt.phase) < 0))
        usage();
}

static void calibrate_clock(void)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 2000; i++) {
        uint64_t a = bench_cpu_ns(), b = bench_cpu_ns();
        if (b - a < best)
            best = b - a;
    }
    clock_overhead_ns = best;
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    calibrate_clock();
    /* OpenSSL fetches algorithms and builds group tables on first use:
     * do that now, so no phase pays it and no SA is charged its heap. */
    struct bench_unit warm;
    bench_unit_measure(&warm, (1u << BG_N) - 1, 0.1);
    setup_sides();
    bench_rss_read(&rss_start);
    if (!opt.cg) {
        printf("# %u IKE SAs (+1 Child SA each); initiator: %u engines of <= %u SAs; "
               "responder: one engine; window %u; clock overhead %llu ns/call subtracted\n",
               opt.sas, side[0].n_e, opt.per_eng, opt.window,
               (unsigned long long)clock_overhead_ns);
        printf("# CPU us per exchange (setup = IKE_SA_INIT + IKE_AUTH; rekeys include the "
               "DELETE), crypto us = the same crypto calls replayed between windows (every %u)\n",
               opt.sample);
        printf("%-15s %7s %9s %9s %8s %8s %6s %6s %9s %9s %6s\n", "phase", "SAs", "init-us",
               "resp-us", "crypt-i", "crypt-r", "rat-i", "rat-r", "noncr-i", "noncr-r", "target");
    }
    int last = opt.phase ? phase_by_name(opt.phase) : PH_N - 1;
    for (int p = 0; p <= last; p++) {
        if (opt.skip & (1u << p))
            continue;
        run_phase(p);
        if (opt.cg)
            continue;
        struct bench_unit u;
        bench_unit_measure(&u, phases[p].groups, opt.unit_ms);
        print_row(p);
        if (opt.verbose)
            print_detail(&u);
        if (opt.mem)
            print_mem(p);
    }
    if (opt.cg)
        printf("CG phase=%s side=%s exchanges=%u\n", phases[last].name,
               opt.cg_side ? "resp" : "init", opt.sas);
    for (int k = 0; k < 2; k++) {
        for (uint32_t i = 0; i < side[k].n_e; i++)
            ike_engine_free(side[k].e[i]);
        free(side[k].e);
        ike_kmem_free(side[k].km);
    }
    printf("# all phases checked: SA and policy counts, keys equal on both sides, events\n");
    return 0;
}
