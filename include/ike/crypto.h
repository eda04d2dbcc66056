/*
 * ike/crypto.h: the cryptography the IKE core needs, as a small ops table.
 *
 * The core (src/core) never includes OpenSSL; it calls through a
 * `const struct ike_crypto_ops *` handed to it. src/crypto/openssl*.c
 * implements the table with OpenSSL 3 EVP APIs (algorithms fetched once,
 * contexts created per call, nothing kept per SA). Tests may wrap the table
 * to count calls; benchmarks time it separately from the engine.
 *
 * Secrets: struct ike_key (inline, <= 64 bytes: SK_* and Child keys) and
 * struct ike_secret (heap, any length: g^ir, SKEYSEED workspace). Both are
 * wiped whenever cleared or freed (explicit_bzero / OPENSSL_cleanse). A
 * secret is never logged.
 *
 * Errors: IKE_ERR_UNSUPPORTED_ALG, IKE_ERR_CRYPTO, IKE_ERR_INTEGRITY,
 * IKE_ERR_BAD_PADDING, IKE_ERR_KE_INVALID, IKE_ERR_KE_ZERO,
 * IKE_ERR_INVALID_ARG, IKE_ERR_BUF_TOO_SMALL, IKE_ERR_NOMEM.
 */
#ifndef IKE_CRYPTO_H
#define IKE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike/types.h"

/* ---- secrets ---- */
#define IKE_KEY_MAX 64 /* largest SK_* / Child key incl. salt (SHA-512 = 64) */

struct ike_key {
    uint8_t len;
    uint8_t b[IKE_KEY_MAX];
};

/* Copy n bytes in (n <= IKE_KEY_MAX, else IKE_ERR_INVALID_ARG). */
int ike_key_set(struct ike_key *k, const uint8_t *p, size_t n);
/* Wipe and set len to 0. */
void ike_key_clear(struct ike_key *k);

struct ike_secret {
    size_t len;
    uint8_t *p; /* heap; NULL when empty */
};

int ike_secret_alloc(struct ike_secret *s, size_t len); /* zeroed */
void ike_secret_free(struct ike_secret *s);             /* wipes, then frees */

/* Wipe any memory (never optimized away). Pure: implemented in src/wire. */
void ike_wipe(void *p, size_t n);

/* Constant-time comparison: 0 when equal. */
int ike_ct_memcmp(const void *a, const void *b, size_t n);

/* ---- algorithm properties (pure tables, src/wire/alg.c) ---- */
/* Encryption: key bytes including salt (GCM/ChaCha: +4), IV bytes,
 * block size (padding unit; 1 for AEAD counter modes), ICV bytes (AEAD
 * only, else 0). keylen_bits is the Key Length attribute (0 = default for
 * fixed-size algorithms). Return IKE_ERR_UNSUPPORTED_ALG when unknown. */
struct ike_encr_info {
    uint16_t id;
    uint16_t key_bits; /* without salt */
    uint8_t key_len;   /* bytes of keying material incl. salt */
    uint8_t salt_len;
    uint8_t iv_len;
    uint8_t block_len;
    uint8_t icv_len; /* AEAD tag; 0 for non-AEAD */
    bool aead;
};
int ike_alg_encr(uint16_t id, uint16_t keylen_bits, struct ike_encr_info *out);

struct ike_integ_info {
    uint16_t id;
    uint8_t key_len; /* bytes */
    uint8_t icv_len; /* truncated output */
};
int ike_alg_integ(uint16_t id, struct ike_integ_info *out);

/* PRF output length == preferred key length for HMAC PRFs. */
int ike_alg_prf_len(uint16_t prf_id);

/* Public value length of a group (MODP: prime bytes; ECP: 2*coord;
 * Curve25519 32, Curve448 56). */
int ike_alg_dh_len(uint16_t group);

/* ---- the ops table ---- */
struct ike_iov {
    const uint8_t *p;
    size_t len;
};

/* A pending key exchange: the private half (opaque to the core). */
struct ike_ke;

/* Parameters for the SK payload (RFC 7296 3.14, RFC 5282, RFC 7634). */
struct ike_sk_params {
    struct ike_encr_info encr;
    struct ike_integ_info integ; /* integ.id == AUTH_NONE for AEAD */
    const struct ike_key *key_e; /* SK_ei or SK_er (incl. salt for AEAD) */
    const struct ike_key *key_a; /* SK_ai or SK_ar (unused for AEAD) */
};

struct ike_crypto_ops {
    /* out = prf(key, data[0] | data[1] | ...); *out_len = ike_alg_prf_len. */
    int (*prf)(uint16_t prf_id, const uint8_t *key, size_t key_len, const struct ike_iov *data,
               size_t n_data, uint8_t *out);

    /* Fill buf with n random bytes (CSPRNG). Used by the daemon to seed
     * the engine's random callback; the engine itself takes randomness
     * only from its injected callback. */
    int (*random)(uint8_t *buf, size_t n);

    /*
     * Key exchange: ke_new makes a key pair for `group` (private part from
     * `priv_seed` bytes when non-NULL, for deterministic tests; else from
     * the CSPRNG) and writes the public value (RFC 5903 x|y for ECP, RFC
     * 8031 little-endian for Curve25519/448, big-endian padded for MODP).
     * ke_derive checks the peer's public value (RFC 6989: range for MODP,
     * on-curve for ECP; all-zero result for X25519/X448) and computes g^ir
     * (ECP: x coordinate only) into a new secret. ke_free wipes.
     */
    int (*ke_new)(uint16_t group, const uint8_t *priv_seed, size_t seed_len, struct ike_ke **ke,
                  uint8_t *pub, size_t pub_cap, size_t *pub_len);
    int (*ke_derive)(struct ike_ke *ke, const uint8_t *peer_pub, size_t peer_len,
                     struct ike_secret *shared);
    void (*ke_free)(struct ike_ke *ke);

    /*
     * SK payload protection. buf[0..aad_len) holds the IKE header and the
     * SK (or SKF) payload header, already written; for AEAD it is the AAD
     * (RFC 5282 5.1: from the IKE header through the SK/SKF header). seal
     * writes IV | ciphertext(plain | pad | pad_len) | ICV after it, sets
     * the IKE header Length (bytes 24..27) and the SK payload length (the
     * 2 bytes at sk_hdr_off + 2), then computes the ICV over buf[0..ICV)
     * (or the AEAD tag). iv: iv_len bytes from the engine's random source.
     * open checks the ICV in constant time first, then decrypts and strips
     * the padding, writing the inner payload chain to plain.
     */
    int (*sk_seal)(const struct ike_sk_params *sp, uint8_t *buf, size_t cap, size_t aad_len,
                   size_t sk_hdr_off, const uint8_t *plain, size_t plain_len, const uint8_t *iv,
                   size_t *out_len);
    int (*sk_open)(const struct ike_sk_params *sp, const uint8_t *msg, size_t msg_len,
                   size_t aad_len, uint8_t *plain, size_t plain_cap, size_t *plain_len);

    /* SHA-1 over the concatenated data (RFC 7296 2.23 NAT detection
     * hashes); out receives 20 bytes. */
    int (*sha1)(const struct ike_iov *data, size_t n_data, uint8_t out[20]);
};

/* The OpenSSL 3 implementation (src/crypto). Fetches algorithms on first
 * use; thread-compatible, not thread-safe (rekeyd is single-threaded). */
const struct ike_crypto_ops *ike_crypto_openssl(void);

#endif /* IKE_CRYPTO_H */
