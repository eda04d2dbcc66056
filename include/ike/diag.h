/*
 * ike/diag.h: why a rekey (or a set-up, or a liveness check) failed, in
 * words an operator can act on (DESIGN.md section 1, "Diagnostics").
 *
 * The engine records the facts of each failure where it happens (which
 * exchange, how it ended, which PFS group we offered and what the peer's
 * answer showed, whether ESP still arrived while IKE went unanswered, the
 * SA's age when the peer deleted it...). ike_diag_classify() is a pure
 * function from those facts to a cause; ike_diag_cause_text() and
 * ike_diag_fix_text() give the one-sentence cause and the one-sentence fix
 * that `rekeyctl diagnose` prints (src/core/diag.c).
 *
 * The records are kept per connection (the SA they describe is often gone:
 * a dead peer takes the IKE SA with it), at most IKE_DIAG_KEEP each, newest
 * first, in one block allocated on the conn's first failure or rekey check
 * and reused after (src/core/diag_rec.c); each record names its SA.
 *
 * Errors: IKE_ERR_INVALID_ARG, IKE_ERR_NO_CONFIG.
 */
#ifndef IKE_DIAG_H
#define IKE_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/engine.h"
#include "ike/types.h"

/* What was attempted. */
enum ike_diag_attempt {
    IKE_DIAG_A_NONE = 0,
    IKE_DIAG_A_SETUP,        /* IKE_SA_INIT / IKE_AUTH */
    IKE_DIAG_A_CHILD_CREATE, /* a Child SA (IKE_AUTH or CREATE_CHILD_SA) */
    IKE_DIAG_A_CHILD_REKEY,
    IKE_DIAG_A_IKE_REKEY,
    IKE_DIAG_A_DPD,
    IKE_DIAG_A_DELETE,   /* our INFORMATIONAL DELETE */
    IKE_DIAG_A_LIFETIME, /* no exchange: the SA's lifetime ran out or the peer deleted it */
    IKE_DIAG_A_INSTALL,  /* putting the SA into the kernel */
};

/* How it ended. */
enum ike_diag_outcome {
    IKE_DIAG_O_NONE = 0,
    IKE_DIAG_O_REFUSED,      /* the peer answered with an error notify */
    IKE_DIAG_O_BAD_ANSWER,   /* the peer answered with something we did not offer */
    IKE_DIAG_O_NO_ANSWER,    /* our retransmissions ran out */
    IKE_DIAG_O_WE_REFUSED,   /* we refused the peer's request */
    IKE_DIAG_O_PEER_DELETED, /* the peer deleted the SA without replacing it */
    IKE_DIAG_O_HARD_EXPIRED, /* the SA reached its hard lifetime unreplaced */
    IKE_DIAG_O_KERNEL_ERROR, /* the kernel refused an operation */
    IKE_DIAG_O_PEER_RESTARTED, /* the peer's INITIAL_CONTACT made us drop stale SAs */
};

/* The classified cause. */
enum ike_diag_cause {
    IKE_DIAG_UNKNOWN = 0,
    IKE_DIAG_PFS_MISMATCH,          /* Child rekey: the PFS groups differ */
    IKE_DIAG_PROPOSAL_MISMATCH,     /* ike= / esp= proposals differ */
    IKE_DIAG_IKE_BLOCKED,           /* no IKE answer while ESP still arrives */
    IKE_DIAG_DEAD_PEER,             /* no answer to anything */
    IKE_DIAG_PEER_LIFETIME_SHORTER, /* the peer deleted the SA before our rekey time */
    IKE_DIAG_PEER_NEVER_REKEYS,     /* hard expiry, ours off or refused, the peer silent */
    IKE_DIAG_TS_MISMATCH,
    IKE_DIAG_AUTH_FAILED,
    IKE_DIAG_KERNEL_REFUSED,
    IKE_DIAG_OTHER,
    IKE_DIAG_PEER_RESTARTED, /* INITIAL_CONTACT: our SAs with the peer were stale */
    IKE_DIAG_CAUSE_COUNT
};

/* Inbound ESP during the unanswered requests. */
enum ike_diag_esp { IKE_DIAG_ESP_UNKNOWN = 0, IKE_DIAG_ESP_IDLE, IKE_DIAG_ESP_FLOWING };

#define IKE_DIAG_DETAIL_MAX 80

/* The recorded facts: the classifier's only input. */
struct ike_diag_facts {
    uint8_t attempt;    /* enum ike_diag_attempt */
    uint8_t outcome;    /* enum ike_diag_outcome */
    bool rekey_check;   /* the attempt was the rekey check after set-up */
    bool initiator;     /* we are the original initiator of the IKE SA */
    int err;            /* IKE_ERR_* as the engine saw it */
    uint16_t notify;    /* error notify in the peer's answer (or in our refusal), 0 = none */
    uint16_t our_dh;    /* group we offered (PFS for a Child SA), 0 = none */
    uint16_t peer_dh;   /* group the peer's answer or offer shows, when peer_dh_shown */
    bool peer_dh_shown; /* the peer showed its group (peer_dh 0 = no PFS) */
    uint8_t esp;        /* enum ike_diag_esp */
    uint32_t retransmits;
    bool pending;         /* NO_ANSWER seen early: we are still retransmitting */
    uint64_t age_ms;      /* age of the SA when it ended */
    uint64_t rekey_ms;    /* our rekey time after install; 0 = rekeying off */
    uint64_t life_ms;     /* our hard lifetime */
    uint32_t rekey_fails; /* our failed rekey attempts before the end */
    uint32_t rekey_busy;  /* our rekey attempts the peer refused as busy
                             (TEMPORARY_FAILURE, 2.25), not counted above */
    bool rekey_off;       /* rekey=no */
    /* The SA's algorithms, for an esp= / ike= the fix can name. */
    uint16_t encr, encr_keylen, integ;
    char detail[IKE_DIAG_DETAIL_MAX]; /* the kernel's words, "" when none; for
                                         PEER_RESTARTED the stale Child SAs */
    bool ike_sa;           /* about the IKE SA (lifetime records), not a Child SA */
    uint8_t kop;           /* KERNEL_ERROR: the refused op (enum ike_kernel_op_type) */
    uint8_t pol_dir;       /* KERNEL_ERROR on a policy: its direction */
    struct ike_selector sel; /* KERNEL_ERROR on a policy: its selector */
    uint16_t n_stale;      /* PEER_RESTARTED: stale Child SAs deleted */
    uint64_t recovered_ms; /* a pending NO_ANSWER that was answered after all:
                              how long IKE went unanswered; 0 = not (yet) */
};

struct ike_diag_record {
    struct ike_diag_facts f;
    uint8_t cause;    /* enum ike_diag_cause, from ike_diag_classify() */
    uint64_t at_ms;   /* the latest occurrence */
    uint32_t repeats; /* further occurrences folded into this record (retries) */
    uint64_t ike_spi_i, ike_spi_r;
    uint32_t child_spi_in, child_spi_out; /* 0 when about the IKE SA */
    struct ike_addr local, remote;
};

/* Pure: the cause of a failure with these facts. */
uint8_t ike_diag_classify(const struct ike_diag_facts *f);

/* One sentence (ending in '.') saying what failed and why, and one saying
 * what to change. Write at most cap bytes, always NUL-terminated; return
 * the length like snprintf. */
int ike_diag_cause_text(const struct ike_diag_record *r, char *buf, size_t cap);
int ike_diag_fix_text(const struct ike_diag_record *r, char *buf, size_t cap);

/* Short names for JSON and logs: "pfs_mismatch", "child_rekey", ... */
const char *ike_diag_cause_name(uint8_t cause);
const char *ike_diag_attempt_name(uint8_t attempt);
/* strongSwan keyword of a DH group ("x25519", "modp2048"), "none" for 0. */
const char *ike_diag_group_name(uint16_t group);

/* ---- what the engine keeps per connection ---- */
#define IKE_DIAG_KEEP 4

/* The rekey check after set-up (rekeycheck=yes). */
enum ike_diag_check {
    IKE_DIAG_CHECK_OFF = 0, /* rekeycheck=no, or no tunnel made yet */
    IKE_DIAG_CHECK_PENDING, /* scheduled, not done yet */
    IKE_DIAG_CHECK_PASSED,
    IKE_DIAG_CHECK_FAILED,
    IKE_DIAG_CHECK_SKIPPED, /* the Child SA was rekeyed or deleted before the check ran */
};

struct ike_diag_conn_info {
    uint8_t check;        /* enum ike_diag_check */
    uint16_t check_dh;    /* PFS group the check rekeyed with (0 = none) */
    uint64_t check_at_ms; /* when it is due / was done */
    uint32_t total;       /* failures recorded since the conn was added */
    size_t n;             /* records below, newest first */
    struct ike_diag_record rec[IKE_DIAG_KEEP];
};

/* Copy what the engine knows about conn into *out (zeroed when nothing).
 * IKE_ERR_NO_CONFIG when there is no such conn. */
int ike_engine_diag(const struct ike_engine *e, const char *conn, struct ike_diag_conn_info *out);

/* The caller could not apply a kernel op the engine emitted (err from the
 * backend, detail from its last_error(), may be NULL): recorded against
 * the Child SA it belongs to, naming the algorithm. Returns IKE_ERR_NO_SA
 * when no Child SA owns the op. */
int ike_engine_kernel_failed(struct ike_engine *e, const struct ike_kernel_op *op, int err,
                             const char *detail, uint64_t now_ms);

#endif /* IKE_DIAG_H */
