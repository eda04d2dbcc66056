/*
 * bench_crypto.c: per-call cost of the crypto ops that dominate a rekey
 * (DESIGN.md section 6): key exchange keygen + derive per group, HMAC-
 * SHA256 on 64 bytes, SK seal/open of a 300-byte AES-256-GCM payload, and
 * the whole IKE SA key schedule. Not a test: run it with
 * `meson test -C BUILD --benchmark crypto` or directly; it prints one line
 * per measurement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "ike/crypto.h"
#include "ike/err.h"
#include "ike/keys.h"

/* CPU time of this process: the machine is shared, and wall time would
 * count the time other processes hold the core. */
static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_crypto: %s: %s\n", what, ike_err_str(rc));
    exit(1);
}

/* keygen alone, then keygen + derive against a fixed peer. With
 * seed_len > 0 the private key comes from priv_seed (as the engine makes
 * it from its injected random source). */
static void bench_ke(const struct ike_crypto_ops *c, uint16_t group, const char *name, int n,
                     size_t seed_len)
{
    uint8_t seed[64];
    for (size_t i = 0; i < sizeof(seed); i++)
        seed[i] = (uint8_t)(0x35 + 7 * i);
    seed[0] = 0; /* below every group order */
    const uint8_t *sp = seed_len ? seed : NULL;
    uint8_t peer[512], pub[512];
    size_t peer_len, pub_len;
    struct ike_ke *p, *k;
    struct ike_secret s;
    int rc;
    if ((rc = c->ke_new(group, NULL, 0, &p, peer, sizeof(peer), &peer_len)) != IKE_OK)
        die("ke_new", rc);
    double t0 = now_us();
    for (int i = 0; i < n; i++) {
        if ((rc = c->ke_new(group, sp, seed_len, &k, pub, sizeof(pub), &pub_len)) != IKE_OK)
            die("ke_new", rc);
        c->ke_free(k);
    }
    double t1 = now_us();
    for (int i = 0; i < n; i++) {
        if ((rc = c->ke_new(group, sp, seed_len, &k, pub, sizeof(pub), &pub_len)) != IKE_OK)
            die("ke_new", rc);
        if ((rc = c->ke_derive(k, peer, peer_len, &s)) != IKE_OK)
            die("ke_derive", rc);
        ike_secret_free(&s);
        c->ke_free(k);
    }
    double t2 = now_us();
    double gen = (t1 - t0) / n, both = (t2 - t1) / n;
    printf("%-9s %-6s keygen %8.1f us  derive %8.1f us  keygen+derive %8.1f us\n", name,
           seed_len ? "seeded" : "random", gen, both - gen, both);
    c->ke_free(p);
}

/* The same work straight on OpenSSL, to separate our wrapper's cost from
 * the library's on a machine whose load varies: X25519 keygen + derive
 * with EVP_PKEY_Q_keygen, and one-shot HMAC with EVP_Q_mac. */
static void bench_raw(int n)
{
    EVP_PKEY *peer = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    uint8_t sec[32], key[32] = {1}, data[64] = {2}, out[32];
    size_t len;
    double t0 = now_us();
    for (int i = 0; i < n; i++) {
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
        len = sizeof(sec);
        if (k == NULL || ctx == NULL || EVP_PKEY_derive_init(ctx) <= 0 ||
            EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) <= 0 || EVP_PKEY_derive(ctx, sec, &len) <= 0)
            die("raw X25519", IKE_ERR_CRYPTO);
        EVP_PKEY_CTX_free(ctx);
        EVP_PKEY_free(k);
    }
    double t1 = now_us();
    for (int i = 0; i < 100 * n; i++) {
        if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA2-256", NULL, key, 32, data, 64, out, 32, &len) ==
            NULL)
            die("raw HMAC", IKE_ERR_CRYPTO);
    }
    double t2 = now_us();
    printf("raw OpenSSL: X25519 keygen+derive %8.1f us, HMAC-SHA256/64B (EVP_Q_mac) %6.2f us\n",
           (t1 - t0) / n, (t2 - t1) / (100 * n));
    EVP_PKEY_free(peer);
}

int main(int argc, char **argv)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    bench_raw(2000 * scale);
    static const struct {
        uint16_t group;
        const char *name;
        int n;
        size_t seed_len;
    } kes[] = {
        {CURVE25519, "X25519", 2000, 32},  {CURVE448, "X448", 500, 56},
        {ECP_256, "ECP-256", 1000, 32},    {ECP_384, "ECP-384", 300, 48},
        {MODP_2048, "MODP-2048", 200, 64}, {MODP_3072, "MODP-3072", 50, 64},
    };
    for (size_t i = 0; i < sizeof(kes) / sizeof(kes[0]); i++) {
        bench_ke(c, kes[i].group, kes[i].name, kes[i].n * scale, 0);
        bench_ke(c, kes[i].group, kes[i].name, kes[i].n * scale, kes[i].seed_len);
    }

    uint8_t key[32] = {1}, data[300] = {2}, out[64];
    struct ike_iov d = {data, 64};
    int n = 200000 * scale, rc;
    double t0 = now_us();
    for (int i = 0; i < n; i++) {
        if ((rc = c->prf(PRF_HMAC_SHA2_256, key, 32, &d, 1, out)) != IKE_OK)
            die("prf", rc);
    }
    printf("%-12s %8.2f us per call\n", "HMAC-SHA256/64B", (now_us() - t0) / n);

    struct ike_key ke;
    struct ike_sk_params sp = {.key_e = &ke};
    uint8_t buf[512], plain[300], iv[8] = {0};
    size_t len, plen;
    ike_alg_encr(ENCR_AES_GCM_16, 256, &sp.encr);
    ike_alg_integ(AUTH_NONE, &sp.integ);
    ike_key_set(&ke, data, sp.encr.key_len);
    memset(buf, 0, 32);
    n = 100000 * scale;
    t0 = now_us();
    for (int i = 0; i < n; i++) {
        if ((rc = c->sk_seal(&sp, buf, sizeof(buf), 32, 28, data, 300, iv, &len)) != IKE_OK)
            die("sk_seal", rc);
    }
    double t1 = now_us();
    for (int i = 0; i < n; i++) {
        if ((rc = c->sk_open(&sp, buf, len, 32, plain, sizeof(plain) + 8, &plen)) != IKE_OK)
            die("sk_open", rc);
    }
    double t2 = now_us();
    printf("%-12s seal %6.2f us  open %6.2f us (300 B)\n", "AES256-GCM16", (t1 - t0) / n,
           (t2 - t1) / n);

    struct ike_sa_key_lens l = {PRF_HMAC_SHA2_256, 32, 0, 36};
    struct ike_sa_keys k;
    uint8_t gir[32] = {3}, ni[32] = {4}, nr[32] = {5}, spi[8] = {6};
    n = 50000 * scale;
    t0 = now_us();
    for (int i = 0; i < n; i++) {
        if ((rc = ike_keys_ike_sa(c, &l, gir, 32, ni, 32, nr, 32, spi, spi, &k)) != IKE_OK)
            die("ike_keys_ike_sa", rc);
        ike_sa_keys_clear(&k);
    }
    printf("%-12s %8.2f us per IKE SA key schedule (SHA256, GCM)\n", "keys", (now_us() - t0) / n);
    return 0;
}
