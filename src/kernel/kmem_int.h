/*
 * kmem_int.h: internals of the in-memory kernel model, shared by memory.c
 * (ops and inspection), kmem_table.c (hash tables, expiry heap) and
 * kmem_sim.c (traffic, expiry, acquire, dump). Not a public API.
 */
#ifndef IKE_KMEM_INT_H
#define IKE_KMEM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/kernel_memory.h"

#define KMEM_SA_KEY  24 /* family, proto, spi, dst (16) */
#define KMEM_POL_KEY 56 /* selector, dir, mark, mask, if_id */

/* Each slot starts with its canonical key, so tables compare slot bytes. */
struct kmem_sa {
    uint8_t key[KMEM_SA_KEY];
    struct ike_kernel_sa sa;
    struct ike_sa_stats st;
    uint32_t gen; /* bumped on delete and on lifetime change */
    bool used, larval, soft_done;
};

struct kmem_pol {
    uint8_t key[KMEM_POL_KEY];
    struct ike_kernel_policy pol;
    bool used;
};

/* Open addressing, linear probing, backward-shift deletion. */
struct kmem_tab {
    uint32_t *ix;   /* slot + 1; 0 = empty */
    uint32_t *hash; /* hash of the entry at the same position */
    size_t cap;     /* power of two, or 0 */
    size_t n;
};

enum { KMEM_EXP_SOFT = 0, KMEM_EXP_HARD = 1 };

struct kmem_exp {
    uint64_t due;
    uint32_t slot, gen;
    uint8_t kind;
};

struct ike_kmem {
    struct kmem_sa *sas;
    size_t sa_cap, sa_used, n_sa, n_larval;
    uint32_t *sa_free;
    size_t n_sa_free;
    struct kmem_pol *pols;
    size_t pol_cap, pol_used, n_pol;
    uint32_t *pol_free;
    size_t n_pol_free;
    struct kmem_tab sa_tab, pol_tab;
    struct kmem_exp *heap;
    size_t heap_n, heap_cap;
    uint64_t now_s;
    uint32_t acq_expires;
    uint64_t rng;
    unsigned fail_n;
    int fail_err;
    uint8_t fail_type;
};

uint32_t ike_kmem_hash(const uint8_t *key, size_t len);
/* Slot index whose key equals key, or -1. */
int ike_kmem_tab_find(const struct kmem_tab *t, const void *base, size_t stride, const uint8_t *key,
                      size_t klen);
/* Make room for `need` entries (load <= 1/2); IKE_ERR_NOMEM on failure. */
int ike_kmem_tab_reserve(struct kmem_tab *t, size_t need);
/* Add slot (its key already set); room must have been reserved. */
void ike_kmem_tab_add(struct kmem_tab *t, const void *base, size_t stride, size_t klen,
                      uint32_t slot);
void ike_kmem_tab_del(struct kmem_tab *t, const void *base, size_t stride, size_t klen,
                      uint32_t slot);

/* Timed expiry for slot (with its current gen); IKE_ERR_NOMEM on failure. */
int ike_kmem_heap_push(struct ike_kmem *m, uint64_t due, uint32_t slot, uint8_t kind);
/* Whether a heap entry still refers to a live, unchanged SA. */
bool ike_kmem_exp_live(const struct ike_kmem *m, const struct kmem_exp *e);
void ike_kmem_heap_pop(struct ike_kmem *m);

/* memory.c: delete SA slot i (wipes it). */
void ike_kmem_sa_remove(struct ike_kmem *m, int i);
int ike_kmem_sa_lookup(const struct ike_kmem *m, const struct ike_sa_id *id);
int ike_kmem_pol_lookup(const struct ike_kmem *m, const struct ike_policy_id *id);

#endif /* IKE_KMEM_INT_H */
