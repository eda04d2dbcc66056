/*
 * core.h: private structures of the engine (src/core only).
 *
 * An engine owns connections, IKE SAs (each owning its Child SAs), three
 * hash maps (IKE SA by our SPI, half-open responder SA by the peer's SPI,
 * Child SA by inbound SPI), a deadline heap of IKE SAs, and the output queue.
 * SA objects come from free lists and are reused after delete, so a rekey
 * round does not grow memory (DESIGN.md section 6).
 *
 * Nothing here may include an I/O, clock or crypto header.
 */
#ifndef IKE_CORE_H
#define IKE_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "ike/engine.h"
#include "ike/keys.h"
#include "ike/wire.h"

#define IKE_MSG_MAX       8192 /* largest message we build (no fragmentation) */
#define IKE_NONCE_LEN     32   /* nonces we send */
#define IKE_KE_MAX        1024 /* largest KE public value (MODP-8192) */
#define IKE_PENDING_TASKS 4    /* queued requests while one is outstanding */
#define IKE_DELETE_BATCH  7    /* more Child SAs one queued DELETE may carry */
#define IKE_GONE_SPIS     8    /* unknown SPIs the peer deleted, kept per request (B34) */

/* ---- hash map: u64 key -> pointer, open addressing (map.c) ---- */
struct ike_map {
    uint64_t *keys;
    void **vals;
    uint32_t cap; /* power of two */
    uint32_t n;
    uint32_t tombs;
};
int ike_map_init(struct ike_map *m, uint32_t cap_hint);
void ike_map_clear(struct ike_map *m);
void *ike_map_get(const struct ike_map *m, uint64_t key);
int ike_map_put(struct ike_map *m, uint64_t key, void *val); /* EXISTS if present */
void ike_map_del(struct ike_map *m, uint64_t key);
/* Change the value of a present key in place (never rehashes). */
void ike_map_replace(struct ike_map *m, uint64_t key, void *val);
/* Value in slot i (for iteration over 0..cap), NULL when empty. */
void *ike_map_at(const struct ike_map *m, uint32_t i);

/* ---- states (one transition function each, in ike_sa.c / child_sa.c) ---- */
enum ike_sa_state {
    IKE_SA_CREATED = 0,
    IKE_SA_INIT_SENT, /* initiator: IKE_SA_INIT request out */
    IKE_SA_INIT_DONE, /* responder: IKE_SA_INIT answered, waiting IKE_AUTH */
    IKE_SA_AUTH_SENT, /* initiator: IKE_AUTH request out */
    IKE_SA_ESTABLISHED,
    IKE_SA_REKEYED,  /* replaced by a rekey; its DELETE pending */
    IKE_SA_DELETING, /* our DELETE of the IKE SA is out */
    IKE_SA_DEAD,     /* about to be freed */
    IKE_SA_STATE_COUNT
};

enum ike_child_state {
    CHILD_CREATING = 0, /* negotiated in an outstanding exchange */
    CHILD_INSTALLED,    /* in the kernel, carrying traffic */
    CHILD_REKEYING,     /* our rekey of it is outstanding */
    CHILD_REKEYED,      /* replaced by a new child; its DELETE pending */
    CHILD_DELETING,     /* our DELETE is out */
    CHILD_DEAD,
    CHILD_STATE_COUNT
};

/* What an outstanding request of ours was (its response is processed by
 * the matching handler). */
enum ike_task_type {
    TASK_NONE = 0,
    TASK_IKE_INIT,
    TASK_IKE_AUTH,
    TASK_CHILD_CREATE,
    TASK_CHILD_DELETE,
    TASK_IKE_DELETE,
    TASK_DPD,
    TASK_CHILD_REKEY,
    TASK_IKE_REKEY,
};

#define IKE_LOW_NONCE_MAX 64 /* nonce prefix kept for collision checks (2.8.1) */

/* The selectors a Child SA keeps per side: the wire allows IKE_MAX_TS,
 * but narrowing against our one configured subnet leaves one in practice;
 * four inline keep a child small (DESIGN.md 6). */
#define IKE_CHILD_TS_MAX 4
struct ike_ts_set {
    uint8_t n;
    struct ike_ts ts[IKE_CHILD_TS_MAX];
};

struct ike_conn {
    struct ike_conn_cfg cfg;
    uint32_t reqid;
    uint32_t restart_tries;       /* failed re-establishments since the last success */
    struct ike_diag_conn *diag;   /* failure records and rekey check (diag_rec.c), lazily */
    struct ike_policy_ref *trap;  /* auto=route: the trap policy (child_sa.c) */
    struct ike_ts_set trap_ts[2]; /* its selectors: local, remote */
    struct ike_conn *next;
    struct ike_conn *name_next; /* same name hash (sa_index.c) */
    struct ike_sa *sas;         /* every IKE SA of this connection */
    uint32_t n_sas, n_established;
};

/* Negotiated algorithms of an SA (IKE or Child). */
struct ike_algs {
    uint16_t encr, encr_keylen, integ, prf, dh;
    bool esn;
};

struct ike_child {
    enum ike_child_state state;
    uint32_t spi_in, spi_out; /* host order */
    uint8_t proto;            /* IKE_PROTO_ESP */
    struct ike_algs algs;
    struct ike_ts_set ts_local, ts_remote; /* narrowed selectors */
    struct ike_child_keys keys;
    bool we_initiated; /* we sent the CREATE_CHILD_SA / IKE_AUTH request */
    uint8_t prop_num;  /* responder: the peer's proposal number we chose */
    /* Rekeying (rekey.c). On an old child: the child our completed rekey
     * made (a colliding rekey of the peer's may still come). On a new
     * child: the lowest nonce of the exchange that made it, and whether a
     * collision made it redundant. A collision seen while our rekey is
     * outstanding is kept on that task, which outlives the old child. */
    struct ike_child *rekey_new; /* on an old child: what our completed rekey made */
    uint8_t low_nonce[IKE_LOW_NONCE_MAX];
    uint8_t low_nonce_len;
    bool redundant;
    /* Our redundant SA of a collision we lost, kept carrying traffic until
     * the peer's surviving SA is confirmed, then deleted (rekey.c). */
    bool delete_when_confirmed;
    /* The peer has proved it holds this SA: we got the response of the
     * exchange that made it, or the peer sent a later request on its IKE
     * SA (window size 1: it has our response). Outbound traffic is moved
     * only to confirmed SAs while an older one still works. */
    bool confirmed;
    /* The peer answered our rekey of this SA with CHILD_SA_NOT_FOUND after
     * its own rekey of it (rekey.c): it is the peer's to delete, and its
     * end of life is the last moment to carry our traffic (timers.c). */
    bool peer_dropped;
    /* We made this SA by answering the peer's request, and the peer sent
     * that request again after our answer (recv.c): the answer was lost,
     * and the peer holds the SA only once a later retransmission of its
     * gets the answer resent (RFC 7296 2.1), at its own back-off. */
    bool answer_lost;
    /* Our outbound SA reached its hard limit (the kernel removed it) while
     * the inbound one is still valid: the child is DELETING, its inbound SA
     * kept until the DELETE's response (RFC 7296 1.4.1), delete_unsent
     * until that DELETE is built (child_sa.c ike_child_out_expired). */
    bool out_gone, delete_unsent;
    uint32_t rekeys;      /* rekeys in this child's lineage */
    uint32_t rekey_fails; /* consecutive failed rekey attempts */
    uint32_t rekey_busy;  /* attempts refused as busy (TEMPORARY_FAILURE), for diag */
    /* Our rekey was refused with TEMPORARY_FAILURE (2.25): the retry is
     * pulled forward when the IKE rekey that caused it completes. */
    bool rekey_deferred;
    /* That retry is the urgent slot of a mutual refusal (timers.c): its
     * request gets an early extra copy (B82). */
    bool mutual_urgent;
    uint64_t delete_at_ms; /* REKEYED: delete it ourselves if the peer does not */
    uint32_t reqid;
    uint64_t rekey_at_ms, expire_at_ms;
    uint64_t installed_ms; /* when we installed it (as responder: answered) */
    struct ike_sa *ike;
    struct ike_child *next;     /* in ike->children, or the free list */
    struct ike_policy_ref *pol; /* the policies this child uses */
    struct ike_child *pol_next; /* other users of the same policies */
};

/* Policies are shared by every Child SA with the same reqid and traffic
 * selectors (a second child, or old and new SA across a rekey): installed
 * with the first user, removed with the last, the outbound one pinned to
 * one user's outbound SPI. */
struct ike_policy_ref {
    uint64_t key;
    struct ike_child *users; /* newest first */
    uint32_t pinned_spi;
    bool trap; /* auto=route: with no users, the outbound policy is a trap */
};

/* A pending exchange we will initiate, or the one outstanding. */
struct ike_task {
    uint8_t type;                /* enum ike_task_type */
    struct ike_child *child;     /* CHILD_CREATE: the child being made */
    uint32_t del_spi;            /* CHILD_DELETE / CHILD_REKEY: old child's inbound SPI */
    struct ike_sa *new_sa;       /* IKE_REKEY: the IKE SA being made */
    struct ike_child *collision; /* CHILD_REKEY: the peer's rekey of the same SA */
    struct ike_ke *ke;           /* CHILD_CREATE with PFS: our private half */
    uint16_t dh;                 /* CHILD_CREATE: group offered (0 = none) */
    uint8_t nonce[IKE_NONCE_LEN];
    /* CHILD_DELETE: more children deleted in the same INFORMATIONAL (one
     * Delete payload may name several SPIs, RFC 7296 1.4.1, 3.11), taken
     * in while the queue was full (window.c ike_task_queue). */
    uint32_t more_del[IKE_DELETE_BATCH];
    uint8_t n_more;
    bool resend; /* CHILD_DELETE again on the new IKE SA, of DELETING children (B41) */
    /* CHILD_REKEY: when the request left, the peer had proved it holds the
     * old SA under this IKE SA, so CHILD_SA_NOT_FOUND means it lost it. */
    bool peer_holds;
    /* CHILD_REKEY: when the request left, the peer provably lacked the old
     * SA: our answer that made it was lost (answer_lost), so
     * CHILD_SA_NOT_FOUND is final until the peer's next retransmission. */
    bool peer_lacks;
    /* CHILD_REKEY: the urgent slot of a mutual refusal (timers.c): one
     * extra copy goes 1.5 round trips after the first send (urgent, until
     * sent; copied after, so no round-trip sample is taken from it). */
    bool urgent, copied;
};

/* What an IKE SA needs only while it is being set up: about 1.7 KB that
 * an established SA does not carry (DESIGN.md 6: <= 3.2 KB per SA). */
struct ike_setup {
    struct ike_ke *ke;             /* our private half of the KE */
    uint8_t *init_req, *init_resp; /* RealMessage1 / RealMessage2 */
    size_t init_req_len, init_resp_len;
    uint8_t nonce_i[IKE_NONCE_MAX], nonce_r[IKE_NONCE_MAX];
    uint8_t nonce_i_len, nonce_r_len;
    uint8_t cookie[IKE_COOKIE_MAX];
    uint8_t cookie_len;
    uint16_t ke_group;          /* group of the KE we send in IKE_SA_INIT */
    uint16_t ke_pub_group;      /* group of ke / ke_pub */
    uint8_t ke_pub[IKE_KE_MAX]; /* our public value, kept for a COOKIE retry */
    size_t ke_pub_len;
    struct ike_child *first_child; /* negotiated in IKE_AUTH */
    bool auth_resent;              /* our IKE_AUTH request went out more than once */
};

struct ike_sa {
    enum ike_sa_state state;
    struct ike_conn *conn;
    uint64_t spi_i, spi_r;
    bool initiator; /* original initiator of this IKE SA */
    struct ike_endpoint local, remote;
    struct ike_algs algs;
    struct ike_sa_keys keys;
    struct ike_encr_info encr;
    struct ike_integ_info integ;

    /* Setup material (IKE_SA_INIT/IKE_AUTH, or the CREATE_CHILD_SA that
     * made a rekeyed IKE SA): on the heap, freed once the SA is up. */
    struct ike_setup *setup;

    /* Our requests (window size 1, RFC 7296 2.3). */
    uint32_t msg_id_out;      /* ID of our next (or outstanding) request */
    struct ike_task out_task; /* type NONE when nothing outstanding */
    uint8_t *out_req;         /* bytes of the outstanding request */
    size_t out_req_len;
    uint32_t retransmits;
    struct ike_task pending[IKE_PENDING_TASKS];
    uint8_t n_pending;

    /* Peer's requests. */
    uint32_t msg_id_in; /* ID we expect next from the peer */
    uint8_t *last_resp; /* our last response, for retransmits */
    size_t last_resp_len;
    bool have_last_resp;

    struct ike_child *children;

    /* IKE rekeying (rekey.c), like the Child fields. */
    struct ike_sa *rekey_new, *collision; /* on the old SA */
    struct ike_sa *rekey_old;             /* on a new SA: the SA it replaces */
    uint8_t low_nonce[IKE_LOW_NONCE_MAX];
    uint8_t low_nonce_len;
    bool redundant;
    /* On the peer's redundant SA of a collision we won: our SPI of the old
     * SA, deleted only when this one goes (B12, rekey_ike.c). */
    uint64_t delete_old_after;
    /* A new IKE SA we made as rekey responder: none of our requests go on
     * it until the peer proves it has keyed it (anything heard on it, or
     * its DELETE of the old SA, whose release_on_delete names it), at
     * most until hold_until_ms (rekey_ike.c). */
    uint64_t hold_until_ms, release_on_delete;
    /* On that new IKE SA: our SPI of the SA it replaced, REKEYED until
     * the peer's DELETE; if the peer is declared dead on this one, that
     * DELETE will not come and the old SA goes with it (ike_sa.c). */
    uint64_t passive_old;
    /* On an SA a rekey replaced: our SPI of the one its children moved to
     * (rekey_ike.c move_children): a Child DELETE still arriving on this
     * one, or still unanswered here, concerns them there (B41). */
    uint64_t successor;
    /* We refused the peer's IKE rekey (TEMPORARY_FAILURE, busy with a
     * Child exchange of ours, 2.25.1): start no new Child rekey or create
     * until then, so its retry gets through (window.c). */
    uint64_t yield_until_ms;
    /* The mirror case: while our IKE rekey was outstanding we refused the
     * peer's Child rekey or create (TEMPORARY_FAILURE, 2.25.2). If the
     * peer refuses that IKE rekey in turn, the refusal was mutual and our
     * IKE rekey retries first, unless the peer's Child exchange comes
     * first (mutual_wait): then it waits for the DELETE that ends it
     * (wait_peer_child; timers.c). All cleared by each new IKE rekey
     * request. */
    bool refused_peer_child, mutual_wait, wait_peer_child;
    /* Our outbound SPI of the child whose rekey we so refused (0: none, or
     * a create): only the DELETE that follows its rekey releases the wait
     * (B82b, timers.c ike_timers_peer_child_done). */
    uint32_t refused_child_out;
    /* Child SPIs (our outbound) the peer deleted while our request
     * gone_msg_id, a CREATE_CHILD_SA, was outstanding, before we knew
     * them: its response may name one (B34, B56: a ring, exchange_child.c). */
    uint32_t gone_spi[IKE_GONE_SPIS], gone_msg_id;
    uint8_t gone_next; /* the ring's oldest entry, replaced next */
    bool replaced;     /* a rekey moved its children away: no IKE_DOWN event */
    bool half_open;    /* counted in e->n_half_open (responder before IKE_AUTH) */
    uint32_t rekeys, rekey_fails;
    uint32_t rekey_busy; /* attempts refused as busy (TEMPORARY_FAILURE), for diag */

    /* Timers (timers.c owns the rules). 0 = not armed. */
    uint64_t retransmit_at_ms, dpd_at_ms, half_open_at_ms, expire_at_ms;
    uint64_t rekey_at_ms, delete_at_ms;
    /* REKEYED, waiting for the peer's DELETE (delete_at_ms armed): ask on
     * it whether the peer still holds it (rekey_ike.c, B72). */
    uint64_t probe_at_ms;
    uint64_t recreate_at_ms; /* a Child SA to make again once the queue has room */
    /* When a Child SA of ours last reached its hard lifetime here (its
     * DELETE then goes to the peer): a peer's DELETE that crosses it and
     * leaves no child is no close (exchange_info.c, seeds 68131, 39210). */
    uint64_t child_expired_ms;
    uint64_t last_heard_ms;
    /* Our latest request's first send, and the round trip of the latest
     * one answered without a retransmission (0: none yet). */
    uint64_t req_sent_ms, rtt_ms;
    /* When we last refused the peer's IKE rekey as busy with a Child
     * exchange of ours (2.25.1): if the peer refuses that Child exchange
     * in turn, the refusal was mutual (timers.c). */
    uint64_t refused_ike_ms;
    uint64_t created_ms, established_ms; /* INITIAL_CONTACT tells stale from new */
    uint64_t diag_esp_in;  /* inbound ESP packets at our request's latest retransmit */
    uint64_t diag_sent_ms; /* when that request first went out (diag_rec.c) */
    uint64_t deadline_ms;  /* min of the above and the children's */
    uint32_t heap_idx;     /* position in the deadline heap, UINT32_MAX = none */

    struct ike_sa *next_free;
    struct ike_sa *conn_next, *conn_prev; /* in conn->sas (sa_index.c) */
    struct ike_sa *peer_next, *peer_prev; /* established, same (conn, peer) */
};

/* A heap entry keeps its SA's deadline next to the pointer, so sifting
 * compares within the array instead of reading a cache-cold SA per level
 * (at 100k SAs each of those reads was a cache miss). */
struct ike_heap_ent {
    uint64_t at; /* == sa->deadline_ms */
    struct ike_sa *sa;
};

struct ike_outq_item {
    struct ike_output out;
    uint8_t *buf; /* owned datagram bytes */
};

struct ike_engine {
    struct ike_engine_opts opts;
    const struct ike_crypto_ops *c;
    struct ike_conn *conns;
    uint32_t next_reqid;

    struct ike_map sa_by_spi;       /* our SPI -> struct ike_sa */
    struct ike_map halfopen_by_spi; /* peer's SPIi -> responder SA, kept while it lives
                                     * so a late duplicate IKE_SA_INIT is recognised */
    struct ike_map child_by_spi;    /* inbound SPI -> struct ike_child */
    struct ike_map pol_refs;        /* policy key -> struct ike_policy_ref */
    struct ike_map child_by_out;    /* (outbound SPI, peer) -> struct ike_child */
    struct ike_map conn_by_name;    /* name hash -> struct ike_conn (sa_index.c) */
    struct ike_map sa_by_peer;      /* (conn, peer address) hash -> established SA */
    size_t n_sas, n_half_open;

    struct ike_heap_ent *heap; /* min-heap on deadline_ms (timers.c) */
    uint32_t heap_n, heap_cap;

    struct ike_sa *free_sas;
    struct ike_child *free_children;

    struct ike_outq_item *outq;
    uint32_t outq_head, outq_n, outq_cap;
    uint8_t *last_popped; /* freed on the next pop */

    uint8_t cookie_secret[32];
    uint64_t now_ms;    /* time of the current call into the engine */
    bool shutting_down; /* no restarts while shutting down or freeing */

    /* Scratch buffers, one message at a time. */
    uint8_t plain[IKE_MSG_MAX];
    uint8_t msg[IKE_MSG_MAX];
};

/* ---- engine.c ---- */
void ike_log(struct ike_engine *e, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool ike_log_on(const struct ike_engine *e, int level);
void ike_random(struct ike_engine *e, void *buf, size_t n);
int ike_out_datagram(struct ike_engine *e, const struct ike_endpoint *src,
                     const struct ike_endpoint *dst, const uint8_t *data, size_t len);
int ike_out_kernel(struct ike_engine *e, const struct ike_kernel_op *op);
/* Queue an event; the returned pointer may be filled further until the
 * next output is queued. */
struct ike_event *ike_out_event(struct ike_engine *e, struct ike_sa *sa, struct ike_child *child,
                                uint8_t type, int err);
struct ike_conn *ike_conn_find(struct ike_engine *e, const char *name);
struct ike_conn *ike_conn_match(struct ike_engine *e, const struct ike_endpoint *local,
                                const struct ike_endpoint *remote);

/* ---- sa_index.c: lookups by connection and peer, never a walk ---- */
int ike_index_conn_add(struct ike_engine *e, struct ike_conn *c);
void ike_index_conn_del(struct ike_engine *e, struct ike_conn *c);
void ike_index_sa_add(struct ike_sa *sa);
void ike_index_sa_del(struct ike_sa *sa);
/* Called on every IKE SA state change (ike_sa_set_state). */
void ike_index_state(struct ike_engine *e, struct ike_sa *sa, enum ike_sa_state from,
                     enum ike_sa_state to);
/* IKE SAs of a connection with a peer address, ESTABLISHED, REKEYED or
 * DELETING (every SA the peer may still hold). */
struct ike_sa *ike_index_peer_first(struct ike_engine *e, const struct ike_conn *c,
                                    const struct ike_addr *a);
struct ike_sa *ike_index_peer_next(const struct ike_sa *sa);

/* ---- ike_sa.c ---- */
struct ike_sa *ike_sa_new(struct ike_engine *e, struct ike_conn *conn, bool initiator);
/* The peer's setup, not ours: a responder SA with IKE_SA_INIT answered and
 * no IKE_AUTH yet. Only the peer's initiator can complete it (RFC 7296
 * 2.1: the initiator alone retransmits), and nothing tells us when that
 * initiator gives up: the SA then lingers until the half-open timeout
 * (2.6, 30 s). So it never means "our tunnel is on its way". */
static inline bool ike_sa_peers_half_open(const struct ike_sa *sa)
{
    return !sa->initiator && sa->state == IKE_SA_INIT_DONE;
}
void ike_sa_destroy(struct ike_engine *e, struct ike_sa *sa, int err);
void ike_sa_set_state(struct ike_engine *e, struct ike_sa *sa, enum ike_sa_state to,
                      const char *reason);
const char *ike_sa_state_name(enum ike_sa_state s);
uint64_t ike_sa_our_spi(const struct ike_sa *sa);
void ike_sa_free_setup(struct ike_engine *e, struct ike_sa *sa);
void ike_sa_restart(struct ike_engine *e, struct ike_conn *conn);
/* Retransmissions exhausted on `dead`: drop every other IKE SA with its peer. */
void ike_sa_peer_dead(struct ike_engine *e, struct ike_sa *dead);
struct ike_sa *ike_sa_find(struct ike_engine *e, uint64_t our_spi);

/* ---- child_sa.c ---- */
struct ike_child *ike_child_new(struct ike_engine *e, struct ike_sa *sa);
void ike_child_attach(struct ike_engine *e, struct ike_sa *sa, struct ike_child *ch);
void ike_child_set_state(struct ike_engine *e, struct ike_child *ch, enum ike_child_state to,
                         const char *reason);
/* Install in the kernel. pin_out: point the shared outbound policy at this
 * child now (a rekey initiator); a rekey responder waits (rekey.c). */
int ike_child_install(struct ike_engine *e, struct ike_child *ch, uint64_t now_ms, bool pin_out);
bool ike_child_in_kernel(const struct ike_child *ch);
/* Point the outbound policy at this child's outbound SA. */
void ike_child_pin_outbound(struct ike_engine *e, struct ike_child *ch);
void ike_child_unpin(struct ike_engine *e, struct ike_child *ch);
const struct ike_child *ike_child_unconfirmed_successor(const struct ike_child *ch);
void ike_child_confirm(struct ike_engine *e, struct ike_child *ch);
bool ike_child_policy_carried(struct ike_engine *e, const struct ike_child *ch);
/* auto=route (child_sa.c): install or remove a conn's trap policy. */
int ike_policy_trap(struct ike_engine *e, struct ike_conn *c, bool on);
/* ACQUIRE from a trap: start the conn's tunnel unless one is on its way
 * (trap.c). */
int ike_trap_acquire(struct ike_engine *e, const struct ike_kernel_event *ev);
void ike_child_remove(struct ike_engine *e, struct ike_child *ch, int err);
void ike_child_release(struct ike_engine *e, struct ike_child *ch); /* unattached */
struct ike_child *ike_child_by_out_spi(struct ike_sa *sa, uint32_t spi_out);
/* The child whose outbound SA is (dst, spi), for the kernel's expiry events. */
struct ike_child *ike_child_find_out(struct ike_engine *e, const struct ike_addr *dst,
                                     uint32_t spi);
/* Hard expiry: remove it now, tell the peer, and make a new one if the
 * connection wants the tunnel up and nothing else carries it. */
void ike_child_hard_expired(struct ike_engine *e, struct ike_child *ch, uint64_t now_ms);
void ike_child_out_expired(struct ike_engine *e, struct ike_child *ch, uint64_t now_ms);
bool ike_child_recreate(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms);
void ike_child_retire(struct ike_engine *e, struct ike_child *ch, const char *why, uint64_t now_ms);
uint32_t ike_child_alloc_spi(struct ike_engine *e);
const char *ike_child_state_name(enum ike_child_state s);

/* ---- timers.c ---- */
void ike_timers_update(struct ike_engine *e, struct ike_sa *sa);
void ike_timers_remove(struct ike_engine *e, struct ike_sa *sa);
void ike_timers_request_sent(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms);
void ike_timers_response_received(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms);
void ike_timers_heard(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms);
void ike_timers_established(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms);
void ike_timers_child_installed(struct ike_engine *e, struct ike_child *ch, uint64_t now_ms);
/* Rekey time offset (ms after install) with rekeymargin and rekeyfuzz
 * jitter; 0 = no rekey. Sets ch->rekey_at_ms / expire_at_ms from now. */
uint64_t ike_timers_child_lifetime(struct ike_engine *e, struct ike_child *ch, uint64_t now_ms);
/* Send our outstanding request once more outside the back-off schedule
 * (RFC 7296 2.4 leaves it to us; the peer answers a copy it has read from
 * its cache, 2.1), logging why; the schedule itself is the caller's. */
void ike_timers_send_again(struct ike_engine *e, struct ike_sa *sa, const char *why);
/* How long a peer with our settings keeps retransmitting one request. */
uint64_t ike_timers_retransmit_budget(const struct ike_conn_cfg *c);
/* The same for a peer whose settings we do not know: ours + 2 s. */
uint64_t ike_timers_peer_budget(const struct ike_conn_cfg *c);
/* Our latest clean round-trip sample on sa (200 ms without one), at least
 * 100 ms. */
uint64_t ike_timers_rtt(const struct ike_sa *sa);
void ike_timers_peer_child_started(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms);
void ike_timers_peer_child_done(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms);
void ike_timers_rekey_failed(struct ike_engine *e, struct ike_sa *sa, struct ike_child *ch, int err,
                             uint64_t now_ms);
void ike_timers_create_refused(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms);
void ike_timers_run(struct ike_engine *e, uint64_t now_ms);
uint64_t ike_retransmit_timeout_ms(uint32_t base_ms, uint32_t factor_pct, uint32_t try_no);

/* ---- window.c: message IDs, sending requests and responses ---- */
int ike_send_request(struct ike_engine *e, struct ike_sa *sa, const uint8_t *msg, size_t len,
                     uint64_t now_ms);
int ike_send_response(struct ike_engine *e, struct ike_sa *sa, const uint8_t *msg, size_t len);
void ike_request_done(struct ike_engine *e, struct ike_sa *sa);
int ike_task_queue(struct ike_engine *e, struct ike_sa *sa, const struct ike_task *t,
                   uint64_t now_ms);
void ike_task_next(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms);
void ike_task_clear(struct ike_engine *e, struct ike_task *t);
void ike_task_drop(struct ike_engine *e, struct ike_sa *sa, uint8_t type, uint32_t del_spi);
bool ike_task_deletes(const struct ike_task *t, uint32_t spi); /* a CHILD_DELETE naming spi */
bool ike_task_has(const struct ike_sa *sa, uint8_t type);      /* outstanding or queued */
/* A CHILD_DELETE's k-th SPI, k = 0 .. n_more: del_spi, then more_del[]. */
static inline uint32_t ike_task_del_spi(const struct ike_task *t, int k)
{
    return k ? t->more_del[k - 1] : t->del_spi;
}

/* ---- msg.c: building and opening encrypted messages ---- */
void ike_msg_hdr(const struct ike_sa *sa, uint8_t exchange, bool response, uint32_t msg_id,
                 struct ike_hdr *h);
/* Seal plain[0..plain_len) (an inner chain starting with first_type) into
 * e->msg; returns the message length or a negative error. */
int ike_msg_seal(struct ike_engine *e, struct ike_sa *sa, const struct ike_hdr *h,
                 uint8_t first_type, const uint8_t *plain, size_t plain_len);
/* Decrypt the SK payload of a received message into e->plain and split
 * the inner chain. */
int ike_msg_open(struct ike_engine *e, struct ike_sa *sa, const uint8_t *msg, size_t len,
                 const struct ike_payload_list *outer, struct ike_payload_list *inner);
/* Seal the chain built in mb and send it as our next request, or as the
 * response to msg_id (the builder's buffer holds the plaintext). */
int ike_msg_send_request(struct ike_engine *e, struct ike_sa *sa, uint8_t exchange,
                         struct ike_msg_builder *mb, uint64_t now_ms);
int ike_msg_send_response(struct ike_engine *e, struct ike_sa *sa, uint8_t exchange,
                          uint32_t msg_id, struct ike_msg_builder *mb);
/* Send an encrypted message holding only one Notify (an error response). */
int ike_msg_notify_response(struct ike_engine *e, struct ike_sa *sa, uint8_t exchange,
                            uint32_t msg_id, uint16_t type, const uint8_t *data, size_t data_len);
/* Find a notify of a type in a chain (NULL if absent); *n filled. */
const struct ike_payload *ike_msg_find_notify(const struct ike_payload_list *l, uint16_t type,
                                              struct ike_notify_payload *n);
/* Decode SA, KE and Nonce (all three required). */
int ike_msg_decode_sa_ke_nonce(const struct ike_payload_list *l, struct ike_sa_payload *sap,
                               struct ike_ke_payload *ke, struct ike_view *nonce);
/* First error notify (type < 16384) in a chain, 0 if none. */
uint16_t ike_msg_error_notify(const struct ike_payload_list *l);

/* ---- proposal.c ---- */
void ike_proposal_build(const struct ike_prop_cfg *cfg, size_t n, uint8_t proto, const uint8_t *spi,
                        uint8_t spi_size, uint16_t only_dh, struct ike_sa_payload *out);
/* Select from the peer's offer: returns the index of the chosen proposal
 * or IKE_ERR_NO_PROPOSAL; *algs filled. prefer_dh: the KE payload's group,
 * taken when the proposal allows it. ignore_dh: IKE_AUTH child proposals. */
int ike_proposal_select(const struct ike_prop_cfg *cfg, size_t n, uint8_t proto,
                        const struct ike_sa_payload *offer, uint16_t prefer_dh, bool ignore_dh,
                        struct ike_algs *algs);
/* Check a response's single proposal is one we offered. */
int ike_proposal_check_reply(const struct ike_prop_cfg *cfg, size_t n, uint8_t proto,
                             const struct ike_sa_payload *reply, bool ignore_dh,
                             struct ike_algs *algs);
void ike_proposal_answer(uint8_t num, uint8_t proto, const uint8_t *spi, uint8_t spi_size,
                         const struct ike_algs *a, struct ike_sa_payload *out);
/* Would we accept this group for IKE (or child PFS)? */
bool ike_proposal_has_dh(const struct ike_prop_cfg *cfg, size_t n, uint16_t group);
uint16_t ike_proposal_first_dh(const struct ike_prop_cfg *cfg, size_t n);

/* ---- ts.c ---- */
/* Keep up to IKE_CHILD_TS_MAX selectors (false if some were dropped). */
bool ike_ts_set_from(struct ike_ts_set *d, const struct ike_ts_payload *s);
void ike_ts_set_encode(struct ike_msg_builder *mb, uint8_t pl_type, const struct ike_ts_set *s);
/* Narrow into a child's set: ike_ts_narrow, then keep the first few. */
int ike_ts_narrow_set(const struct ike_ts_payload *proposed, const struct ike_ts_payload *ours,
                      struct ike_ts_set *out);
void ike_ts_from_subnet(const struct ike_subnet *s, const struct ike_addr *host,
                        struct ike_ts_payload *out);
/* Narrow the peer's proposed selectors to our config (RFC 7296 2.9). */
int ike_ts_narrow(const struct ike_ts_payload *proposed, const struct ike_ts_payload *ours,
                  struct ike_ts_payload *out);
int ike_ts_to_selector(const struct ike_ts *ts, struct ike_addr *addr, uint8_t *prefix);

/* ---- rekey.c, rekey_ike.c ---- */
#define PASSIVE_DELETE_TIMEOUT_MS 30000 /* a replaced SA whose DELETE never came */
/* After refusing the peer's IKE rekey, our Child work waits this long plus
 * a round trip: the peer retries within 1.3 s of reading the refusal
 * (timers.c, B27), and the refusal and the retry each cross the network
 * once. 1.5 s alone let the retry arrive 18 ms after the pause and be
 * refused again (B84, seed 661557: delays up to 199 ms). */
#define IKE_REKEY_YIELD_MS 1500
/* After a mutual refusal of our IKE rekey and the peer's Child work
 * (timers.c): our IKE retry waits this long when the IKE SA has time to
 * spare (an urgent Child exchange of the peer goes first, B27), and this
 * gap separates the round-trip slots of the two sides. */
#define IKE_REKEY_AFTER_CHILD_MS 1000
#define IKE_MUTUAL_GAP_MS        300
#define IKE_REKEY_HOLD_MS        2000 /* a new IKE SA we answered: wait this long at most for the peer */
#define IKE_REKEY_HOLD_MIN_MS    500 /* ...at least, when a child's rekey cannot wait that long */
/* A Child rekey must start this long before the child's end of life
 * (ike_rekey_end_of_life) to finish before the kernel's hard expiry. */
#define IKE_CHILD_LAST_CALL_MS 1000
int ike_rekey_retry_with_group(struct ike_engine *e, struct ike_sa *sa, uint16_t g,
                               uint64_t now_ms);
uint16_t ike_rekey_invalid_ke_group(const struct ike_payload_list *in);
uint64_t ike_rekey_end_of_life(const struct ike_child *ch);
uint64_t ike_rekey_requeue_at(uint64_t expire_at_ms, uint64_t now_ms);
uint64_t ike_rekey_passive_deadline(const struct ike_child *ch, uint64_t now_ms);
uint64_t ike_rekey_passive_ike_wait(const struct ike_sa *sa);
int ike_rekey_refuse(struct ike_engine *e, struct ike_sa *sa, const struct ike_hdr *h,
                     uint16_t type, const struct ike_notify_payload *n, const char *why);
int ike_rekey_child_queue(struct ike_engine *e, struct ike_child *ch, uint64_t now_ms);
int ike_rekey_ike_queue(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms);
int ike_rekey_child_build_request(struct ike_engine *e, struct ike_sa *sa, struct ike_task *t,
                                  uint64_t now_ms);
int ike_rekey_child_process_response(struct ike_engine *e, struct ike_sa *sa,
                                     const struct ike_payload_list *in, uint64_t now_ms);
int ike_rekey_child_process_request(struct ike_engine *e, struct ike_sa *sa,
                                    const struct ike_hdr *h, const struct ike_payload_list *in,
                                    const struct ike_notify_payload *rekey, uint64_t now_ms);
int ike_rekey_ike_build_request(struct ike_engine *e, struct ike_sa *sa, struct ike_task *t,
                                uint64_t now_ms);
int ike_rekey_ike_process_response(struct ike_engine *e, struct ike_sa *sa,
                                   const struct ike_payload_list *in, uint64_t now_ms);
int ike_rekey_ike_process_request(struct ike_engine *e, struct ike_sa *sa, const struct ike_hdr *h,
                                  const struct ike_payload_list *in, uint64_t now_ms);
/* The peer deleted an IKE SA of ours that a rekey replaced: give its
 * children to the survivor first. */
void ike_rekey_ike_deleted(struct ike_engine *e, struct ike_sa *sa);
void ike_rekey_release_hold(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms);
/* The peer proved it holds n, made by our answer to its IKE rekey: the
 * old SA waits for its DELETE only as long as it may be retransmitted. */
void ike_rekey_peer_has_new(struct ike_engine *e, struct ike_sa *n, uint64_t now_ms);
/* The peer sent a new request on n, its new IKE SA of a 2.8.2 collision
 * still undecided here: our rekey of the old SA goes again at once (B81). */
void ike_rekey_peer_on_new(struct ike_engine *e, struct ike_sa *n);
/* The peer retransmitted a request on old, which we hold REKEYED: its
 * passive wait starts again (it may still lack the answer that made the
 * new SA). */
void ike_rekey_peer_retransmits(struct ike_engine *e, struct ike_sa *old, uint64_t now_ms);
/* The peer deleted a child of reqid: the peer's redundant SA of a 2.8.1
 * collision we won stands if nothing else carries the tunnel (B76). */
void ike_rekey_redundant_stands(struct ike_engine *e, struct ike_sa *sa, uint32_t reqid,
                                uint64_t now_ms);
/* B72: an SA we hold REKEYED for the peer's DELETE: (re)arm the liveness
 * check on it one estimated peer retransmit budget after the last word;
 * run it; and when it goes unanswered, drop the SA (true if handled). */
void ike_rekey_probe_later(struct ike_sa *old, uint64_t now_ms);
void ike_rekey_probe_old(struct ike_engine *e, struct ike_sa *old, uint64_t now_ms);
bool ike_rekey_probe_unanswered(struct ike_engine *e, struct ike_sa *sa);
/* Forget references to a child or IKE SA about to be freed. */
void ike_rekey_forget_child(struct ike_child *ch);
int ike_nonce_cmp(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);
void ike_low_nonce(uint8_t *out, uint8_t *out_len, const uint8_t *a, size_t a_len, const uint8_t *b,
                   size_t b_len);

/* ---- diag_rec.c: failure records (ike/diag.h); hooks stay one line at
 * the call site ---- */
struct ike_diag_conn;
void ike_diag_conn_free(struct ike_conn *c);
/* Our rekey (Child: old given; IKE: old NULL) failed; in = the peer's
 * answer or NULL. Returns true when it was the rekey check, whose failure
 * is not retried soon: the normal rekey time is back on old. */
bool ike_diag_rekey_failed(struct ike_engine *e, struct ike_sa *sa, struct ike_child *old,
                           const struct ike_payload_list *in, int err, uint64_t now_ms);
/* We refused the peer's Child rekey with a proposal error. */
void ike_diag_rekey_refused(struct ike_engine *e, struct ike_sa *sa, const struct ike_child *ch,
                            const struct ike_payload_list *in, uint16_t notify, uint64_t now_ms);
/* After each retransmit: ESP counters at each, an early "IKE
 * blocked" record at the third when ESP still arrives. */
void ike_diag_retransmit(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms);
void ike_diag_no_answer(struct ike_engine *e, struct ike_sa *sa, bool pending, uint64_t now_ms);
void ike_diag_peer_deleted(struct ike_engine *e, struct ike_child *ch, uint64_t now_ms);
void ike_diag_hard_expired(struct ike_engine *e, struct ike_child *ch, uint64_t now_ms);
/* The IKE SA: its hard lifetime ran out unreplaced; the peer deleted it. */
void ike_diag_ike_expired(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms);
void ike_diag_ike_peer_deleted(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms);
/* The peer's INITIAL_CONTACT is about to delete stale (2.4). */
void ike_diag_peer_restarted(struct ike_engine *e, struct ike_sa *stale, uint64_t now_ms);
/* A response arrived: an early "IKE blocked" record of this SA recovered. */
void ike_diag_answered(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms);
/* Every event the engine queues (ike_out_event). */
void ike_diag_event(struct ike_engine *e, struct ike_sa *sa, struct ike_child *ch, uint8_t type,
                    int err);

/* ---- auth_psk.c ---- */
int ike_auth_psk(struct ike_engine *e, struct ike_sa *sa, bool for_initiator,
                 const uint8_t *id_body, size_t id_len, uint8_t *out, size_t *out_len);

/* ---- exchanges ---- */
int ike_ke_generate(struct ike_engine *e, uint16_t group, struct ike_ke **ke, uint8_t *pub,
                    size_t cap, size_t *pub_len);
int ike_notify_to_err(uint16_t notify_type);
int ike_init_start(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms);
int ike_init_process_request(struct ike_engine *e, const struct ike_hdr *h, const uint8_t *msg,
                             size_t len, const struct ike_endpoint *from,
                             const struct ike_endpoint *to, uint64_t now_ms);
int ike_init_process_response(struct ike_engine *e, struct ike_sa *sa, const struct ike_hdr *h,
                              const uint8_t *msg, size_t len, uint64_t now_ms);
int ike_auth_build_request(struct ike_engine *e, struct ike_sa *sa, uint64_t now_ms);
int ike_auth_process_request(struct ike_engine *e, struct ike_sa *sa, const struct ike_hdr *h,
                             const struct ike_payload_list *inner, uint64_t now_ms);
int ike_auth_process_response(struct ike_engine *e, struct ike_sa *sa,
                              const struct ike_payload_list *inner, uint64_t now_ms);
int ike_child_build_request(struct ike_engine *e, struct ike_sa *sa, struct ike_task *t,
                            uint64_t now_ms);
int ike_child_process_request(struct ike_engine *e, struct ike_sa *sa, const struct ike_hdr *h,
                              const struct ike_payload_list *inner, uint64_t now_ms);
int ike_child_process_response(struct ike_engine *e, struct ike_sa *sa,
                               const struct ike_payload_list *inner, uint64_t now_ms);
int ike_info_build_request(struct ike_engine *e, struct ike_sa *sa, struct ike_task *t,
                           uint64_t now_ms);
int ike_info_process_request(struct ike_engine *e, struct ike_sa *sa, const struct ike_hdr *h,
                             const struct ike_payload_list *inner, uint64_t now_ms);
int ike_info_process_response(struct ike_engine *e, struct ike_sa *sa,
                              const struct ike_payload_list *inner, uint64_t now_ms);

/* Shared helpers for Child SA negotiation (exchange_auth.c, exchange_child.c).
 * in_auth: the IKE_AUTH child, which has no KE (DH transforms ignored). */
int ike_child_offer(struct ike_engine *e, struct ike_sa *sa, struct ike_child *ch, uint16_t dh,
                    struct ike_msg_builder *mb);
void ike_child_offer_ts(struct ike_sa *sa, struct ike_child *ch, struct ike_msg_builder *mb);
int ike_child_accept(struct ike_engine *e, struct ike_sa *sa, const struct ike_payload_list *in,
                     struct ike_child *ch, bool in_auth, uint16_t *notify);
/* Responder: derive the child's keys (with g^ir when it has a group),
 * install it with outbound left where it is, and answer with SA, Nr,
 * [KEr], TSi, TSr (new children and rekeys alike). */
int ike_child_respond(struct ike_engine *e, struct ike_sa *sa, const struct ike_hdr *h,
                      const struct ike_payload_list *in, struct ike_child *ch, uint64_t now_ms);
void ike_child_note_gone(struct ike_sa *sa, uint32_t spi_out);
bool ike_child_gone_at_peer(const struct ike_sa *sa, uint32_t spi_out);
int ike_child_finish(struct ike_engine *e, struct ike_sa *sa, const struct ike_payload_list *in,
                     struct ike_child *ch, bool in_auth);
int ike_child_derive(struct ike_engine *e, struct ike_sa *sa, struct ike_child *ch,
                     const uint8_t *g_ir, size_t g_ir_len, const uint8_t *ni, size_t ni_len,
                     const uint8_t *nr, size_t nr_len);

static inline uint64_t ike_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static inline void ike_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline uint32_t ike_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void ike_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif /* IKE_CORE_H */
