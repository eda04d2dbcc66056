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

#include "ike/crypto.h"
#include "ike/err.h"
#include "ike/keys.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_crypto: %s: %s\n", what, ike_err_str(rc));
    exit(1);
}

/* keygen alone, then keygen + derive against a fixed peer. */
static void bench_ke(const struct ike_crypto_ops *c, uint16_t group, const char *name, int n)
{
    uint8_t peer[512], pub[512];
    size_t peer_len, pub_len;
    struct ike_ke *p, *k;
    struct ike_secret s;
    int rc;
    if ((rc = c->ke_new(group, NULL, 0, &p, peer, sizeof(peer), &peer_len)) != IKE_OK)
        die("ke_new", rc);
    double t0 = now_us();
    for (int i = 0; i < n; i++) {
        if ((rc = c->ke_new(group, NULL, 0, &k, pub, sizeof(pub), &pub_len)) != IKE_OK)
            die("ke_new", rc);
        c->ke_free(k);
    }
    double t1 = now_us();
    for (int i = 0; i < n; i++) {
        if ((rc = c->ke_new(group, NULL, 0, &k, pub, sizeof(pub), &pub_len)) != IKE_OK)
            die("ke_new", rc);
        if ((rc = c->ke_derive(k, peer, peer_len, &s)) != IKE_OK)
            die("ke_derive", rc);
        ike_secret_free(&s);
        c->ke_free(k);
    }
    double t2 = now_us();
    double gen = (t1 - t0) / n, both = (t2 - t1) / n;
    printf("%-12s keygen %8.1f us  derive %8.1f us  keygen+derive %8.1f us\n", name, gen,
           both - gen, both);
    c->ke_free(p);
}

int main(int argc, char **argv)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    bench_ke(c, CURVE25519, "X25519", 2000 * scale);
    bench_ke(c, CURVE448, "X448", 500 * scale);
    bench_ke(c, ECP_256, "ECP-256", 1000 * scale);
    bench_ke(c, MODP_2048, "MODP-2048", 200 * scale);
    bench_ke(c, MODP_3072, "MODP-3072", 50 * scale);

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
