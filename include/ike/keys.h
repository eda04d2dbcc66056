/*
 * ike/keys.h: the IKEv2 key schedule (src/core/keys.c), RFC 7296 2.13,
 * 2.14, 2.17 and 2.18, computed through the crypto ops table.
 *
 * Every function that holds intermediate key material wipes it before it
 * returns (one exit label). Output keys are struct ike_key, wiped by
 * ike_sa_keys_clear / ike_child_keys_clear.
 *
 * Errors: IKE_ERR_INVALID_ARG (lengths), IKE_ERR_UNSUPPORTED_ALG,
 * IKE_ERR_CRYPTO.
 */
#ifndef IKE_KEYS_H
#define IKE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "ike/crypto.h"

/* prf+ (2.13): T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n);
 * out = T1 | T2 | ... truncated to out_len (at most 255 blocks). */
int ike_prf_plus(const struct ike_crypto_ops *c, uint16_t prf_id, const uint8_t *key,
                 size_t key_len, const struct ike_iov *seed, size_t n_seed, uint8_t *out,
                 size_t out_len);

/* The seven keys of an IKE SA (2.14). */
struct ike_sa_keys {
    struct ike_key sk_d, sk_ai, sk_ar, sk_ei, sk_er, sk_pi, sk_pr;
};
void ike_sa_keys_clear(struct ike_sa_keys *k);

/* Lengths the negotiated transforms need. */
struct ike_sa_key_lens {
    uint16_t prf_id;
    size_t prf_len;   /* SK_d, SK_pi, SK_pr */
    size_t integ_len; /* SK_ai, SK_ar (0 for AEAD) */
    size_t encr_len;  /* SK_ei, SK_er incl. salt */
};

/*
 * Initial IKE SA (2.14):
 *   SKEYSEED = prf(Ni | Nr, g^ir)
 *   {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
 *       = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
 * SPIs are in network byte order (8 bytes each).
 */
int ike_keys_ike_sa(const struct ike_crypto_ops *c, const struct ike_sa_key_lens *lens,
                    const uint8_t *g_ir, size_t g_ir_len, const uint8_t *ni, size_t ni_len,
                    const uint8_t *nr, size_t nr_len, const uint8_t spi_i[8],
                    const uint8_t spi_r[8], struct ike_sa_keys *out);

/*
 * Rekeyed IKE SA (2.18): the OLD SA's PRF and SK_d make the new SKEYSEED,
 * the NEW SA's PRF expands it:
 *   SKEYSEED = prf_old(SK_d (old), g^ir (new) | Ni | Nr)
 *   {SK_d | ...} = prf+_new(SKEYSEED, Ni | Nr | SPIi | SPIr)
 * Ni, Nr, SPIi, SPIr are those of the new exchange.
 */
int ike_keys_ike_rekey(const struct ike_crypto_ops *c, uint16_t old_prf_id,
                       const struct ike_key *old_sk_d, const struct ike_sa_key_lens *lens,
                       const uint8_t *g_ir, size_t g_ir_len, const uint8_t *ni, size_t ni_len,
                       const uint8_t *nr, size_t nr_len, const uint8_t spi_i[8],
                       const uint8_t spi_r[8], struct ike_sa_keys *out);

/* Child SA keys (2.17), both directions. */
struct ike_child_keys {
    struct ike_key encr_i, integ_i; /* initiator -> responder */
    struct ike_key encr_r, integ_r; /* responder -> initiator */
};
void ike_child_keys_clear(struct ike_child_keys *k);

/*
 * KEYMAT = prf+(SK_d, Ni | Nr)                 (no PFS)
 * KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr)   (PFS; g_ir != NULL)
 * taken in order: encr_i, integ_i, encr_r, integ_r. encr_len includes the
 * salt for AEAD (RFC 4106 8.1, RFC 7634 4); integ_len 0 for AEAD.
 */
int ike_keys_child(const struct ike_crypto_ops *c, uint16_t prf_id, const struct ike_key *sk_d,
                   const uint8_t *g_ir, size_t g_ir_len, const uint8_t *ni, size_t ni_len,
                   const uint8_t *nr, size_t nr_len, size_t encr_len, size_t integ_len,
                   struct ike_child_keys *out);

#endif /* IKE_KEYS_H */
