/*
 * alg.c: the properties of every transform rekeyd implements (key, IV,
 * block and ICV sizes; PRF output and public value lengths), as pure
 * tables. The engine sizes keys and buffers from these; src/crypto uses
 * them to pick OpenSSL algorithms.
 *
 * Pure (src/wire): no OpenSSL, no I/O. Sizes come from RFC 3602 (AES-CBC),
 * RFC 4106/5282 (AES-GCM: 4-octet salt, 8-octet IV), RFC 7634 (ChaCha20-
 * Poly1305), RFC 4868 (HMAC-SHA2), RFC 3526/5903/8031 (groups).
 */
#include <string.h>

#include "ike/crypto.h"
#include "ike/err.h"

static int aes_key_bits_ok(uint16_t bits)
{
    return bits == 128 || bits == 192 || bits == 256;
}

int ike_alg_encr(uint16_t id, uint16_t keylen_bits, struct ike_encr_info *out)
{
    struct ike_encr_info e;
    memset(&e, 0, sizeof(e));
    e.id = id;
    switch (id) {
    case ENCR_AES_CBC:
        /* RFC 3602: 16-octet random IV, 16-octet blocks; the Key Length
         * attribute is mandatory (RFC 7296 3.3.5), so 0 is not accepted. */
        if (!aes_key_bits_ok(keylen_bits))
            return IKE_ERR_UNSUPPORTED_ALG;
        e.key_bits = keylen_bits;
        e.iv_len = 16;
        e.block_len = 16;
        break;
    case ENCR_AES_GCM_8:
    case ENCR_AES_GCM_12:
    case ENCR_AES_GCM_16:
        /* RFC 5282 3.1/7.1, RFC 4106 8.1: key + 4-octet salt, 8-octet IV,
         * no padding alignment (block 1). */
        if (!aes_key_bits_ok(keylen_bits))
            return IKE_ERR_UNSUPPORTED_ALG;
        e.key_bits = keylen_bits;
        e.salt_len = 4;
        e.iv_len = 8;
        e.block_len = 1;
        e.icv_len = id == ENCR_AES_GCM_8 ? 8 : id == ENCR_AES_GCM_12 ? 12 : 16;
        e.aead = true;
        break;
    case ENCR_CHACHA20_POLY1305:
        /* RFC 7634 2/3: fixed 256-bit key (no Key Length attribute) + 4-octet
         * salt, 8-octet IV, 16-octet tag. */
        if (keylen_bits != 0 && keylen_bits != 256)
            return IKE_ERR_UNSUPPORTED_ALG;
        e.key_bits = 256;
        e.salt_len = 4;
        e.iv_len = 8;
        e.block_len = 1;
        e.icv_len = 16;
        e.aead = true;
        break;
    default:
        return IKE_ERR_UNSUPPORTED_ALG;
    }
    e.key_len = (uint8_t)(e.key_bits / 8 + e.salt_len);
    if (out != NULL)
        *out = e;
    return IKE_OK;
}

int ike_alg_integ(uint16_t id, struct ike_integ_info *out)
{
    struct ike_integ_info i = {.id = id};
    switch (id) {
    case AUTH_NONE: /* AEAD: no separate integrity key (RFC 5282 8) */
        break;
    case AUTH_HMAC_SHA1_96: /* RFC 2404 */
        i.key_len = 20;
        i.icv_len = 12;
        break;
    case AUTH_HMAC_SHA2_256_128: /* RFC 4868 2.1 */
        i.key_len = 32;
        i.icv_len = 16;
        break;
    case AUTH_HMAC_SHA2_384_192:
        i.key_len = 48;
        i.icv_len = 24;
        break;
    case AUTH_HMAC_SHA2_512_256:
        i.key_len = 64;
        i.icv_len = 32;
        break;
    default:
        return IKE_ERR_UNSUPPORTED_ALG;
    }
    if (out != NULL)
        *out = i;
    return IKE_OK;
}

int ike_alg_prf_len(uint16_t prf_id)
{
    switch (prf_id) {
    case PRF_HMAC_SHA1:
        return 20;
    case PRF_HMAC_SHA2_256:
        return 32;
    case PRF_HMAC_SHA2_384:
        return 48;
    case PRF_HMAC_SHA2_512:
        return 64;
    default:
        return IKE_ERR_UNSUPPORTED_ALG;
    }
}

int ike_alg_dh_len(uint16_t group)
{
    switch (group) {
    case MODP_2048: /* RFC 3526: public value is as long as the prime */
        return 256;
    case MODP_3072:
        return 384;
    case MODP_4096:
        return 512;
    case ECP_256: /* RFC 5903 7: x | y, each the size of the field */
        return 64;
    case ECP_384:
        return 96;
    case ECP_521:
        return 132;
    case CURVE25519: /* RFC 8031 2 */
        return 32;
    case CURVE448:
        return 56;
    default:
        return IKE_ERR_UNSUPPORTED_ALG;
    }
}
