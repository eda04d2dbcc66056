/*
 * ike/kernel_memory.h: the in-memory kernel model (src/kernel/memory.c).
 *
 * A struct ike_kernel_backend with no kernel behind it, for the engine
 * tests, the simulation, benchmarks and `rekeyd --kernel memory`. It keeps
 * what is installed with the semantics and error codes of Linux XFRM
 * (net/xfrm/xfrm_state.c, xfrm_policy.c), so code that passes here does not
 * fail on a real kernel for a reason the model hid:
 *
 *  - SAs are identified by (dst, spi, proto), policies by selector + dir +
 *    (mark & mask, mask).
 *  - ADD_SA of an existing id -> IKE_ERR_KERNEL_EXISTS. This includes an SPI
 *    reserved by alloc_spi (a "larval" SA, XFRM_STATE_ACQ in the kernel):
 *    the inbound SA whose SPI came from alloc_spi must be installed with
 *    IKE_KOP_UPDATE_SA, as strongSwan does (XFRM_MSG_UPDSA).
 *  - UPDATE_SA of a missing id -> IKE_ERR_KERNEL_NOENT (kernel: ESRCH).
 *    UPDATE_SA of a larval SA installs the full SA. UPDATE_SA of an
 *    installed SA changes only its lifetimes, UDP encapsulation and if_id
 *    (the kernel keeps keys, algorithms and mode); counters are kept.
 *  - DEL_SA / DEL_POLICY of a missing entry -> IKE_ERR_KERNEL_NOENT.
 *  - ADD_POLICY of an existing id -> IKE_ERR_KERNEL_EXISTS; UPDATE_POLICY
 *    replaces, and creates the policy when missing (XFRM_MSG_UPDPOLICY does).
 *  - A hard expiry (time, bytes or packets) deletes the SA, as the kernel
 *    does, and is reported once as IKE_KEV_EXPIRE_HARD; a soft expiry is
 *    reported once as IKE_KEV_EXPIRE_SOFT and the SA stays.
 *  - A larval SA left by alloc_spi hard-expires after `acq_expires` seconds
 *    (the kernel's net.core.xfrm_acq_expires, default 30), like the kernel.
 *
 * Time: the model has no clock. It uses the last now_s given to
 * ike_kmem_set_time(), ike_kmem_tick() or ike_kmem_add_traffic() as the add
 * time of new SAs; the soft/hard_add_s limits count from it.
 *
 * Cost: lookups are O(1) (open-addressing hash tables); timed expiries sit in
 * a binary heap, so ike_kmem_tick() is O(log n) per expiry, not O(n).
 *
 * Secrets: key bytes are wiped when an SA is deleted and when the model is
 * freed; ike_kmem_dump() never prints them.
 *
 * Errors: IKE_ERR_KERNEL_EXISTS, IKE_ERR_KERNEL_NOENT, IKE_ERR_NOMEM,
 * IKE_ERR_INVALID_ARG, IKE_ERR_KERNEL (alloc_spi found no free SPI), and any
 * code injected with ike_kmem_fail_next().
 */
#ifndef IKE_KERNEL_MEMORY_H
#define IKE_KERNEL_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/kernel.h"

struct ike_kmem;

/* Heap; ike_kmem_free() wipes all keys. NULL when out of memory. */
struct ike_kmem *ike_kmem_new(void);
void ike_kmem_free(struct ike_kmem *m);

/* Fill *be so that it applies ops to m. If owns, be->destroy frees m;
 * otherwise be->destroy does nothing and the caller frees m. */
void ike_kmem_backend_init(struct ike_kmem *m, struct ike_kernel_backend *be, bool owns);

/* The model behind a backend made by ike_kmem_backend_init (NULL if be is
 * another backend). */
struct ike_kmem *ike_kmem_from_backend(const struct ike_kernel_backend *be);

/* Current time in seconds (any epoch, e.g. the simulation's clock / 1000). */
void ike_kmem_set_time(struct ike_kmem *m, uint64_t now_s);

/* Lifetime of larval SAs from alloc_spi, in seconds; 0 = they never expire.
 * Default 30 (the kernel's net.core.xfrm_acq_expires default). */
void ike_kmem_set_acq_expires(struct ike_kmem *m, uint32_t s);

/* Make the next n apply() calls whose op type is op_type (0 = any type)
 * fail with err (a negative IKE_ERR_*) without changing anything, to test
 * rollback. n = 0 cancels. alloc_spi is not affected. */
void ike_kmem_fail_next(struct ike_kmem *m, unsigned n, int err, uint8_t op_type);

/* ---- inspection ---- */

/* Installed SAs (larval ones excluded), larval SAs, and policies. */
size_t ike_kmem_sa_count(const struct ike_kmem *m);
size_t ike_kmem_larval_count(const struct ike_kmem *m);
size_t ike_kmem_policy_count(const struct ike_kmem *m);

struct ike_kmem_sa_state {
    bool larval;       /* reserved by alloc_spi; no keys yet */
    bool soft_expired; /* the soft EXPIRE event was reported */
    struct ike_sa_stats stats;
};

/* The SA with this id (installed or larval), or NULL. st may be NULL. The
 * pointer is valid until the next call that changes m. */
const struct ike_kernel_sa *ike_kmem_find_sa(const struct ike_kmem *m, const struct ike_sa_id *id,
                                             struct ike_kmem_sa_state *st);

/* The policy with this id, or NULL. Valid until the next change of m. */
const struct ike_kernel_policy *ike_kmem_find_policy(const struct ike_kmem *m,
                                                     const struct ike_policy_id *id);

/* Call cb for every SA (larval ones too) / every policy, in no particular
 * order; a non-zero return from cb stops the walk and is returned. cb must
 * not change m. */
typedef int (*ike_kmem_sa_cb)(void *arg, const struct ike_kernel_sa *sa,
                              const struct ike_kmem_sa_state *st);
typedef int (*ike_kmem_policy_cb)(void *arg, const struct ike_kernel_policy *pol);
int ike_kmem_foreach_sa(const struct ike_kmem *m, ike_kmem_sa_cb cb, void *arg);
int ike_kmem_foreach_policy(const struct ike_kmem *m, ike_kmem_policy_cb cb, void *arg);

/* Everything installed as text, one line per SA or policy (no key bytes),
 * for test failure messages. Writes at most cap bytes (always
 * NUL-terminated when cap > 0) and returns the length the full text needs,
 * like snprintf. */
size_t ike_kmem_dump(const struct ike_kmem *m, char *buf, size_t cap);

/* ---- simulated traffic and expiry ---- */

/* Count traffic on SA id at now_s (its use time becomes now_s). When this
 * crosses a limit, writes the EXPIRE event into ev[0] and returns 1, else
 * returns 0. As in the kernel (xfrm_state_check_expire), crossing a hard
 * limit sends only the hard event and deletes the SA; a soft event is sent
 * once. IKE_ERR_KERNEL_NOENT when no such SA (or it is larval),
 * IKE_ERR_INVALID_ARG when cap < 1. */
int ike_kmem_add_traffic(struct ike_kmem *m, const struct ike_sa_id *id, uint64_t bytes,
                         uint64_t packets, uint64_t now_s, struct ike_kernel_event *ev, size_t cap);

/* Advance time to now_s and write up to cap due time-based EXPIRE events
 * (soft_add_s / hard_add_s after the add time; larval SAs after
 * acq_expires) into ev; returns how many. Events that do not fit stay due
 * and are returned by the next call. */
int ike_kmem_tick(struct ike_kmem *m, uint64_t now_s, struct ike_kernel_event *ev, size_t cap);

/* The earliest time a timed expiry is due, or UINT64_MAX when none. */
uint64_t ike_kmem_next_expiry(struct ike_kmem *m);

/* Simulate traffic hitting a TRAP policy: fill *ev with the ACQUIRE the
 * kernel would send. IKE_ERR_KERNEL_NOENT if there is no such policy,
 * IKE_ERR_INVALID_ARG if it is not IKE_POLICY_TRAP. */
int ike_kmem_acquire(const struct ike_kmem *m, const struct ike_policy_id *id,
                     struct ike_kernel_event *ev);

#endif /* IKE_KERNEL_MEMORY_H */
