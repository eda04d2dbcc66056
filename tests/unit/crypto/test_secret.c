/*
 * test_secret.c: the secret containers wipe (ike_key_clear,
 * ike_secret_free: the bytes are zero at the moment free() sees them),
 * the constant-time compare, and the algorithm property tables.
 *
 * free() is wrapped at link time (-Wl,--wrap=free) so the test can look
 * at a secret's bytes just before they are released.
 */
#include <stdbool.h>

#include "ike/crypto.h"
#include "ike/err.h"
#include "ck_main.h"

void __real_free(void *p);
void __wrap_free(void *p);

static const uint8_t *watch_p;
static size_t watch_len;
/* volatile: the compiler assumes free() touches no globals. */
static volatile bool watch_seen, watch_was_zero;

/* Inspect the watched block at the moment it is freed. */
void __wrap_free(void *p)
{
    if (p != NULL && p == watch_p) {
        watch_seen = true;
        watch_was_zero = true;
        for (size_t i = 0; i < watch_len; i++)
            watch_was_zero = watch_was_zero && watch_p[i] == 0;
        watch_p = NULL;
    }
    __real_free(p);
}

START_TEST(key_set_and_clear)
{
    struct ike_key k;
    uint8_t src[IKE_KEY_MAX + 1];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(0xa0 + i);
    ck_assert_int_eq(ike_key_set(&k, src, 20), IKE_OK);
    ck_assert_uint_eq(k.len, 20);
    ck_assert_mem_eq(k.b, src, 20);
    ck_assert_int_eq(ike_key_set(&k, src, IKE_KEY_MAX), IKE_OK);
    ck_assert_uint_eq(k.len, IKE_KEY_MAX);
    ck_assert_int_eq(ike_key_set(&k, src, IKE_KEY_MAX + 1), IKE_ERR_INVALID_ARG);
    ck_assert_int_eq(ike_key_set(&k, NULL, 3), IKE_ERR_INVALID_ARG);
    ck_assert_int_eq(ike_key_set(&k, src, 32), IKE_OK);
    ike_key_clear(&k);
    ck_assert_uint_eq(k.len, 0);
    for (size_t i = 0; i < IKE_KEY_MAX; i++)
        ck_assert_uint_eq(k.b[i], 0);
    /* A shorter key wipes what a longer one left behind. */
    ck_assert_int_eq(ike_key_set(&k, src, IKE_KEY_MAX), IKE_OK);
    ck_assert_int_eq(ike_key_set(&k, src, 4), IKE_OK);
    for (size_t i = 4; i < IKE_KEY_MAX; i++)
        ck_assert_uint_eq(k.b[i], 0);
    ike_key_clear(NULL); /* harmless */
}
END_TEST

START_TEST(secret_alloc_zeroed_and_wiped_on_free)
{
    struct ike_secret s;
    ck_assert_int_eq(ike_secret_alloc(&s, 300), IKE_OK);
    ck_assert_ptr_nonnull(s.p);
    ck_assert_uint_eq(s.len, 300);
    for (size_t i = 0; i < s.len; i++)
        ck_assert_uint_eq(s.p[i], 0);
    memset(s.p, 0x5a, s.len);
    watch_p = s.p;
    watch_len = s.len;
    watch_seen = false;
    ike_secret_free(&s);
    ck_assert(watch_seen);
    ck_assert(watch_was_zero);
    ck_assert_ptr_null(s.p);
    ck_assert_uint_eq(s.len, 0);
    ike_secret_free(&s); /* idempotent */
    ck_assert_int_eq(ike_secret_alloc(&s, 0), IKE_OK);
    ck_assert_ptr_null(s.p);
}
END_TEST

/* The free() hook itself can fail: a block freed without wiping is seen
 * as non-zero (so the test above is not vacuous). */
START_TEST(free_hook_sees_unwiped_bytes)
{
    /* volatile: the compiler may not elide this malloc/free pair. */
    uint8_t *volatile p = malloc(16);
    ck_assert_ptr_nonnull(p);
    memset(p, 0x77, 16);
    watch_p = p;
    watch_len = 16;
    watch_seen = false;
    free(p);
    ck_assert(watch_seen);
    ck_assert(!watch_was_zero);
}
END_TEST

START_TEST(wipe_and_ct_memcmp)
{
    uint8_t a[40], b[40];
    memset(a, 0x11, sizeof(a));
    memcpy(b, a, sizeof(b));
    ck_assert_int_eq(ike_ct_memcmp(a, b, sizeof(a)), 0);
    for (size_t i = 0; i < sizeof(a); i++) {
        b[i] ^= 0x80;
        ck_assert_int_ne(ike_ct_memcmp(a, b, sizeof(a)), 0);
        b[i] ^= 0x80;
    }
    ck_assert_int_eq(ike_ct_memcmp(a, b, 0), 0);
    ike_wipe(a, sizeof(a));
    for (size_t i = 0; i < sizeof(a); i++)
        ck_assert_uint_eq(a[i], 0);
}
END_TEST

START_TEST(encr_table)
{
    struct ike_encr_info e;
    ck_assert_int_eq(ike_alg_encr(ENCR_AES_CBC, 256, &e), IKE_OK);
    ck_assert_uint_eq(e.key_len, 32);
    ck_assert_uint_eq(e.iv_len, 16);
    ck_assert_uint_eq(e.block_len, 16);
    ck_assert_uint_eq(e.icv_len, 0);
    ck_assert(!e.aead);
    ck_assert_int_eq(ike_alg_encr(ENCR_AES_CBC, 0, &e), IKE_ERR_UNSUPPORTED_ALG);
    ck_assert_int_eq(ike_alg_encr(ENCR_AES_CBC, 100, &e), IKE_ERR_UNSUPPORTED_ALG);
    ck_assert_int_eq(ike_alg_encr(ENCR_AES_GCM_16, 128, &e), IKE_OK);
    ck_assert_uint_eq(e.key_len, 20); /* 16 + 4 salt (RFC 5282 7.1) */
    ck_assert_uint_eq(e.salt_len, 4);
    ck_assert_uint_eq(e.iv_len, 8);
    ck_assert_uint_eq(e.icv_len, 16);
    ck_assert(e.aead);
    ck_assert_int_eq(ike_alg_encr(ENCR_AES_GCM_8, 192, &e), IKE_OK);
    ck_assert_uint_eq(e.key_len, 28);
    ck_assert_uint_eq(e.icv_len, 8);
    ck_assert_int_eq(ike_alg_encr(ENCR_AES_GCM_12, 256, &e), IKE_OK);
    ck_assert_uint_eq(e.icv_len, 12);
    ck_assert_int_eq(ike_alg_encr(ENCR_CHACHA20_POLY1305, 0, &e), IKE_OK);
    ck_assert_uint_eq(e.key_len, 36); /* RFC 7634 3 */
    ck_assert_uint_eq(e.key_bits, 256);
    ck_assert_int_eq(ike_alg_encr(ENCR_CHACHA20_POLY1305, 128, &e), IKE_ERR_UNSUPPORTED_ALG);
    ck_assert_int_eq(ike_alg_encr(ENCR_3DES, 0, &e), IKE_ERR_UNSUPPORTED_ALG);
}
END_TEST

START_TEST(integ_prf_dh_tables)
{
    struct ike_integ_info i;
    ck_assert_int_eq(ike_alg_integ(AUTH_HMAC_SHA1_96, &i), IKE_OK);
    ck_assert_uint_eq(i.key_len, 20);
    ck_assert_uint_eq(i.icv_len, 12);
    ck_assert_int_eq(ike_alg_integ(AUTH_HMAC_SHA2_256_128, &i), IKE_OK);
    ck_assert_uint_eq(i.key_len, 32);
    ck_assert_uint_eq(i.icv_len, 16);
    ck_assert_int_eq(ike_alg_integ(AUTH_HMAC_SHA2_384_192, &i), IKE_OK);
    ck_assert_uint_eq(i.key_len, 48);
    ck_assert_uint_eq(i.icv_len, 24);
    ck_assert_int_eq(ike_alg_integ(AUTH_HMAC_SHA2_512_256, &i), IKE_OK);
    ck_assert_uint_eq(i.key_len, 64);
    ck_assert_uint_eq(i.icv_len, 32);
    ck_assert_int_eq(ike_alg_integ(AUTH_NONE, &i), IKE_OK);
    ck_assert_uint_eq(i.icv_len, 0);
    ck_assert_int_eq(ike_alg_integ(AUTH_HMAC_MD5_96, &i), IKE_ERR_UNSUPPORTED_ALG);

    ck_assert_int_eq(ike_alg_prf_len(PRF_HMAC_SHA2_256), 32);
    ck_assert_int_eq(ike_alg_prf_len(PRF_HMAC_SHA2_384), 48);
    ck_assert_int_eq(ike_alg_prf_len(PRF_HMAC_SHA2_512), 64);
    ck_assert_int_eq(ike_alg_prf_len(PRF_HMAC_MD5), IKE_ERR_UNSUPPORTED_ALG);

    ck_assert_int_eq(ike_alg_dh_len(MODP_2048), 256);
    ck_assert_int_eq(ike_alg_dh_len(MODP_3072), 384);
    ck_assert_int_eq(ike_alg_dh_len(MODP_4096), 512);
    ck_assert_int_eq(ike_alg_dh_len(ECP_256), 64);
    ck_assert_int_eq(ike_alg_dh_len(ECP_384), 96);
    ck_assert_int_eq(ike_alg_dh_len(ECP_521), 132);
    ck_assert_int_eq(ike_alg_dh_len(CURVE25519), 32);
    ck_assert_int_eq(ike_alg_dh_len(CURVE448), 56);
    ck_assert_int_eq(ike_alg_dh_len(MODP_1024), IKE_ERR_UNSUPPORTED_ALG);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("crypto_secret");
    TCase *tc = tcase_create("secret");
    tcase_add_test(tc, key_set_and_clear);
    tcase_add_test(tc, secret_alloc_zeroed_and_wiped_on_free);
    tcase_add_test(tc, free_hook_sees_unwiped_bytes);
    tcase_add_test(tc, wipe_and_ct_memcmp);
    suite_add_tcase(s, tc);
    TCase *tt = tcase_create("tables");
    tcase_add_test(tt, encr_table);
    tcase_add_test(tt, integ_prf_dh_tables);
    suite_add_tcase(s, tt);
    return s;
}

IKE_CHECK_MAIN()
