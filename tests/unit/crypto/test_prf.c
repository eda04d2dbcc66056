/*
 * test_prf.c: the HMAC PRFs of the ops table against published vectors:
 * RFC 4231 (HMAC-SHA2-256/384/512, all seven cases; case 5 through the
 * truncating HMAC that the integrity transforms use) and RFC 2202
 * (HMAC-SHA1), RFC 4868 2.7.2 (the truncated integrity ICVs), plus the
 * SHA-1 op (FIPS 180 "abc").
 */
#include "ike/crypto.h"
#include "ike/err.h"
#include "internal.h"
#include "ck_main.h"
#include "hex.h"

struct hmac_case {
    int n;
    const char *key, *data;
    const char *mac[3]; /* SHA-256, SHA-384, SHA-512 */
};

/* RFC 4231 section 4, copied from the RFC text (case 5 is truncated to 128
 * bits there). */
static const struct hmac_case rfc4231[] = {
    {1,
     "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
     "4869205468657265",
     {"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
      "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa"
      "9cb6",
      "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3"
      "f4e4be9d914eeb61f1702e696c203a126854"}},
    {2,
     "4a656665",
     "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
     {"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab2"
      "1649",
      "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0"
      "e6fdcaeab1a34d4a6b4b636e070a38bce737"}},
    {3,
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
     "ddddddd",
     {"773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
      "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a3"
      "4f27",
      "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67"
      "c807b946a337bee8942674278859e13292fb"}},
    {4,
     "0102030405060708090a0b0c0d0e0f10111213141516171819",
     "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdc"
     "dcdcdcd",
     {"82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
      "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674"
      "cffb",
      "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc578"
      "8063a5f19741120c4f2de2adebeb10a298dd"}},
    {5,
     "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
     "546573742057697468205472756e636174696f6e",
     {"a3b6167473100ee06e0c796c2955552b", "3abf34c3503b2a23a46efc619baef897",
      "415fad6271580a531d4179bc891d87a6"}},
    {6,
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048617368204b6"
     "579204669727374",
     {"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
      "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f4"
      "4952",
      "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a"
      "1e5295e64f73f63f0aec8b915a985d786598"}},
    {7,
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "5468697320697320612074657374207573696e672061206c6172676572207468616e20626c6f636b2d73697a65206"
     "b657920616e642061206c6172676572207468616e20626c6f636b2d73697a6520646174612e20546865206b657920"
     "6e6565647320746f20626520686173686564206265666f7265206265696e6720757365642062792074686520484d4"
     "14320616c676f726974686d2e",
     {"9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
      "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46"
      "523e",
      "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4"
      "de15134676fb6de0446065c97440fa8c6a58"}},
};

static const uint16_t sha2_prfs[3] = {PRF_HMAC_SHA2_256, PRF_HMAC_SHA2_384, PRF_HMAC_SHA2_512};

START_TEST(rfc4231_prf)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    const struct hmac_case *tc = &rfc4231[_i];
    uint8_t key[256], data[256], out[64];
    size_t key_len = hex_decode(tc->key, key, sizeof(key));
    size_t data_len = hex_decode(tc->data, data, sizeof(data));
    struct ike_iov iov = {data, data_len};
    for (int h = 0; h < 3; h++) {
        uint8_t want[64];
        size_t want_len = hex_decode(tc->mac[h], want, sizeof(want));
        ck_assert_int_eq(c->prf(sha2_prfs[h], key, key_len, &iov, 1, out), IKE_OK);
        /* Case 5 lists only the first 128 bits: the PRF still gives all. */
        ck_assert_mem_eq(out, want, want_len);
        if (tc->n == 5) {
            /* Truncation as the integrity transforms do it. */
            uint8_t trunc[16];
            int md = ike_crypto_prf_md(sha2_prfs[h]);
            ck_assert_int_eq(ike_crypto_hmac(md, key, key_len, &iov, 1, trunc, 16), IKE_OK);
            ck_assert_mem_eq(trunc, want, 16);
        }
    }
}
END_TEST

/* RFC 4868 2.7.2: HMAC-SHA-256-128, -384-192, -512-256 as the integrity
 * transforms use them (truncated ICVs with full-length keys). */
struct auth_case {
    uint16_t integ;
    const char *key, *data, *icv;
};

static const struct auth_case rfc4868[] = {
    {AUTH_HMAC_SHA2_256_128, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
     "4869205468657265", "198a607eb44bfbc69903a0f1cf2bbdc5"}, /* AUTH256-1 */
    {AUTH_HMAC_SHA2_256_128, "4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665",
     "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
     "167f928588c5cc2eef8e3093caa0e87c"}, /* AUTH256-2 */
    {AUTH_HMAC_SHA2_256_128, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
     "ddddddd",
     "cdcb1220d1ecccea91e53aba3092f962"}, /* AUTH256-3 */
    {AUTH_HMAC_SHA2_256_128, "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
     "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdc"
     "dcdcdcd",
     "372efcf9b40b35c2115b1346903d2ef4"}, /* AUTH256-4 */
    {AUTH_HMAC_SHA2_384_192,
     "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"
     "b0b",
     "4869205468657265", "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973"}, /* AUTH384-1 */
    {AUTH_HMAC_SHA2_384_192,
     "4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656"
     "665",
     "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
     "2c7353974f1842fd66d53c452ca42122b28c0b594cfb184d"}, /* AUTH384-2 */
    {AUTH_HMAC_SHA2_384_192,
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaa",
     "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
     "ddddddd",
     "809f439be00274321d4a538652164b53554a508184a0c316"}, /* AUTH384-3 */
    {AUTH_HMAC_SHA2_384_192,
     "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f200a0b0c0d0e0f10111213141516171"
     "819",
     "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdc"
     "dcdcdcd",
     "5b540085c6e6358096532b2493609ed1cb298f774f87bb5c"}, /* AUTH384-4 */
    {AUTH_HMAC_SHA2_512_256,
     "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"
     "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
     "4869205468657265",
     "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8"}, /* AUTH512-1 */
    {AUTH_HMAC_SHA2_512_256,
     "4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656"
     "6654a6566654a6566654a6566654a656665",
     "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
     "cb370917ae8a7ce28cfd1d8f4705d6141c173b2a9362c15df235dfb251b15454"}, /* AUTH512-2 */
    {AUTH_HMAC_SHA2_512_256,
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
     "ddddddd",
     "2ee7acd783624ca9398710f3ee05ae41b9f9b0510c87e49e586cc9bf961733d8"}, /* AUTH512-3 */
    /* The RFC prints an extra first key line (0a0b..19) although it says
     * "(64 bytes)"; the published ICV is for the 64 bytes 01..40. */
    {AUTH_HMAC_SHA2_512_256,
     "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
     "2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40",
     "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdc"
     "dcdcdcd",
     "5e6688e5a3daec826ca32eaea224eff5e700628947470e13ad01302561bab108"}, /* AUTH512-4 */
};

START_TEST(rfc4868_integrity)
{
    const struct auth_case *tc = &rfc4868[_i];
    struct ike_integ_info info;
    uint8_t key[64], data[256], icv[32];
    ck_assert_int_eq(ike_alg_integ(tc->integ, &info), IKE_OK);
    size_t key_len = hex_decode(tc->key, key, sizeof(key));
    ck_assert_uint_eq(key_len, info.key_len);
    struct ike_iov iov = {data, hex_decode(tc->data, data, sizeof(data))};
    ck_assert_int_eq(
        ike_crypto_hmac(ike_crypto_integ_md(tc->integ), key, key_len, &iov, 1, icv, info.icv_len),
        IKE_OK);
    ck_assert_hex_eq(icv, info.icv_len, tc->icv);
}
END_TEST

/* RFC 2202 section 3, test cases 1 and 2 (HMAC-SHA-1). */
START_TEST(rfc2202_sha1_prf)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    uint8_t key[20], out[20];
    memset(key, 0x0b, sizeof(key));
    struct ike_iov hi = {(const uint8_t *)"Hi There", 8};
    ck_assert_int_eq(ike_alg_prf_len(PRF_HMAC_SHA1), 20);
    ck_assert_int_eq(c->prf(PRF_HMAC_SHA1, key, 20, &hi, 1, out), IKE_OK);
    ck_assert_hex_eq(out, 20, "b617318655057264e28bc0b6fb378c8ef146be00");
    struct ike_iov jefe = {(const uint8_t *)"what do ya want for nothing?", 28};
    ck_assert_int_eq(c->prf(PRF_HMAC_SHA1, (const uint8_t *)"Jefe", 4, &jefe, 1, out), IKE_OK);
    ck_assert_hex_eq(out, 20, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}
END_TEST

/* The data pieces are concatenated: splitting must not change the MAC. */
START_TEST(iov_split_is_concatenation)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    const uint8_t *msg = (const uint8_t *)"what do ya want for nothing?";
    struct ike_iov one = {msg, 28};
    struct ike_iov three[3] = {{msg, 5}, {msg + 5, 0}, {msg + 5, 23}};
    uint8_t a[32], b[32];
    ck_assert_int_eq(c->prf(PRF_HMAC_SHA2_256, (const uint8_t *)"Jefe", 4, &one, 1, a), IKE_OK);
    ck_assert_int_eq(c->prf(PRF_HMAC_SHA2_256, (const uint8_t *)"Jefe", 4, three, 3, b), IKE_OK);
    ck_assert_mem_eq(a, b, 32);
    ck_assert_hex_eq(a, 32, rfc4231[1].mac[0]);
}
END_TEST

START_TEST(unknown_prf_rejected)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    uint8_t out[64];
    struct ike_iov d = {(const uint8_t *)"x", 1};
    ck_assert_int_eq(c->prf(PRF_HMAC_MD5, (const uint8_t *)"k", 1, &d, 1, out),
                     IKE_ERR_UNSUPPORTED_ALG);
    ck_assert_int_eq(c->prf(PRF_AES128_XCBC, (const uint8_t *)"k", 1, &d, 1, out),
                     IKE_ERR_UNSUPPORTED_ALG);
    /* Truncation longer than the digest is a caller error. */
    ck_assert_int_eq(ike_crypto_hmac(IKE_MD_SHA1, (const uint8_t *)"k", 1, &d, 1, out, 21),
                     IKE_ERR_INVALID_ARG);
}
END_TEST

START_TEST(sha1_op)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    uint8_t out[20];
    struct ike_iov abc[2] = {{(const uint8_t *)"a", 1}, {(const uint8_t *)"bc", 2}};
    ck_assert_int_eq(c->sha1(abc, 2, out), IKE_OK);
    ck_assert_hex_eq(out, 20, "a9993e364706816aba3e25717850c26c9cd0d89d");
}
END_TEST

START_TEST(random_fills)
{
    const struct ike_crypto_ops *c = ike_crypto_openssl();
    uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0};
    ck_assert_int_eq(c->random(a, sizeof(a)), IKE_OK);
    ck_assert_int_eq(c->random(b, sizeof(b)), IKE_OK);
    ck_assert_int_ne(memcmp(a, zero, 32), 0);
    ck_assert_int_ne(memcmp(a, b, 32), 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("crypto_prf");
    TCase *tc = tcase_create("vectors");
    tcase_add_loop_test(tc, rfc4231_prf, 0, (int)(sizeof(rfc4231) / sizeof(rfc4231[0])));
    tcase_add_loop_test(tc, rfc4868_integrity, 0, (int)(sizeof(rfc4868) / sizeof(rfc4868[0])));
    tcase_add_test(tc, rfc2202_sha1_prf);
    tcase_add_test(tc, iov_split_is_concatenation);
    tcase_add_test(tc, unknown_prf_rejected);
    tcase_add_test(tc, sha1_op);
    tcase_add_test(tc, random_fills);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()
