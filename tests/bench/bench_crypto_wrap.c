/*
 * bench_crypto_wrap.c: a counting crypto ops table and unit costs of the
 * same primitives, for the engine benchmark (tests/bench/bench.h).
 *
 * The wrappers only count and forward; they never time (a clock read per
 * crypto call would cost more than some of the calls). The crypto cost of
 * an exchange is then counts x unit costs measured in the same process.
 * Must not change what the engine sees: every call forwards unchanged.
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "ike/keys.h"

struct bench_cc *bench_cc_cur;
static struct bench_cc sink;
static const struct ike_crypto_ops *real;
static uint64_t replay_skip_ns; /* setup work inside a replay, not charged */

static struct bench_cc *cc(void)
{
    return bench_cc_cur ? bench_cc_cur : &sink;
}

static int group_index(uint16_t g)
{
    return g == CURVE25519 ? BG_X25519 : g == ECP_256 ? BG_P256 : g == MODP_2048 ? BG_MODP2048 : -1;
}

/* ke_derive does not see the group: the peer's public value length does
 * (RFC 8031: 32 bytes, RFC 5903: 64, MODP-2048: 256). */
static int len_index(size_t len)
{
    return len == 32 ? BG_X25519 : len == 64 ? BG_P256 : len == 256 ? BG_MODP2048 : -1;
}

/* noinline: callgrind attributes everything below these to crypto. */
__attribute__((noinline)) static int bw_prf(uint16_t id, const uint8_t *key, size_t key_len,
                                            const struct ike_iov *d, size_t n, uint8_t *out)
{
    struct bench_cc *c = cc();
    c->prf++;
    for (size_t i = 0; i < n; i++)
        c->prf_bytes += d[i].len;
    return real->prf(id, key, key_len, d, n, out);
}

__attribute__((noinline)) static int bw_random(uint8_t *buf, size_t n)
{
    cc()->other++;
    return real->random(buf, n);
}

__attribute__((noinline)) static int bw_ke_new(uint16_t group, const uint8_t *seed, size_t seed_len,
                                               struct ike_ke **ke, uint8_t *pub, size_t cap,
                                               size_t *pub_len)
{
    int g = group_index(group);
    if (g < 0)
        cc()->other++;
    else
        cc()->ke_new[g]++;
    return real->ke_new(group, seed, seed_len, ke, pub, cap, pub_len);
}

__attribute__((noinline)) static int bw_ke_derive(struct ike_ke *ke, const uint8_t *peer,
                                                  size_t len, struct ike_secret *s)
{
    int g = len_index(len);
    if (g < 0)
        cc()->other++;
    else
        cc()->ke_derive[g]++;
    return real->ke_derive(ke, peer, len, s);
}

__attribute__((noinline)) static void bw_ke_free(struct ike_ke *ke)
{
    real->ke_free(ke);
}

__attribute__((noinline)) static int bw_sk_seal(const struct ike_sk_params *sp, uint8_t *buf,
                                                size_t cap, size_t aad_len, size_t sk_hdr_off,
                                                const uint8_t *plain, size_t plain_len,
                                                const uint8_t *iv, size_t *out_len)
{
    cc()->seal++;
    cc()->seal_bytes += plain_len;
    return real->sk_seal(sp, buf, cap, aad_len, sk_hdr_off, plain, plain_len, iv, out_len);
}

__attribute__((noinline)) static int bw_sk_open(const struct ike_sk_params *sp, const uint8_t *msg,
                                                size_t msg_len, size_t aad_len, uint8_t *plain,
                                                size_t plain_cap, size_t *plain_len)
{
    cc()->open++;
    cc()->open_bytes += msg_len;
    return real->sk_open(sp, msg, msg_len, aad_len, plain, plain_cap, plain_len);
}

__attribute__((noinline)) static int bw_sha1(const struct ike_iov *d, size_t n, uint8_t out[20])
{
    cc()->sha1++;
    return real->sha1(d, n, out);
}

static struct ike_crypto_ops ops;

const struct ike_crypto_ops *bench_crypto_ops(void)
{
    if (!real) {
        real = ike_crypto_openssl();
        bench_crypto_counting(true);
    }
    return &ops;
}

void bench_crypto_counting(bool on)
{
    static const struct ike_crypto_ops wrapped = {bw_prf,     bw_random,  bw_ke_new,  bw_ke_derive,
                                                  bw_ke_free, bw_sk_seal, bw_sk_open, bw_sha1};
    bench_crypto_ops();
    ops = on ? wrapped : *real;
}

void bench_cc_add(struct bench_cc *to, const struct bench_cc *from)
{
    uint64_t *t = (uint64_t *)to;
    const uint64_t *f = (const uint64_t *)from;
    for (size_t i = 0; i < sizeof(*to) / sizeof(uint64_t); i++)
        t[i] += f[i];
}

double bench_cc_cost(const struct bench_cc *c, const struct bench_unit *u)
{
    double us = (double)c->prf * u->prf_fixed + (double)c->prf_bytes * u->prf_per_byte;
    us += (double)c->seal * u->seal_fixed + (double)c->seal_bytes * u->seal_per_byte;
    us += (double)c->open * u->open_fixed + (double)c->open_bytes * u->open_per_byte;
    us += (double)c->sha1 * u->sha1;
    for (int g = 0; g < BG_N; g++)
        us += (double)c->ke_new[g] * u->keygen[g] + (double)c->ke_derive[g] * u->derive[g];
    return us;
}

uint64_t bench_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int64_t bench_heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (int64_t)(mi.uordblks + mi.hblkhd);
}

void bench_rss_read(struct bench_rss *r)
{
    memset(r, 0, sizeof(*r));
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "VmRSS:", 6))
            r->rss = atol(line + 6);
        else if (!strncmp(line, "RssAnon:", 8))
            r->anon = atol(line + 8);
        else if (!strncmp(line, "RssFile:", 8))
            r->file = atol(line + 8);
    }
    if (f)
        fclose(f);
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench: %s failed: %d\n", what, rc);
    exit(2);
}

/* ---- unit costs ---- */
struct unit_ctx {
    int kind; /* 0 keygen, 1 keygen+derive, 2 prf, 3 seal, 4 open, 5 sha1 */
    uint16_t group;
    size_t len;
    uint8_t peer[512], msg[2048];
    size_t peer_len, msg_len;
    struct ike_sk_params sp;
};

static void unit_once(struct unit_ctx *x)
{
    static const uint8_t seed[64] = {0, 0x35, 0x3c, 0x43, 0x4a, 0x51, 0x58, 0x5f};
    uint8_t buf[2048], pub[512], out[64];
    static uint8_t data[1500];
    struct ike_iov d = {data, x->len};
    struct ike_ke *k;
    struct ike_secret s;
    size_t n;
    int rc = 0;
    switch (x->kind) {
    case 0:
    case 1:
        rc =
            real->ke_new(x->group, seed, x->group == MODP_2048 ? 32 : 32, &k, pub, sizeof(pub), &n);
        if (rc == 0 && x->kind == 1) {
            rc = real->ke_derive(k, x->peer, x->peer_len, &s);
            ike_secret_free(&s);
        }
        if (rc == 0)
            real->ke_free(k);
        break;
    case 2:
        rc = real->prf(PRF_HMAC_SHA2_256, data, 32, &d, 1, out);
        break;
    case 3:
        memset(buf, 0, 32);
        rc = real->sk_seal(&x->sp, buf, sizeof(buf), 32, 28, data, x->len, data, &n);
        break;
    case 4:
        rc = real->sk_open(&x->sp, x->msg, x->msg_len, 32, buf, sizeof(buf), &n);
        break;
    case 5:
        rc = real->sha1(&d, 1, out);
        break;
    }
    if (rc < 0)
        die("unit crypto op", rc);
}

static double unit_time(struct unit_ctx *x, double ms)
{
    unit_once(x); /* first use fetches the algorithm */
    uint64_t t0 = bench_cpu_ns(), t;
    long n = 0;
    do {
        for (int i = 0; i < 8; i++)
            unit_once(x);
        n += 8;
        t = bench_cpu_ns();
    } while ((double)(t - t0) < ms * 1e6);
    return (double)(t - t0) / 1e3 / (double)n;
}

static void linear(struct unit_ctx *x, double ms, size_t a, size_t b, double *fixed, double *per)
{
    x->len = a;
    double ca = unit_time(x, ms);
    x->len = b;
    double cb = unit_time(x, ms);
    *per = (cb - ca) / (double)(b - a);
    if (*per < 0)
        *per = 0;
    *fixed = ca - *per * (double)a;
}

void bench_unit_measure(struct bench_unit *u, unsigned mask, double ms)
{
    static const uint16_t groups[BG_N] = {CURVE25519, ECP_256, MODP_2048};
    struct unit_ctx x;
    struct ike_key ke;
    struct ike_ke *p;
    bench_crypto_ops();
    memset(u, 0, sizeof(*u));
    memset(&x, 0, sizeof(x));
    for (int g = 0; g < BG_N; g++) {
        if (!(mask & (1u << g)))
            continue;
        x.group = groups[g];
        int rc = real->ke_new(x.group, NULL, 0, &p, x.peer, sizeof(x.peer), &x.peer_len);
        if (rc < 0)
            die("ke_new", rc);
        real->ke_free(p);
        x.kind = 0;
        u->keygen[g] = unit_time(&x, ms);
        x.kind = 1;
        u->derive[g] = unit_time(&x, ms) - u->keygen[g];
    }
    x.kind = 2;
    linear(&x, ms, 64, 1024, &u->prf_fixed, &u->prf_per_byte);
    /* The IKE SAs negotiate aes256gcm16 (AEAD: no separate integrity). */
    static const uint8_t key[36] = {1, 2, 3};
    ike_alg_encr(ENCR_AES_GCM_16, 256, &x.sp.encr);
    ike_alg_integ(AUTH_NONE, &x.sp.integ);
    ike_key_set(&ke, key, x.sp.encr.key_len);
    x.sp.key_e = &ke;
    x.kind = 3;
    linear(&x, ms, 64, 1024, &u->seal_fixed, &u->seal_per_byte);
    /* open is charged per byte of the whole message; seal one of each size */
    x.kind = 4;
    size_t sizes[2] = {64, 1024};
    double c[2];
    for (int i = 0; i < 2; i++) {
        memset(x.msg, 0, 32);
        static const uint8_t plain[1024];
        int rc =
            real->sk_seal(&x.sp, x.msg, sizeof(x.msg), 32, 28, plain, sizes[i], plain, &x.msg_len);
        if (rc < 0)
            die("sk_seal", rc);
        c[i] = unit_time(&x, ms);
        sizes[i] = x.msg_len;
    }
    u->open_per_byte = (c[1] - c[0]) / (double)(sizes[1] - sizes[0]);
    if (u->open_per_byte < 0)
        u->open_per_byte = 0;
    u->open_fixed = c[0] - u->open_per_byte * (double)sizes[0];
    x.kind = 5;
    x.len = 48;
    u->sha1 = unit_time(&x, ms);
    ike_key_clear(&ke);
}

/* ---- replay: the same crypto work as counted, timed now ---- */
static struct {
    bool ready;
    uint8_t peer[BG_N][512];
    size_t peer_len[BG_N];
    struct ike_key key;
    struct ike_sk_params sp;
} rp;

static void replay_init(void)
{
    static const uint16_t groups[BG_N] = {CURVE25519, ECP_256, MODP_2048};
    static const uint8_t key[36] = {7, 8, 9};
    struct ike_ke *p;
    bench_crypto_ops();
    for (int g = 0; g < BG_N; g++) {
        int rc =
            real->ke_new(groups[g], NULL, 0, &p, rp.peer[g], sizeof(rp.peer[g]), &rp.peer_len[g]);
        if (rc < 0)
            die("ke_new", rc);
        real->ke_free(p);
    }
    ike_alg_encr(ENCR_AES_GCM_16, 256, &rp.sp.encr);
    ike_alg_integ(AUTH_NONE, &rp.sp.integ);
    ike_key_set(&rp.key, key, rp.sp.encr.key_len);
    rp.sp.key_e = &rp.key;
    rp.ready = true;
}

static void replay_ke(int g, uint64_t n_new, uint64_t n_derive)
{
    static const uint16_t groups[BG_N] = {CURVE25519, ECP_256, MODP_2048};
    uint8_t seed[32], pub[512];
    size_t len;
    struct ike_ke *k;
    struct ike_secret s;
    uint64_t n = n_new > n_derive ? n_new : n_derive;
    for (uint64_t i = 0; i < n; i++) {
        for (size_t j = 0; j < sizeof(seed); j++)
            seed[j] = (uint8_t)(0x35 + 7 * j + i);
        seed[0] = 0; /* below every group order, never zero */
        int rc = real->ke_new(groups[g], seed, sizeof(seed), &k, pub, sizeof(pub), &len);
        if (rc == 0 && i < n_derive) {
            rc = real->ke_derive(k, rp.peer[g], rp.peer_len[g], &s);
            ike_secret_free(&s);
        }
        if (rc < 0)
            die("replay ke", rc);
        real->ke_free(k);
    }
}

static void replay_sk(const struct bench_cc *c)
{
    static uint8_t plain[4096];
    uint8_t buf[4200], msg[4200];
    size_t len, mlen;
    size_t seal_len = c->seal ? c->seal_bytes / c->seal : 0;
    size_t open_len = c->open ? c->open_bytes / c->open : 0;
    int rc = 0;
    for (uint64_t i = 0; i < c->seal && rc == 0; i++) {
        memset(buf, 0, 32);
        rc = real->sk_seal(&rp.sp, buf, sizeof(buf), 32, 28, plain, seal_len, plain, &len);
    }
    /* open a message as long as the average one the engine opened; the
     * sealing of it is not part of the replay's cost */
    if (c->open && rc == 0) {
        uint64_t t = bench_cpu_ns();
        memset(msg, 0, 32);
        size_t p = open_len > 64 ? open_len - 64 : 0;
        rc = real->sk_seal(&rp.sp, msg, sizeof(msg), 32, 28, plain, p, plain, &mlen);
        replay_skip_ns += bench_cpu_ns() - t;
    }
    for (uint64_t i = 0; i < c->open && rc == 0; i++)
        rc = real->sk_open(&rp.sp, msg, mlen, 32, buf, sizeof(buf), &len);
    if (rc < 0)
        die("replay sk", rc);
}

uint64_t bench_replay_ns(const struct bench_cc *c)
{
    static uint8_t data[4096], out[64];
    if (!rp.ready)
        replay_init();
    replay_skip_ns = 0;
    uint64_t t0 = bench_cpu_ns();
    struct ike_iov d = {data, c->prf ? c->prf_bytes / c->prf : 0};
    for (uint64_t i = 0; i < c->prf; i++)
        if (real->prf(PRF_HMAC_SHA2_256, data, 32, &d, 1, out) < 0)
            die("replay prf", -1);
    for (int g = 0; g < BG_N; g++)
        replay_ke(g, c->ke_new[g], c->ke_derive[g]);
    replay_sk(c);
    d.len = 40;
    for (uint64_t i = 0; i < c->sha1; i++)
        real->sha1(&d, 1, out);
    uint64_t t = bench_cpu_ns() - t0;
    return t > replay_skip_ns ? t - replay_skip_ns : 0;
}

void bench_cc_sub(struct bench_cc *to, const struct bench_cc *from)
{
    uint64_t *t = (uint64_t *)to;
    const uint64_t *f = (const uint64_t *)from;
    for (size_t i = 0; i < sizeof(*to) / sizeof(uint64_t); i++)
        t[i] -= f[i];
}
