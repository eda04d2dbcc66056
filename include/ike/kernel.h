/*
 * ike/kernel.h: the kernel interface as plain data (DESIGN.md 4.6).
 *
 * The engine emits struct ike_kernel_op values; a backend applies them:
 * src/kernel/xfrm.c (Linux XFRM netlink via libmnl) or src/kernel/memory.c
 * (an in-memory model for tests, the simulation and `--kernel memory`).
 * The kernel tells the engine about expiries and acquires with
 * struct ike_kernel_event. Nothing here includes a Linux header, so the pure
 * core can use it; values are numerically those of <linux/xfrm.h> where a
 * comment says so.
 *
 * Errors: IKE_ERR_KERNEL, IKE_ERR_KERNEL_EXISTS, IKE_ERR_KERNEL_NOENT,
 * IKE_ERR_KERNEL_NOESP, IKE_ERR_KERNEL_ALG, IKE_ERR_NOMEM,
 * IKE_ERR_INVALID_ARG.
 */
#ifndef IKE_KERNEL_H
#define IKE_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/crypto.h"
#include "ike/types.h"

#define IKE_IPPROTO_ESP 50 /* the SA protocol (IPPROTO_ESP) */

enum ike_ipsec_mode {
    IKE_MODE_TRANSPORT = 0, /* XFRM_MODE_TRANSPORT */
    IKE_MODE_TUNNEL = 1,    /* XFRM_MODE_TUNNEL */
};

/* SA lifetimes; 0 means "no limit" for that field. */
struct ike_lifetime {
    uint64_t soft_bytes, hard_bytes;
    uint64_t soft_packets, hard_packets;
    uint64_t soft_add_s, hard_add_s; /* seconds after the SA was added */
};

/* A selector as XFRM holds it: prefixes and single ports (0 = any). */
struct ike_selector {
    struct ike_addr src, dst;
    uint8_t src_prefix, dst_prefix;
    uint8_t ip_proto;          /* 0 = any */
    uint16_t sport, dport;     /* host order; 0 = any */
};

/* Identity of an SA: (dst, spi, proto). */
struct ike_sa_id {
    struct ike_addr dst;
    uint32_t spi; /* host order */
    uint8_t proto; /* IKE_IPPROTO_ESP */
};

struct ike_kernel_sa {
    struct ike_sa_id id;
    struct ike_addr src;
    uint8_t mode;    /* enum ike_ipsec_mode */
    uint32_t reqid;  /* links the SA to its policies */
    uint16_t encr_id;          /* ENCR_* (IKE numbers) */
    uint16_t encr_key_bits;    /* key size without salt */
    uint8_t icv_len;           /* AEAD ICV bytes (8, 12, 16) */
    uint16_t integ_id;         /* AUTH_* ; AUTH_NONE for AEAD */
    struct ike_key encr_key;   /* key | salt for AEAD */
    struct ike_key integ_key;
    bool esn;
    uint32_t replay_window;    /* packets; 0 = none (outbound) */
    struct ike_lifetime life;
    uint16_t encap_sport, encap_dport; /* UDP encapsulation (NAT-T); 0 = none */
    struct ike_selector sel;   /* optional SA selector (zero = any) */
    uint32_t mark, mark_mask;  /* mark_mask 0 = no mark */
    uint32_t if_id;            /* 0 = none */
};

enum ike_policy_dir {
    IKE_DIR_IN = 0,  /* XFRM_POLICY_IN */
    IKE_DIR_OUT = 1, /* XFRM_POLICY_OUT */
    IKE_DIR_FWD = 2, /* XFRM_POLICY_FWD */
};

enum ike_policy_action {
    IKE_POLICY_IPSEC = 0, /* apply the template */
    IKE_POLICY_TRAP = 1,  /* IPSEC template without SA: kernel sends ACQUIRE */
    IKE_POLICY_BLOCK = 2, /* XFRM_POLICY_BLOCK */
};

struct ike_kernel_policy {
    struct ike_selector sel;
    uint8_t dir;      /* enum ike_policy_dir */
    uint8_t action;   /* enum ike_policy_action */
    uint32_t priority;
    /* The template (one ESP transform). */
    uint8_t mode;     /* enum ike_ipsec_mode */
    struct ike_addr tmpl_src, tmpl_dst; /* tunnel endpoints (tunnel mode) */
    uint32_t reqid;
    uint32_t spi;     /* 0 = any SA with this reqid; else pinned (outbound) */
    uint32_t mark, mark_mask;
    uint32_t if_id;
};

/* Identity of a policy: selector + direction (+ mark). */
struct ike_policy_id {
    struct ike_selector sel;
    uint8_t dir;
    uint32_t mark, mark_mask;
    uint32_t if_id; /* 0 = none; the kernel counts it in the identity */
};

enum ike_kernel_op_type {
    IKE_KOP_ADD_SA = 1,
    IKE_KOP_UPDATE_SA,
    IKE_KOP_DEL_SA,
    IKE_KOP_ADD_POLICY,
    IKE_KOP_UPDATE_POLICY, /* also used to repoint the outbound SPI */
    IKE_KOP_DEL_POLICY,
};

struct ike_kernel_op {
    uint8_t type; /* enum ike_kernel_op_type */
    union {
        struct ike_kernel_sa sa;         /* ADD_SA, UPDATE_SA */
        struct ike_sa_id sa_id;          /* DEL_SA */
        struct ike_kernel_policy policy; /* ADD/UPDATE_POLICY */
        struct ike_policy_id policy_id;  /* DEL_POLICY */
    } u;
};

/* Byte/packet counters of an SA (XFRM GETSA). */
struct ike_sa_stats {
    uint64_t bytes, packets;
    uint64_t add_time_s, use_time_s; /* seconds since epoch; 0 = never used */
};

enum ike_kernel_event_type {
    IKE_KEV_EXPIRE_SOFT = 1, /* XFRM_MSG_EXPIRE, hard = 0 */
    IKE_KEV_EXPIRE_HARD,     /* XFRM_MSG_EXPIRE, hard = 1 */
    IKE_KEV_ACQUIRE,         /* XFRM_MSG_ACQUIRE: traffic hit a trap policy */
    IKE_KEV_POLEXPIRE,       /* XFRM_MSG_POLEXPIRE */
};

struct ike_kernel_event {
    uint8_t type;
    struct ike_sa_id sa;     /* EXPIRE */
    uint32_t reqid;          /* EXPIRE, ACQUIRE */
    struct ike_selector sel; /* ACQUIRE, POLEXPIRE */
    uint8_t dir;             /* POLEXPIRE */
};

/*
 * A kernel backend. ops are applied one at a time in the order the engine
 * emitted them; a failure is reported to the caller, which decides what to
 * roll back (the engine emits the deletes).
 */
struct ike_kernel_backend {
    void *ctx;
    const char *name; /* "xfrm", "memory" */
    int (*apply)(void *ctx, const struct ike_kernel_op *op);
    /* Reserve an inbound SPI (XFRM ALLOCSPI) in [min, max] for src->dst. */
    int (*alloc_spi)(void *ctx, const struct ike_addr *src, const struct ike_addr *dst,
                     uint32_t min, uint32_t max, uint32_t *spi);
    int (*get_stats)(void *ctx, const struct ike_sa_id *id, struct ike_sa_stats *st);
    /* Human-readable detail of the last failure (e.g. the algorithm the
     * kernel refused), or "" . */
    const char *(*last_error)(void *ctx);
    void (*destroy)(void *ctx);
};

/* Text of an op for logs (no key bytes): "ADD_SA esp spi 0x1234 10.0.0.1->10.0.0.2". */
int ike_kernel_op_describe(const struct ike_kernel_op *op, char *buf, size_t cap);

/*
 * Apply n ops in order through any backend; on the first failure undo the
 * ones already applied, in reverse order, and return that failure, so a
 * batch that fails halfway leaks no SA or policy: ADD_SA is undone by
 * DEL_SA, ADD_POLICY by DEL_POLICY. UPDATE and DEL ops cannot be undone
 * without the old state and are left as they are (put them last in a
 * batch). *failed_at (may be NULL) gets the index of the failing op, or n
 * on success; *undo_errors (may be NULL) counts undo steps that failed.
 * (src/kernel/batch.c)
 */
int ike_kernel_apply_batch(const struct ike_kernel_backend *be, const struct ike_kernel_op *ops,
                           size_t n, size_t *failed_at, unsigned *undo_errors);

#endif /* IKE_KERNEL_H */
