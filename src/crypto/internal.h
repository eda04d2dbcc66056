/*
 * internal.h: what the files of src/crypto share, and the raw primitives
 * the white-box tests in tests/unit/crypto call to check RFC vectors that
 * the ops table cannot express (a bare HMAC, AES-CBC without IKE framing,
 * an AEAD with arbitrary AAD and nonce).
 *
 * Not part of the public contract: only src/crypto and its tests include
 * it. Errors are the IKE_ERR_* codes of include/ike/err.h.
 */
#ifndef IKE_CRYPTO_INTERNAL_H
#define IKE_CRYPTO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ike/crypto.h"

/* The digests behind the HMAC PRFs and integrity transforms. */
enum ike_crypto_md { IKE_MD_SHA1, IKE_MD_SHA256, IKE_MD_SHA384, IKE_MD_SHA512, IKE_MD_COUNT };

/* Map a PRF / integrity transform ID to its digest (negative if unknown). */
int ike_crypto_prf_md(uint16_t prf_id);
int ike_crypto_integ_md(uint16_t integ_id);

/* HMAC(key, data[0] | data[1] | ...) truncated to out_len bytes (at most
 * the digest size). */
int ike_crypto_hmac(int md, const uint8_t *key, size_t key_len, const struct ike_iov *data,
                    size_t n_data, uint8_t *out, size_t out_len);

/* Raw AES-CBC without padding: len must be a multiple of 16; key_len 16,
 * 24 or 32. in and out may be the same buffer. */
int ike_crypto_cbc(int encrypt, const uint8_t *key, size_t key_len, const uint8_t iv[16],
                   const uint8_t *in, size_t len, uint8_t *out);

/* Raw AEAD (AES-GCM: encr_id ENCR_AES_GCM_*, key_len 16/24/32;
 * ChaCha20-Poly1305: key_len 32) with a 12-byte nonce. Encrypt writes
 * tag_len bytes of tag; decrypt checks them and returns IKE_ERR_INTEGRITY
 * (with out wiped) on mismatch. in and out may be the same buffer. */
int ike_crypto_aead(int encrypt, uint16_t encr_id, const uint8_t *key, size_t key_len,
                    const uint8_t nonce[12], const uint8_t *aad, size_t aad_len, const uint8_t *in,
                    size_t len, uint8_t *out, uint8_t *tag, size_t tag_len);

/* The table entries implemented in openssl_ke.c and openssl_sk.c. */
int ike_crypto_ke_new(uint16_t group, const uint8_t *priv_seed, size_t seed_len, struct ike_ke **ke,
                      uint8_t *pub, size_t pub_cap, size_t *pub_len);
int ike_crypto_ke_derive(struct ike_ke *ke, const uint8_t *peer_pub, size_t peer_len,
                         struct ike_secret *shared);
void ike_crypto_ke_free(struct ike_ke *ke);
int ike_crypto_sk_seal(const struct ike_sk_params *sp, uint8_t *buf, size_t cap, size_t aad_len,
                       size_t sk_hdr_off, const uint8_t *plain, size_t plain_len, const uint8_t *iv,
                       size_t *out_len);
int ike_crypto_sk_open(const struct ike_sk_params *sp, const uint8_t *msg, size_t msg_len,
                       size_t aad_len, uint8_t *plain, size_t plain_cap, size_t *plain_len);

#endif /* IKE_CRYPTO_INTERNAL_H */
