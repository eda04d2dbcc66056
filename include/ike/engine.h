/*
 * ike/engine.h: the sans-I/O IKEv2 engine (src/core).
 *
 * The engine never touches a socket, a clock, a file or the kernel
 * (DESIGN.md section 2). The caller feeds it datagrams, control requests and
 * kernel events, each with `now_ms` (any monotonic millisecond clock); the
 * engine queues outputs (datagrams to send, kernel operations to apply,
 * events) that the caller drains with ike_engine_pop_output(), and says when
 * it next wants to be called (ike_engine_next_deadline()). After EVERY call
 * into the engine the caller drains the outputs and re-arms its one timer.
 * (ngtcp2's read_pkt / write_pkt / get_expiry / handle_expiry contract.)
 *
 * Randomness (SPIs, nonces, IVs, DH private keys, jitter) comes only from the
 * injected callback, so a seeded run is deterministic.
 *
 * Ownership: the engine owns its SAs and a copy of each connection config;
 * an output's datagram bytes stay valid until the next call of
 * ike_engine_pop_output() or ike_engine_free().
 *
 * Errors: IKE_ERR_INVALID_ARG, IKE_ERR_NOMEM, IKE_ERR_NO_CONFIG,
 * IKE_ERR_BUSY, IKE_ERR_NO_SA, and the wire/crypto codes for a datagram that
 * was dropped (the return value of ike_engine_recv is informational: every
 * datagram ends in a verdict the engine logs; a negative value means it was
 * dropped or refused).
 */
#ifndef IKE_ENGINE_H
#define IKE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/config.h"
#include "ike/crypto.h"
#include "ike/kernel.h"
#include "ike/types.h"

struct ike_engine;

enum ike_log_level { IKE_LOG_ERROR = 0, IKE_LOG_WARN, IKE_LOG_INFO, IKE_LOG_DEBUG };

struct ike_engine_opts {
    const struct ike_crypto_ops *crypto;
    void (*random)(void *ctx, uint8_t *buf, size_t n);
    void *random_ctx;
    /* One finished line, no trailing newline; called only for levels
     * <= log_level. Never contains key material. */
    void (*log)(void *ctx, int level, const char *line);
    void *log_ctx;
    int log_level;
    /* Half-open IKE SAs above which the responder demands a COOKIE
     * (RFC 7296 2.6); 0 = always, UINT32_MAX = never. */
    uint32_t cookie_threshold;
    /* How long a responder keeps a half-open SA waiting for IKE_AUTH. */
    uint32_t half_open_timeout_ms;
    /* Initial capacity hint for the SA tables (grown as needed). */
    uint32_t expected_sas;
    /* Optional: the kernel's counters of an SA (the backend's get_stats).
     * Asked only while a request goes unanswered, to tell a blocked IKE
     * path (ESP still arrives) from a dead peer (ike/diag.h). NULL: not
     * known, a silent peer counts as dead. */
    int (*esp_stats)(void *ctx, const struct ike_sa_id *id, struct ike_sa_stats *st);
    void *esp_stats_ctx;
};

void ike_engine_opts_defaults(struct ike_engine_opts *o);

struct ike_engine *ike_engine_new(const struct ike_engine_opts *opts);
/* Frees everything without sending anything (see ike_engine_shutdown). */
void ike_engine_free(struct ike_engine *e);

/* Add or replace a connection (copied; the PSK copy is wiped on free). */
int ike_engine_add_conn(struct ike_engine *e, const struct ike_conn_cfg *c);
int ike_engine_remove_conn(struct ike_engine *e, const char *name, uint64_t now_ms);

/* A received datagram (non-ESP marker already stripped). */
int ike_engine_recv(struct ike_engine *e, const uint8_t *data, size_t len,
                    const struct ike_endpoint *from, const struct ike_endpoint *to,
                    uint64_t now_ms);

/* Control requests (rekeyctl up/down/rekey). */
int ike_engine_initiate(struct ike_engine *e, const char *conn, uint64_t now_ms);
int ike_engine_terminate(struct ike_engine *e, const char *conn, uint64_t now_ms);
/* Rekey now (rekeyctl rekey CONN [--ike|--child]): every installed Child SA
 * of the connection, or its IKE SA. IKE_ERR_NO_SA when nothing is up. */
int ike_engine_rekey(struct ike_engine *e, const char *conn, bool ike, uint64_t now_ms);
/* Delete every SA cleanly (DELETE to peers, kernel state removed). */
void ike_engine_shutdown(struct ike_engine *e, uint64_t now_ms);

int ike_engine_kernel_event(struct ike_engine *e, const struct ike_kernel_event *ev,
                            uint64_t now_ms);

/* Milliseconds (same clock as now_ms) of the next deadline; UINT64_MAX when
 * nothing is scheduled. */
uint64_t ike_engine_next_deadline(const struct ike_engine *e);
/* Run every timer due at now_ms. */
void ike_engine_handle_deadline(struct ike_engine *e, uint64_t now_ms);

/* ---- outputs ---- */
enum ike_output_type { IKE_OUT_DATAGRAM = 1, IKE_OUT_KERNEL, IKE_OUT_EVENT };

enum ike_event_type {
    IKE_EV_IKE_UP = 1,   /* IKE SA established */
    IKE_EV_IKE_DOWN,     /* IKE SA gone (err says why, 0 = clean delete) */
    IKE_EV_CHILD_UP,     /* Child SA installed */
    IKE_EV_CHILD_DOWN,   /* Child SA removed */
    IKE_EV_CHILD_FAILED, /* Child SA could not be created (err says why) */
    IKE_EV_CHILD_REKEYED, /* child_spi_* = the new SA, old_spi_in = the old one */
    IKE_EV_IKE_REKEYED,   /* ike_spi_* = the new IKE SA, old_ike_spi_* = the old */
    IKE_EV_REKEY_FAILED,  /* a rekey attempt failed (err says why); retried */
};

struct ike_event {
    uint8_t type;
    int err;                      /* IKE_ERR_* cause, 0 = none */
    char conn[IKE_CONN_NAME_MAX]; /* connection name */
    uint64_t ike_spi_i, ike_spi_r;
    uint32_t child_spi_in, child_spi_out;
    uint32_t old_spi_in;               /* CHILD_REKEYED */
    uint64_t old_ike_spi_i, old_ike_spi_r; /* IKE_REKEYED */
};

struct ike_output {
    uint8_t type;
    union {
        struct {
            struct ike_endpoint src, dst;
            const uint8_t *data; /* valid until the next pop */
            size_t len;
        } dgram;
        struct ike_kernel_op kop;
        struct ike_event ev;
    } u;
};

/* Take the oldest queued output; false when the queue is empty. */
bool ike_engine_pop_output(struct ike_engine *e, struct ike_output *out);

/* ---- status (for rekeyctl and tests) ---- */
struct ike_sa_info {
    char conn[IKE_CONN_NAME_MAX];
    uint64_t spi_i, spi_r;
    bool initiator;
    const char *state;
    struct ike_endpoint local, remote;
    uint16_t encr, encr_keylen, integ, prf, dh;
    size_t n_children;
    uint64_t rekey_at_ms, expire_at_ms; /* 0 = not scheduled */
    uint32_t rekeys;                    /* IKE rekeys of this tunnel so far */
};

struct ike_child_info {
    uint32_t spi_in, spi_out;
    const char *state;
    uint16_t encr, encr_keylen, integ, dh;
    uint32_t reqid;
    uint64_t rekey_at_ms, expire_at_ms; /* 0 = not scheduled */
    uint32_t rekeys;                    /* rekeys of this Child SA's lineage */
};

/* Visit every IKE SA (and its Child SAs). The callback must not call back
 * into the engine. */
void ike_engine_foreach(const struct ike_engine *e,
                        void (*ike_cb)(void *ctx, const struct ike_sa_info *sa),
                        void (*child_cb)(void *ctx, const struct ike_sa_info *sa,
                                         const struct ike_child_info *child),
                        void *ctx);

/* The same for one connection's IKE SAs only, without looking at the
 * others (IKE_ERR_NO_CONFIG if no such connection). */
int ike_engine_foreach_conn(struct ike_engine *e, const char *conn,
                            void (*ike_cb)(void *ctx, const struct ike_sa_info *sa),
                            void (*child_cb)(void *ctx, const struct ike_sa_info *sa,
                                             const struct ike_child_info *child),
                            void *ctx);
/* IKE SAs of one connection (any state), without a walk. */
size_t ike_engine_conn_sa_count(struct ike_engine *e, const char *conn);
/* IKE SAs of one connection that are up, going, or being set up by US: a
 * responder's half-open SA (the peer's IKE_SA_INIT answered, no IKE_AUTH
 * yet) is not counted. Only the peer can complete it (RFC 7296 2.1) and it
 * lingers for the half-open timeout after the peer gave up, so a caller
 * that keeps a tunnel up (auto=start) asks this, not the count above,
 * whether to initiate: initiating beside a live peer setup costs at worst
 * a duplicate IKE SA, which both ends handle. Walks the conn's SAs. */
size_t ike_engine_conn_own_sa_count(struct ike_engine *e, const char *conn);

/* Keys a Child SA uses, for tests that compare both sides (not logged). */
int ike_engine_child_keys(const struct ike_engine *e, uint32_t spi_in, struct ike_key *encr_in,
                          struct ike_key *integ_in, struct ike_key *encr_out,
                          struct ike_key *integ_out);

size_t ike_engine_ike_sa_count(const struct ike_engine *e);

/* Text of an address ("10.0.0.1", "2001:db8::1", "%any") or endpoint
 * ("10.0.0.1[500]") for logs; returns buf. 46 bytes hold any address,
 * 54 any endpoint. */
#define IKE_ADDR_STRLEN 46
#define IKE_ENDPOINT_STRLEN 54
const char *ike_addr_fmt(const struct ike_addr *a, char *buf, size_t cap);
const char *ike_endpoint_fmt(const struct ike_endpoint *ep, char *buf, size_t cap);

#endif /* IKE_ENGINE_H */
