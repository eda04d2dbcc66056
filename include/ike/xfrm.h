/*
 * ike/xfrm.h: the Linux XFRM backend (src/kernel/xfrm.c, libmnl) and the
 * message builder/parser under it (src/kernel/xfrm_msg.c, xfrm_parse.c).
 *
 * The builder writes one netlink request into a caller's buffer (8-byte
 * aligned, else IKE_ERR_BUF_TOO_SMALL; IKE_XFRM_MSG_MAX bytes is always
 * enough) and returns its length; it
 * includes key bytes for SAs, so the caller wipes the buffer after sending.
 * Requests carry NLM_F_REQUEST|NLM_F_ACK and the given sequence number. The
 * parsers take one netlink message as received (they check every length)
 * and fill plain structs of ike/kernel.h. Byte layout is that of iproute2's
 * `ip xfrm` (golden tests in tests/unit/kernel/test_xfrm_msg.c).
 *
 * Mapping notes (what the kernel expects, and what we do):
 *  - AES-CBC -> "cbc(aes)"; integrity always as XFRMA_ALG_AUTH_TRUNC with
 *    the RFC truncation (HMAC-SHA1-96, SHA2-256-128, -384-192, -512-256;
 *    the plain XFRMA_ALG_AUTH would give SHA-2 a 96-bit ICV).
 *  - AES-GCM -> "rfc4106(gcm(aes))", ChaCha20-Poly1305 ->
 *    "rfc7539esp(chacha20,poly1305)" as XFRMA_ALG_AEAD: key = key|salt(4),
 *    alg_key_len in bits including the salt, alg_icv_len in bits.
 *  - Unset byte/packet limits become XFRM_INF; seconds 0 = none.
 *  - ESN: XFRM_STATE_ESN and XFRMA_REPLAY_ESN_VAL carrying the window (the
 *    legacy replay_window field must then be 0); the kernel needs a window
 *    of at least 1 for ESN, so an ESN SA with replay_window 0 gets 1.
 *  - Policy actions IPSEC and TRAP are XFRM_POLICY_ALLOW with one ESP
 *    template (a TRAP policy simply has no SA yet: the kernel sends
 *    ACQUIRE); BLOCK is XFRM_POLICY_BLOCK without template. A template SPI
 *    != 0 pins the policy to that SA.
 *
 * Errors: IKE_ERR_BUF_TOO_SMALL, IKE_ERR_INVALID_ARG,
 * IKE_ERR_UNSUPPORTED_ALG (no kernel name for this IKE transform),
 * IKE_ERR_TRUNCATED / IKE_ERR_BAD_LENGTH (parse), IKE_ERR_NOT_FOUND (not an
 * event / not that message type), and the IKE_ERR_KERNEL* codes of
 * ike/kernel.h from the backend.
 */
#ifndef IKE_XFRM_H
#define IKE_XFRM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/kernel.h"

/* ---- the backend ---- */

/* Open the XFRM netlink socket of the current network namespace and fill
 * *be. be->destroy closes it. IKE_ERR_IO when the socket cannot be opened
 * (no CAP_NET_ADMIN is only seen at the first request). */
int ike_xfrm_backend_new(struct ike_kernel_backend *be);

/* Remove every ESP SA and every policy of the namespace (XFRM_MSG_FLUSHSA
 * proto ESP, XFRM_MSG_FLUSHPOLICY). For tests and --delete-all. */
int ike_xfrm_flush(struct ike_kernel_backend *be);

/* The event socket: subscribed to XFRMNLGRP_EXPIRE, XFRMNLGRP_ACQUIRE and
 * XFRMNLGRP_POLEXPIRE. Non-blocking; put ike_xfrm_events_fd() in the event
 * loop and call ike_xfrm_events_read() when it is readable. */
struct ike_xfrm_events;
int ike_xfrm_events_new(struct ike_xfrm_events **out);
int ike_xfrm_events_fd(const struct ike_xfrm_events *e);
/* Read what is pending (never blocks) and write up to cap events into ev;
 * returns how many (0 when nothing is pending). Messages that are not
 * events are skipped; events that do not fit stay queued in the socket. If
 * the socket overflowed (ENOBUFS: events were lost), *lost (may be NULL) is
 * set to true: the caller should then resynchronise (e.g. GETSA its SAs). */
int ike_xfrm_events_read(struct ike_xfrm_events *e, struct ike_kernel_event *ev, size_t cap,
                         bool *lost);
void ike_xfrm_events_free(struct ike_xfrm_events *e);

/* Read every policy / every SA of the namespace (GETPOLICY / GETSA dump)
 * through the backend's socket; cb is called for each (no key bytes are
 * passed). A non-zero return from cb stops delivering (the rest of the dump
 * is still read). For tests and tools. */
int ike_xfrm_dump_policies(struct ike_kernel_backend *be,
                           int (*cb)(void *arg, const struct ike_kernel_policy *p), void *arg);
int ike_xfrm_dump_sas(struct ike_kernel_backend *be,
                      int (*cb)(void *arg, const struct ike_kernel_sa *sa,
                                const struct ike_sa_stats *st),
                      void *arg);

/* ---- the message builder (pure) ---- */

#define IKE_XFRM_MSG_MAX 1024 /* largest request we build, with room */

/* NEWSA (update = false) or UPDSA (update = true). */
int ike_xfrm_build_sa(void *buf, size_t cap, uint32_t seq, bool update,
                      const struct ike_kernel_sa *sa);
int ike_xfrm_build_del_sa(void *buf, size_t cap, uint32_t seq, const struct ike_sa_id *id);
/* GETSA: the reply is a NEWSA message (see ike_xfrm_parse_sa). */
int ike_xfrm_build_get_sa(void *buf, size_t cap, uint32_t seq, const struct ike_sa_id *id);
/* NEWPOLICY (update = false) or UPDPOLICY. */
int ike_xfrm_build_policy(void *buf, size_t cap, uint32_t seq, bool update,
                          const struct ike_kernel_policy *p);
int ike_xfrm_build_del_policy(void *buf, size_t cap, uint32_t seq, const struct ike_policy_id *id);
/* ALLOCSPI for ESP from src to dst in [min, max]; the reply is a NEWSA. */
int ike_xfrm_build_alloc_spi(void *buf, size_t cap, uint32_t seq, const struct ike_addr *src,
                             const struct ike_addr *dst, uint32_t min, uint32_t max);
/* The request for one kernel op (dispatches to the builders above). */
int ike_xfrm_build_op(void *buf, size_t cap, uint32_t seq, const struct ike_kernel_op *op);
/* FLUSHSA (proto ESP) and FLUSHPOLICY; GETPOLICY dump request. */
int ike_xfrm_build_flush_sa(void *buf, size_t cap, uint32_t seq);
int ike_xfrm_build_flush_policy(void *buf, size_t cap, uint32_t seq);
int ike_xfrm_build_dump_policy(void *buf, size_t cap, uint32_t seq);
int ike_xfrm_build_dump_sa(void *buf, size_t cap, uint32_t seq);

/* Kernel algorithm names for IKE transform IDs (one table). */
struct ike_xfrm_alg {
    const char *name;  /* "rfc4106(gcm(aes))", "hmac(sha256)" ... */
    uint16_t icv_bits; /* AEAD ICV / integrity truncation; 0 for ciphers */
    uint16_t key_bits; /* integrity key size; 0 for ciphers */
    uint8_t salt_len;  /* AEAD salt bytes appended to the key */
    bool aead;
};
int ike_xfrm_alg_encr(uint16_t encr_id, struct ike_xfrm_alg *out);
int ike_xfrm_alg_integ(uint16_t integ_id, struct ike_xfrm_alg *out);

/* ---- parsers (one received message; every length checked) ---- */

/* EXPIRE (soft/hard), ACQUIRE, POLEXPIRE -> *ev. IKE_ERR_NOT_FOUND when
 * msg is another message type. */
int ike_xfrm_parse_event(const void *msg, size_t len, struct ike_kernel_event *ev);
/* A NEWSA message (GETSA reply, ALLOCSPI reply, SA dump): identity, mode,
 * reqid, lifetimes and flags into *sa (sa may be NULL; no key bytes are
 * copied), counters into *st (may be NULL). */
int ike_xfrm_parse_sa(const void *msg, size_t len, struct ike_kernel_sa *sa,
                      struct ike_sa_stats *st);
/* A NEWPOLICY message (policy dump) -> *p. */
int ike_xfrm_parse_policy(const void *msg, size_t len, struct ike_kernel_policy *p);
/* An NLMSG_ERROR message: *err_no gets the positive errno (0 = ACK); the
 * kernel's extended-ACK text, if any, is copied to text (cap bytes, may be
 * 0). IKE_ERR_NOT_FOUND when msg is not NLMSG_ERROR. */
int ike_xfrm_parse_error(const void *msg, size_t len, int *err_no, char *text, size_t cap);

#endif /* IKE_XFRM_H */
