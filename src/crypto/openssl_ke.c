/*
 * openssl_ke.c: Diffie-Hellman key exchange for IKEv2 on OpenSSL 3 EVP_PKEY:
 * MODP 14/15/16 (RFC 3526), ECP 19/20/21 (RFC 5903: public value x | y,
 * shared secret x), Curve25519/Curve448 (RFC 8031).
 *
 * Every received public value is checked the RFC 6989 way before use:
 * exact length; MODP 1 < y < p-1 (a byte compare of a few us, not OpenSSL's
 * full subgroup check of ~1.5 ms, DESIGN.md 6: the MODP groups are safe
 * primes and we never reuse exponents); ECP on the curve (OpenSSL's import
 * rejects other points); X25519/X448 all-zero results (RFC 8031 2.3).
 * Private keys never leave the EVP_PKEY; shared secrets go to ike_secret.
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>

#include "ike/crypto.h"
#include "ike/err.h"
#include "internal.h"

enum ke_kind { KE_MODP, KE_ECP, KE_ECX };

struct group_info {
    uint16_t id;
    uint8_t kind;
    const char *name; /* OpenSSL group / algorithm name */
    size_t len;       /* public value length (ike_alg_dh_len) */
};

static const struct group_info groups[] = {
    {MODP_2048, KE_MODP, "modp_2048", 256}, {MODP_3072, KE_MODP, "modp_3072", 384},
    {MODP_4096, KE_MODP, "modp_4096", 512}, {ECP_256, KE_ECP, "P-256", 64},
    {ECP_384, KE_ECP, "P-384", 96},         {ECP_521, KE_ECP, "P-521", 132},
    {CURVE25519, KE_ECX, "X25519", 32},     {CURVE448, KE_ECX, "X448", 56},
};

struct ike_ke {
    const struct group_info *g;
    EVP_PKEY *pkey;
};

#define MODP_MAX_LEN 512

static const struct group_info *find_group(uint16_t id)
{
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        if (groups[i].id == id)
            return &groups[i];
    }
    return NULL;
}

/* The RFC 3526 prime of a MODP group as a new BIGNUM. */
static BIGNUM *modp_prime(uint16_t id)
{
    switch (id) {
    case MODP_2048:
        return BN_get_rfc3526_prime_2048(NULL);
    case MODP_3072:
        return BN_get_rfc3526_prime_3072(NULL);
    case MODP_4096:
        return BN_get_rfc3526_prime_4096(NULL);
    default:
        return NULL;
    }
}

/* p - 1 big-endian, padded to the group length, cached per group (public
 * data) so the RFC 6989 range check is a byte compare. */
static const uint8_t *modp_p_minus_1(const struct group_info *g)
{
    static uint8_t cache[3][MODP_MAX_LEN];
    static bool have[3];
    int i = g->id == MODP_2048 ? 0 : g->id == MODP_3072 ? 1 : 2;
    if (have[i])
        return cache[i];
    BIGNUM *p = modp_prime(g->id);
    if (p == NULL)
        return NULL;
    int ok = BN_sub_word(p, 1) && BN_bn2binpad(p, cache[i], (int)g->len) == (int)g->len;
    BN_free(p);
    if (!ok)
        return NULL;
    have[i] = true;
    return cache[i];
}

/* RFC 6989 2.1: reject y <= 1 and y >= p - 1. */
static int modp_check_range(const struct group_info *g, const uint8_t *y)
{
    const uint8_t *pm1 = modp_p_minus_1(g);
    if (pm1 == NULL)
        return IKE_ERR_CRYPTO;
    bool high_zero = true;
    for (size_t i = 0; i + 1 < g->len; i++) {
        if (y[i] != 0) {
            high_zero = false;
            break;
        }
    }
    if (high_zero && y[g->len - 1] <= 1)
        return IKE_ERR_KE_INVALID;
    if (memcmp(y, pm1, g->len) >= 0)
        return IKE_ERR_KE_INVALID;
    return IKE_OK;
}

/* Build an EVP_PKEY of `alg` from an OSSL_PARAM list (selection is
 * EVP_PKEY_KEYPAIR or EVP_PKEY_PUBLIC_KEY). */
static EVP_PKEY *pkey_fromdata(const char *alg, OSSL_PARAM_BLD *bld, int selection)
{
    EVP_PKEY *pk = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, selection, params) <= 0)
        pk = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* OSSL_PARAM_BLD zeroizes secure BNs only */
    return pk;
}

/* Deterministic MODP key: x = seed (big-endian), y = 2^x mod p. */
static EVP_PKEY *modp_from_seed(const struct group_info *g, const uint8_t *seed, size_t seed_len)
{
    EVP_PKEY *pk = NULL;
    BN_CTX *bctx = BN_CTX_new();
    BIGNUM *p = modp_prime(g->id);
    BIGNUM *x = BN_secure_new();
    BIGNUM *y = BN_new();
    BIGNUM *two = BN_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bctx == NULL || p == NULL || x == NULL || y == NULL || two == NULL || bld == NULL ||
        BN_bin2bn(seed, (int)seed_len, x) == NULL || !BN_set_word(two, 2))
        goto out;
    if (BN_is_zero(x) || BN_is_one(x) || BN_cmp(x, p) >= 0)
        goto out;
    BN_set_flags(x, BN_FLG_CONSTTIME);
    if (!BN_mod_exp_mont_consttime(y, two, x, p, bctx, NULL))
        goto out;
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, g->name, 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, x) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, y))
        goto out;
    pk = pkey_fromdata("DH", bld, EVP_PKEY_KEYPAIR);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(two);
    BN_free(y);
    BN_clear_free(x);
    BN_free(p);
    BN_CTX_free(bctx);
    return pk;
}

/* The EC_GROUP of a NIST curve, made once (read-only afterwards): making
 * it costs more than the scalar multiplication. */
static const EC_GROUP *ec_group(const struct group_info *g)
{
    static EC_GROUP *cache[3];
    int i = g->id == ECP_256 ? 0 : g->id == ECP_384 ? 1 : 2;
    if (cache[i] == NULL)
        cache[i] = EC_GROUP_new_by_curve_name(EC_curve_nist2nid(g->name));
    return cache[i];
}

/* Deterministic ECP key: d = seed (big-endian), Q = d * G. */
static EVP_PKEY *ecp_from_seed(const struct group_info *g, const uint8_t *seed, size_t seed_len)
{
    EVP_PKEY *pk = NULL;
    uint8_t q[1 + 2 * 66];
    size_t qlen = 1 + g->len;
    const EC_GROUP *grp = ec_group(g);
    EC_POINT *pt = grp ? EC_POINT_new(grp) : NULL;
    BIGNUM *d = BN_secure_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (pt == NULL || d == NULL || bld == NULL || BN_bin2bn(seed, (int)seed_len, d) == NULL)
        goto out;
    if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(grp)) >= 0)
        goto out;
    if (!EC_POINT_mul(grp, pt, d, NULL, NULL, NULL) ||
        EC_POINT_point2oct(grp, pt, POINT_CONVERSION_UNCOMPRESSED, q, qlen, NULL) != qlen)
        goto out;
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, g->name, 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q, qlen))
        goto out;
    pk = pkey_fromdata("EC", bld, EVP_PKEY_KEYPAIR);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(d);
    EC_POINT_free(pt);
    return pk;
}

static EVP_PKEY *keygen(const struct group_info *g)
{
    EVP_PKEY *pk = NULL;
    const char *alg = g->kind == KE_MODP ? "DH" : g->kind == KE_ECP ? "EC" : g->name;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
    if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0)
        goto out;
    if (g->kind != KE_ECX) {
        OSSL_PARAM params[2] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)g->name, 0),
            OSSL_PARAM_construct_end(),
        };
        if (!EVP_PKEY_CTX_set_params(ctx, params))
            goto out;
    }
    if (EVP_PKEY_generate(ctx, &pk) <= 0)
        pk = NULL;
out:
    EVP_PKEY_CTX_free(ctx);
    return pk;
}

/* Write our public value in the IKE encoding (crypto.h). */
static int export_pub(const struct group_info *g, EVP_PKEY *pk, uint8_t *pub)
{
    if (g->kind == KE_MODP) {
        BIGNUM *y = NULL;
        int ok = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PUB_KEY, &y) &&
                 BN_bn2binpad(y, pub, (int)g->len) == (int)g->len;
        BN_free(y);
        return ok ? IKE_OK : IKE_ERR_CRYPTO;
    }
    if (g->kind == KE_ECP) {
        uint8_t q[1 + 2 * 66];
        size_t qlen = 0;
        if (!EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, q, sizeof(q), &qlen) ||
            qlen != 1 + g->len || q[0] != POINT_CONVERSION_UNCOMPRESSED)
            return IKE_ERR_CRYPTO;
        memcpy(pub, q + 1, g->len); /* RFC 5903 7: no 0x04 prefix */
        return IKE_OK;
    }
    size_t len = g->len;
    return EVP_PKEY_get_raw_public_key(pk, pub, &len) && len == g->len ? IKE_OK : IKE_ERR_CRYPTO;
}

int ike_crypto_ke_new(uint16_t group, const uint8_t *priv_seed, size_t seed_len, struct ike_ke **ke,
                      uint8_t *pub, size_t pub_cap, size_t *pub_len)
{
    if (ke == NULL || pub == NULL || pub_len == NULL || (priv_seed != NULL && seed_len == 0))
        return IKE_ERR_INVALID_ARG;
    *ke = NULL;
    const struct group_info *g = find_group(group);
    if (g == NULL)
        return IKE_ERR_UNSUPPORTED_ALG;
    if (pub_cap < g->len)
        return IKE_ERR_BUF_TOO_SMALL;

    EVP_PKEY *pk = NULL;
    if (priv_seed == NULL)
        pk = keygen(g);
    else if (g->kind == KE_MODP)
        pk = seed_len <= g->len ? modp_from_seed(g, priv_seed, seed_len) : NULL;
    else if (g->kind == KE_ECP)
        pk = seed_len <= g->len / 2 ? ecp_from_seed(g, priv_seed, seed_len) : NULL;
    else if (seed_len == g->len) /* RFC 7748: the raw scalar (clamped by X25519) */
        pk = EVP_PKEY_new_raw_private_key_ex(NULL, g->name, NULL, priv_seed, seed_len);
    if (pk == NULL)
        return priv_seed != NULL ? IKE_ERR_INVALID_ARG : IKE_ERR_CRYPTO;

    int rc = export_pub(g, pk, pub);
    struct ike_ke *k = rc == IKE_OK ? calloc(1, sizeof(*k)) : NULL;
    if (k == NULL) {
        EVP_PKEY_free(pk);
        return rc != IKE_OK ? rc : IKE_ERR_NOMEM;
    }
    k->g = g;
    k->pkey = pk;
    *ke = k;
    *pub_len = g->len;
    return IKE_OK;
}

/* The peer's public value as an EVP_PKEY, after the RFC 6989 checks. */
static int import_peer(const struct group_info *g, const uint8_t *peer, EVP_PKEY **out)
{
    EVP_PKEY *pk = NULL;
    if (g->kind == KE_ECX) {
        pk = EVP_PKEY_new_raw_public_key_ex(NULL, g->name, NULL, peer, g->len);
        *out = pk;
        return pk != NULL ? IKE_OK : IKE_ERR_CRYPTO;
    }
    int rc = IKE_ERR_CRYPTO;
    BIGNUM *y = NULL;
    uint8_t q[1 + 2 * 66];
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, g->name, 0))
        goto out;
    if (g->kind == KE_MODP) {
        if ((rc = modp_check_range(g, peer)) != IKE_OK)
            goto out;
        rc = IKE_ERR_CRYPTO;
        if ((y = BN_bin2bn(peer, (int)g->len, NULL)) == NULL ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, y))
            goto out;
        pk = pkey_fromdata("DH", bld, EVP_PKEY_PUBLIC_KEY);
    } else {
        q[0] = POINT_CONVERSION_UNCOMPRESSED; /* RFC 5903 7: add back the 0x04 */
        memcpy(q + 1, peer, g->len);
        if (!OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q, 1 + g->len))
            goto out;
        /* OpenSSL's EC import (EC_POINT_oct2point) rejects coordinates >= p
         * and points not on the curve: the RFC 6989 2.3 check. The NIST
         * curves have cofactor 1, so on-curve means in the subgroup. */
        pk = pkey_fromdata("EC", bld, EVP_PKEY_PUBLIC_KEY);
        if (pk == NULL)
            rc = IKE_ERR_KE_INVALID;
    }
    if (pk != NULL)
        rc = IKE_OK;
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(y);
    *out = pk;
    return rc;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

int ike_crypto_ke_derive(struct ike_ke *ke, const uint8_t *peer_pub, size_t peer_len,
                         struct ike_secret *shared)
{
    if (ke == NULL || peer_pub == NULL || shared == NULL)
        return IKE_ERR_INVALID_ARG;
    const struct group_info *g = ke->g;
    if (peer_len != g->len)
        return IKE_ERR_KE_INVALID; /* RFC 6989 and RFC 7296 3.4: exact size */

    EVP_PKEY *peer = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    size_t out_len = g->kind == KE_ECP ? g->len / 2 : g->len; /* ECP: x only */
    int rc = import_peer(g, peer_pub, &peer);
    if (rc != IKE_OK)
        return rc;
    if ((rc = ike_secret_alloc(shared, out_len)) != IKE_OK)
        goto out;
    rc = IKE_ERR_CRYPTO;
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, ke->pkey, NULL);
    /* validate_peer = 0: the checks above are the RFC 6989 ones; OpenSSL's
     * full public key check would cost a modular exponentiation. */
    if (ctx == NULL || EVP_PKEY_derive_init(ctx) <= 0 ||
        EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) <= 0)
        goto out;
    /* RFC 7296 2.14: g^ir is padded with zeros to the length of the prime. */
    if (g->kind == KE_MODP) {
        unsigned int pad = 1;
        OSSL_PARAM params[2] = {OSSL_PARAM_construct_uint(OSSL_EXCHANGE_PARAM_PAD, &pad),
                                OSSL_PARAM_construct_end()};
        if (EVP_PKEY_CTX_set_params(ctx, params) <= 0)
            goto out;
    }
    size_t len = out_len;
    if (EVP_PKEY_derive(ctx, shared->p, &len) <= 0) {
        /* X25519/X448 derive fails only when the result is all zero (OpenSSL
         * checks it like RFC 7748 6.1 asks): a low-order peer point. */
        rc = g->kind == KE_ECX ? IKE_ERR_KE_ZERO : IKE_ERR_CRYPTO;
        goto out;
    }
    if (len != out_len)
        goto out;
    if (g->kind == KE_ECX && all_zero(shared->p, len)) { /* RFC 8031 2.3 */
        rc = IKE_ERR_KE_ZERO;
        goto out;
    }
    rc = IKE_OK;
out:
    if (rc != IKE_OK)
        ike_secret_free(shared);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    return rc;
}

void ike_crypto_ke_free(struct ike_ke *ke)
{
    if (ke == NULL)
        return;
    EVP_PKEY_free(ke->pkey); /* OpenSSL clears private key material on free */
    free(ke);
}
