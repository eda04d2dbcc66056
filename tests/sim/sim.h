/*
 * sim.h: the deterministic randomized simulation of rekeyd (DESIGN.md
 * section 5). Two engines, a virtual clock, a network that loses,
 * duplicates, reorders and delays datagrams and has outages, and one
 * in-memory kernel model per peer with simulated traffic, all driven by ONE
 * seed, so a seed replays exactly. The invariants (invariants.c) run after
 * every step; a violation stops the scenario and is replayed with the trace
 * on (sim.c).
 */
#ifndef IKE_SIM_H
#define IKE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ike/engine.h"
#include "ike/kernel_memory.h"

#define SIM_PEERS       2
#define SIM_MAX_ACTIONS 64
#define SIM_MAX_CAUSES  256
#define SIM_ORPHANS     16
#define SIM_MAX_OUT     64 /* tracked outstanding requests */
#define SIM_DROP_RING   512
#define SIM_EXP_RING    64
#define SIM_WHY         512

/* ---- deterministic randomness: splitmix64 ---- */
static inline uint64_t sim_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
/* Uniform in [lo, hi] (hi >= lo). */
static inline uint64_t sim_range(uint64_t *s, uint64_t lo, uint64_t hi)
{
    return lo + sim_next(s) % (hi - lo + 1);
}
/* True with probability pct_x100 / 10000. */
static inline bool sim_chance(uint64_t *s, uint32_t pct_x100)
{
    return sim_next(s) % 10000 < pct_x100;
}

/* ---- scenario features (all on by default; --without turns some off) ----
 * Masking is applied after every random draw, so the same seed with a
 * feature off is the same scenario minus that feature: bisect a failure
 * by turning features off one at a time. */
enum sim_feature {
    SF_BOTH_AUTO = 1u << 0,      /* both sides auto=start (simultaneous setups) */
    SF_FORCED = 1u << 1,         /* forced rekeys (ike_engine_rekey) */
    SF_SIMUL = 1u << 2,          /* forced rekeys on both sides at the same instant */
    SF_RESTART = 1u << 3,        /* restarts of one side */
    SF_OUTAGE = 1u << 4,         /* network outages */
    SF_LOSS = 1u << 5,           /* random loss and duplication */
    SF_REORDER = 1u << 6,        /* variable delay (reordering) */
    SF_NEW_CHILD = 1u << 7,      /* a second Child SA */
    SF_VOLUME = 1u << 8,         /* byte lifetimes */
    SF_TINY = 1u << 9,           /* lifetimes of 5-15 s */
    SF_MISMATCH = 1u << 10,      /* different lifetimes on each side */
    SF_IKE_REKEY = 1u << 11,     /* IKE SA lifetimes within the scenario, forced IKE rekeys */
    SF_CLOSE_RESTART = 1u << 12, /* closeaction=restart (else closeaction=clear) */
    SF_ALL = (1u << 13) - 1,
};
/* "both-auto,forced,..." -> mask; 0 on an unknown name. */
uint32_t sim_feature_parse(const char *list, bool *ok);
void sim_feature_print(uint32_t features, FILE *f);

/* ---- what the runner asks for ---- */
struct sim_opts {
    uint32_t features;       /* enum sim_feature bits that are on */
    bool rekey;              /* short lifetimes, forced rekeys, lifetime invariant */
    bool supervisor;         /* the sim re-initiates for auto=start sides that lost the tunnel */
    bool verbose;            /* print the trace live */
    bool record;             /* keep the trace ring (set on replay) */
    bool strict_errors;      /* an engine ERROR log line is a violation */
    bool keep_going;         /* trace violations but do not stop (diagnosis only) */
    bool lenient_continuity; /* grace G1 for CREATE_CHILD_SA too (diagnosis) */
    uint32_t trace_lines;
};

/* ---- one scenario, all drawn from the seed (scenario.c) ---- */
enum sim_action_type {
    SA_FORCE_REKEY = 1, /* arg: 0 child, 1 IKE; peer -1 = both at the same instant */
    SA_RESTART,         /* free the peer's engine and kernel, start anew */
    SA_NEW_CHILD,       /* ike_engine_initiate while up: an extra Child SA */
};

struct sim_action {
    uint64_t at_ms;
    uint8_t type;
    int peer; /* -1 = both */
    uint32_t arg;
    bool done;
};

struct sim_outage {
    uint64_t start_ms, end_ms;
    uint8_t dirs; /* bit 0: L->R dropped, bit 1: R->L dropped */
};

struct sim_side {
    bool auto_start; /* initiates at start and (supervisor) after losing the tunnel */
    uint64_t child_life_ms, ike_life_ms, margin_ms;
    uint32_t fuzz_pct;
    uint64_t life_bytes, margin_bytes;
    uint64_t dpd_delay_ms, dpd_timeout_ms;
    uint8_t dpd_action, close_action;
    uint32_t rt_base_ms, rt_factor_pct, rt_tries;
    bool pfs;
};

struct sim_scenario {
    uint64_t seed;
    uint64_t duration_ms; /* disturbances end before heal_ms */
    uint64_t heal_ms;     /* from here the network is perfect and nothing is injected */
    struct sim_side side[SIM_PEERS];
    uint32_t lat_min_ms, lat_max_ms; /* per-datagram delay: reorders when wide */
    uint32_t loss_x100, dup_x100;    /* probability * 100 (percent * 100) */
    uint32_t pkt_per_s, pkt_bytes;   /* simulated traffic each way */
    int n_out;
    struct sim_outage out[8];
    int n_act;
    struct sim_action act[SIM_MAX_ACTIONS];
    uint64_t recover_ms; /* R: the explicit recovery bound after a disturbance */
    uint32_t life_kind;  /* 0-3 equal, 4-7 mismatched, 8-9 tiny */
    int shutdown_peer;   /* -1 = both at once */
};

void sim_scenario_make(struct sim_scenario *sc, uint64_t seed, const struct sim_opts *o);
/* Parameters as text, for failure reports. */
void sim_scenario_print(const struct sim_scenario *sc, FILE *f);
/* Retransmit budget of a side: first send to giving up. */
uint64_t sim_rt_budget(const struct sim_side *s);

/* ---- the world (world.c) ---- */
struct sim_dgram {
    int to;
    uint64_t at_ms, seq;
    struct ike_endpoint src, dst;
    uint8_t *data;
    size_t len;
};

/* A request we saw go out and whose response has not reached its sender. */
struct sim_outreq {
    int from;
    uint64_t spi_i;
    uint32_t msg_id;
    uint8_t exchange;
    uint64_t first_ms;
};

/* A window that explains a broken tunnel: an outage, a restart, a peer
 * declared dead after losses. Excuses from start to end + recover_ms. */
struct sim_cause {
    uint64_t start_ms, end_ms;
    const char *what;
};

struct sim_world;

struct sim_peer {
    struct sim_world *w;
    int idx;
    const char *name;
    struct ike_engine *e;
    struct ike_kmem *kmem;
    struct ike_kernel_backend kb;
    struct ike_endpoint addr;
    struct ike_conn_cfg cfg;
    uint64_t rng;          /* this engine's random callback stream (from the seed) */
    uint64_t reinit_at_ms; /* supervisor: initiate at this time (0 = not armed) */
    bool stopped;          /* shut down: the supervisor leaves it alone */
    uint32_t rekeys_child, rekeys_ike, ups, downs, timeouts, kernel_errors;
    /* Hard expiries the kernel model reported (SPI, time). */
    uint32_t exp_spi[SIM_EXP_RING];
    uint64_t exp_ms[SIM_EXP_RING];
    uint32_t n_exp;
    /* IKE SAs this peer set up as initiator (SPIi) or saw established:
     * a timeout of anything else is a half-open responder SA expiring. */
    uint64_t known_spi[SIM_EXP_RING], known_spi_r[SIM_EXP_RING]; /* spi_r 0 = any */
    uint32_t n_known;
};

struct sim_world {
    const struct sim_opts *o;
    const struct sim_scenario *sc;
    uint64_t now_ms, t0_ms;
    uint64_t next_traffic_ms;
    uint64_t net_rng; /* network decisions */
    struct sim_peer p[SIM_PEERS];
    struct sim_dgram *q;
    size_t nq, qcap;
    uint64_t seq;
    bool perfect; /* settle phase: no loss, no dup, fixed delay */
    /* observations */
    struct sim_outreq outreq[SIM_MAX_OUT];
    int n_outreq;
    uint64_t drop_ms[SIM_DROP_RING];
    uint32_t n_drop;
    struct sim_cause cause[SIM_MAX_CAUSES];
    int n_cause;
    uint64_t delivered, dropped, steps;
    /* invariant state */
    bool armed[SIM_PEERS]; /* direction p -> other was up once */
    uint64_t broken_since[SIM_PEERS];
    /* the sender's outbound SA when the direction last worked, and when
     * its time lifetime ends (kernel seconds, 0 = none): G3 */
    uint32_t ok_spi[SIM_PEERS];
    uint64_t ok_end_s[SIM_PEERS];
    /* ... whether that SA had passed its soft limit, and the sender's
     * inbound SA of the same Child SA (its twin, RFC 7296 1.4.1): G3 */
    bool ok_soft[SIM_PEERS];
    uint32_t ok_twin[SIM_PEERS];
    /* ... the outbound SA that carried the direction before it, and when
     * the sender moved off it (G3 for the twin, seed 211371) */
    uint32_t ok_prev[SIM_PEERS];
    uint64_t ok_moved_ms[SIM_PEERS];
    /* IKE SAs one peer declared dead while the other, without DPD, may
     * keep them (G4 in invariants.c) */
    uint64_t orphan_i[SIM_ORPHANS], orphan_r[SIM_ORPHANS];
    uint32_t n_orphan;
    /* When recent IKE SAs came up (by SPIi), and when one last went down
     * at the end of its lifetime: G3 */
    uint64_t ike_up_i[SIM_ORPHANS], ike_up_ms[SIM_ORPHANS];
    uint32_t n_ike_up;
    uint64_t ike_life_down_ms;
    /* when a request was last refused with TEMPORARY_FAILURE (2.25): G5 */
    uint64_t tempfail_ms[SIM_ORPHANS];
    uint32_t n_tempfail;
    bool shutting_down;
    uint32_t checks;
    /* the first violation; `failed` stops the run, `violated` counts it
     * (with --keep-going the run goes on but the scenario still fails) */
    bool failed, violated;
    char why[SIM_WHY];
    uint64_t fail_ms;
    /* trace ring */
    char **trace;
    uint32_t n_trace, trace_cap;
};

int sim_world_init(struct sim_world *w, const struct sim_scenario *sc, const struct sim_opts *o);
void sim_world_free(struct sim_world *w);
/* Start (or restart) peer i: a fresh engine and kernel model. */
int sim_peer_start(struct sim_world *w, int i);
void sim_peer_stop(struct sim_world *w, int i);
/* Drain every peer's outputs: datagrams to the network, ops to kernels. */
void sim_drain(struct sim_world *w);
/* Advance to the next event not after until_ms and process it; false when
 * nothing is due before until_ms (time is then set to until_ms). */
bool sim_step(struct sim_world *w, uint64_t until_ms);
/* Nothing in flight, no request outstanding. */
bool sim_quiet(const struct sim_world *w);
bool sim_outage_now(const struct sim_world *w, int from);
void sim_tracef(struct sim_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_trace_print(const struct sim_world *w, FILE *f, uint32_t last_n);
void sim_add_cause(struct sim_world *w, uint64_t start_ms, uint64_t end_ms, const char *what);
/* Datagrams dropped between the peers in [from_ms, to_ms]. */
uint32_t sim_drops_between(const struct sim_world *w, uint64_t from_ms, uint64_t to_ms);
bool sim_was_hard_expired(const struct sim_peer *p, uint32_t spi, uint64_t since_ms);

/* ---- invariants (invariants.c) ---- */
void sim_fail(struct sim_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* After every step. */
void sim_check_step(struct sim_world *w);
/* Continuity, agreement and "tunnel up" at the end of the settle phase. */
void sim_check_settled(struct sim_world *w);
/* Both kernels empty and no SA left after shutdown + settle. */
void sim_check_shutdown(struct sim_world *w);
/* A kernel hard expiry reached peer i (lifetime invariant). */
void sim_check_hard_expiry(struct sim_world *w, int i, const struct ike_kernel_event *ev);
/* A peer gave up on the other (IKE_DOWN with IKE_ERR_TIMEOUT). */
void sim_check_timeout(struct sim_world *w, int i, const struct ike_event *ev);
bool sim_excused(const struct sim_world *w, uint64_t at_ms);

#endif
