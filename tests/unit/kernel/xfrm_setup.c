/*
 * xfrm_setup.c: xfrm-setup, a small CLI around the XFRM backend for the
 * UML ESP tests (tests/uml/xfrm-backend.sh): install one side's SA pair and
 * policies, show an SA's GETSA counters, print kernel events, delete all.
 * Run `xfrm-setup --help`. It installs what the arguments say in the
 * current network namespace and nothing else; keys are derived from
 * --key-seed and the SPI (test keys, never for real traffic), never printed.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ike/err.h"
#include "ike/kernel.h"
#include "ike/xfrm.h"

static const char usage[] =
    "usage: xfrm-setup --src ADDR --dst ADDR --spi-out SPI --spi-in SPI\n"
    "                  [--alg ALG] [--mode tunnel|transport]\n"
    "                  [--local-subnet CIDR --remote-subnet CIDR] [--reqid N]\n"
    "                  [--soft-bytes N] [--hard-bytes N] [--soft-packets N]\n"
    "                  [--hard-packets N] [--soft-time S] [--hard-time S]\n"
    "                  [--replay-window N] [--esn] [--key-seed N]\n"
    "       xfrm-setup --delete-all\n"
    "       xfrm-setup --show-stats SPI\n"
    "       xfrm-setup --watch-events SECONDS\n"
    "\n"
    "Install, in the current network namespace and through rekeyd's XFRM\n"
    "backend, one side of an ESP tunnel: the outbound SA (src->dst, --spi-out),\n"
    "the inbound SA (dst->src, --spi-in) and the policies: tunnel mode\n"
    "out/in/fwd between --local-subnet and --remote-subnet (default: the two\n"
    "addresses /32 or /128), transport mode out/in between the addresses. The\n"
    "outbound policy pins --spi-out. Run it on the other side with src/dst and\n"
    "the SPIs swapped; the same --key-seed gives both sides the same keys (keys\n"
    "depend on the seed and the SPI only). All or nothing: if one step fails,\n"
    "what was installed is removed again.\n"
    "\n"
    "ALG: aes-gcm16 (default, AES-256), aes-cbc-sha1 (AES-128),\n"
    "     aes-cbc-sha256, aes-cbc-sha384, aes-cbc-sha512 (AES-256),\n"
    "     chacha20poly1305\n"
    "Limits are per SA (both SAs get them); 0 = none. --replay-window\n"
    "(default 32) applies to the inbound SA.\n"
    "\n"
    "--delete-all         flush every ESP SA and every policy\n"
    "--show-stats SPI     find the ESP SA with this SPI and print its GETSA\n"
    "                     counters: 'spi 0x... dst A bytes N packets N\n"
    "                     add_time T use_time T' (exit 1 when not found)\n"
    "--watch-events S     print kernel events for S seconds, one a line:\n"
    "                     'EXPIRE soft|hard spi 0x... dst A reqid N',\n"
    "                     'ACQUIRE reqid N sel ...', 'POLEXPIRE dir sel ...'\n"
    "Exit 0 on success, 1 with a line on stderr on failure, 2 on bad usage.\n";

struct opts {
    struct ike_addr src, dst;
    struct ike_selector lnet, rnet; /* src side = local subnet */
    bool have_lnet, have_rnet;
    uint32_t spi_out, spi_in, reqid, seed, replay;
    const char *alg;
    uint8_t mode;
    bool esn;
    struct ike_lifetime life;
};

static int parse_addr(const char *s, struct ike_addr *a)
{
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, s, a->bytes) == 1)
        a->family = IKE_AF_INET;
    else if (inet_pton(AF_INET6, s, a->bytes) == 1)
        a->family = IKE_AF_INET6;
    else
        return -1;
    return 0;
}

/* "10.1.0.0/24" -> address + prefix (into the src half of a selector). */
static int parse_cidr(const char *s, struct ike_addr *a, uint8_t *prefix)
{
    char tmp[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    unsigned long p;

    if (n >= sizeof(tmp))
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (parse_addr(tmp, a) < 0)
        return -1;
    p = slash ? strtoul(slash + 1, NULL, 10) : (a->family == IKE_AF_INET ? 32 : 128);
    if (p > (a->family == IKE_AF_INET ? 32u : 128u))
        return -1;
    *prefix = (uint8_t)p;
    return 0;
}

static uint64_t num(const char *s)
{
    return strtoull(s, NULL, 0);
}

/* Test keys: a function of the seed and the SPI only, so both sides agree. */
static void test_key(struct ike_key *k, uint8_t len, uint32_t seed, uint32_t spi, uint32_t salt)
{
    uint64_t x = ((uint64_t)seed << 32 | spi) ^ (0x9e3779b97f4a7c15ull * (salt + 1));
    k->len = len;
    for (uint8_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        k->b[i] = (uint8_t)(x >> 24);
    }
}

static int set_alg(struct ike_kernel_sa *sa, const char *alg, uint32_t seed)
{
    static const struct {
        const char *name;
        uint16_t encr, bits, integ;
        uint8_t ekey, akey, icv;
    } algs[] = {
        {"aes-gcm16", ENCR_AES_GCM_16, 256, AUTH_NONE, 36, 0, 16},
        {"aes-cbc-sha1", ENCR_AES_CBC, 128, AUTH_HMAC_SHA1_96, 16, 20, 0},
        {"aes-cbc-sha256", ENCR_AES_CBC, 256, AUTH_HMAC_SHA2_256_128, 32, 32, 0},
        {"aes-cbc-sha384", ENCR_AES_CBC, 256, AUTH_HMAC_SHA2_384_192, 32, 48, 0},
        {"aes-cbc-sha512", ENCR_AES_CBC, 256, AUTH_HMAC_SHA2_512_256, 32, 64, 0},
        {"chacha20poly1305", ENCR_CHACHA20_POLY1305, 256, AUTH_NONE, 36, 0, 16},
    };
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (strcmp(alg, algs[i].name) != 0)
            continue;
        sa->encr_id = algs[i].encr;
        sa->encr_key_bits = algs[i].bits;
        sa->integ_id = algs[i].integ;
        sa->icv_len = algs[i].icv;
        test_key(&sa->encr_key, algs[i].ekey, seed, sa->id.spi, 0);
        if (algs[i].akey)
            test_key(&sa->integ_key, algs[i].akey, seed, sa->id.spi, 1);
        return 0;
    }
    return -1;
}

static struct ike_kernel_op make_sa(const struct opts *o, bool out)
{
    struct ike_kernel_op op;
    memset(&op, 0, sizeof(op));
    op.type = IKE_KOP_ADD_SA;
    op.u.sa.id.dst = out ? o->dst : o->src;
    op.u.sa.src = out ? o->src : o->dst;
    op.u.sa.id.spi = out ? o->spi_out : o->spi_in;
    op.u.sa.id.proto = IKE_IPPROTO_ESP;
    op.u.sa.mode = o->mode;
    op.u.sa.reqid = o->reqid;
    op.u.sa.esn = o->esn;
    op.u.sa.replay_window = out ? 0 : o->replay;
    op.u.sa.life = o->life;
    set_alg(&op.u.sa, o->alg, o->seed);
    return op;
}

static struct ike_kernel_op make_policy(const struct opts *o, uint8_t dir)
{
    struct ike_kernel_op op;
    bool out = dir == IKE_DIR_OUT;
    memset(&op, 0, sizeof(op));
    op.type = IKE_KOP_ADD_POLICY;
    op.u.policy.sel.src = out ? o->lnet.src : o->rnet.src;
    op.u.policy.sel.src_prefix = out ? o->lnet.src_prefix : o->rnet.src_prefix;
    op.u.policy.sel.dst = out ? o->rnet.src : o->lnet.src;
    op.u.policy.sel.dst_prefix = out ? o->rnet.src_prefix : o->lnet.src_prefix;
    op.u.policy.dir = dir;
    op.u.policy.action = IKE_POLICY_IPSEC;
    op.u.policy.mode = o->mode;
    if (o->mode == IKE_MODE_TUNNEL) {
        op.u.policy.tmpl_src = out ? o->src : o->dst;
        op.u.policy.tmpl_dst = out ? o->dst : o->src;
    }
    op.u.policy.reqid = o->reqid;
    op.u.policy.spi = out ? o->spi_out : 0;
    return op;
}

static int install(struct ike_kernel_backend *be, struct opts *o)
{
    struct ike_kernel_op ops[5];
    size_t n = 0, at;
    char line[512];
    int rc;

    if (!o->have_lnet) {
        o->lnet.src = o->src;
        o->lnet.src_prefix = o->src.family == IKE_AF_INET ? 32 : 128;
    }
    if (!o->have_rnet) {
        o->rnet.src = o->dst;
        o->rnet.src_prefix = o->dst.family == IKE_AF_INET ? 32 : 128;
    }
    ops[n++] = make_sa(o, false); /* inbound first: ready before we send */
    ops[n++] = make_sa(o, true);
    ops[n++] = make_policy(o, IKE_DIR_IN);
    if (o->mode == IKE_MODE_TUNNEL)
        ops[n++] = make_policy(o, IKE_DIR_FWD);
    ops[n++] = make_policy(o, IKE_DIR_OUT);
    rc = ike_kernel_apply_batch(be, ops, n, &at, NULL);
    for (size_t i = 0; i < n; i++) {
        ike_kernel_op_describe(&ops[i], line, sizeof(line));
        if (i < at)
            printf("ok: %s\n", line);
    }
    if (rc < 0)
        fprintf(stderr, "xfrm-setup: %s; earlier steps undone\n", be->last_error(be->ctx));
    for (size_t i = 0; i < 2; i++) {
        explicit_bzero(&ops[i].u.sa.encr_key, sizeof(ops[i].u.sa.encr_key));
        explicit_bzero(&ops[i].u.sa.integ_key, sizeof(ops[i].u.sa.integ_key));
    }
    return rc < 0 ? 1 : 0;
}

struct find_spi {
    uint32_t spi;
    struct ike_sa_id id;
    bool found;
};

static int find_cb(void *arg, const struct ike_kernel_sa *sa, const struct ike_sa_stats *st)
{
    struct find_spi *f = arg;
    (void)st;
    if (sa->id.spi != f->spi || sa->id.proto != IKE_IPPROTO_ESP)
        return 0;
    f->id = sa->id;
    f->found = true;
    return 1;
}

static int show_stats(struct ike_kernel_backend *be, uint32_t spi)
{
    struct find_spi f = {.spi = spi};
    struct ike_sa_stats st;
    char d[64] = "-";
    int rc = ike_xfrm_dump_sas(be, find_cb, &f);

    if (rc < 0 || !f.found) {
        fprintf(stderr, "xfrm-setup: no ESP SA with spi 0x%08x%s%s\n", spi, rc < 0 ? ": " : "",
                rc < 0 ? be->last_error(be->ctx) : "");
        return 1;
    }
    rc = be->get_stats(be->ctx, &f.id, &st); /* GETSA, the engine's path */
    if (rc < 0) {
        fprintf(stderr, "xfrm-setup: %s\n", be->last_error(be->ctx));
        return 1;
    }
    inet_ntop(f.id.dst.family == IKE_AF_INET ? AF_INET : AF_INET6, f.id.dst.bytes, d, sizeof(d));
    printf("spi 0x%08x dst %s bytes %llu packets %llu add_time %llu use_time %llu\n", spi, d,
           (unsigned long long)st.bytes, (unsigned long long)st.packets,
           (unsigned long long)st.add_time_s, (unsigned long long)st.use_time_s);
    return 0;
}

static const char *addr_str(const struct ike_addr *a, char *buf, size_t cap)
{
    if (a->family != IKE_AF_INET && a->family != IKE_AF_INET6)
        return "-";
    return inet_ntop(a->family == IKE_AF_INET ? AF_INET : AF_INET6, a->bytes, buf, (socklen_t)cap);
}

static void print_event(const struct ike_kernel_event *ev)
{
    static const char *const dirs[] = {"in", "out", "fwd"};
    char a[64], b[64], c[64];

    switch (ev->type) {
    case IKE_KEV_EXPIRE_SOFT:
    case IKE_KEV_EXPIRE_HARD:
        printf("EXPIRE %s spi 0x%08x dst %s proto %u reqid %u\n",
               ev->type == IKE_KEV_EXPIRE_SOFT ? "soft" : "hard", ev->sa.spi,
               addr_str(&ev->sa.dst, a, sizeof(a)), ev->sa.proto, ev->reqid);
        break;
    case IKE_KEV_ACQUIRE:
        printf("ACQUIRE reqid %u dst %s sel %s/%u->%s/%u\n", ev->reqid,
               addr_str(&ev->sa.dst, a, sizeof(a)), addr_str(&ev->sel.src, b, sizeof(b)),
               ev->sel.src_prefix, addr_str(&ev->sel.dst, c, sizeof(c)), ev->sel.dst_prefix);
        break;
    case IKE_KEV_POLEXPIRE:
        printf("POLEXPIRE %s sel %s/%u->%s/%u\n", ev->dir < 3 ? dirs[ev->dir] : "?",
               addr_str(&ev->sel.src, b, sizeof(b)), ev->sel.src_prefix,
               addr_str(&ev->sel.dst, c, sizeof(c)), ev->sel.dst_prefix);
        break;
    }
}

static int watch_events(double seconds)
{
    struct ike_xfrm_events *e;
    struct ike_kernel_event ev[16];
    struct timespec now, end;

    if (ike_xfrm_events_new(&e) < 0) {
        fprintf(stderr, "xfrm-setup: cannot open the XFRM event socket\n");
        return 1;
    }
    printf("watching XFRM events for %g s\n", seconds);
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += (time_t)seconds;
    for (;;) {
        struct pollfd pfd = {.fd = ike_xfrm_events_fd(e), .events = POLLIN};
        bool lost = false;
        int n, ms;
        clock_gettime(CLOCK_MONOTONIC, &now);
        ms = (int)((end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000);
        if (ms <= 0)
            break;
        poll(&pfd, 1, ms);
        while ((n = ike_xfrm_events_read(e, ev, 16, &lost)) > 0)
            for (int i = 0; i < n; i++)
                print_event(&ev[i]);
        if (lost)
            printf("LOST events (socket overflow)\n");
    }
    ike_xfrm_events_free(e);
    return 0;
}

enum {
    O_SRC = 256,
    O_DST,
    O_SPI_OUT,
    O_SPI_IN,
    O_ALG,
    O_MODE,
    O_LNET,
    O_RNET,
    O_SOFT_B,
    O_HARD_B,
    O_SOFT_P,
    O_HARD_P,
    O_SOFT_T,
    O_HARD_T,
    O_SEED,
    O_REQID,
    O_REPLAY,
    O_ESN,
    O_DELETE,
    O_STATS,
    O_WATCH,
    O_HELP
};

static const struct option longopts[] = {
    {"src", 1, NULL, O_SRC},
    {"dst", 1, NULL, O_DST},
    {"spi-out", 1, NULL, O_SPI_OUT},
    {"spi-in", 1, NULL, O_SPI_IN},
    {"alg", 1, NULL, O_ALG},
    {"mode", 1, NULL, O_MODE},
    {"local-subnet", 1, NULL, O_LNET},
    {"remote-subnet", 1, NULL, O_RNET},
    {"soft-bytes", 1, NULL, O_SOFT_B},
    {"hard-bytes", 1, NULL, O_HARD_B},
    {"soft-packets", 1, NULL, O_SOFT_P},
    {"hard-packets", 1, NULL, O_HARD_P},
    {"soft-time", 1, NULL, O_SOFT_T},
    {"hard-time", 1, NULL, O_HARD_T},
    {"key-seed", 1, NULL, O_SEED},
    {"reqid", 1, NULL, O_REQID},
    {"replay-window", 1, NULL, O_REPLAY},
    {"esn", 0, NULL, O_ESN},
    {"delete-all", 0, NULL, O_DELETE},
    {"show-stats", 1, NULL, O_STATS},
    {"watch-events", 1, NULL, O_WATCH},
    {"help", 0, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

/* Returns 0, or 2 after printing what is wrong. */
/* The lifetime option c sets, or NULL. */
static uint64_t *life_field(int c, struct ike_lifetime *l)
{
    uint64_t *const f[] = {&l->soft_bytes,   &l->hard_bytes, &l->soft_packets,
                           &l->hard_packets, &l->soft_add_s, &l->hard_add_s};
    return c >= O_SOFT_B && c <= O_HARD_T ? f[c - O_SOFT_B] : NULL;
}

static int parse_opt(int c, const char *arg, struct opts *o)
{
    uint64_t *lf = life_field(c, &o->life);
    int bad = 0;

    if (lf) {
        *lf = num(arg);
        return 0;
    }
    switch (c) {
    case O_SRC:
        bad = parse_addr(arg, &o->src);
        break;
    case O_DST:
        bad = parse_addr(arg, &o->dst);
        break;
    case O_SPI_OUT:
        o->spi_out = (uint32_t)num(arg);
        break;
    case O_SPI_IN:
        o->spi_in = (uint32_t)num(arg);
        break;
    case O_ALG:
        o->alg = arg;
        break;
    case O_MODE:
        bad = strcmp(arg, "tunnel") && strcmp(arg, "transport");
        o->mode = strcmp(arg, "tunnel") == 0 ? IKE_MODE_TUNNEL : IKE_MODE_TRANSPORT;
        break;
    case O_LNET:
        bad = parse_cidr(arg, &o->lnet.src, &o->lnet.src_prefix);
        o->have_lnet = true;
        break;
    case O_RNET:
        bad = parse_cidr(arg, &o->rnet.src, &o->rnet.src_prefix);
        o->have_rnet = true;
        break;
    case O_SEED:
        o->seed = (uint32_t)num(arg);
        break;
    case O_REQID:
        o->reqid = (uint32_t)num(arg);
        break;
    case O_REPLAY:
        o->replay = (uint32_t)num(arg);
        break;
    case O_ESN:
        o->esn = true;
        break;
    default:
        bad = 1;
    }
    if (bad)
        fprintf(stderr, "xfrm-setup: bad value '%s' (see --help)\n", arg ? arg : "");
    return bad ? 2 : 0;
}

int main(int argc, char **argv)
{
    struct opts o = {
        .alg = "aes-gcm16", .mode = IKE_MODE_TUNNEL, .seed = 1, .reqid = 1, .replay = 32};
    struct ike_kernel_backend be;
    int c, action = 0, rc;
    const char *action_arg = NULL;
    struct ike_kernel_sa probe = {0};

    setvbuf(stdout, NULL, _IOLBF, 0); /* watchers are killed: flush each line */
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == O_HELP || c == 'h') {
            fputs(usage, stdout);
            return 0;
        }
        if (c == O_DELETE || c == O_STATS || c == O_WATCH) {
            action = c;
            action_arg = optarg;
        } else if (c == '?' || parse_opt(c, optarg, &o) != 0) {
            return 2;
        }
    }
    if (action == O_WATCH)
        return watch_events(strtod(action_arg, NULL));
    if (!action && (!o.src.family || o.src.family != o.dst.family || !o.spi_out || !o.spi_in ||
                    set_alg(&probe, o.alg, 0) < 0)) {
        fprintf(stderr, "xfrm-setup: need --src, --dst (same family), --spi-out, --spi-in and a "
                        "known --alg (see --help)\n");
        return 2;
    }
    explicit_bzero(&probe, sizeof(probe));
    if (ike_xfrm_backend_new(&be) < 0) {
        fprintf(stderr, "xfrm-setup: cannot open the XFRM netlink socket\n");
        return 1;
    }
    if (action == O_DELETE) {
        rc = ike_xfrm_flush(&be);
        if (rc < 0)
            fprintf(stderr, "xfrm-setup: %s\n", be.last_error(be.ctx));
        else
            printf("ok: flushed all ESP SAs and policies\n");
        rc = rc < 0 ? 1 : 0;
    } else if (action == O_STATS) {
        rc = show_stats(&be, (uint32_t)num(action_arg));
    } else {
        rc = install(&be, &o);
    }
    be.destroy(be.ctx);
    return rc;
}
