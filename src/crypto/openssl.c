/*
 * openssl.c: the ops table of include/ike/crypto.h on OpenSSL 3, and the
 * HMAC/SHA-1/random parts of it (PRFs of RFC 7296 3.3.2, RFC 4868).
 *
 * EVP only. Algorithms are fetched once on first use and kept for the life
 * of the process (DESIGN.md 6: fetching costs more than the HMAC itself);
 * every call works on its own short-lived context, so nothing is kept per
 * SA. Not thread-safe (rekeyd is single-threaded). Never logs key bytes.
 */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <string.h>

#include "ike/crypto.h"
#include "ike/err.h"
#include "internal.h"

static const char *const md_names[IKE_MD_COUNT] = {"SHA1", "SHA2-256", "SHA2-384", "SHA2-512"};
static const size_t md_sizes[IKE_MD_COUNT] = {20, 32, 48, 64};

/* One HMAC context per digest with the digest already set and no key: each
 * call duplicates it (cheaper than setting the digest by name again). */
static EVP_MAC *hmac_alg;
static EVP_MAC_CTX *hmac_tmpl[IKE_MD_COUNT];
static EVP_MD *sha1_alg;

int ike_crypto_prf_md(uint16_t prf_id)
{
    switch (prf_id) {
    case PRF_HMAC_SHA1:
        return IKE_MD_SHA1;
    case PRF_HMAC_SHA2_256:
        return IKE_MD_SHA256;
    case PRF_HMAC_SHA2_384:
        return IKE_MD_SHA384;
    case PRF_HMAC_SHA2_512:
        return IKE_MD_SHA512;
    default:
        return IKE_ERR_UNSUPPORTED_ALG;
    }
}

int ike_crypto_integ_md(uint16_t integ_id)
{
    switch (integ_id) {
    case AUTH_HMAC_SHA1_96:
        return IKE_MD_SHA1;
    case AUTH_HMAC_SHA2_256_128:
        return IKE_MD_SHA256;
    case AUTH_HMAC_SHA2_384_192:
        return IKE_MD_SHA384;
    case AUTH_HMAC_SHA2_512_256:
        return IKE_MD_SHA512;
    default:
        return IKE_ERR_UNSUPPORTED_ALG;
    }
}

static EVP_MAC_CTX *hmac_template(int md)
{
    if (hmac_tmpl[md] != NULL)
        return hmac_tmpl[md];
    if (hmac_alg == NULL && (hmac_alg = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL)) == NULL)
        return NULL;
    EVP_MAC_CTX *t = EVP_MAC_CTX_new(hmac_alg);
    if (t == NULL)
        return NULL;
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md_names[md], 0),
        OSSL_PARAM_construct_end(),
    };
    if (!EVP_MAC_CTX_set_params(t, params)) {
        EVP_MAC_CTX_free(t);
        return NULL;
    }
    hmac_tmpl[md] = t;
    return t;
}

int ike_crypto_hmac(int md, const uint8_t *key, size_t key_len, const struct ike_iov *data,
                    size_t n_data, uint8_t *out, size_t out_len)
{
    static const uint8_t no_key; /* HMAC init treats a NULL key as "keep" */
    uint8_t full[EVP_MAX_MD_SIZE];
    size_t got = 0;
    int rc = IKE_ERR_CRYPTO;

    if (md < 0 || md >= IKE_MD_COUNT || out == NULL || out_len > md_sizes[md] ||
        (key == NULL && key_len > 0) || (data == NULL && n_data > 0))
        return IKE_ERR_INVALID_ARG;
    EVP_MAC_CTX *t = hmac_template(md);
    if (t == NULL)
        return IKE_ERR_CRYPTO;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(t);
    if (ctx == NULL)
        return IKE_ERR_CRYPTO;
    if (!EVP_MAC_init(ctx, key_len > 0 ? key : &no_key, key_len, NULL))
        goto out;
    for (size_t i = 0; i < n_data; i++) {
        if (data[i].len > 0 && !EVP_MAC_update(ctx, data[i].p, data[i].len))
            goto out;
    }
    if (!EVP_MAC_final(ctx, full, &got, sizeof(full)) || got != md_sizes[md])
        goto out;
    memcpy(out, full, out_len);
    rc = IKE_OK;
out:
    /* The untruncated output is MAC material too (and, for the PRF, key
     * material): wipe it; EVP_MAC_CTX_free cleanses the keyed state. */
    OPENSSL_cleanse(full, sizeof(full));
    EVP_MAC_CTX_free(ctx);
    return rc;
}

static int op_prf(uint16_t prf_id, const uint8_t *key, size_t key_len, const struct ike_iov *data,
                  size_t n_data, uint8_t *out)
{
    int md = ike_crypto_prf_md(prf_id);
    if (md < 0)
        return md;
    return ike_crypto_hmac(md, key, key_len, data, n_data, out, md_sizes[md]);
}

static int op_random(uint8_t *buf, size_t n)
{
    if (buf == NULL && n > 0)
        return IKE_ERR_INVALID_ARG;
    while (n > 0) {
        int chunk = n > (1u << 20) ? (1 << 20) : (int)n;
        if (RAND_bytes(buf, chunk) != 1)
            return IKE_ERR_CRYPTO;
        buf += chunk;
        n -= (size_t)chunk;
    }
    return IKE_OK;
}

/* RFC 7296 2.23: NAT detection hashes are SHA-1 regardless of the PRF. */
static int op_sha1(const struct ike_iov *data, size_t n_data, uint8_t out[20])
{
    unsigned int got = 0;
    int rc = IKE_ERR_CRYPTO;

    if (out == NULL || (data == NULL && n_data > 0))
        return IKE_ERR_INVALID_ARG;
    if (sha1_alg == NULL && (sha1_alg = EVP_MD_fetch(NULL, "SHA1", NULL)) == NULL)
        return IKE_ERR_CRYPTO;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return IKE_ERR_NOMEM;
    if (!EVP_DigestInit_ex(ctx, sha1_alg, NULL))
        goto out;
    for (size_t i = 0; i < n_data; i++) {
        if (data[i].len > 0 && !EVP_DigestUpdate(ctx, data[i].p, data[i].len))
            goto out;
    }
    if (EVP_DigestFinal_ex(ctx, out, &got) && got == 20)
        rc = IKE_OK;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

static const struct ike_crypto_ops openssl_ops = {
    .prf = op_prf,
    .random = op_random,
    .ke_new = ike_crypto_ke_new,
    .ke_derive = ike_crypto_ke_derive,
    .ke_free = ike_crypto_ke_free,
    .sk_seal = ike_crypto_sk_seal,
    .sk_open = ike_crypto_sk_open,
    .sha1 = op_sha1,
};

const struct ike_crypto_ops *ike_crypto_openssl(void)
{
    return &openssl_ops;
}
