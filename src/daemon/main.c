/*
 * main.c: rekeyd's command line (DESIGN.md section 3, kept exactly), start
 * up in an order that reports every mistake on the terminal before the
 * daemon detaches (config, sockets, kernel backend, control socket), then
 * the libev loop, then the clean shutdown (SIGTERM: DELETEs answered or
 * 3 s, kernel state removed, exit 0).
 *
 * Must not print a secret, and must not detach before the config loaded.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ike/crypto.h"
#include "ike/err.h"
#include "ike/kernel_memory.h"
#include "ike/xfrm.h"
#include "rekeyd.h"

static const char usage[] =
    "usage: rekeyd [-c FILE] [-s FILE] [-S PATH] [-f] [-d] [--kernel xfrm|memory]\n"
    "              [--port N] [--natt-port N]\n"
    "  -c FILE            config file (default /etc/rekeyd.conf)\n"
    "  -s FILE            secrets file (default /etc/rekeyd.secrets; mode 0600)\n"
    "  -S PATH            control socket (default /run/rekeyd.ctl)\n"
    "  -f                 stay in the foreground and log to stderr\n"
    "  -d                 debug logging\n"
    "  --kernel xfrm|memory  kernel backend (default xfrm; memory = no kernel)\n"
    "  --port N           IKE UDP port (default 500)\n"
    "  --natt-port N      NAT-T UDP port (default 4500)\n"
    "  --help             this text\n";

static int parse_port(const char *s, uint16_t *port)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || v < 1 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

/* 0 = run, 1 = exit 0 (--help), -1 = usage error. */
static int parse_args(int argc, char **argv, struct rd_opts *o)
{
    static const struct option lo[] = {
        {"kernel", required_argument, NULL, 'k'},
        {"port", required_argument, NULL, 'p'},
        {"natt-port", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (struct rd_opts){"/etc/rekeyd.conf",
                          "/etc/rekeyd.secrets",
                          "/run/rekeyd.ctl",
                          false,
                          false,
                          false,
                          500,
                          4500};
    int c;
    while ((c = getopt_long(argc, argv, "c:s:S:fdh", lo, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->conf_path = optarg;
            break;
        case 's':
            o->secrets_path = optarg;
            break;
        case 'S':
            o->ctl_path = optarg;
            break;
        case 'f':
            o->foreground = true;
            break;
        case 'd':
            o->debug = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return 1;
        case 'k':
            if (strcmp(optarg, "xfrm") && strcmp(optarg, "memory")) {
                fprintf(stderr, "rekeyd: --kernel must be xfrm or memory\n");
                return -1;
            }
            o->kernel_memory = !strcmp(optarg, "memory");
            break;
        case 'p':
        case 'n':
            if (parse_port(optarg, c == 'p' ? &o->port : &o->natt_port) < 0) {
                fprintf(stderr, "rekeyd: bad port '%s'\n", optarg);
                return -1;
            }
            break;
        default:
            fputs(usage, stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rekeyd: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (o->port == o->natt_port) {
        fprintf(stderr, "rekeyd: --port and --natt-port must differ\n");
        return -1;
    }
    return 0;
}

static void csprng(const struct ike_crypto_ops *ops, uint8_t *buf, size_t n)
{
    if (ops->random(buf, n) < 0) {
        /* Never run IKE on predictable nonces or SPIs. */
        rd_log(IKE_LOG_ERROR, "CSPRNG failed; exiting");
        abort();
    }
}

/* The engine asks for a few bytes at a time (SPIs, nonces, IVs: ~8 calls
 * per exchange), and each RAND_bytes costs a getpid(2) for OpenSSL's fork
 * check: under the UDP benchmark that was ~5% of rekeyd's CPU. So draw
 * 512 bytes at once and hand them out; each byte is used once and wiped
 * as it is taken. daemon() leaves only the child running, so no two
 * processes ever hand out the same bytes. */
static void engine_random(void *ctx, uint8_t *buf, size_t n)
{
    static uint8_t pool[512];
    static size_t left;
    if (n > sizeof(pool) / 4) {
        csprng(ctx, buf, n);
        return;
    }
    if (left < n) {
        csprng(ctx, pool, sizeof(pool));
        left = sizeof(pool);
    }
    uint8_t *p = pool + sizeof(pool) - left;
    memcpy(buf, p, n);
    ike_wipe(p, n);
    left -= n;
}

static int open_kernel(struct rekeyd *d)
{
    if (d->o.kernel_memory) {
        d->kmem = ike_kmem_new();
        if (!d->kmem)
            return IKE_ERR_NOMEM;
        ike_kmem_backend_init(d->kmem, &d->kb, true);
        return 0;
    }
    int rc = ike_xfrm_backend_new(&d->kb);
    if (rc < 0) {
        rd_log(IKE_LOG_ERROR, "cannot open the XFRM netlink socket: %s", ike_err_str(rc));
        return rc;
    }
    rc = ike_xfrm_events_new(&d->xev);
    if (rc < 0)
        rd_log(IKE_LOG_ERROR, "cannot open the XFRM event socket: %s", ike_err_str(rc));
    return rc;
}

/* The engine asks for ESP counters only while a request goes unanswered
 * (ike/diag.h: IKE blocked or peer dead); the backend opens after it. */
static int esp_stats(void *ctx, const struct ike_sa_id *id, struct ike_sa_stats *st)
{
    const struct rekeyd *d = ctx;
    return d->kb.get_stats ? d->kb.get_stats(d->kb.ctx, id, st) : IKE_ERR_NOT_FOUND;
}

static int start(struct rekeyd *d)
{
    char err[IKE_CONF_ERR_MAX];
    struct ike_conf_opts co = {.ike_port = d->o.port};
    if (ike_conf_load(d->o.conf_path, d->o.secrets_path, &co, &d->conf, err, sizeof(err)) < 0) {
        rd_log(IKE_LOG_ERROR, "%s", err);
        return IKE_ERR_CONFIG;
    }
    struct ike_engine_opts eo;
    ike_engine_opts_defaults(&eo);
    eo.crypto = ike_crypto_openssl();
    eo.random = engine_random;
    eo.random_ctx = (void *)eo.crypto;
    eo.log = rd_engine_log;
    eo.log_ctx = d;
    eo.log_level = d->o.debug ? IKE_LOG_DEBUG : IKE_LOG_INFO;
    eo.esp_stats = esp_stats;
    eo.esp_stats_ctx = d;
    d->eng = ike_engine_new(&eo);
    if (!d->eng)
        return IKE_ERR_NOMEM;
    int rc = open_kernel(d);
    if (rc >= 0)
        rc = rd_udp_open(d);
    if (rc >= 0)
        rc = rd_ctl_open(d);
    if (rc >= 0)
        rc = rd_loop_init(d);
    if (rc < 0)
        return rc;
    rd_log_flush(); /* buffered lines must not be lost or duplicated by the fork */
    if (!d->o.foreground && daemon(0, 0) < 0) {
        rd_log(IKE_LOG_ERROR, "cannot detach: %m");
        return IKE_ERR_IO;
    }
    ev_loop_fork(d->loop);
    if (!d->o.foreground)
        rd_log_init(false, d->o.debug);
    rd_log(IKE_LOG_INFO,
           "rekeyd %s started: %zu conns (%zu ignored), IKE port %u, NAT-T port %u, "
           "kernel %s, control %s",
           "0.1.0", d->conf.n_conns, d->conf.n_ignored, d->o.port, d->o.natt_port, d->kb.name,
           d->o.ctl_path);
    return rd_conns_load(d);
}

int main(int argc, char **argv)
{
    static struct rekeyd d; /* large (failure table); not on the stack */
    int pa = parse_args(argc, argv, &d.o);
    if (pa)
        return pa > 0 ? 0 : 2;
    rd_log_init(true, d.o.debug); /* stderr until detached */
    d.ctl_fd = -1;
    for (int i = 0; i < RD_N_SOCKS; i++)
        d.socks[i].fd = -1;
    d.loop = ev_default_loop(EVFLAG_AUTO);
    if (!d.loop) {
        fprintf(stderr, "rekeyd: cannot create the event loop\n");
        return 1;
    }
    int rc = start(&d);
    if (rc >= 0) {
        ev_run(d.loop, 0);
        rd_log(IKE_LOG_INFO, "stopped");
    }
    if (d.eng && d.timer.cb) /* rd_loop_init ran */
        rd_loop_free(&d);
    rd_ctl_close(&d);
    rd_udp_close(&d);
    ike_engine_free(d.eng);
    if (d.kb.destroy)
        d.kb.destroy(d.kb.ctx);
    ike_conf_free(&d.conf);
    ev_loop_destroy(d.loop);
    return rc < 0 ? 1 : 0;
}
