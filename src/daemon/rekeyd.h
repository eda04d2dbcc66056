/*
 * rekeyd.h: the daemon's state shared by its files (main.c, loop.c, udp.c,
 * ctl_server.c, status.c, log.c). Internal: nothing outside src/daemon
 * includes it.
 */
#ifndef REKEYD_H
#define REKEYD_H

#include <ev.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/conf.h"
#include "ike/engine.h"
#include "ike/kernel.h"

struct ike_kmem;
struct ike_xfrm_events;

struct rd_opts {
    const char *conf_path, *secrets_path, *ctl_path;
    bool foreground, debug;
    bool kernel_memory; /* --kernel memory (else xfrm) */
    uint16_t port, natt_port;
};

#define RD_N_SOCKS 4 /* v4 IKE, v4 NAT-T, v6 IKE, v6 NAT-T */

struct rd_sock {
    ev_io io;
    int fd;
    int family; /* AF_INET / AF_INET6 */
    uint16_t port;
    bool natt; /* datagrams carry the non-ESP marker (RFC 3948 2.2) */
};

/* What `rekeyctl diagnose` and `status` know about a conn beyond the
 * engine's SAs: the last failure, in words. */
struct rd_failure {
    char conn[IKE_CONN_NAME_MAX];
    char text[160];
    uint64_t at_ms;
};
#define RD_MAX_FAILURES 256

struct rd_client;

/* A growable text buffer (status output). */
struct rd_buf {
    char *p;
    size_t len, cap;
    bool oom;
};
void rd_buf_printf(struct rd_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rd_buf_free(struct rd_buf *b);

struct rekeyd {
    struct rd_opts o;
    struct ev_loop *loop;
    struct ike_engine *eng;
    struct ike_kernel_backend kb;
    struct ike_kmem *kmem; /* --kernel memory */
    struct ike_xfrm_events *xev;
    ev_io xev_io;
    struct ike_conf conf;
    ev_timer timer; /* THE engine timer (re-armed after every engine call) */
    struct rd_sock socks[RD_N_SOCKS];
    ev_signal sig_term, sig_int, sig_hup;
    bool shutting_down;
    ev_timer shutdown_timer; /* the 3 s bound on a clean shutdown */
    int ctl_fd;
    ev_io ctl_io;
    struct rd_client *clients;
    size_t n_clients;
    struct rd_failure failures[RD_MAX_FAILURES];
    size_t n_failures;
    int exit_code;
};

/* log.c */
void rd_log_init(bool foreground, bool debug);
void rd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool rd_log_enabled(int level);
void rd_log_flush(void); /* write buffered lines (once per loop turn) */
void rd_engine_log(void *ctx, int level, const char *line);

/* loop.c */
uint64_t rd_now_ms(void);
void rd_after_engine(struct rekeyd *d); /* drain outputs, re-arm the timer */
int rd_loop_init(struct rekeyd *d);
void rd_shutdown(struct rekeyd *d);
int rd_reload(struct rekeyd *d, char *err, size_t cap);
int rd_conns_load(struct rekeyd *d);
const struct rd_failure *rd_failure_of(const struct rekeyd *d, const char *conn);
void rd_loop_free(struct rekeyd *d);

/* udp.c */
int rd_udp_open(struct rekeyd *d);
void rd_udp_send(struct rekeyd *d, const struct ike_endpoint *src, const struct ike_endpoint *dst,
                 const uint8_t *data, size_t len);
void rd_udp_close(struct rekeyd *d);
/* The source address the routing table picks towards dst (for left unset). */
bool rd_udp_route_src(const struct ike_addr *dst, struct ike_addr *src);

/* ctl_server.c */
int rd_ctl_open(struct rekeyd *d);
void rd_ctl_close(struct rekeyd *d);
/* One line to every `rekeyctl watch` client. */
void rd_ctl_broadcast(struct rekeyd *d, const char *line);

/* status.c */
void rd_status_text(const struct rekeyd *d, struct rd_buf *b);
void rd_status_json(const struct rekeyd *d, struct rd_buf *b);
void rd_json_str(struct rd_buf *b, const char *s);
/* The SAs of conn `only` (NULL = all): text lines, or JSON objects
 * separated by commas. */
void rd_status_sas(const struct rekeyd *d, const char *only, bool json, struct rd_buf *b);
const char *rd_auto_name(uint8_t auto_mode);
size_t rd_sa_count(const struct rekeyd *d, const char *conn);

/* diagnose.c */
#define RD_FAILURE_TEXT 400
void rd_diagnose(const struct rekeyd *d, const char *conn, bool json, struct rd_buf *b);
/* The newest failure of conn in one sentence (the engine's classified
 * record, else the daemon's event record); false when none. */
bool rd_last_failure(const struct rekeyd *d, const char *conn, char *buf, size_t cap,
                     uint64_t *at_ms);

#endif
