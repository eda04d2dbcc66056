/*
 * harness.h: two (or more) engines in one process, a simulated clock, a
 * simulated network and the in-memory kernel (DESIGN.md section 5 in small).
 *
 * Every datagram an engine sends goes into the network queue with a
 * delivery time; a per-test hook may drop, duplicate or delay it. Kernel
 * operations are applied at once to the sending peer's kernel model, and a
 * failure there fails the test. Randomness is a seeded splitmix64 per peer,
 * so every run of a test is the same run.
 */
#ifndef IKE_TEST_HARNESS_H
#define IKE_TEST_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "ike/engine.h"
#include "ike/kernel_memory.h"

#define H_MAX_EVENTS 4096
#define H_MAX_INFLIGHT 64
#define H_LOG_LINES 400

struct h_peer {
    const char *name;
    struct ike_engine *e;
    struct ike_kmem *kmem;
    struct ike_kernel_backend kb;
    struct ike_endpoint addr;
    uint64_t rng;
    struct ike_event ev[H_MAX_EVENTS];
    int n_ev;
    int sent;      /* datagrams sent */
    int kernel_ops;
    int kernel_errors;
    char *log[H_LOG_LINES];
    int n_log;
};

struct h_dgram {
    int to;    /* peer index */
    uint64_t at_ms;
    struct ike_endpoint src, dst;
    uint8_t *data;
    size_t len;
};

/* What to do with a datagram: return H_DELIVER, H_DROP or H_DUP. */
enum { H_DELIVER = 0, H_DROP, H_DUP, H_CORRUPT /* flip the last byte */ };
struct h_world;
typedef int (*h_filter_fn)(struct h_world *w, int from, const uint8_t *data, size_t len,
                           void *ctx);

struct h_world {
    struct h_peer p[2];
    uint64_t now_ms;
    uint32_t latency_ms;
    struct h_dgram q[H_MAX_INFLIGHT];
    int nq;
    h_filter_fn filter;
    void *filter_ctx;
    int delivered, dropped;
    bool verbose; /* print logs as they happen (H_VERBOSE=1) */
    /* When set, continuity is checked after every delivery and timer run;
     * the first violation is kept in violation[]. */
    bool check_continuity;
    char violation[256];
};

/* A connection with sensible test defaults between p[0] (left, 10.0.0.1,
 * subnet 10.1.0.0/16) and p[1] (right, 10.0.0.2, 10.2.0.0/16), PSK
 * "test-psk", ike=aes256gcm16-prfsha256-x25519, esp=aes256gcm16. */
void h_conn_defaults(struct ike_conn_cfg *c, bool left_side);

void h_init(struct h_world *w, uint64_t seed);
/* Use IPv6 addresses (2001:db8::1/2, subnets 2001:db8:N::/48) for the
 * following h_init and h_conn_defaults calls. */
void h_use_v6(bool on);
/* The seeded random callback (ctx = struct h_peer *). */
void h_test_rnd(void *ctx, uint8_t *buf, size_t n);
void h_free(struct h_world *w);
/* Add the same connection (from each side's view) to both peers. */
void h_add_conns(struct h_world *w, const struct ike_conn_cfg *left, const struct ike_conn_cfg *right);
/* Drain outputs of both peers (datagrams to the network, ops to kernels). */
void h_drain(struct h_world *w);
/* Deliver due datagrams and fire due timers until nothing happens before
 * now + max_ms; returns the time reached. */
uint64_t h_run(struct h_world *w, uint64_t max_ms);
/* Deliver only the datagrams in flight now (one hop), no timers. */
int h_deliver_one_hop(struct h_world *w);
void h_advance(struct h_world *w, uint64_t ms); /* move the clock, fire timers */

int h_count_events(const struct h_peer *p, uint8_t type);
const struct ike_event *h_last_event(const struct h_peer *p, uint8_t type);
bool h_log_has(const struct h_peer *p, const char *needle);
/* Number of established IKE SAs / installed Child SAs an engine reports. */
int h_ike_count(const struct h_peer *p, const char *state);
int h_child_count(const struct h_peer *p);
/* Each installed child's outbound SA is installed inbound at the other
 * peer's kernel with the same keys, and policies exist: returns the number
 * of such matching pairs, or -1 on a mismatch (message in *why). */
int h_check_tunnel(struct h_world *w, char *why, size_t cap);
/* Inject raw bytes as a datagram to peer `to` now (from the other peer). */
void h_inject(struct h_world *w, int to, const uint8_t *data, size_t len);

#endif

/* A filter acting on datagrams that match (from peer, exchange, response):
 * the first `skip` matches pass, then `count` matches get `action`. */
struct h_rule {
    int from;            /* -1 = any */
    uint8_t exchange;    /* 0 = any */
    int response;        /* -1 = any, 0 request, 1 response */
    int skip, count;
    int action;          /* H_DROP or H_DUP */
    int matched;         /* how many matched so far */
};
int h_rule_filter(struct h_world *w, int from, const uint8_t *data, size_t len, void *ctx);
/* Install a rule (the world keeps the pointer). */
void h_set_rule(struct h_world *w, struct h_rule *r);

/* Continuity (DESIGN.md 5): for each peer and each outbound policy in its
 * kernel, the SA the policy pins is installed at the peer's kernel as
 * inbound with the same keys. Returns the number of directions checked or
 * -1 (message in why). */
int h_check_continuity(struct h_world *w, char *why, size_t cap);
/* The SPI the outbound policy of peer i pins (first one found), 0 if none. */
uint32_t h_pinned_out_spi(struct h_world *w, int i);

/* Deliver the datagrams in flight in an order chosen by `order` (a number
 * read as mixed-radix digits: at each step the next in-flight datagram is
 * index order % n, then order /= n), 1 ms per step, running timers only
 * when nothing is in flight; stops after max_ms of virtual time. Every
 * order of a scenario is reachable by enumerating `order`. */
void h_run_ordered(struct h_world *w, uint64_t order, uint64_t max_ms);
