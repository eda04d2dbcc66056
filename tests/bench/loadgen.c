/*
 * loadgen.c: the load generator of the UDP benchmark (tests/bench/udp-bench,
 * BENCHMARKS.md): one engine, one process, N initiator connections, each
 * from its own loopback address (127.1.0.0 upwards, all local on `lo`) to
 * one responder (rekeyd, `right=%any`), over one UDP socket that sends with
 * IP_PKTINFO as each SA's source and receives for all of them.
 *
 * Phases: set up all N IKE SAs (W exchanges outstanding at a time), then
 * rounds of Child rekeys (without PFS, with X25519) and IKE rekeys. Per
 * phase it prints exchanges/s, the responder's CPU per exchange (from
 * /proc/PID/schedstat, or utime+stime of /proc/PID/stat) and its RSS.
 * It exits 1 when a phase does not complete (an SA failed or timed out),
 * never because of a figure. Kernel ops of our side are dropped: the
 * load generator has no kernel state and carries no traffic.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ike/crypto.h"
#include "ike/engine.h"
#include "ike/err.h"
#include "test_props.h"

static struct {
    uint32_t sas, window, rounds;
    uint16_t port, lport;
    uint8_t server[4];
    const char *psk;
    long pid;
    int stall_s;
} opt = {1000, 64, 5, 0, 0, {127, 0, 0, 1}, "loadgen-psk", 0, 30};

static struct ike_engine *eng;
static int fd = -1;
static uint64_t ev[16], bad_ev, dg_out, dg_in, send_err;

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "loadgen: FAILED: " __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                                       \
        exit(1);                                                                                   \
    } while (0)

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double self_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the responder, seen through /proc ---- */
static double peer_cpu_s(void)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/schedstat", opt.pid);
    FILE *f = fopen(path, "r");
    unsigned long long ns;
    if (f && fscanf(f, "%llu", &ns) == 1) { /* on-CPU time in ns */
        fclose(f);
        return (double)ns / 1e9;
    }
    if (f)
        fclose(f);
    snprintf(path, sizeof(path), "/proc/%ld/stat", opt.pid);
    if (!(f = fopen(path, "r")) || !fgets(buf, sizeof(buf), f))
        FAIL("cannot read %s", path);
    fclose(f);
    /* utime and stime are fields 14 and 15, after the ")" of comm */
    const char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        FAIL("cannot parse %s", path);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

struct rss {
    long rss, anon, file;
};

static void peer_rss(struct rss *r)
{
    char path[64], line[256];
    memset(r, 0, sizeof(*r));
    snprintf(path, sizeof(path), "/proc/%ld/status", opt.pid);
    FILE *f = fopen(path, "r");
    if (!f)
        FAIL("cannot read %s (is the responder running?)", path);
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "VmRSS:", 6))
            r->rss = atol(line + 6);
        else if (!strncmp(line, "RssAnon:", 8))
            r->anon = atol(line + 8);
        else if (!strncmp(line, "RssFile:", 8))
            r->file = atol(line + 8);
    }
    fclose(f);
}

/* UDP datagrams the kernel dropped for a full receive buffer, system-wide
 * (Udp RcvbufErrors in /proc/net/snmp; /proc/net/udp hides other sockets
 * on some kernels). On an otherwise idle loopback these are ours or the
 * responder's. */
static long udp_drops(void)
{
    FILE *f = fopen("/proc/net/snmp", "r");
    char names[512], vals[512];
    long drops = -1;
    while (f && fgets(names, sizeof(names), f) && fgets(vals, sizeof(vals), f)) {
        if (strncmp(names, "Udp: ", 5) || strncmp(vals, "Udp: ", 5))
            continue;
        char *sn, *sv, *n = strtok_r(names + 5, " \n", &sn), *v = strtok_r(vals + 5, " \n", &sv);
        for (; n && v; n = strtok_r(NULL, " \n", &sn), v = strtok_r(NULL, " \n", &sv))
            if (!strcmp(n, "RcvbufErrors"))
                drops = atol(v);
        break;
    }
    if (f)
        fclose(f);
    return drops;
}

/* ---- UDP: one socket for every SA, source chosen per datagram ---- */
static void sock_open(void)
{
    int one = 1, buf = 8 << 20;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(opt.lport)};
    if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        FAIL("UDP socket on port %u: %s", opt.lport, strerror(errno));
    /* Ours must not be the bottleneck: ask for 8 MiB (root may exceed
     * rmem_max with the FORCE variant). */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
}

static void send_dgram(const struct ike_endpoint *src, const struct ike_endpoint *dst,
                       const uint8_t *data, size_t len)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(dst->port)};
    memcpy(&to.sin_addr, dst->addr.bytes, 4);
    union {
        char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
        struct cmsghdr align;
    } cb;
    memset(&cb, 0, sizeof(cb));
    struct in_pktinfo pi = {0};
    memcpy(&pi.ipi_spec_dst, src->addr.bytes, 4);
    cb.align.cmsg_level = IPPROTO_IP;
    cb.align.cmsg_type = IP_PKTINFO;
    cb.align.cmsg_len = CMSG_LEN(sizeof(pi));
    memcpy(CMSG_DATA(&cb.align), &pi, sizeof(pi));
    struct iovec iov = {(void *)data, len};
    struct msghdr mh = {.msg_name = &to,
                        .msg_namelen = sizeof(to),
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = cb.buf,
                        .msg_controllen = sizeof(cb.buf)};
    if (sendmsg(fd, &mh, 0) < 0)
        send_err++; /* the engine retransmits */
    else
        dg_out++;
}

static void drain(void)
{
    struct ike_output o;
    while (ike_engine_pop_output(eng, &o)) {
        if (o.type == IKE_OUT_DATAGRAM) {
            send_dgram(&o.u.dgram.src, &o.u.dgram.dst, o.u.dgram.data, o.u.dgram.len);
        } else if (o.type == IKE_OUT_EVENT) {
            uint8_t t = o.u.ev.type;
            ev[t & 15]++;
            if (t == IKE_EV_CHILD_FAILED || t == IKE_EV_REKEY_FAILED ||
                (t == IKE_EV_IKE_DOWN && o.u.ev.err)) {
                if (bad_ev++ < 5)
                    fprintf(stderr, "loadgen: %s: event %u: %s\n", o.u.ev.conn, t,
                            ike_err_str(o.u.ev.err));
            }
        } /* kernel ops: no kernel here */
    }
}

/* Read what arrived; true if anything did. */
static bool receive(void)
{
    static uint8_t buf[65536];
    bool any = false;
    for (;;) {
        struct sockaddr_in from;
        union {
            char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
            struct cmsghdr align;
        } cb;
        struct iovec iov = {buf, sizeof(buf)};
        struct msghdr mh = {.msg_name = &from,
                            .msg_namelen = sizeof(from),
                            .msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = cb.buf,
                            .msg_controllen = sizeof(cb.buf)};
        ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
        if (n < 0)
            return any;
        struct ike_endpoint src = {.addr.family = IKE_AF_INET, .port = ntohs(from.sin_port)};
        struct ike_endpoint dst = {.addr.family = IKE_AF_INET, .port = opt.lport};
        memcpy(src.addr.bytes, &from.sin_addr, 4);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        if (!c || c->cmsg_level != IPPROTO_IP || c->cmsg_type != IP_PKTINFO)
            continue;
        struct in_pktinfo pi;
        memcpy(&pi, CMSG_DATA(c), sizeof(pi));
        memcpy(dst.addr.bytes, &pi.ipi_addr, 4);
        dg_in++;
        any = true;
        ike_engine_recv(eng, buf, (size_t)n, &src, &dst, mono_ms());
        drain();
    }
}

/* One turn of the loop: wait for datagrams or the engine's next deadline. */
static bool turn(int max_wait_ms)
{
    uint64_t now = mono_ms(), dl = ike_engine_next_deadline(eng);
    int wait = max_wait_ms;
    if (dl <= now)
        wait = 0;
    else if (dl - now < (uint64_t)wait)
        wait = (int)(dl - now);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    poll(&p, 1, wait);
    bool got = receive();
    now = mono_ms();
    if (ike_engine_next_deadline(eng) <= now) {
        ike_engine_handle_deadline(eng, now);
        drain();
    }
    return got;
}

/* ---- connections ---- */
static void local_addr(uint32_t i, struct ike_endpoint *ep)
{
    memset(ep, 0, sizeof(*ep));
    ep->addr.family = IKE_AF_INET;
    ep->addr.bytes[0] = 127;
    ep->addr.bytes[1] = (uint8_t)(1 + (i >> 16));
    ep->addr.bytes[2] = (uint8_t)(i >> 8);
    ep->addr.bytes[3] = (uint8_t)i;
    ep->port = opt.lport;
}

static void conn_cfg(uint32_t i, uint16_t pfs, struct ike_conn_cfg *c)
{
    ike_conn_cfg_defaults(c);
    snprintf(c->name, sizeof(c->name), "c%u", i);
    size_t n = strlen(opt.psk);
    if (n > sizeof(c->psk))
        FAIL("PSK too long");
    memcpy(c->psk, opt.psk, n);
    c->psk_len = n;
    local_addr(i, &c->local);
    c->remote.addr.family = IKE_AF_INET;
    memcpy(c->remote.addr.bytes, opt.server, 4);
    c->remote.port = opt.port;
    c->auto_mode = IKE_AUTO_ADD;
    c->rekey = false; /* rekeys only when this program asks */
    c->dpd_delay_ms = 0;
    c->retransmit_base_ms = 2000;
    t_default_props(c);
    if (pfs) {
        c->esp[0].n_dh = 1;
        c->esp[0].dh[0] = pfs;
    }
}

static void set_conns(uint16_t pfs)
{
    struct ike_conn_cfg c;
    for (uint32_t i = 0; i < opt.sas; i++) {
        conn_cfg(i, pfs, &c);
        int rc = ike_engine_add_conn(eng, &c);
        ike_conn_cfg_clear(&c);
        if (rc < 0)
            FAIL("add_conn c%u: %s", i, ike_err_str(rc));
    }
}

static void rnd(void *ctx, uint8_t *buf, size_t n)
{
    const struct ike_crypto_ops *ops = ctx;
    if (ops->random(buf, n) < 0)
        abort();
}

/* ---- phases ---- */
enum { K_SETUP, K_CHILD, K_IKE };
struct phase {
    const char *name;
    int kind;
    uint16_t pfs;
};

static void run_phase(const struct phase *ph)
{
    static uint16_t cur_pfs;
    if (ph->kind == K_CHILD && ph->pfs != cur_pfs) {
        set_conns(ph->pfs); /* not timed: a configuration change */
        cur_pfs = ph->pfs;
    }
    uint8_t want = ph->kind == K_SETUP   ? IKE_EV_IKE_UP
                   : ph->kind == K_CHILD ? IKE_EV_CHILD_REKEYED
                                         : IKE_EV_IKE_REKEYED;
    memset(ev, 0, sizeof(ev));
    bad_ev = dg_out = dg_in = send_err = 0;
    long drops0 = udp_drops();
    double cpu0 = peer_cpu_s(), me0 = self_cpu_s(), t0 = mono_s();
    uint32_t next = 0;
    uint64_t last_progress = mono_ms(), seen = 0;
    while (ev[want] + bad_ev < opt.sas) {
        while (next < opt.sas && next - ev[want] < opt.window) {
            char name[16];
            snprintf(name, sizeof(name), "c%u", next++);
            int rc = ph->kind == K_SETUP
                         ? ike_engine_initiate(eng, name, mono_ms())
                         : ike_engine_rekey(eng, name, ph->kind == K_IKE, mono_ms());
            if (rc < 0)
                FAIL("%s: starting %s: %s", ph->name, name, ike_err_str(rc));
            drain();
        }
        turn(100);
        if (ev[want] != seen) {
            seen = ev[want];
            last_progress = mono_ms();
        } else if (mono_ms() - last_progress > (uint64_t)opt.stall_s * 1000) {
            FAIL("%s: stalled at %llu of %u for %d s", ph->name, (unsigned long long)seen, opt.sas,
                 opt.stall_s);
        }
    }
    double t1 = mono_s();
    /* The DELETEs of the old SAs follow the last rekey: let them finish
     * so the responder's CPU covers them (idle time is not CPU). */
    for (uint64_t quiet_since = mono_ms(); mono_ms() - quiet_since < 300;)
        if (turn(50))
            quiet_since = mono_ms();
    double cpu1 = peer_cpu_s(), me1 = self_cpu_s();
    long drops1 = udp_drops();
    struct rss r;
    peer_rss(&r);
    double n = opt.sas;
    printf("%-14s %7u %8.2f %9.0f %9.1f %9.1f %6.2f %6ld %9ld %8ld %7ld %5llu\n", ph->name, opt.sas,
           t1 - t0, n / (t1 - t0), (cpu1 - cpu0) * 1e6 / n, (me1 - me0) * 1e6 / n,
           (double)dg_out / n, drops0 >= 0 ? drops1 - drops0 : -1, r.rss, r.anon, r.file,
           (unsigned long long)bad_ev);
    fflush(stdout);
    if (bad_ev)
        FAIL("%s: %llu failure events", ph->name, (unsigned long long)bad_ev);
}

static void usage(void)
{
    fprintf(stderr, "usage: loadgen --port P --local-port L --pid RESPONDER_PID [--sas N]\n"
                    "               [--window W] [--rounds R] [--psk S] [--stall S]\n");
    exit(2);
}

static void parse(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--sas"))
            opt.sas = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--window"))
            opt.window = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--rounds"))
            opt.rounds = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--port"))
            opt.port = (uint16_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--local-port"))
            opt.lport = (uint16_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--pid"))
            opt.pid = strtol(v, NULL, 10);
        else if (!strcmp(a, "--psk"))
            opt.psk = v;
        else if (!strcmp(a, "--stall"))
            opt.stall_s = atoi(v);
        else
            usage();
    }
    if (argc % 2 == 0 || !opt.sas || opt.sas > 65536 * 200 || !opt.window || !opt.port ||
        !opt.lport || opt.pid <= 0)
        usage();
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    struct ike_engine_opts o;
    ike_engine_opts_defaults(&o);
    o.crypto = ike_crypto_openssl();
    o.random = rnd;
    o.random_ctx = (void *)o.crypto;
    o.expected_sas = opt.sas;
    if (!(eng = ike_engine_new(&o)))
        FAIL("ike_engine_new");
    set_conns(0);
    sock_open();
    struct rss r;
    peer_rss(&r);
    printf("# responder pid %ld before: RSS %ld KiB (anon %ld, file %ld); %u SAs from "
           "127.1.0.0+ port %u to %u.%u.%u.%u port %u, window %u\n",
           opt.pid, r.rss, r.anon, r.file, opt.sas, opt.lport, opt.server[0], opt.server[1],
           opt.server[2], opt.server[3], opt.port, opt.window);
    printf("# resp-us = responder CPU (on-CPU time of its process) per exchange; gen-us = this "
           "program's; dg/x = datagrams we sent per exchange (> 2: retransmits);\n"
           "# drops = UDP datagrams dropped for a full receive buffer (system-wide)\n");
    printf("%-14s %7s %8s %9s %9s %9s %6s %6s %9s %8s %7s %5s\n", "phase", "SAs", "wall-s", "per-s",
           "resp-us", "gen-us", "dg/x", "drops", "rss-KiB", "anon", "file", "fail");
    long rss0 = r.rss;
    run_phase(&(struct phase){"setup", K_SETUP, 0});
    peer_rss(&r);
    long rss_setup = r.rss;
    static const struct phase rounds[] = {
        {"child-nopfs", K_CHILD, 0},
        {"child-x25519", K_CHILD, CURVE25519},
        {"ike-rekey", K_IKE, 0},
    };
    for (uint32_t k = 0; k < opt.rounds; k++)
        run_phase(&rounds[k % 3]);
    peer_rss(&r);
    printf("# responder RSS per IKE SA + Child SA: %.0f B after setup, %.0f B after %u rekey "
           "rounds\n",
           (double)(rss_setup - rss0) * 1024 / opt.sas, (double)(r.rss - rss0) * 1024 / opt.sas,
           opt.rounds);
    if (ike_engine_ike_sa_count(eng) != opt.sas)
        FAIL("%zu IKE SAs on our side at the end, want %u", ike_engine_ike_sa_count(eng), opt.sas);
    ike_engine_free(eng);
    close(fd);
    return 0;
}
