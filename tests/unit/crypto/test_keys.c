/*
 * test_keys.c: the IKEv2 key schedule of src/core/keys.c (RFC 7296 2.13,
 * 2.14, 2.17, 2.18) against an independent computation in this file: a
 * second prf+ that concatenates into one buffer and calls HMAC directly
 * (HMAC itself is pinned by the RFC 4231 vectors of test_prf.c), then
 * SKEYSEED and the key split written out by hand.
 */
#include "ike/crypto.h"
#include "ike/err.h"
#include "ike/keys.h"
#include "internal.h"
#include "ck_main.h"
#include "hex.h"

/* Reference prf+ (2.13): T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n). */
static void ref_prf_plus(uint16_t prf_id, const uint8_t *k, size_t k_len, const uint8_t *s,
                         size_t s_len, uint8_t *out, size_t out_len)
{
    int md = ike_crypto_prf_md(prf_id);
    size_t plen = (size_t)ike_alg_prf_len(prf_id);
    uint8_t t[64], in[64 + 1024 + 1];
    size_t t_len = 0, done = 0;
    ck_assert_int_ge(md, 0);
    ck_assert_uint_le(s_len, 1024);
    for (unsigned n = 1; done < out_len; n++) {
        memcpy(in, t, t_len);
        memcpy(in + t_len, s, s_len);
        in[t_len + s_len] = (uint8_t)n;
        struct ike_iov one = {in, t_len + s_len + 1};
        ck_assert_int_eq(ike_crypto_hmac(md, k, k_len, &one, 1, t, plen), IKE_OK);
        t_len = plen;
        size_t take = out_len - done < plen ? out_len - done : plen;
        memcpy(out + done, t, take);
        done += take;
    }
}

static void ref_prf(uint16_t prf_id, const uint8_t *k, size_t k_len, const uint8_t *d, size_t d_len,
                    uint8_t *out)
{
    struct ike_iov one = {d, d_len};
    ck_assert_int_eq(ike_crypto_hmac(ike_crypto_prf_md(prf_id), k, k_len, &one, 1, out,
                                     (size_t)ike_alg_prf_len(prf_id)),
                     IKE_OK);
}

static const uint16_t prfs[4] = {PRF_HMAC_SHA1, PRF_HMAC_SHA2_256, PRF_HMAC_SHA2_384,
                                 PRF_HMAC_SHA2_512};

START_TEST(prf_plus_matches_reference)
{
    static const size_t lens[] = {0, 1, 19, 20, 21, 64, 65, 200, 392};
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    uint16_t prf = prfs[_i];
    uint8_t key[48], s1[37], s2[11], s[48], got[400], want[400];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 13);
    for (size_t i = 0; i < sizeof(s); i++)
        s[i] = (uint8_t)(0xf0 - i);
    memcpy(s1, s, 37);
    memcpy(s2, s + 37, 11);
    struct ike_iov seed[2] = {{s1, 37}, {s2, 11}};
    for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
        size_t n = lens[li];
        ref_prf_plus(prf, key, sizeof(key), s, sizeof(s), want, n);
        memset(got, 0xee, sizeof(got));
        ck_assert_int_eq(ike_prf_plus(c, prf, key, sizeof(key), seed, 2, got, n), IKE_OK);
        ck_assert_mem_eq(got, want, n);
        ck_assert_uint_eq(got[n], 0xee); /* nothing written past out_len */
    }
}
END_TEST

/* The last allowed block (n = 255) and the first refused length. */
START_TEST(prf_plus_limits)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    static uint8_t got[255 * 20 + 1], want[255 * 20];
    struct ike_iov seed = {(const uint8_t *)"seed", 4};
    ck_assert_int_eq(
        ike_prf_plus(c, PRF_HMAC_SHA1, (const uint8_t *)"k", 1, &seed, 1, got, 255 * 20), IKE_OK);
    ref_prf_plus(PRF_HMAC_SHA1, (const uint8_t *)"k", 1, (const uint8_t *)"seed", 4, want,
                 255 * 20);
    ck_assert_mem_eq(got, want, 255 * 20);
    ck_assert_int_eq(
        ike_prf_plus(c, PRF_HMAC_SHA1, (const uint8_t *)"k", 1, &seed, 1, got, 255 * 20 + 1),
        IKE_ERR_INVALID_ARG);
    ck_assert_int_eq(ike_prf_plus(c, PRF_HMAC_MD5, (const uint8_t *)"k", 1, &seed, 1, got, 16),
                     IKE_ERR_UNSUPPORTED_ALG);
}
END_TEST

/* Fixed inputs shared by the schedule tests. */
struct inputs {
    uint8_t gir[256], ni[32], nr[48], spi_i[8], spi_r[8];
};

static void make_inputs(struct inputs *in)
{
    for (size_t i = 0; i < sizeof(in->gir); i++)
        in->gir[i] = (uint8_t)(i ^ 0x5a);
    for (size_t i = 0; i < sizeof(in->ni); i++)
        in->ni[i] = (uint8_t)(0x10 + i);
    for (size_t i = 0; i < sizeof(in->nr); i++)
        in->nr[i] = (uint8_t)(0x80 + i);
    hex_decode("0123456789abcdef", in->spi_i, 8);
    hex_decode("fedcba9876543210", in->spi_r, 8);
}

static void check_key(const struct ike_key *k, const uint8_t *want, size_t len)
{
    ck_assert_uint_eq(k->len, len);
    ck_assert_mem_eq(k->b, want, len);
}

/* {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} from SKEYSEED. */
static void check_split(const struct ike_sa_key_lens *l, const struct inputs *in,
                        const uint8_t *skeyseed, size_t ss_len, const struct ike_sa_keys *k)
{
    uint8_t s[32 + 48 + 16], km[7 * 64];
    memcpy(s, in->ni, 32);
    memcpy(s + 32, in->nr, 48);
    memcpy(s + 80, in->spi_i, 8);
    memcpy(s + 88, in->spi_r, 8);
    size_t p = l->prf_len, a = l->integ_len, e = l->encr_len;
    ref_prf_plus(l->prf_id, skeyseed, ss_len, s, sizeof(s), km, 3 * p + 2 * a + 2 * e);
    check_key(&k->sk_d, km, p);
    check_key(&k->sk_ai, km + p, a);
    check_key(&k->sk_ar, km + p + a, a);
    check_key(&k->sk_ei, km + p + 2 * a, e);
    check_key(&k->sk_er, km + p + 2 * a + e, e);
    check_key(&k->sk_pi, km + p + 2 * a + 2 * e, p);
    check_key(&k->sk_pr, km + 2 * p + 2 * a + 2 * e, p);
}

/* PRF, integrity and encryption key lengths of typical proposals. */
static const struct ike_sa_key_lens lens_tab[] = {
    {PRF_HMAC_SHA2_256, 32, 32, 32}, /* aes256-sha256-... */
    {PRF_HMAC_SHA1, 20, 20, 16},     /* aes128-sha1 */
    {PRF_HMAC_SHA2_384, 48, 48, 24}, /* aes192-sha384 */
    {PRF_HMAC_SHA2_512, 64, 64, 32}, /* aes256-sha512 */
    {PRF_HMAC_SHA2_256, 32, 0, 36},  /* aes256gcm16-prfsha256 (salt incl.) */
    {PRF_HMAC_SHA2_512, 64, 0, 36},  /* chacha20poly1305-prfsha512 */
};

START_TEST(ike_sa_keys_independent)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    const struct ike_sa_key_lens *l = &lens_tab[_i];
    struct inputs in;
    struct ike_sa_keys k;
    uint8_t nonces[80], skeyseed[64];
    make_inputs(&in);
    ck_assert_int_eq(
        ike_keys_ike_sa(c, l, in.gir, sizeof(in.gir), in.ni, 32, in.nr, 48, in.spi_i, in.spi_r, &k),
        IKE_OK);
    /* SKEYSEED = prf(Ni | Nr, g^ir), the whole Ni | Nr as the HMAC key. */
    memcpy(nonces, in.ni, 32);
    memcpy(nonces + 32, in.nr, 48);
    ref_prf(l->prf_id, nonces, 80, in.gir, sizeof(in.gir), skeyseed);
    check_split(l, &in, skeyseed, l->prf_len, &k);
    /* The two directions differ (a swapped order would still pass lengths). */
    ck_assert_int_ne(memcmp(k.sk_ei.b, k.sk_er.b, l->encr_len), 0);
    ike_sa_keys_clear(&k);
}
END_TEST

/* 2.18: SKEYSEED = prf_old(SK_d_old, g^ir | Ni | Nr); expansion with the
 * new PRF. Old and new PRFs differ on purpose. */
START_TEST(ike_rekey_keys_independent)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    const struct ike_sa_key_lens *l = &lens_tab[_i];
    uint16_t old_prf = l->prf_id == PRF_HMAC_SHA1 ? PRF_HMAC_SHA2_512 : PRF_HMAC_SHA1;
    struct inputs in;
    struct ike_sa_keys k;
    struct ike_key old_d;
    uint8_t d[64], data[256 + 80], skeyseed[64];
    make_inputs(&in);
    for (size_t i = 0; i < sizeof(d); i++)
        d[i] = (uint8_t)(0x33 * i);
    ck_assert_int_eq(ike_key_set(&old_d, d, (size_t)ike_alg_prf_len(old_prf)), IKE_OK);
    ck_assert_int_eq(ike_keys_ike_rekey(c, old_prf, &old_d, l, in.gir, sizeof(in.gir), in.ni, 32,
                                        in.nr, 48, in.spi_i, in.spi_r, &k),
                     IKE_OK);
    memcpy(data, in.gir, 256);
    memcpy(data + 256, in.ni, 32);
    memcpy(data + 288, in.nr, 48);
    ref_prf(old_prf, old_d.b, old_d.len, data, sizeof(data), skeyseed);
    check_split(l, &in, skeyseed, (size_t)ike_alg_prf_len(old_prf), &k);
    ike_sa_keys_clear(&k);
}
END_TEST

/* 2.17: KEYMAT = prf+(SK_d, [g^ir |] Ni | Nr); encr_i, integ_i, encr_r,
 * integ_r in that order. */
static void child_case(const uint8_t *gir, size_t gir_len, size_t e, size_t a)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    struct inputs in;
    struct ike_key sk_d;
    struct ike_child_keys k;
    uint8_t d[32], s[256 + 80], km[4 * 64];
    make_inputs(&in);
    for (size_t i = 0; i < sizeof(d); i++)
        d[i] = (uint8_t)(0xd0 + i);
    ck_assert_int_eq(ike_key_set(&sk_d, d, 32), IKE_OK);
    ck_assert_int_eq(
        ike_keys_child(c, PRF_HMAC_SHA2_256, &sk_d, gir, gir_len, in.ni, 32, in.nr, 48, e, a, &k),
        IKE_OK);
    if (gir_len > 0)
        memcpy(s, gir, gir_len);
    memcpy(s + gir_len, in.ni, 32);
    memcpy(s + gir_len + 32, in.nr, 48);
    ref_prf_plus(PRF_HMAC_SHA2_256, d, 32, s, gir_len + 80, km, 2 * (e + a));
    check_key(&k.encr_i, km, e);
    check_key(&k.integ_i, km + e, a);
    check_key(&k.encr_r, km + e + a, e);
    check_key(&k.integ_r, km + 2 * e + a, a);
    ike_child_keys_clear(&k);
    ck_assert_uint_eq(k.encr_i.len + k.integ_i.len + k.encr_r.len + k.integ_r.len, 0);
}

START_TEST(child_keys_independent)
{
    struct inputs in;
    make_inputs(&in);
    child_case(NULL, 0, 32, 32);               /* no PFS, AES-256-CBC + SHA2-256 */
    child_case(NULL, 0, 36, 0);                /* no PFS, AES-256-GCM (salt incl.) */
    child_case(in.gir, 32, 16, 20);            /* PFS (X25519-sized g^ir) */
    child_case(in.gir, sizeof(in.gir), 36, 0); /* PFS (MODP-2048-sized g^ir) */
}
END_TEST

/* PFS changes every key; so does any nonce byte. */
START_TEST(child_keys_depend_on_inputs)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    struct inputs in;
    struct ike_key sk_d;
    struct ike_child_keys a, b;
    make_inputs(&in);
    ck_assert_int_eq(ike_key_set(&sk_d, in.gir, 32), IKE_OK);
    ck_assert_int_eq(
        ike_keys_child(c, PRF_HMAC_SHA2_256, &sk_d, NULL, 0, in.ni, 32, in.nr, 48, 32, 32, &a),
        IKE_OK);
    ck_assert_int_eq(
        ike_keys_child(c, PRF_HMAC_SHA2_256, &sk_d, in.gir, 32, in.ni, 32, in.nr, 48, 32, 32, &b),
        IKE_OK);
    ck_assert_int_ne(memcmp(a.encr_i.b, b.encr_i.b, 32), 0);
    in.nr[47] ^= 1;
    ck_assert_int_eq(
        ike_keys_child(c, PRF_HMAC_SHA2_256, &sk_d, NULL, 0, in.ni, 32, in.nr, 48, 32, 32, &b),
        IKE_OK);
    ck_assert_int_ne(memcmp(a.encr_i.b, b.encr_i.b, 32), 0);
    ike_child_keys_clear(&a);
    ike_child_keys_clear(&b);
}
END_TEST

START_TEST(bad_lengths_rejected)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    struct inputs in;
    struct ike_sa_keys k;
    struct ike_child_keys ck;
    struct ike_key sk_d;
    make_inputs(&in);
    ck_assert_int_eq(ike_key_set(&sk_d, in.gir, 32), IKE_OK);
    struct ike_sa_key_lens l = {PRF_HMAC_SHA2_256, 20, 32, 32}; /* prf_len != 32 */
    ck_assert_int_eq(
        ike_keys_ike_sa(c, &l, in.gir, 256, in.ni, 32, in.nr, 48, in.spi_i, in.spi_r, &k),
        IKE_ERR_INVALID_ARG);
    l.prf_len = 32;
    l.encr_len = IKE_KEY_MAX + 1;
    ck_assert_int_eq(
        ike_keys_ike_sa(c, &l, in.gir, 256, in.ni, 32, in.nr, 48, in.spi_i, in.spi_r, &k),
        IKE_ERR_INVALID_ARG);
    l.encr_len = 32;
    ck_assert_int_eq(
        ike_keys_ike_sa(c, &l, in.gir, 256, in.ni, 15, in.nr, 48, in.spi_i, in.spi_r, &k),
        IKE_ERR_INVALID_ARG); /* nonce below 16 octets (2.10) */
    l.prf_id = PRF_AES128_XCBC;
    ck_assert_int_eq(
        ike_keys_ike_sa(c, &l, in.gir, 256, in.ni, 32, in.nr, 48, in.spi_i, in.spi_r, &k),
        IKE_ERR_UNSUPPORTED_ALG);
    ck_assert_int_eq(
        ike_keys_child(c, PRF_HMAC_SHA2_256, &sk_d, NULL, 0, in.ni, 32, in.nr, 48, 65, 0, &ck),
        IKE_ERR_INVALID_ARG);
}
END_TEST

/* An ops table whose prf fails after a few calls: outputs are cleared. */
static int prf_calls, prf_fail_after;
static int failing_prf(uint16_t prf_id, const uint8_t *key, size_t key_len,
                       const struct ike_iov *data, size_t n_data, uint8_t *out)
{
    if (++prf_calls > prf_fail_after)
        return IKE_ERR_CRYPTO;
    return ike_crypto_openssl()->prf(prf_id, key, key_len, data, n_data, out);
}

START_TEST(failure_leaves_no_keys)
{
    struct ike_crypto_ops ops = *ike_crypto_openssl();
    ops.prf = failing_prf;
    struct inputs in;
    struct ike_sa_keys k;
    struct ike_sa_key_lens l = {PRF_HMAC_SHA2_256, 32, 32, 32};
    uint8_t out[200];
    make_inputs(&in);
    /* Fail the SKEYSEED call, then each prf+ block in turn. */
    for (prf_fail_after = 0; prf_fail_after < 4; prf_fail_after++) {
        memset(&k, 0x77, sizeof(k));
        prf_calls = 0;
        ck_assert_int_eq(
            ike_keys_ike_sa(&ops, &l, in.gir, 256, in.ni, 32, in.nr, 48, in.spi_i, in.spi_r, &k),
            IKE_ERR_CRYPTO);
        ck_assert_uint_eq(k.sk_d.len, 0);
        ck_assert_uint_eq(k.sk_pr.len, 0);
        for (size_t i = 0; i < IKE_KEY_MAX; i++)
            ck_assert_uint_eq(k.sk_d.b[i], 0);
    }
    prf_fail_after = 3;
    /* prf+ wipes its partial output when a block fails. */
    struct ike_iov seed = {in.ni, 32};
    prf_calls = 0;
    memset(out, 0x77, sizeof(out));
    ck_assert_int_eq(ike_prf_plus(&ops, PRF_HMAC_SHA2_256, in.nr, 48, &seed, 1, out, 200),
                     IKE_ERR_CRYPTO);
    for (size_t i = 0; i < sizeof(out); i++)
        ck_assert_uint_eq(out[i], 0);
}
END_TEST

START_TEST(clear_wipes)
{
    struct ike_sa_keys k;
    struct ike_child_keys ck;
    memset(&k, 0xab, sizeof(k));
    memset(&ck, 0xcd, sizeof(ck));
    ike_sa_keys_clear(&k);
    ike_child_keys_clear(&ck);
    const uint8_t *p = (const uint8_t *)&k;
    for (size_t i = 0; i < sizeof(k); i++)
        ck_assert_uint_eq(p[i], 0);
    p = (const uint8_t *)&ck;
    for (size_t i = 0; i < sizeof(ck); i++)
        ck_assert_uint_eq(p[i], 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("crypto_keys");
    TCase *tc = tcase_create("schedule");
    tcase_add_loop_test(tc, prf_plus_matches_reference, 0, 4);
    tcase_add_test(tc, prf_plus_limits);
    tcase_add_loop_test(tc, ike_sa_keys_independent, 0,
                        (int)(sizeof(lens_tab) / sizeof(lens_tab[0])));
    tcase_add_loop_test(tc, ike_rekey_keys_independent, 0,
                        (int)(sizeof(lens_tab) / sizeof(lens_tab[0])));
    tcase_add_test(tc, child_keys_independent);
    tcase_add_test(tc, child_keys_depend_on_inputs);
    tcase_add_test(tc, bad_lengths_rejected);
    tcase_add_test(tc, failure_leaves_no_keys);
    tcase_add_test(tc, clear_wipes);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()
