/*
 * openssl_sk.c: protection of the SK (and SKF) payload on OpenSSL 3
 * EVP_CIPHER / EVP_MAC: AES-CBC + HMAC (RFC 7296 3.14), AES-GCM (RFC 5282)
 * and ChaCha20-Poly1305 (RFC 7634), plus the raw cipher helpers of
 * internal.h.
 *
 * Ciphers are fetched once; each call builds its own EVP_CIPHER_CTX, whose
 * free cleanses the key schedule. Keys are used in place (no copies). open
 * checks the ICV in constant time before it decrypts (AEAD: the tag is
 * checked by the final step and the output wiped if it fails) and returns
 * no plaintext unless the message is authentic.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "ike/crypto.h"
#include "ike/err.h"
#include "internal.h"

enum { C_CBC128, C_CBC192, C_CBC256, C_GCM128, C_GCM192, C_GCM256, C_CHACHA, C_COUNT };

static const char *const cipher_names[C_COUNT] = {
    "AES-128-CBC", "AES-192-CBC", "AES-256-CBC",       "AES-128-GCM",
    "AES-192-GCM", "AES-256-GCM", "ChaCha20-Poly1305",
};
static EVP_CIPHER *ciphers[C_COUNT];

static const EVP_CIPHER *cipher_get(int which)
{
    if (ciphers[which] == NULL)
        ciphers[which] = EVP_CIPHER_fetch(NULL, cipher_names[which], NULL);
    return ciphers[which];
}

static int aes_index(size_t key_len)
{
    return key_len == 16 ? 0 : key_len == 24 ? 1 : key_len == 32 ? 2 : -1;
}

int ike_crypto_cbc(int encrypt, const uint8_t *key, size_t key_len, const uint8_t iv[16],
                   const uint8_t *in, size_t len, uint8_t *out)
{
    int ai = aes_index(key_len);
    if (ai < 0 || key == NULL || iv == NULL || len % 16 != 0 || len > INT32_MAX ||
        (len > 0 && (in == NULL || out == NULL)))
        return IKE_ERR_INVALID_ARG;
    const EVP_CIPHER *alg = cipher_get(C_CBC128 + ai);
    if (alg == NULL)
        return IKE_ERR_CRYPTO;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, rc = IKE_ERR_CRYPTO;
    if (ctx == NULL)
        return IKE_ERR_NOMEM;
    /* IKE does its own padding (RFC 7296 3.14), so OpenSSL's is off. */
    if (!EVP_CipherInit_ex2(ctx, alg, key, iv, encrypt, NULL) ||
        !EVP_CIPHER_CTX_set_padding(ctx, 0))
        goto out;
    if (len > 0 && (!EVP_CipherUpdate(ctx, out, &n, in, (int)len) || (size_t)n != len))
        goto out;
    if (!EVP_CipherFinal_ex(ctx, out + n, &n) || n != 0)
        goto out;
    rc = IKE_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int ike_crypto_aead(int encrypt, uint16_t encr_id, const uint8_t *key, size_t key_len,
                    const uint8_t nonce[12], const uint8_t *aad, size_t aad_len, const uint8_t *in,
                    size_t len, uint8_t *out, uint8_t *tag, size_t tag_len)
{
    int which;
    if (encr_id == ENCR_CHACHA20_POLY1305)
        which = key_len == 32 && tag_len == 16 ? C_CHACHA : -1;
    else if (encr_id == ENCR_AES_GCM_8 || encr_id == ENCR_AES_GCM_12 || encr_id == ENCR_AES_GCM_16)
        which = aes_index(key_len) < 0 || tag_len < 8 || tag_len > 16
                    ? -1
                    : C_GCM128 + aes_index(key_len);
    else
        return IKE_ERR_UNSUPPORTED_ALG;
    if (which < 0 || key == NULL || nonce == NULL || tag == NULL || len > INT32_MAX ||
        aad_len > INT32_MAX || (aad == NULL && aad_len > 0) ||
        (len > 0 && (in == NULL || out == NULL)))
        return IKE_ERR_INVALID_ARG;
    const EVP_CIPHER *alg = cipher_get(which);
    if (alg == NULL)
        return IKE_ERR_CRYPTO;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, rc = IKE_ERR_CRYPTO;
    if (ctx == NULL)
        return IKE_ERR_NOMEM;
    /* 12-byte nonce (salt | IV) is the default for both GCM and ChaCha20. */
    if (!EVP_CipherInit_ex2(ctx, alg, key, nonce, encrypt, NULL))
        goto out;
    if (!encrypt && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)tag_len, tag))
        goto out;
    if (aad_len > 0 && !EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len))
        goto out;
    if (len > 0 && (!EVP_CipherUpdate(ctx, out, &n, in, (int)len) || (size_t)n != len))
        goto out;
    if (!EVP_CipherFinal_ex(ctx, out + len, &n) || n != 0) {
        /* For decryption the only way to get here is a wrong tag. */
        rc = encrypt ? IKE_ERR_CRYPTO : IKE_ERR_INTEGRITY;
        goto out;
    }
    if (encrypt && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)tag_len, tag))
        goto out;
    rc = IKE_OK;
out:
    if (rc != IKE_OK && !encrypt && len > 0 && out != NULL)
        OPENSSL_cleanse(out, len); /* never hand out unauthenticated plaintext */
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Check that the parameters describe something we can run: key lengths
 * match the transforms, AEAD has no integrity transform. */
static int check_params(const struct ike_sk_params *sp)
{
    if (sp == NULL || sp->key_e == NULL || sp->key_e->len != sp->encr.key_len ||
        sp->encr.iv_len == 0 || sp->encr.block_len == 0)
        return IKE_ERR_INVALID_ARG;
    if (sp->encr.aead)
        return sp->encr.icv_len > 0 && sp->encr.salt_len == 4 && sp->encr.iv_len == 8
                   ? IKE_OK
                   : IKE_ERR_INVALID_ARG;
    if (sp->encr.id != ENCR_AES_CBC || sp->encr.iv_len != 16 || sp->encr.block_len != 16)
        return IKE_ERR_UNSUPPORTED_ALG;
    if (ike_crypto_integ_md(sp->integ.id) < 0)
        return IKE_ERR_UNSUPPORTED_ALG;
    if (sp->key_a == NULL || sp->key_a->len != sp->integ.key_len || sp->integ.icv_len == 0)
        return IKE_ERR_INVALID_ARG;
    return IKE_OK;
}

static size_t icv_len_of(const struct ike_sk_params *sp)
{
    return sp->encr.aead ? sp->encr.icv_len : sp->integ.icv_len;
}

/* AEAD nonce (RFC 5282 4, RFC 7634 2): salt (last 4 bytes of SK_e) | IV. */
static void aead_nonce(const struct ike_sk_params *sp, const uint8_t *iv, uint8_t nonce[12])
{
    memcpy(nonce, sp->key_e->b + sp->key_e->len - 4, 4);
    memcpy(nonce + 4, iv, 8);
}

/* Encrypt ct[0..ct_len) in place and write the ICV (or tag) at icv. */
static int seal_body(const struct ike_sk_params *sp, uint8_t *buf, size_t aad_len, uint8_t *ct,
                     size_t ct_len, uint8_t *icv)
{
    const uint8_t *iv = buf + aad_len;
    if (sp->encr.aead) {
        uint8_t nonce[12];
        aead_nonce(sp, iv, nonce);
        return ike_crypto_aead(1, sp->encr.id, sp->key_e->b, sp->key_e->len - 4u, nonce, buf,
                               aad_len, ct, ct_len, ct, icv, sp->encr.icv_len);
    }
    int rc = ike_crypto_cbc(1, sp->key_e->b, sp->key_e->len, iv, ct, ct_len, ct);
    if (rc != IKE_OK)
        return rc;
    /* RFC 7296 3.14: the ICV covers the message from the IKE header through
     * the encrypted data, and is computed after encryption. */
    struct ike_iov all = {buf, (size_t)(icv - buf)};
    return ike_crypto_hmac(ike_crypto_integ_md(sp->integ.id), sp->key_a->b, sp->key_a->len, &all, 1,
                           icv, sp->integ.icv_len);
}

int ike_crypto_sk_seal(const struct ike_sk_params *sp, uint8_t *buf, size_t cap, size_t aad_len,
                       size_t sk_hdr_off, const uint8_t *plain, size_t plain_len, const uint8_t *iv,
                       size_t *out_len)
{
    int rc = check_params(sp);
    if (rc != IKE_OK)
        return rc;
    if (buf == NULL || iv == NULL || out_len == NULL || (plain == NULL && plain_len > 0) ||
        sk_hdr_off < IKE_HDR_LEN || sk_hdr_off + IKE_GENERIC_HDR_LEN > aad_len || aad_len > cap)
        return IKE_ERR_INVALID_ARG;

    /* RFC 7296 3.14: payloads | padding | pad length is a whole number of
     * cipher blocks. AEAD modes need no alignment and RFC 7634 3 says to
     * send no padding, so block_len 1 gives pad 0. */
    size_t blk = sp->encr.block_len;
    size_t ct_len = (plain_len + 1 + blk - 1) / blk * blk;
    size_t pad = ct_len - plain_len - 1;
    size_t iv_len = sp->encr.iv_len, icv_len = icv_len_of(sp);
    if (plain_len > cap || ct_len > cap - aad_len || iv_len + icv_len > cap - aad_len - ct_len)
        return IKE_ERR_BUF_TOO_SMALL;
    size_t total = aad_len + iv_len + ct_len + icv_len;
    if (total > UINT32_MAX || total - sk_hdr_off > 0xffff)
        return IKE_ERR_INVALID_ARG;

    /* Lengths first: for AEAD they are part of the AAD (RFC 7634 App. B). */
    put_be32(buf + 24, (uint32_t)total);
    buf[sk_hdr_off + 2] = (uint8_t)((total - sk_hdr_off) >> 8);
    buf[sk_hdr_off + 3] = (uint8_t)(total - sk_hdr_off);
    /* Plaintext before IV: the caller may have built the payloads in place
     * right after the AAD. */
    uint8_t *ct = buf + aad_len + iv_len;
    if (plain_len > 0)
        memmove(ct, plain, plain_len);
    memmove(buf + aad_len, iv, iv_len);
    memset(ct + plain_len, 0, pad); /* Padding MAY be any value (3.14) */
    ct[ct_len - 1] = (uint8_t)pad;
    rc = seal_body(sp, buf, aad_len, ct, ct_len, ct + ct_len);
    if (rc != IKE_OK) {
        ike_wipe(ct, ct_len); /* may still hold plaintext */
        return rc;
    }
    *out_len = total;
    return IKE_OK;
}

/* Non-AEAD: verify the truncated HMAC over msg[0..msg_len - icv_len). */
static int verify_icv(const struct ike_sk_params *sp, const uint8_t *msg, size_t msg_len)
{
    uint8_t want[64];
    size_t icv_len = sp->integ.icv_len;
    struct ike_iov all = {msg, msg_len - icv_len};
    int rc = ike_crypto_hmac(ike_crypto_integ_md(sp->integ.id), sp->key_a->b, sp->key_a->len, &all,
                             1, want, icv_len);
    if (rc == IKE_OK && CRYPTO_memcmp(want, msg + msg_len - icv_len, icv_len) != 0)
        rc = IKE_ERR_INTEGRITY;
    OPENSSL_cleanse(want, sizeof(want));
    return rc;
}

int ike_crypto_sk_open(const struct ike_sk_params *sp, const uint8_t *msg, size_t msg_len,
                       size_t aad_len, uint8_t *plain, size_t plain_cap, size_t *plain_len)
{
    int rc = check_params(sp);
    if (rc != IKE_OK)
        return rc;
    if (msg == NULL || plain_len == NULL || aad_len < IKE_HDR_LEN + IKE_GENERIC_HDR_LEN)
        return IKE_ERR_INVALID_ARG;
    size_t iv_len = sp->encr.iv_len, icv_len = icv_len_of(sp);
    if (msg_len < aad_len || msg_len - aad_len < iv_len + icv_len + 1)
        return IKE_ERR_TRUNCATED; /* room for at least the pad length octet */
    size_t ct_len = msg_len - aad_len - iv_len - icv_len;
    if (ct_len % sp->encr.block_len != 0)
        return IKE_ERR_BAD_LENGTH;
    if (plain == NULL || plain_cap < ct_len)
        return IKE_ERR_BUF_TOO_SMALL;

    const uint8_t *iv = msg + aad_len, *ct = iv + iv_len, *icv = ct + ct_len;
    if (sp->encr.aead) {
        uint8_t nonce[12], tag[16];
        aead_nonce(sp, iv, nonce);
        memcpy(tag, icv, icv_len);
        rc = ike_crypto_aead(0, sp->encr.id, sp->key_e->b, sp->key_e->len - 4u, nonce, msg, aad_len,
                             ct, ct_len, plain, tag, icv_len);
    } else if ((rc = verify_icv(sp, msg, msg_len)) == IKE_OK) {
        rc = ike_crypto_cbc(0, sp->key_e->b, sp->key_e->len, iv, ct, ct_len, plain);
    }
    if (rc != IKE_OK)
        return rc;
    /* RFC 7296 3.14 / RFC 5282 3: any padding up to 255 octets is accepted,
     * but it cannot be longer than what was decrypted. */
    size_t pad = plain[ct_len - 1];
    if (pad + 1 > ct_len) {
        ike_wipe(plain, ct_len);
        return IKE_ERR_BAD_PADDING;
    }
    ike_wipe(plain + ct_len - pad - 1, pad + 1);
    *plain_len = ct_len - pad - 1;
    return IKE_OK;
}
