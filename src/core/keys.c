/*
 * keys.c: the IKEv2 key schedule (RFC 7296 2.13 prf+, 2.14 initial IKE SA
 * keys, 2.17 Child SA KEYMAT, 2.18 IKE SA rekey), computed through the
 * crypto ops table.
 *
 * Pure (src/core): no OpenSSL, no I/O. Every function that holds key
 * material keeps it in local buffers and leaves through one `out:` label
 * that wipes them, on success and on failure alike. Nothing is logged.
 */
#include <string.h>

#include "ike/err.h"
#include "ike/keys.h"

#define PRF_MAX           64 /* largest PRF output (HMAC-SHA2-512) */
#define PRF_PLUS_SEED_MAX 8  /* seed pieces ike_prf_plus accepts */
#define NONCES_MAX        (2 * IKE_NONCE_MAX)
/* SK_d|SK_ai|SK_ar|SK_ei|SK_er|SK_pi|SK_pr, each at most IKE_KEY_MAX. */
#define SA_KEYMAT_MAX    (7 * IKE_KEY_MAX)
#define CHILD_KEYMAT_MAX (4 * IKE_KEY_MAX)

int ike_prf_plus(const struct ike_crypto_ops *c, uint16_t prf_id, const uint8_t *key,
                 size_t key_len, const struct ike_iov *seed, size_t n_seed, uint8_t *out,
                 size_t out_len)
{
    struct ike_iov in[PRF_PLUS_SEED_MAX + 2];
    uint8_t t[PRF_MAX];
    uint8_t n = 1;
    int rc = IKE_ERR_INVALID_ARG;
    int plen = ike_alg_prf_len(prf_id);

    if (plen < 0)
        return plen;
    if (c == NULL || c->prf == NULL || (key == NULL && key_len > 0) || n_seed > PRF_PLUS_SEED_MAX ||
        (seed == NULL && n_seed > 0) || (out == NULL && out_len > 0) ||
        out_len > 255 * (size_t)plen)
        return IKE_ERR_INVALID_ARG;

    /* T1 = prf(K, S | 0x01); Tn = prf(K, Tn-1 | S | n); out = T1 | T2 | ...
     * (2.13). in[0] is T(n-1), empty for T1. */
    in[0] = (struct ike_iov){t, 0};
    for (size_t i = 0; i < n_seed; i++)
        in[1 + i] = seed[i];
    in[1 + n_seed] = (struct ike_iov){&n, 1};
    for (size_t done = 0; done < out_len; n++) {
        if ((rc = c->prf(prf_id, key, key_len, in, n_seed + 2, t)) != IKE_OK)
            goto out;
        size_t take = out_len - done < (size_t)plen ? out_len - done : (size_t)plen;
        memcpy(out + done, t, take);
        done += take;
        in[0].len = (size_t)plen;
    }
    rc = IKE_OK;
out:
    ike_wipe(t, sizeof(t));
    if (rc != IKE_OK && out != NULL)
        ike_wipe(out, out_len);
    return rc;
}

void ike_sa_keys_clear(struct ike_sa_keys *k)
{
    if (k == NULL)
        return;
    ike_key_clear(&k->sk_d);
    ike_key_clear(&k->sk_ai);
    ike_key_clear(&k->sk_ar);
    ike_key_clear(&k->sk_ei);
    ike_key_clear(&k->sk_er);
    ike_key_clear(&k->sk_pi);
    ike_key_clear(&k->sk_pr);
}

void ike_child_keys_clear(struct ike_child_keys *k)
{
    if (k == NULL)
        return;
    ike_key_clear(&k->encr_i);
    ike_key_clear(&k->integ_i);
    ike_key_clear(&k->encr_r);
    ike_key_clear(&k->integ_r);
}

static int check_lens(const struct ike_sa_key_lens *l)
{
    int plen = l != NULL ? ike_alg_prf_len(l->prf_id) : IKE_ERR_INVALID_ARG;
    if (plen < 0)
        return plen;
    /* SK_d, SK_pi, SK_pr are "the preferred key length of the PRF", which
     * for HMAC is its output length (2.14, RFC 4868 2.1.2). */
    if (l->prf_len != (size_t)plen || l->integ_len > IKE_KEY_MAX || l->encr_len == 0 ||
        l->encr_len > IKE_KEY_MAX)
        return IKE_ERR_INVALID_ARG;
    return IKE_OK;
}

static int check_nonces(const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len)
{
    /* 2.10: nonces are 16..256 octets. */
    if (ni == NULL || nr == NULL || ni_len < IKE_NONCE_MIN || ni_len > IKE_NONCE_MAX ||
        nr_len < IKE_NONCE_MIN || nr_len > IKE_NONCE_MAX)
        return IKE_ERR_INVALID_ARG;
    return IKE_OK;
}

/* Take the next n bytes of keymat into k. */
static int take_key(struct ike_key *k, const uint8_t *keymat, size_t *off, size_t n)
{
    int rc = ike_key_set(k, keymat + *off, n);
    *off += n;
    return rc;
}

/* {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
 *     = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)              (2.14, 2.18) */
static int expand_sa_keys(const struct ike_crypto_ops *c, const struct ike_sa_key_lens *l,
                          const uint8_t *skeyseed, size_t skeyseed_len, const uint8_t *ni,
                          size_t ni_len, const uint8_t *nr, size_t nr_len, const uint8_t spi_i[8],
                          const uint8_t spi_r[8], struct ike_sa_keys *out)
{
    uint8_t keymat[SA_KEYMAT_MAX];
    size_t total = 3 * l->prf_len + 2 * l->integ_len + 2 * l->encr_len, off = 0;
    struct ike_iov seed[4] = {
        {ni, ni_len}, {nr, nr_len}, {spi_i, IKE_SPI_LEN}, {spi_r, IKE_SPI_LEN}};
    int rc = ike_prf_plus(c, l->prf_id, skeyseed, skeyseed_len, seed, 4, keymat, total);
    if (rc != IKE_OK)
        goto out;
    ike_sa_keys_clear(out);
    /* The order is fixed by 2.14: d, ai, ar, ei, er, pi, pr. */
    if ((rc = take_key(&out->sk_d, keymat, &off, l->prf_len)) != IKE_OK ||
        (rc = take_key(&out->sk_ai, keymat, &off, l->integ_len)) != IKE_OK ||
        (rc = take_key(&out->sk_ar, keymat, &off, l->integ_len)) != IKE_OK ||
        (rc = take_key(&out->sk_ei, keymat, &off, l->encr_len)) != IKE_OK ||
        (rc = take_key(&out->sk_er, keymat, &off, l->encr_len)) != IKE_OK ||
        (rc = take_key(&out->sk_pi, keymat, &off, l->prf_len)) != IKE_OK ||
        (rc = take_key(&out->sk_pr, keymat, &off, l->prf_len)) != IKE_OK)
        goto out;
out:
    ike_wipe(keymat, sizeof(keymat));
    if (rc != IKE_OK)
        ike_sa_keys_clear(out);
    return rc;
}

int ike_keys_ike_sa(const struct ike_crypto_ops *c, const struct ike_sa_key_lens *lens,
                    const uint8_t *g_ir, size_t g_ir_len, const uint8_t *ni, size_t ni_len,
                    const uint8_t *nr, size_t nr_len, const uint8_t spi_i[8],
                    const uint8_t spi_r[8], struct ike_sa_keys *out)
{
    uint8_t nonces[NONCES_MAX];
    uint8_t skeyseed[PRF_MAX];
    int rc = check_lens(lens);
    if (rc == IKE_OK)
        rc = check_nonces(ni, ni_len, nr, nr_len);
    if (rc != IKE_OK)
        return rc;
    if (c == NULL || c->prf == NULL || g_ir == NULL || g_ir_len == 0 || spi_i == NULL ||
        spi_r == NULL || out == NULL)
        return IKE_ERR_INVALID_ARG;

    /* SKEYSEED = prf(Ni | Nr, g^ir)                        (2.14)
     * For HMAC PRFs the key is the whole Ni | Nr (only fixed-key PRFs such
     * as AES-XCBC take 64 bits of each). */
    memcpy(nonces, ni, ni_len);
    memcpy(nonces + ni_len, nr, nr_len);
    struct ike_iov gir = {g_ir, g_ir_len};
    if ((rc = c->prf(lens->prf_id, nonces, ni_len + nr_len, &gir, 1, skeyseed)) != IKE_OK)
        goto out;
    rc =
        expand_sa_keys(c, lens, skeyseed, lens->prf_len, ni, ni_len, nr, nr_len, spi_i, spi_r, out);
out:
    ike_wipe(skeyseed, sizeof(skeyseed));
    ike_wipe(nonces, sizeof(nonces));
    if (rc != IKE_OK)
        ike_sa_keys_clear(out);
    return rc;
}

int ike_keys_ike_rekey(const struct ike_crypto_ops *c, uint16_t old_prf_id,
                       const struct ike_key *old_sk_d, const struct ike_sa_key_lens *lens,
                       const uint8_t *g_ir, size_t g_ir_len, const uint8_t *ni, size_t ni_len,
                       const uint8_t *nr, size_t nr_len, const uint8_t spi_i[8],
                       const uint8_t spi_r[8], struct ike_sa_keys *out)
{
    uint8_t skeyseed[PRF_MAX];
    int old_len = ike_alg_prf_len(old_prf_id);
    int rc = check_lens(lens);
    if (rc == IKE_OK)
        rc = check_nonces(ni, ni_len, nr, nr_len);
    if (rc == IKE_OK && old_len < 0)
        rc = old_len;
    if (rc != IKE_OK)
        return rc;
    if (c == NULL || c->prf == NULL || old_sk_d == NULL || old_sk_d->len == 0 || g_ir == NULL ||
        g_ir_len == 0 || spi_i == NULL || spi_r == NULL || out == NULL)
        return IKE_ERR_INVALID_ARG;

    /* SKEYSEED = prf_old(SK_d (old), g^ir (new) | Ni | Nr)  (2.18)
     * The old SA's PRF makes SKEYSEED; the new SA's PRF expands it. */
    struct ike_iov in[3] = {{g_ir, g_ir_len}, {ni, ni_len}, {nr, nr_len}};
    if ((rc = c->prf(old_prf_id, old_sk_d->b, old_sk_d->len, in, 3, skeyseed)) != IKE_OK)
        goto out;
    /* {SK_d | ...} = prf+_new(SKEYSEED, Ni | Nr | SPIi | SPIr) */
    rc = expand_sa_keys(c, lens, skeyseed, (size_t)old_len, ni, ni_len, nr, nr_len, spi_i, spi_r,
                        out);
out:
    ike_wipe(skeyseed, sizeof(skeyseed));
    if (rc != IKE_OK)
        ike_sa_keys_clear(out);
    return rc;
}

int ike_keys_child(const struct ike_crypto_ops *c, uint16_t prf_id, const struct ike_key *sk_d,
                   const uint8_t *g_ir, size_t g_ir_len, const uint8_t *ni, size_t ni_len,
                   const uint8_t *nr, size_t nr_len, size_t encr_len, size_t integ_len,
                   struct ike_child_keys *out)
{
    uint8_t keymat[CHILD_KEYMAT_MAX];
    size_t off = 0;
    int rc = check_nonces(ni, ni_len, nr, nr_len);
    if (rc != IKE_OK)
        return rc;
    if (c == NULL || sk_d == NULL || sk_d->len == 0 || (g_ir == NULL && g_ir_len > 0) ||
        (g_ir != NULL && g_ir_len == 0) || encr_len == 0 || encr_len > IKE_KEY_MAX ||
        integ_len > IKE_KEY_MAX || out == NULL)
        return IKE_ERR_INVALID_ARG;

    /* KEYMAT = prf+(SK_d, Ni | Nr)                 (2.17, no PFS)
     * KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr)    (2.17, PFS) */
    struct ike_iov pfs_seed[3] = {{g_ir, g_ir_len}, {ni, ni_len}, {nr, nr_len}};
    const struct ike_iov *seed = g_ir != NULL ? pfs_seed : pfs_seed + 1;
    size_t n_seed = g_ir != NULL ? 3 : 2;
    size_t total = 2 * (encr_len + integ_len);
    if ((rc = ike_prf_plus(c, prf_id, sk_d->b, sk_d->len, seed, n_seed, keymat, total)) != IKE_OK)
        goto out;
    ike_child_keys_clear(out);
    /* 2.17: encryption before integrity, initiator-to-responder first (the
     * AEAD salt is part of the encryption key: RFC 4106 8.1, RFC 7634 4). */
    if ((rc = take_key(&out->encr_i, keymat, &off, encr_len)) != IKE_OK ||
        (rc = take_key(&out->integ_i, keymat, &off, integ_len)) != IKE_OK ||
        (rc = take_key(&out->encr_r, keymat, &off, encr_len)) != IKE_OK ||
        (rc = take_key(&out->integ_r, keymat, &off, integ_len)) != IKE_OK)
        goto out;
out:
    ike_wipe(keymat, sizeof(keymat));
    if (rc != IKE_OK)
        ike_child_keys_clear(out);
    return rc;
}
